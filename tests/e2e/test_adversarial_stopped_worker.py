"""Adversarial: a worker stopped with SIGSTOP (a debugger, `kill -STOP`, a job-control stop) when
the pod is deleted. A stopped process keeps its caught SIGTERM pending until it is continued, so
Vigil, like systemd, sends SIGCONT to the worker's process group right after each stop signal it
sends: the worker then handles its stop signal and exits gracefully, and the drain ends long
before the deadline instead of SIGKILLing it there (defect 15 of issue 10)."""

import os
import signal
import time

from kubesim import Kubelet, pool, wait_for, worker
from vigiltest import proc_stat

GRACE = 12.0
MARGIN = 2.0
DEADLINE = GRACE - MARGIN  # Without SIGCONT, the stopped worker would only die here.


def stopped(pid):
    stat = proc_stat(pid)
    return stat is not None and stat.state == "T"


def start(pod):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s", "safety_margin": f"{MARGIN:g}s"},
               "pools": [pool("web", worker(), stop_timeout="30s", fast_stop_signal="SIGINT"),
                         pool("jobs", worker(), replicas=1)]})
    return {r.name: r for r in pod.wait_ready(3)}


def check_graceful_end(pod, runs, end, kubelet):
    assert not end.sigkilled, f"the kubelet had to SIGKILL vigil\n{pod.log.summary()}"
    assert end.code == 0, f"vigil exited {end.code}\n{pod.log.summary()}"
    assert end.exited - kubelet.started < DEADLINE, "the drain waited for the deadline"
    assert not pod.events("drain_deadline")
    for name, run in runs.items():
        assert run.signals == ["SIGTERM"], run  # The stop signal once, never the fast one.
        assert run.exit_t is not None, f"{name} did not exit on its own"
    for e in pod.events("worker_exited"):
        assert e["reason"] == "exited" and e["code"] == 0, e
    assert sorted((e["pool"], e["slot"]) for e in pod.events("worker_exited")) == [
        ("jobs", 0), ("web", 0), ("web", 1)]


def test_stopped_worker_exits_gracefully_on_sigterm(pod):
    """web/1 is SIGSTOPped before the SIGTERM: Vigil's SIGCONT after the stop signal lets it exit 0 on that SIGTERM; vigil exits 0 before the deadline, the other workers are untouched."""
    runs = start(pod)
    victim = pod.vigil.host_pid(runs["web/1"].pid)
    os.kill(victim, signal.SIGSTOP)
    wait_for(lambda: stopped(victim), 5.0, "web/1 to be stopped")

    kubelet = Kubelet(pod, GRACE)
    end = kubelet.terminate()
    check_graceful_end(pod, runs, end, kubelet)


def test_stopped_worker_exits_gracefully_on_api_drain(pod):
    """Same with `vigilctl drain --wait` as the preStop hook: it returns 0 ("every worker ended gracefully") well before the deadline."""
    runs = start(pod)
    victim = pod.vigil.host_pid(runs["web/0"].pid)
    os.kill(victim, signal.SIGSTOP)
    wait_for(lambda: stopped(victim), 5.0, "web/0 to be stopped")

    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop().wait(GRACE)
    assert hook.code == 0, f"preStop hook: {hook}\n{pod.log.summary()}"
    assert "every worker ended gracefully" in hook.stdout, hook
    end = kubelet.terminate()
    check_graceful_end(pod, runs, end, kubelet)


def test_stopped_worker_exits_gracefully_on_the_fast_signal(pod):
    """SIGINT to vigil (fast stop): the stopped web/1 gets its fast signal and SIGCONT, exits 0 on the SIGINT instead of being SIGKILLed 5 s later; vigil exits 0."""
    runs = start(pod)
    victim = pod.vigil.host_pid(runs["web/1"].pid)
    os.kill(victim, signal.SIGSTOP)
    wait_for(lambda: stopped(victim), 5.0, "web/1 to be stopped")

    sent = time.monotonic()
    os.kill(pod.pid, signal.SIGINT)
    code = pod.wait_exit(GRACE)
    assert code == 0, f"vigil exited {code}\n{pod.log.summary()}"
    assert time.monotonic() - sent < 4.0, "the stopped worker waited for its SIGKILL"
    for name, run in runs.items():
        assert run.signals == ["SIGINT"], run
        assert run.exit_t is not None, f"{name} did not exit on its own"
    for e in pod.events("worker_exited"):
        assert e["reason"] == "exited" and e["code"] == 0, e
