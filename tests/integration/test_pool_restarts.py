"""Restarts: backoff between failure restarts, the crash-loop verdict (exit 3, or keep the other
pools), boot failures told from runtime crashes, X_VIGIL_STOP=1 before ready, recycling."""

import signal
import time

import pytest

from vigiltest import log_time, proc_stat, wait_for

FAST_BACKOFF = {"initial": "100ms", "multiplier": 2, "max": "10s", "jitter": 0}


def failing_pool(pools, *worker_args, max_restarts=3, **extra):
    return dict({"name": "app", "command": pools.worker(*worker_args),
                 "backoff": FAST_BACKOFF,
                 "crash_loop": {"max_restarts": max_restarts, "period": "60s"},
                 "stop_timeout": "5s"}, **extra)


def check_backoff(vigil, slot_pool, expected_delays_ms):
    """The restart delays, as scheduled and as measured from each exit to the next start."""
    log = vigil.log
    scheduled = [e["delay_ms"] for e in log.events("worker_restart_scheduled", pool=slot_pool)]
    assert len(scheduled) == len(expected_delays_ms), log.summary()
    for got, want in zip(scheduled, expected_delays_ms):
        assert want - 5 <= got <= want + 5, (scheduled, expected_delays_ms)
    exits = log.events("worker_exited", pool=slot_pool)
    starts = log.events("worker_started", pool=slot_pool)
    for i, want in enumerate(expected_delays_ms):
        measured = (log_time(starts[i + 1]) - log_time(exits[i])) * 1000
        assert want - 5 <= measured <= want + 100, (i, measured, want)


def test_crash_loop_verdict_exits_3(pools):
    """Always exit 1: 4 exits, restarts after ~100/200/400ms, one crash_loop error, exit 3."""
    vigil = pools.start(config=pools.config([failing_pool(pools, "--exit-after", "0",
                                                          "--exit-code", "1")]))
    code = vigil.wait(10)
    elapsed = time.monotonic() - vigil.started
    assert code == 3
    log = vigil.log
    exits = log.events("worker_exited")
    assert len(exits) == 4, log.summary()
    for e in exits:
        assert (e["pool"], e["slot"], e["reason"], e["code"], e["before_ready"]) == \
            ("app", 0, "exited", 1, False), e
        assert e["level"] == "warning"
    assert len(log.events("worker_started")) == 4
    check_backoff(vigil, "app", [100, 200, 400])
    (verdict,) = log.events("crash_loop")
    assert verdict["level"] == "error"
    assert (verdict["pool"], verdict["slot"], verdict["max_restarts"], verdict["period"]) == \
        ("app", 0, 3, "60s")
    assert verdict["last_exit"] == "exited(1)"
    assert log.index(verdict) > log.index(exits[-1])
    assert [e["exit_code"] for e in log.events("agent_exit")] == [3]
    # 700ms of backoff plus four short runs of Python.
    assert 0.7 <= elapsed < 3.0, elapsed


def test_crash_loop_keep_leaves_other_pools_running(pools):
    """on_pool_failure keep: the failed pool stays down, the healthy one runs until SIGTERM."""
    healthy = {"name": "healthy", "command": pools.worker(), "readiness": {"mode": "notify"}}
    broken = failing_pool(pools, "--exit-after", "0", "--exit-code", "1", name="broken",
                          max_restarts=1)
    vigil = pools.start(config=pools.config([healthy, broken], on_pool_failure="keep"))
    verdict = vigil.log.wait("crash_loop", pool="broken")
    vigil.log.wait("pool_failed_kept", pool="broken")
    # The failed pool no longer counts: the agent is (or becomes) ready with the healthy one.
    wait_for(lambda: [e for e in vigil.log.names() if e in ("agent_ready", "agent_unready")]
             [-1:] == ["agent_ready"], what="the agent to be ready")
    assert vigil.exits_within(1.0) is None, "vigil exited although a pool was healthy"
    (run,) = vigil.records.runs(pool="healthy")
    assert run.exit is None
    assert len(vigil.log.events("worker_started", pool="broken")) == 2
    assert vigil.log.events("worker_exited", pool="healthy") == []
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() != 0
    assert run.signals() == ["SIGTERM"]


# Regression: with keep, the later exit used to report 5 instead of the verdict.
def test_crash_loop_keep_exit_status_is_3(pools):
    """With on_pool_failure keep, the later exit still reports the crash-loop verdict (3)."""
    healthy = {"name": "healthy", "command": pools.worker(), "readiness": {"mode": "notify"}}
    broken = failing_pool(pools, "--exit-after", "0", "--exit-code", "1", name="broken",
                          max_restarts=0)
    vigil = pools.start(config=pools.config([healthy, broken], on_pool_failure="keep"))
    vigil.log.wait("pool_failed_kept", pool="broken")
    vigil.log.wait("worker_ready", pool="healthy")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 3


def test_boot_failure_is_restarted_with_backoff_then_verdict(pools):
    """Exit 1 before READY=1: boot_failure, before_ready true, backoff 100/200ms, verdict, 3."""
    config = pools.config([failing_pool(pools, "--exit-before-ready", "1", max_restarts=2,
                                        readiness={"mode": "notify"})])
    vigil = pools.start(config=config)
    assert vigil.wait(10) == 3
    exits = vigil.log.events("worker_exited")
    assert [(e["reason"], e["code"], e["before_ready"]) for e in exits] == \
        [("boot_failure", 1, True)] * 3, vigil.log.summary()
    check_backoff(vigil, "app", [100, 200])
    assert vigil.log.events("worker_ready") == []
    (verdict,) = vigil.log.events("crash_loop")
    assert verdict["last_exit"] == "boot_failure(1)"


def test_runtime_failure_backoff_grows(pools):
    """Exit 1 after READY=1: reason exited, before_ready false; delays 100..800ms, then verdict."""
    config = pools.config([failing_pool(pools, "--exit-after", "0.1", "--exit-code", "1",
                                        max_restarts=4, readiness={"mode": "notify"})])
    vigil = pools.start(config=config)
    assert vigil.wait(15) == 3
    exits = vigil.log.events("worker_exited")
    assert [(e["reason"], e["code"], e["before_ready"]) for e in exits] == \
        [("exited", 1, False)] * 5, vigil.log.summary()
    assert len(vigil.log.events("worker_ready")) == 5
    assert len(vigil.log.events("worker_started")) == 5, "no more than the verdict allows"
    check_backoff(vigil, "app", [100, 200, 400, 800])
    # Each worker had its own run: ready, then exit 1 after 0.1s.
    assert [r.exit["code"] for r in vigil.records.runs()] == [1] * 5


def test_boot_timeout(pools):
    """Never READY=1 within boot_timeout: stop signal, reason boot_timeout, a failure (exit 5)."""
    config = pools.config([failing_pool(pools, "--no-ready", readiness={"mode": "notify"},
                                        boot_timeout="300ms", restart="never")])
    vigil = pools.start(config=config)
    assert vigil.wait(5) == 5
    (run,) = vigil.records.runs()
    assert run.signals() == ["SIGTERM"]
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["before_ready"]) == ("boot_timeout", True), exited
    (started,) = vigil.log.events("worker_started")
    assert 0.3 <= run.signal_times("SIGTERM")[0] - log_time(started) < 0.5


def test_no_restart_exit_code_keeps_the_slot_down(pools):
    """An exit code in no_restart_exit_codes: not restarted whatever the policy; exit 5."""
    config = pools.config([failing_pool(pools, "--exit-after", "0", "--exit-code", "4",
                                        no_restart_exit_codes=[3, 4], replicas=2,
                                        **{"restart": "always"})])
    vigil = pools.start(config=config)
    assert vigil.wait(5) == 5
    exits = vigil.log.events("worker_exited")
    assert sorted((e["slot"], e["reason"], e["code"]) for e in exits) == \
        [(0, "exited", 4), (1, "exited", 4)]
    assert vigil.log.events("worker_restart_scheduled") == []
    assert len(vigil.log.events("worker_started")) == 2


def stop_request_pools(pools, *worker_args):
    app = {"name": "app", "command": pools.worker("--only-slot", "0", "--stop-pod", *worker_args),
           "replicas": 2, "readiness": {"mode": "notify"}, "stop_timeout": "5s"}
    other = {"name": "other", "command": pools.worker(), "readiness": {"mode": "notify"}}
    return pools.config([other, app])


def check_stop_request(vigil):
    log = vigil.log
    (request,) = log.events("stop_requested")
    assert (request["pool"], request["slot"]) == ("app", 0)
    assert [e["trigger"] for e in log.events("drain_started")] == ["worker"]
    assert log.events("worker_ready", pool="app", slot=0) == []
    assert len(log.events("worker_started", pool="app", slot=0)) == 1, "not restarted"
    assert log.events("worker_restart_scheduled") == []
    assert [e["pool"] for e in log.events("pool_stopping")] == ["app", "other"]
    for run in vigil.records.runs():
        assert run.signals() in ([], ["SIGTERM"]), run.lines
    assert [e["exit_code"] for e in log.events("agent_exit")] == [0]


def test_stop_request_before_ready_is_honoured(pools):
    """X_VIGIL_STOP=1 during init, before READY=1: a graceful pod shutdown, exit 0."""
    vigil = pools.start(config=stop_request_pools(pools, "--boot", "0.2"))
    assert vigil.wait(10) == 0
    check_stop_request(vigil)
    (asker,) = vigil.records.runs(pool="app", slot=0)
    assert asker.signals() == ["SIGTERM"]
    (exited,) = vigil.log.events("worker_exited", pool="app", slot=0)
    assert (exited["reason"], exited["code"], exited["before_ready"]) == ("exited", 0, True)


def test_stop_request_then_exit_is_still_heard(pools):
    """X_VIGIL_STOP=1 then exit 0 at once, before Vigil read the datagram: still honoured."""
    go = pools.workdir / "go"
    vigil = pools.start(config=stop_request_pools(pools, "--wait-file", str(go),
                                                  "--exit-after-stop", "0"))
    vigil.log.wait("worker_ready", pool="app", slot=1)
    (asker,) = vigil.records.wait_runs(1, pool="app", slot=0)
    asker_host = vigil.host_pid(asker.pid)
    # Vigil stopped: the worker sends and exits, and is a zombie before Vigil reads anything.
    vigil.signal(signal.SIGSTOP)
    try:
        go.touch()
        wait_for(lambda: getattr(proc_stat(asker_host), "state", "") == "Z",
                 what="the worker to exit")
    finally:
        vigil.signal(signal.SIGCONT)
    assert vigil.wait(10) == 0
    check_stop_request(vigil)
    assert asker.signals() == [] and asker.exit["code"] == 0
    (exited,) = vigil.log.events("worker_exited", pool="app", slot=0)
    assert (exited["reason"], exited["code"], exited["before_ready"]) == ("exited", 0, True)


def test_recycling_one_at_a_time(pools):
    """max_lifetime 1s, 2 replicas: replaced with reason recycled, one at a time, not failures."""
    config = pools.config([{"name": "app", "command": pools.worker("--boot", "0.3"),
                            "replicas": 2, "readiness": {"mode": "notify"},
                            "max_lifetime": "1s", "stop_timeout": "5s",
                            "crash_loop": {"max_restarts": 1, "period": "60s"}}])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_recycling", count=4, timeout=10)
    vigil.log.wait("worker_ready", count=6)  # The 4th replacement too.
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    log = vigil.log
    assert log.events("crash_loop") == [] and log.events("worker_restart_scheduled") == []
    shutdown = log.index(log.events("drain_started")[0])
    assert [e for e in log.events("pool_unready") if log.index(e) < shutdown] == [], \
        "recycling took the pool down"
    # Walk the log: at most one worker is being recycled at any time, and the next recycle
    # waits for the last one's replacement to be ready.
    recycling = None
    restarts = {0: 0, 1: 0}
    for e in log.records:
        kind = e.get("event")
        if kind == "worker_recycling":
            assert recycling is None, log.summary()
            recycling = e["slot"]
        elif kind == "worker_exited" and e["reason"] == "recycled":
            assert e["slot"] == recycling
            assert e["level"] == "info" and e["code"] == 0 and e["before_ready"] is False
            restarts[e["slot"]] += 1
            assert e["restarts"] == restarts[e["slot"]], e
        elif kind == "worker_ready" and e["slot"] == recycling:
            recycling = None
    assert sum(restarts.values()) >= 4
    recycled = log.events("worker_exited", reason="recycled")
    for e in recycled:  # Replaced at once, not after a backoff.
        nxt = [s for s in log.events("worker_started", slot=e["slot"])
               if log.index(s) > log.index(e)]
        assert nxt and log_time(nxt[0]) - log_time(e) < 0.1
    for run in vigil.records.runs():
        assert run.signals() == ["SIGTERM"], run.lines
    # Each lived max_lifetime from its spawn (the one that waited its turn, longer).
    spawned = {e["pid"]: log_time(e) for e in log.events("worker_started")}
    for e in log.events("worker_recycling"):
        (exited,) = [x for x in recycled if log.index(x) > log.index(e)][:1]
        assert log_time(e) - spawned[exited["pid"]] >= 0.999, "recycled early"
