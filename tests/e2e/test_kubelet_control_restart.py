"""vigil-control (the gRPC control plane, a child of the PID-1 core) dies in the middle of a
drain: the core carries on with the drain, restarts it (1 s backoff) with a fresh snapshot, and
the pod terminates as if nothing had happened."""

import os
import signal

import pytest

from kubesim import Kubelet, pool, wait_for, worker

GRACE = 10.0
LINGER = 1.5  # Per pool: the drain takes about 2 x LINGER.


def start(pod):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--linger", LINGER)),
                         pool("jobs", worker("--linger", LINGER))]})
    pod.wait_ready(4)
    control = pod.control_pid()
    assert control is not None, "no vigil-control child of vigil"
    return control


def kill_control(pod, control):
    os.kill(control, signal.SIGKILL)
    pod.log.wait("control_exited", timeout=5)


def test_control_plane_killed_mid_drain(pod):
    """vigil-control SIGKILLed during an API drain: the drain completes, workers unaffected, a new vigil-control answers with the drained state, SIGTERM then exits 0."""
    control = start(pod)
    kubelet = Kubelet(pod, GRACE)
    kubelet.begin()
    r = pod.ctl("drain")
    assert r.code == 0, r
    pod.log.wait("pool_stopping", pool="jobs", timeout=5)
    kill_control(pod, control)

    # Restarted (new pid), answering again while the drain is still running.
    new = wait_for(lambda: (lambda p: p if p not in (None, control) else None)(pod.control_pid()),
                   5.0, "a new vigil-control")
    wait_for(lambda: pod.ctl("status", timeout=5).code == 0, 5.0, "vigilctl status to answer")
    pod.log.wait("drain_complete", timeout=GRACE)
    wait_for(lambda: pod.ctl.status()["phase"] == "PHASE_DRAINED", 5.0,
             "the new vigil-control to report the drained phase")
    status = pod.ctl.status()
    assert status["drain"]["complete"] and status["drain"]["graceful"]
    assert status["drain"]["trigger"] == "api"
    assert pod.ctl.health("readiness") == 1
    assert pod.ctl.health("liveness") == 0
    assert pod.control_pid() == new
    assert len(pod.events("control_started")) == 2

    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    assert end.exited - kubelet.started < GRACE
    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "jobs/1", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGTERM"], run
        assert run.exit_t is not None
    assert len(pod.events("drain_started")) == 1
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [0]


# Regression test for a fixed bug: an in-flight `vigilctl drain --wait` fails at once (exit 3, 'cannot reach the agent:...
def test_prestop_hook_survives_control_plane_restart(pod):
    """The preStop hook `vigilctl drain --wait` running when vigil-control is SIGKILLed still returns 0 once the drain is complete."""
    control = start(pod)
    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop()
    pod.log.wait("pool_stopping", pool="jobs", timeout=5)
    kill_control(pod, control)
    result = hook.wait(GRACE)
    pod.log.wait("drain_complete", timeout=GRACE)
    assert result.code == 0, f"preStop hook: {result}"
    assert "every worker ended gracefully" in result.stdout
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    for run in pod.runs.all():
        assert run.signals == ["SIGTERM"], run
