"""drain.propagation_delay: readiness goes off at once, the first stop signal only after the
delay, so that endpoints and load balancers stop sending traffic before workers stop taking it."""

from kubesim import Kubelet, log_time, pool, wait_for, worker

GRACE = 8.0
DELAY = 1.0


def test_propagation_delay(pod):
    """With a 1s propagation delay, readiness is NOT_SERVING at once while workers get SIGTERM only ~1s later; exit 0."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s", "propagation_delay": f"{DELAY:g}s"},
               "pools": [pool("web", worker()), pool("jobs", worker())]})
    pod.wait_ready(4)

    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop()
    wait_for(lambda: pod.ctl.health("readiness") == 1, DELAY / 2, "readiness NOT_SERVING")
    assert all(r.signals == [] for r in pod.runs.all()), "a worker was signalled before the delay"
    assert pod.ctl.health("liveness") == 0

    result = hook.wait(GRACE)
    assert result.code == 0, result
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0

    (started,) = pod.events("drain_started")
    runs = pod.runs.all()
    assert len(runs) == 4
    for run in runs:
        assert run.signals == ["SIGTERM"], run
    first_term = min(r.signal_times("SIGTERM")[0] for r in runs)
    # The delay is measured from the drain's start (logged, truncated to the millisecond) and
    # cannot have begun before the hook was started.
    assert first_term - log_time(started) >= DELAY
    assert first_term - kubelet.started_wall >= DELAY
    assert first_term - log_time(started) < DELAY + 0.5
    # Still in reverse pool order after the delay.
    jobs = [r for r in runs if r.pool == "jobs"]
    web = [r for r in runs if r.pool == "web"]
    assert max(r.exit_t for r in jobs) < min(r.signal_times("SIGTERM")[0] for r in web)
