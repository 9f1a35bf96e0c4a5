"""Shutdown, the API's fast stop (`vigilctl shutdown`, Lifecycle.Shutdown): every pool's fast
signal at once, a short deadline, then Vigil exits by itself, without waiting for a SIGTERM."""

import time

from kubesim import grpc_call, pb_string, pool, worker

GRACE = 20.0


def start(pod, *web_args):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker(*web_args)), pool("jobs", worker(), replicas=1)]})
    pod.wait_ready(3)


def test_vigilctl_shutdown_fast_stops_every_pool_and_exits(pod):
    """vigilctl shutdown: each worker gets its pool's fast signal (SIGINT) once and no SIGTERM, Vigil exits 0 well before the grace period."""
    start(pod)
    r = pod.ctl("shutdown", "--reason", "maintenance")
    assert r.code == 0, r
    code = pod.wait_exit(GRACE / 2)
    assert code == 0, pod.log.summary()
    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGINT"], run
        assert run.exit_t is not None, run
    (requested,) = pod.events("shutdown_requested")
    assert not pod.events("drained")
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [0]
    assert pod.log.index(requested) < pod.log.index(pod.events("agent_exit")[0])


def test_shutdown_kills_a_worker_that_ignores_the_fast_signal(pod):
    """Lifecycle.Shutdown over gRPC: a worker ignoring SIGINT is SIGKILLed after the short deadline (min(stop_timeout, 5 s)), not the grace period; Vigil exits 4 (killed at a deadline)."""
    start(pod, "--ignore", "INT", "--only-slot", "0")
    asked = time.monotonic()
    code, details, _ = grpc_call(f"unix:{pod.socket}", "/vigil.v1.Lifecycle/Shutdown",
                                 pb_string(1, "test"))
    assert (code, details) == ("OK", "")
    code = pod.wait_exit(GRACE / 2)
    took = time.monotonic() - asked
    assert code == 4, pod.log.summary()
    assert 4.5 < took < 8.0, took
    stubborn = pod.runs.all("web", slot=0)[0]
    assert stubborn.signals == ["SIGINT"] and stubborn.exit_t is None, stubborn
    for run in pod.runs.all():
        if run.pid != stubborn.pid:
            assert run.signals == ["SIGINT"] and run.exit_t is not None, run
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [4]
