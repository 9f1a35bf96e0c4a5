"""Liveness means "the core answers" (docs/control.md): vigil-control pings the PID-1 core over
their socketpair when a liveness check arrives (no timer: the idle core makes no wake-up), and
answers NOT_SERVING only once the core has missed MISSES answers of ANSWER_WITHIN each. A drain
never turns it off: the core goes on answering while it drains. Regression test of issue 10,
defect 14 (liveness was SERVING whatever the core did)."""

import os
import signal
import time

from kubesim import pool, wait_for, worker

ANSWER_WITHIN = 2.0  # vigil-control's ping timeout (agent/control/liveness.h)
MISSES = 3


def liveness(pod) -> int:
    """`vigilctl health --service liveness`: 0 SERVING, 1 NOT_SERVING."""
    return pod.ctl.health("liveness")


def test_liveness_fails_while_the_core_is_stopped(pod):
    """SIGSTOP to the core (PID 1 of the pod, from outside): liveness NOT_SERVING after
    MISSES x ANSWER_WITHIN, never before; SIGCONT: SERVING again; the worker never noticed."""
    pod.start({"pools": [pool("web", worker(), replicas=1)]})
    pod.wait_ready(1)
    assert liveness(pod) == 0
    os.kill(pod.pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        assert liveness(pod) == 0  # The first check after the stop sends the ping.
        first = time.monotonic()
        wait_for(lambda: liveness(pod) == 1, MISSES * ANSWER_WITHIN + 10,
                 "liveness NOT_SERVING while the core is stopped")
        elapsed = time.monotonic() - first
        assert elapsed >= MISSES * ANSWER_WITHIN - 0.1, f"NOT_SERVING after {elapsed:.2f}s"
        assert time.monotonic() - stopped < MISSES * ANSWER_WITHIN + 8
        assert pod.ctl.health("readiness") == 0  # Readiness is the model's: unchanged.
    finally:
        os.kill(pod.pid, signal.SIGCONT)
    wait_for(lambda: liveness(pod) == 0, 5, "liveness SERVING once the core runs again")
    run = pod.runs.all()[0]
    assert run.signals == [] and run.exit_t is None
    assert len(pod.events("control_started")) == 1


def test_a_drain_never_turns_liveness_off(pod):
    """Liveness checked every 0.1 s through a drain whose workers take longer to stop than
    MISSES x ANSWER_WITHIN: SERVING at every check."""
    linger = MISSES * ANSWER_WITHIN + 2
    pod.start({"drain": {"grace_period": "60s"},
               "pools": [pool("web", worker("--linger", linger), replicas=2)]})
    pod.wait_ready(2)
    r = pod.ctl("drain")
    assert r.code == 0, r
    answers = []
    deadline = time.monotonic() + linger + 20
    while not pod.events("drain_complete") and time.monotonic() < deadline:
        answers.append(liveness(pod))
        time.sleep(0.1)  # The probe's period, not a synchronisation.
    assert pod.events("drain_complete"), pod.log.summary()
    answers.append(liveness(pod))
    assert len(answers) > 10 and set(answers) == {0}, answers
