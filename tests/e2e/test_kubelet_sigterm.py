"""The kubelet deletes a pod that has no preStop hook: SIGTERM to PID 1 (Vigil), SIGKILL when the
grace period is over."""

from kubesim import Kubelet, log_time, pool, wait_for, worker

GRACE = 8.0
LINGER = 1.0


def test_sigterm_without_prestop(pod):
    """SIGTERM alone: readiness off, one graceful drain in reverse pool order, then Vigil exits 0 by itself within the grace period."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--linger", LINGER)),
                         pool("jobs", worker("--linger", LINGER))]})
    pod.wait_ready(4)

    kubelet = Kubelet(pod, GRACE)
    kubelet.sigterm()
    # During the drain the pod is unready but alive.
    wait_for(lambda: pod.ctl.health("readiness") == 1, 2.0, "readiness NOT_SERVING")
    assert pod.ctl.health("liveness") == 0
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_DRAINING"
    assert status["drain"]["trigger"] == "signal" and not status["drain"]["complete"]

    end = kubelet.finish()
    assert not end.sigkilled, "the kubelet had to SIGKILL vigil"
    assert end.code == 0
    assert end.exited - kubelet.started < GRACE
    # It exited as soon as the drain was complete: 2 x LINGER, not the whole grace period.
    assert end.after_term < 2 * LINGER + 2.0

    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "jobs/1", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGTERM"], run
        assert run.exit_t is not None, f"{run} did not exit by itself"
    jobs = [r for r in runs if r.pool == "jobs"]
    web = [r for r in runs if r.pool == "web"]
    first_web_term = min(r.signal_times("SIGTERM")[0] for r in web)
    assert max(r.signal_times("SIGTERM")[0] for r in jobs) < first_web_term
    assert max(r.exit_t for r in jobs) < first_web_term

    (started,) = pod.events("drain_started")
    assert started["trigger"] == "signal"
    assert min(r.signal_times("SIGTERM")[0] for r in jobs) >= log_time(started)
    assert len(pod.events("drain_complete")) == 1
    assert not pod.events("drained")  # That is for preStop/API drains, which wait for SIGTERM.
    assert not pod.events("signal_ignored")
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [0]
    names = [e.get("event") for e in pod.log.records]
    assert names.index("drain_complete") < names.index("agent_exit")
