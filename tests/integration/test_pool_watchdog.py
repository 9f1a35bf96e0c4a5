"""Watchdog: a worker that stops sending WATCHDOG=1 (or sends WATCHDOG=trigger) gets SIGABRT,
then SIGKILL after min(stop_timeout, 5s) if it survives; reason watchdog; restarted by policy."""

import signal

from vigiltest import log_time


def watchdog_pool(pools, *worker_args, **extra):
    return dict({"name": "app", "command": pools.worker(*worker_args),
                 "readiness": {"mode": "notify"}, "watchdog": "500ms", "stop_timeout": "5s",
                 "backoff": {"initial": "100ms", "jitter": 0}}, **extra)


def test_missed_watchdog_aborts_and_restarts(pools):
    """Pings stop: SIGABRT about one interval after the last ping, reason watchdog, restarted."""
    # The worker leaves SIGABRT at its default action: it dies of it.
    config = pools.config([watchdog_pool(pools, "--pings", "5", "--ping-every", "0.1",
                                         "--keep", "HUP", "--default", "ABRT")])
    vigil = pools.start(config=config)
    exited = vigil.log.wait("worker_exited", timeout=5)
    vigil.log.wait("worker_ready", count=2)  # The replacement.
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    first = vigil.records.runs()[0]
    assert first.env["WATCHDOG_USEC"] == "500000"
    pings = first.of("notify")
    assert [p["msg"] for p in pings][1:] == ["WATCHDOG=1"] * 5
    assert (exited["reason"], exited["signal"], exited["before_ready"]) == \
        ("watchdog", "SIGABRT", False), exited
    assert exited["level"] == "warning"
    silence = log_time(exited) - pings[-1]["t"]
    assert 0.45 <= silence < 0.9, silence  # The deadline is 500ms after the last ping.
    (scheduled,) = vigil.log.events("worker_restart_scheduled")
    assert 95 <= scheduled["delay_ms"] <= 105
    starts = vigil.log.events("worker_started", slot=0)
    assert len(starts) == 2 and log_time(starts[1]) - log_time(exited) >= 0.095


def test_watchdog_trigger(pools):
    """WATCHDOG=trigger: treated as hung at once (SIGABRT, reason watchdog); restart never: 5."""
    config = pools.config([watchdog_pool(pools, "--watchdog-trigger", "--default", "ABRT",
                                         restart="never", watchdog="30s")])
    vigil = pools.start(config=config)
    assert vigil.wait(5) == 5
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["signal"]) == ("watchdog", "SIGABRT"), exited
    (run,) = vigil.records.runs()
    trigger = [n for n in run.of("notify") if n["msg"] == "WATCHDOG=trigger"][0]
    assert log_time(exited) - trigger["t"] < 0.5, "30s watchdog: the trigger acted at once"


def test_watchdog_survivor_of_sigabrt_is_killed(pools):
    """A worker that survives SIGABRT is SIGKILLed min(stop_timeout=1s, 5s) later."""
    config = pools.config([watchdog_pool(pools, "--pings", "1", restart="never",
                                         watchdog="300ms", stop_timeout="1s")])
    vigil = pools.start(config=config)
    assert vigil.wait(5) == 5
    (run,) = vigil.records.runs()
    assert run.signals() == ["SIGABRT"], run.lines  # Caught and recorded: it keeps running.
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["signal"]) == ("watchdog", "SIGKILL"), exited
    waited = log_time(exited) - run.signal_times("SIGABRT")[0]
    assert 0.95 <= waited < 1.4, waited
    assert run.exit is None


def test_watchdog_kill_waits_at_most_5s(pools):
    """With a long stop_timeout (30s), the SIGKILL after SIGABRT still comes after 5s."""
    config = pools.config([watchdog_pool(pools, "--pings", "1", restart="never",
                                         watchdog="300ms", stop_timeout="30s")])
    vigil = pools.start(config=config)
    assert vigil.wait(10) == 5
    (run,) = vigil.records.runs()
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["signal"]) == ("watchdog", "SIGKILL"), exited
    waited = log_time(exited) - run.signal_times("SIGABRT")[0]
    assert 4.95 <= waited < 5.5, waited
