"""`vigilctl wait-ready` (a startup probe, an init step, a CI script) and `vigilctl status --json`
(what monitoring reads)."""

import json
import time

from kubesim import Kubelet, log_time, pool, wait_for, worker

GRACE = 8.0


def test_wait_ready_started_before_vigil(pod):
    """wait-ready started before Vigil keeps trying and returns 0 once the agent is ready, not before."""
    assert not pod.socket.exists()
    waiter = pod.ctl.start("wait-ready", "--timeout", "20s")
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--boot", 1.0))]})
    result = waiter.wait(25)
    assert result.code == 0, result
    (ready,) = pod.events("agent_ready")
    assert result.ended_wall >= log_time(ready)
    # It waited for the workers' boot (1 s) rather than returning when the socket appeared.
    (control,) = pod.events("control_started")
    assert log_time(ready) - log_time(control) > 0.5
    assert all(r.ready_t is not None for r in pod.runs.all())
    assert pod.ctl.health("readiness") == 0
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0


def test_wait_ready_not_ready_and_unreachable(pod, tmp_path):
    """wait-ready exits 1 at its timeout when the agent is up but not ready, and 3 when nothing answers within its timeout."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--no-ready"), boot_timeout="60s")]})
    wait_for(lambda: len(pod.runs.all()) == 2, 10.0, "2 workers started")
    wait_for(lambda: pod.ctl("status").code == 0, 10.0, "the control plane")

    r = pod.ctl("wait-ready", "--timeout", "1s")
    assert r.code == 1, r
    assert "not ready" in r.stderr
    assert 1.0 <= r.elapsed < 4.0
    assert pod.ctl.health("readiness") == 1
    assert pod.ctl.health("liveness") == 0
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_STARTING" and status["ready"] is False
    assert [w["state"] for w in status["pools"][0]["workers"]] == ["WORKER_STATE_STARTING"] * 2

    nowhere = tmp_path / "nothing-listens.sock"
    r = pod.ctl("--socket", nowhere, "wait-ready", "--timeout", "1s")
    assert r.code == 3, r
    assert "cannot reach the agent" in r.stderr or "no answer" in r.stderr, r
    assert 1.0 <= r.elapsed < 4.0
    # Commands other than wait-ready and drain --wait fail at once.
    r = pod.ctl("--socket", nowhere, "status")
    assert r.code == 3 and "cannot reach the agent" in r.stderr, r
    assert r.elapsed < 1.0

    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0


def test_status_json(pod):
    """status --json is JSON with the phase, every pool and every worker (pids as the workers see them)."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker(), replicas=3), pool("jobs", worker(), replicas=1)]})
    runs = pod.wait_ready(4)
    r = pod.ctl("status", "--json")
    assert r.code == 0, r
    status = json.loads(r.stdout)
    assert status["phase"] == "PHASE_READY" and status["ready"] is True
    assert "drain" not in status or not status["drain"]
    assert [(p["name"], p["desired"], p["ready"], p["poolReady"], p["failed"])
            for p in status["pools"]] == [("web", 3, 3, True, False), ("jobs", 1, 1, True, False)]
    pids = {r.name: r.pid for r in runs}
    now_ms = time.time() * 1000
    for p in status["pools"]:
        assert [w["slot"] for w in p["workers"]] == list(range(p["desired"]))
        for w in p["workers"]:
            assert w["state"] == "WORKER_STATE_READY"
            assert w["pid"] == pids[f"{p['name']}/{w['slot']}"]
            assert w["restarts"] == 0
            assert w["statusText"] == "serving"
            assert 0 <= now_ms - int(w["sinceUnixMs"]) < 30_000
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
