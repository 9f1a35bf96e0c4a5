"""MAINPID= bookkeeping (issue 10, defect 3: after MAINPID=A then MAINPID=B, A's exit marked the
leader reaped, so signals never reached it, and a crash of B restarted the slot while the old
leader lived on: two process trees in one slot), and the MAINPID= values Vigil refuses."""

import json
import signal

from notifytest import pid_exists
from vigiltest import PYTHON3, WORKERS, log_time, wait_for

HANDOVER = WORKERS / "handover.py"
SCRIPT = WORKERS / "notify_script.py"


def start_handover(pools, mode):
    config = pools.config([{"name": "app", "command": [PYTHON3, str(HANDOVER),
                                                       str(pools.workdir)],
                            "readiness": {"mode": "notify"}, "stop_timeout": "5s",
                            "backoff": {"initial": "100ms", "jitter": 0}}])
    vigil = pools.start(config=config, pid1=mode == "pid1")
    vigil.log.wait("worker_ready")
    (run,) = vigil.records.wait_runs(1)
    handed = run.wait(lambda r: r.of("handed_over"), what="the handover")[0]
    # Both are up (their signal handlers set) before anything is sent to them.
    run.wait(lambda r: r.children("a") and r.children("b"), what="A and B to start")
    mains = [e["main_pid"] for e in vigil.log.wait("worker_main_pid", count=2) and
             vigil.log.events("worker_main_pid")]
    assert mains == [handed["a"], handed["b"]], mains
    hosts = {"L": vigil.host_pid(run.pid), "a": vigil.host_pid(handed["a"]),
             "b": vigil.host_pid(handed["b"])}
    # A exits, and Vigil (its reaper: it is an orphan) reaps it.
    (pools.workdir / "a-exit").touch()
    run.wait(lambda r: r.of("exit", proc="a"), what="A's exit")
    wait_for(lambda: not pid_exists(hosts["a"]), what="A to be reaped")
    return vigil, run, hosts


def test_after_a_double_handover_a_drain_signals_the_whole_group_and_waits(pools, mode):
    """MAINPID=A, MAINPID=B, A exits: the slot is not restarted; SIGTERM drains the pod: the
    leader and B (one process group) each get SIGTERM once, and Vigil waits for B."""
    vigil, run, hosts = start_handover(pools, mode)
    assert pid_exists(hosts["L"]) and pid_exists(hosts["b"])
    assert vigil.log.events("worker_exited") == [] and len(vigil.log.events("worker_started")) == 1
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    log = vigil.log
    assert run.signals() == ["SIGTERM"], run.lines
    assert run.signals("b") == ["SIGTERM"], run.lines
    (b_exit,) = run.of("exit", proc="b")
    (exited,) = log.events("worker_exited")
    assert log_time(exited) >= b_exit["t"] - 0.01, (exited, b_exit)
    assert len(log.events("worker_started")) == 1


def test_after_a_double_handover_a_crash_of_the_main_process_ends_the_whole_run(pools, mode):
    """MAINPID=A, MAINPID=B, A exits, then B crashes: the run ends with B's status, what is left
    of the group (the leader) is killed, and only then is the slot restarted: never two process
    trees in one slot."""
    vigil, run, hosts = start_handover(pools, mode)
    (pools.workdir / "b-exit").touch()
    exited = vigil.log.wait("worker_exited")
    assert (exited["slot"], exited["code"]) == (0, 3), exited
    wait_for(lambda: not pid_exists(hosts["L"]), what="the old leader to be killed")
    assert run.of("exit") == [], "the leader was not killed but exited by itself"
    vigil.log.wait("worker_started", count=2)
    runs = vigil.records.wait_runs(2)
    assert pid_exists(vigil.host_pid(runs[1].pid))
    assert not pid_exists(hosts["L"])
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_mainpid_of_pid1_vigil_another_worker_or_a_gone_process_is_refused(pools, mode):
    """MAINPID=1, =Vigil, =a worker of another pool, =a child already reaped: each refused
    (main_pid_refused, with the reason), the worker keeps its own main process and becomes
    ready, the other worker is untouched."""
    go = pools.workdir / "go"
    other_pid = pools.workdir / "other-pid"
    steps = [{"wait_file": str(go)}, {"mainpid": "1"}, {"mainpid": "parent"},
             {"mainpid": f"file:{other_pid}"}, {"mainpid": "gone"}, {"send": "READY=1"}]
    config = pools.config([
        {"name": "other", "command": pools.worker(), "readiness": {"mode": "notify"}},
        {"name": "app", "command": [PYTHON3, str(SCRIPT), json.dumps(steps)],
         "readiness": {"mode": "notify"}, "stop_timeout": "5s"}])
    vigil = pools.start(config=config, pid1=mode == "pid1")
    vigil.log.wait("worker_ready", pool="other")
    (other,) = vigil.records.wait_runs(1, pool="other")
    other_pid.write_text(str(other.pid))
    go.touch()
    vigil.log.wait("worker_ready", pool="app")
    rejected = vigil.log.events("notify_rejected")
    assert [e["cause"] for e in rejected] == ["main_pid_refused"] * 4, vigil.log.summary()
    details = [e["detail"] for e in rejected]
    assert "PID 1" in details[0], details
    assert ("Vigil" if mode == "subreaper" else "PID 1") in details[1], details
    assert "process group" in details[2], details
    assert "gone" in details[3], details
    assert vigil.log.events("worker_main_pid") == []
    (app,) = vigil.records.runs(pool="app")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert app.signals() == ["SIGTERM"] and other.signals() == ["SIGTERM"]
    assert len(vigil.log.events("worker_started")) == 2
    assert vigil.log.events("worker_exited", reason=lambda r: r != "exited") == [], \
        vigil.log.summary()
