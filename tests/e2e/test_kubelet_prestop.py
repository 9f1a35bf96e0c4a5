"""The kubelet deletes a pod whose PID 1 is Vigil: preStop hook `vigilctl drain --wait`, then
SIGTERM, then (never needed) SIGKILL when the grace period is over."""

import time

from kubesim import Kubelet, log_time, pool, wait_for, worker

GRACE = 8.0
LINGER = 1.0  # Each worker takes this long to finish its requests after SIGTERM.


def test_prestop_drain_then_sigterm(pod):
    """preStop drain --wait then SIGTERM: readiness off at once, liveness on, one graceful drain in reverse pool order, exit 0 within the grace period."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--linger", LINGER)),
                         pool("jobs", worker("--linger", LINGER))]})
    pod.wait_ready(4)
    assert pod.ctl.health("liveness") == 0

    # The pod is deleted: the grace period starts with the preStop hook.
    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop()

    # Readiness is NOT_SERVING at once (the "readiness" service and "" alike).
    wait_for(lambda: pod.ctl.health("readiness") == 1, 2.0, "readiness NOT_SERVING")
    unready_wall = time.time()
    assert time.monotonic() - hook.started < 1.5
    assert hook.running(), "readiness went off only when the drain was over"
    assert pod.ctl.health("") == 1

    # Liveness stays SERVING for the whole drain (else the kubelet restarts the container).
    checks = 0
    while hook.running():
        assert pod.ctl.health("liveness") == 0
        checks += 1
    assert checks >= 3, f"only {checks} liveness checks during the drain"

    result = hook.wait(kubelet.remaining())
    assert result.code == 0, f"preStop hook: {result}"
    assert "every worker ended gracefully" in result.stdout
    # A preStop drain leaves PID 1 running (drained), waiting for SIGTERM.
    assert pod.running(), "vigil exited under its own preStop hook"
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_DRAINED"
    assert status["drain"]["complete"] and status["drain"]["graceful"]
    assert status["drain"]["trigger"] == "prestop"
    assert pod.ctl.health("readiness") == 1
    assert pod.ctl.health("liveness") == 0

    # The kubelet sends SIGTERM once the hook has returned; Vigil exits at once.
    end = kubelet.terminate()
    assert not end.sigkilled, "the kubelet had to SIGKILL vigil"
    assert end.code == 0
    assert end.after_term < 1.0, f"vigil took {end.after_term:.2f}s to exit after SIGTERM"
    assert end.exited - kubelet.started < GRACE
    assert result.ended < end.exited

    # Each worker got its graceful signal exactly once, and exited by itself.
    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "jobs/1", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGTERM"], run
        assert run.exit_t is not None, f"{run} did not exit by itself"
    jobs = [r for r in runs if r.pool == "jobs"]
    web = [r for r in runs if r.pool == "web"]
    # Reverse start order: web (started first) is signalled once every jobs worker is gone.
    first_web_term = min(r.signal_times("SIGTERM")[0] for r in web)
    assert max(r.signal_times("SIGTERM")[0] for r in jobs) < first_web_term
    assert max(r.exit_t for r in jobs) < first_web_term

    # Readiness was off well before the drain was complete (the workers took 2 x LINGER).
    (complete,) = pod.events("drain_complete")
    assert log_time(complete) - unready_wall > LINGER
    (started,) = pod.events("drain_started")
    assert started["trigger"] == "prestop"
    assert len(pod.events("drain_requested")) == 1
    assert len(pod.events("drained")) == 1
    assert len(pod.events("drain_joined")) == 1  # The SIGTERM.
    assert not pod.events("signal_ignored")
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [0]
    exits = pod.events("worker_exited")
    assert sorted((e["pool"], e["reason"], e["code"]) for e in exits) == \
        [("jobs", "exited", 0)] * 2 + [("web", "exited", 0)] * 2
