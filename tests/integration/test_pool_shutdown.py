"""Stopping pools: reverse start order, one SIGTERM per worker however many vigil gets, SIGKILL
at stop_timeout (exit 4), fast stop on SIGINT; other signals forwarded through rewrite rules."""

import signal
import time

from vigiltest import log_time, wait_for


def pool(pools, name, *worker_args, **extra):
    return dict({"name": name, "command": pools.worker(*worker_args), "replicas": 2,
                 "readiness": {"mode": "notify"}, "stop_timeout": "5s"}, **extra)


def start_two_pools(pools, linger_first="0", linger_second="0.3", **extra):
    config = pools.config([pool(pools, "first", "--linger", linger_first, **extra),
                           pool(pools, "second", "--linger", linger_second, **extra)])
    vigil = pools.start(config=config)
    vigil.log.wait("agent_ready")
    vigil.log.wait("worker_ready", count=4)
    first = vigil.records.wait_runs(2, pool="first")
    second = vigil.records.wait_runs(2, pool="second")
    return vigil, first, second


def test_pools_stop_in_reverse_start_order(pools):
    """SIGTERM: the second pool's workers are stopped and gone before the first pool's get TERM."""
    vigil, first, second = start_two_pools(pools, linger_second="0.3")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    for run in first + second:
        assert run.signals() == ["SIGTERM"], run.lines
    second_exits = [run.exit["t"] for run in second]
    first_terms = [run.signal_times("SIGTERM")[0] for run in first]
    second_terms = [run.signal_times("SIGTERM")[0] for run in second]
    assert max(second_terms) < min(first_terms)
    # The second pool's workers linger 0.3s after TERM: the first pool waited for them.
    assert min(first_terms) >= max(second_exits)
    assert min(first_terms) - min(second_terms) >= 0.3
    log = vigil.log
    assert [e["pool"] for e in log.events("pool_stopping")] == ["second", "first"]
    stopping_first = log.index(log.events("pool_stopping", pool="first")[0])
    assert all(log.index(e) < stopping_first for e in log.events("worker_exited", pool="second"))
    assert [e["trigger"] for e in log.events("drain_started")] == ["signal"]


def test_repeated_sigterm_is_not_passed_on(pools):
    """A second and third SIGTERM during shutdown are logged, not forwarded: one TERM a worker."""
    vigil, first, second = start_two_pools(pools, linger_first="0.5", linger_second="0.5")
    vigil.signal(signal.SIGTERM)
    vigil.log.wait("pool_stopping", pool="second")
    vigil.signal(signal.SIGTERM)  # While the second pool stops.
    vigil.log.wait("signal_ignored")
    vigil.log.wait("pool_stopping", pool="first")
    vigil.signal(signal.SIGTERM)  # While the first pool stops.
    vigil.log.wait("signal_ignored", count=2)
    assert vigil.wait() == 0
    for run in first + second:
        assert run.signals() == ["SIGTERM"], run.lines
    assert len(vigil.log.events("drain_started")) == 1
    assert vigil.log.events("shutdown_escalated") == []


def test_sigterm_ignored_is_killed_at_stop_timeout(pools):
    """A worker ignoring SIGTERM is SIGKILLed ~stop_timeout (1s) later, not before; exit 4."""
    config = pools.config([pool(pools, "stubborn", "--ignore", "TERM", replicas=1,
                                stop_timeout="1s")])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready")
    (run,) = vigil.records.wait_runs(1)
    sent = time.monotonic()
    vigil.signal(signal.SIGTERM)
    assert vigil.wait(5) == 4
    elapsed = time.monotonic() - sent
    assert 1.0 <= elapsed < 2.0, elapsed
    assert run.signals() == ["SIGTERM"] and run.exit is None
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["signal"]) == ("stop_timeout_killed", "SIGKILL"), exited
    waited = log_time(exited) - run.signal_times("SIGTERM")[0]
    assert 0.95 <= waited < 1.5, waited
    assert [e["exit_code"] for e in vigil.log.events("agent_exit")] == [4]


def test_sigint_fast_stops_every_pool_at_once(pools):
    """SIGINT: every pool gets its fast_stop_signal at once, not in reverse order."""
    config = pools.config([pool(pools, "first", "--linger", "0.5", "--stop", "TERM,INT,USR2",
                                fast_stop_signal="SIGUSR2"),
                           pool(pools, "second", "--linger", "0.5")])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready", count=4)
    first = vigil.records.wait_runs(2, pool="first")
    second = vigil.records.wait_runs(2, pool="second")
    vigil.signal(signal.SIGINT)
    assert vigil.wait() == 0
    assert [run.signals() for run in first] == [["SIGUSR2"]] * 2
    assert [run.signals() for run in second] == [["SIGINT"]] * 2
    # At once: the first pool did not wait for the second's lingering workers.
    times = [run.signal_times(sig)[0] for run, sig in
             [(r, "SIGUSR2") for r in first] + [(r, "SIGINT") for r in second]]
    assert max(times) - min(times) < 0.3
    assert max(times) < min(run.exit["t"] for run in second)
    assert [e["trigger"] for e in vigil.log.events("drain_started")] == ["fast_stop"]
    assert vigil.log.events("pool_stopping") == []


def test_sigint_escalates_a_graceful_shutdown(pools):
    """SIGINT during a graceful stop sends the fast signal to workers still stopping."""
    config = pools.config([pool(pools, "slow", "--ignore", "TERM", "--stop", "INT", replicas=1,
                                stop_timeout="30s")])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready")
    (run,) = vigil.records.wait_runs(1)
    vigil.signal(signal.SIGTERM)
    run.wait(lambda r: r.signals() == ["SIGTERM"], what="SIGTERM")
    vigil.signal(signal.SIGINT)
    assert vigil.wait(3) == 0
    assert run.signals() == ["SIGTERM", "SIGINT"]
    assert len(vigil.log.events("shutdown_escalated")) == 1


def test_signals_forwarded_through_rewrite_rules(pools):
    """HUP, USR1, WINCH reach every worker's group; rewrite USR1:HUP rewrites, WINCH:0 drops."""
    keep = ["--keep", "HUP,USR1,USR2,WINCH", "--group-child"]
    config = pools.config([pool(pools, "plain", *keep),
                           pool(pools, "rewritten", *keep, rewrite=["USR1:HUP", "WINCH:0"])])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready", count=4)
    runs = vigil.records.wait_runs(2, pool="plain") + vigil.records.wait_runs(2, pool="rewritten")
    for run in runs:
        run.wait(lambda r: r.children(), what="the group child")

    plain, rewritten = runs[:2], runs[2:]

    def send(signo, expect_plain, expect_rewritten):
        """Sends signo to vigil; waits until every worker and its group child has recorded as
        many signals as expected, then checks them all."""
        vigil.signal(signo)
        for group, expected in ((plain, expect_plain), (rewritten, expect_rewritten)):
            for run in group:
                for proc in ("worker", "child"):
                    run.wait(lambda r: len(r.signals(proc)) >= len(expected),
                             what=f"{proc}: {expected}")
                    assert run.signals(proc) == expected, (run, proc)

    send(signal.SIGHUP, ["SIGHUP"], ["SIGHUP"])
    send(signal.SIGUSR1, ["SIGHUP", "SIGUSR1"], ["SIGHUP", "SIGHUP"])
    # WINCH is dropped for the rewritten pool: only the plain pool has something to wait for.
    send(signal.SIGWINCH, ["SIGHUP", "SIGUSR1", "SIGWINCH"], ["SIGHUP", "SIGHUP"])
    # Vigil handles its signals one by one: had WINCH been forwarded to the rewritten pool, it
    # would show before this USR2.
    send(signal.SIGUSR2, ["SIGHUP", "SIGUSR1", "SIGWINCH", "SIGUSR2"],
         ["SIGHUP", "SIGHUP", "SIGUSR2"])
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert vigil.log.events("worker_exited", reason=lambda r: r != "exited") == []


def test_sigint_kills_what_ignores_the_fast_signal(pools):
    """SIGINT to a worker that ignores its fast signal: SIGKILL at min(stop_timeout=1s, 5s)."""
    config = pools.config([pool(pools, "stubborn", "--ignore", "INT", replicas=1,
                                stop_timeout="1s")])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready")
    (run,) = vigil.records.wait_runs(1)
    vigil.signal(signal.SIGINT)
    assert vigil.wait(5) == 4
    assert run.signals() == ["SIGINT"]
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["signal"]) == ("stop_timeout_killed", "SIGKILL"), exited
    waited = log_time(exited) - run.signal_times("SIGINT")[0]
    assert 0.95 <= waited < 1.5, waited
