"""Crash loops caught by the default rule (issue 12): consecutive unstable runs.

A run is unstable when it ends before the worker has been ready (or, in readiness mode
`started`, running) for `crash_loop.stability_period`; more than `max_restarts` unstable runs
in a row are the verdict, whatever the spacing of the runs. The sliding window
(`crash_loop.period`) still applies too. Durations are scaled down (backoff 50 ms doubling to
1.5 s, period 3 s, for 1 s doubling to 30 s and 60 s) so that each test takes a few seconds; the
default settings themselves are proven in tests/unit (supervisor_worker_test.cc,
WorkerDefaultCrashLoopTest) and, opt-in, by test_default_settings_catch_a_worker_that_exits_1_after_5s.
"""

import os
import signal
import time

import pytest

from vigiltest import log_time, wait_for

# 1/20 of the defaults (1s, 2, 30s; 60s), without jitter so that the old window rule is known
# to miss these loops (see each test).
SCALED_BACKOFF = {"initial": "50ms", "multiplier": 2, "max": "1500ms", "jitter": 0}
SCALED_CRASH_LOOP = {"max_restarts": 5, "period": "3s"}


def looping_pool(pools, *worker_args, **extra):
    return dict({"name": "app", "command": pools.worker(*worker_args),
                 "backoff": SCALED_BACKOFF, "crash_loop": SCALED_CRASH_LOOP,
                 "stop_timeout": "5s"}, **extra)


def check_unstable_runs_verdict(vigil, last_exit, reason="exited"):
    """Six runs, restarts after 50..800 ms, one crash_loop error by the unstable-runs rule."""
    log = vigil.log
    exits = log.events("worker_exited", pool="app")
    assert len(exits) == 6, log.summary()
    assert all(e["reason"] == reason for e in exits), exits
    assert len(log.events("worker_started", pool="app")) == 6, "no run after the verdict"
    delays = [e["delay_ms"] for e in log.events("worker_restart_scheduled", pool="app")]
    assert len(delays) == 5, delays
    for got, want in zip(delays, [50, 100, 200, 400, 800]):
        assert want - 5 <= got <= want + 5, delays
    (verdict,) = log.events("crash_loop")
    assert verdict["level"] == "error"
    assert (verdict["pool"], verdict["slot"], verdict["rule"], verdict["count"],
            verdict["max_restarts"], verdict["stability_period"]) == \
        ("app", 0, "unstable_runs", 6, 5, "10s"), verdict
    assert verdict["last_exit"] == last_exit
    assert log.index(verdict) > log.index(exits[-1])
    assert [e["exit_code"] for e in log.events("agent_exit")] == [3]


def test_a_worker_that_exits_1_soon_after_it_starts_reaches_the_verdict(pools):
    """The Celery worker_process_init seed, scaled: exit 1 0.4 s after start (5 s by default).

    The window rule alone misses it: the six failures span 5 runs + 1.55 s of backoff > 3 s."""
    vigil = pools.start(config=pools.config([looping_pool(pools, "--exit-after", "0.4",
                                                          "--exit-code", "1")]))
    assert vigil.wait(20) == 3
    check_unstable_runs_verdict(vigil, "exited(1)")
    exits = vigil.log.events("worker_exited", pool="app")
    assert log_time(exits[-1]) - log_time(exits[0]) > 3.0, "the window rule could have caught it"


def test_a_slow_booting_worker_that_fails_after_ready_reaches_the_verdict(pools):
    """Ready only after 0.5 s (READY=1), then exit 1 0.2 s later, every run: never stable."""
    vigil = pools.start(config=pools.config([looping_pool(
        pools, "--boot", "0.5", "--exit-after", "0.2", "--exit-code", "1",
        readiness={"mode": "notify"})]))
    assert vigil.wait(20) == 3
    check_unstable_runs_verdict(vigil, "exited(1)")
    assert len(vigil.log.events("worker_ready", pool="app")) == 6


# Regression (issue 12): a worker that exits 0 at once under restart: always was restarted
# forever, every backoff.initial, and never reached a verdict.
def test_a_worker_that_keeps_exiting_0_under_restart_always_is_a_loop_too(pools):
    """Exit 0 right after start: unstable success runs get backoff and reach the verdict."""
    vigil = pools.start(config=pools.config([looping_pool(pools, "--exit-after", "0",
                                                          "--exit-code", "0",
                                                          restart="always")]))
    assert vigil.wait(20) == 3
    check_unstable_runs_verdict(vigil, "exited(0)")
    for e in vigil.log.events("worker_exited", pool="app"):
        assert e["code"] == 0 and e["level"] == "info", e


def test_stable_runs_never_reach_the_unstable_runs_verdict(pools):
    """Runs longer than stability_period (0.3 s here) are stable: restarted with backoff as
    before, never a verdict by this rule (and too far apart for the window rule)."""
    pool = looping_pool(pools, "--exit-after", "0.5", "--exit-code", "1",
                        crash_loop={"max_restarts": 1, "period": "500ms",
                                    "stability_period": "300ms"})
    vigil = pools.start(config=pools.config([pool]))
    vigil.log.wait("worker_started", pool="app", count=5, timeout=20)
    assert vigil.log.events("crash_loop") == []
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() != 3
    assert vigil.log.events("crash_loop") == []


# Regression (issue 12): workers all waiting to restart after failures when SIGTERM came made
# Vigil exit 0 with "pool app: 2/2 ended gracefully: exited(1) x2".
def test_workers_waiting_to_restart_after_failures_do_not_end_gracefully(pools):
    """SIGTERM while both workers are in backoff after exit 1: exit 5, and the termination
    message says they had failed."""
    message = pools.workdir / "termination-log"
    message.write_text("")  # The kubelet creates the file; Vigil only writes one that exists.
    pool = looping_pool(pools, "--exit-after", "0", "--exit-code", "1", replicas=2,
                        backoff={"initial": "60s", "max": "60s", "jitter": 0})
    vigil = pools.start(config=pools.config([pool], termination_message_path=str(message)))
    vigil.log.wait("worker_restart_scheduled", pool="app", count=2)
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 5
    lines = message.read_text().splitlines()
    assert lines[0].startswith("vigil exited 5: drain complete (trigger signal, "), lines
    assert lines[1] == ("pool app: 0/2 ended gracefully, 2 had failed and were waiting to "
                        "restart: exited(1) x2"), lines
    assert [e["exit_code"] for e in vigil.log.events("agent_exit")] == [5]


@pytest.mark.skipif(os.environ.get("VIGIL_SLOW_TESTS") != "1",
                    reason="about 55-67 s: set VIGIL_SLOW_TESTS=1")
def test_default_settings_catch_a_worker_that_exits_1_after_5s(pools):
    """The issue's seed with every crash-loop and backoff setting at its default: exit 1 five
    seconds after start. The verdict comes after 6 x 5 s of runs and 31 s of backoff, 24.8 to
    37.2 s with the jitter: 55-67 s (with the window alone, never when the backoffs added up to
    more than 35 s)."""
    pool = {"name": "app", "command": pools.worker("--exit-after", "5", "--exit-code", "1")}
    vigil = pools.start(config=pools.config([pool]))
    started = time.monotonic()
    assert vigil.wait(90) == 3
    elapsed = time.monotonic() - started
    (verdict,) = vigil.log.events("crash_loop")
    assert (verdict["rule"], verdict["count"], verdict["last_exit"]) == \
        ("unstable_runs", 6, "exited(1)"), verdict
    assert 54 <= elapsed <= 75, elapsed
    print(f"verdict after {elapsed:.1f}s")
