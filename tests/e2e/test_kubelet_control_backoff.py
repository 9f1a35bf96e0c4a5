"""vigil-control's restart backoff (docs/control.md): quick deaths back off (1 s, 2 s, 4 s ... 30 s),
and once vigil-control has run for `control.backoff_reset_after` it is healthy again: its backoff
starts over and the first restart is immediate, so the liveness probe is not down for a wait.
Regression test of issue 10, defect 8 (the backoff never reset). The delays are read from the
core's own log (control_exited -> control_started), so a loaded machine does not blur them."""

import os
import signal
import time

from kubesim import log_time, pool, wait_for, worker

STABLE = 3.0  # control.backoff_reset_after


def start(pod):
    pod.start({"control": {"backoff_reset_after": f"{STABLE:g}s"},
               "pools": [pool("web", worker(), replicas=1)]})
    pod.wait_ready(1)


def kill_control(pod) -> float:
    """SIGKILLs vigil-control; returns the core's delay before it started the next one."""
    started = len(pod.events("control_started"))
    control = pod.control_pid()
    assert control is not None, "no vigil-control"
    os.kill(control, signal.SIGKILL)
    new = pod.log.wait("control_started", count=started + 1, timeout=40)
    exited = pod.events("control_exited")[-1]
    return log_time(new) - log_time(exited)


def wait_stable(pod) -> None:
    """Until the running vigil-control has run for longer than the stable period (the time
    passing is what is awaited)."""
    since = log_time(pod.events("control_started")[-1])
    wait_for(lambda: time.time() - since > STABLE + 0.5, STABLE + 5, "a stable run")


def test_backoff_resets_after_a_stable_run(pod):
    """Stable, killed: back at once. Killed twice more quickly: 1 s, then 2 s. Stable again,
    killed: back at once, and liveness answers SERVING without a backoff wait."""
    start(pod)
    wait_stable(pod)
    assert kill_control(pod) < 0.5
    assert 0.9 < kill_control(pod) < 1.5
    assert 1.9 < kill_control(pod) < 2.5
    wait_stable(pod)
    killed = time.monotonic()
    assert kill_control(pod) < 0.5
    wait_for(lambda: pod.ctl("health", "--service", "liveness", timeout=5).code == 0, 5,
             "liveness SERVING again")
    assert time.monotonic() - killed < 3.0
    exits = pod.events("control_exited")
    assert [e.get("restart_in_ms") for e in exits] == [0, 1000, 2000, 0]
    assert pod.runs.all()[0].signals == []  # The worker never noticed.
