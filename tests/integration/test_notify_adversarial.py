"""Adversarial workers on their own notify socket (issue 10): random datagrams, huge ones,
descriptors passed along, floods, MAINPID=1 with a stop request. For each: PID 1 keeps working
(the abuser is still heard afterwards, Vigil drains and exits 0 on SIGTERM), every refusal is
named (a notify_rejected line with its cause and detail; the counters are checked in
tests/e2e/test_notify_metrics.py), and a worker of another pool is untouched."""

import json
import signal

from vigiltest import PYTHON3, WORKERS, open_fds

SCRIPT = WORKERS / "notify_script.py"


def abuse(pools, mode, steps, args=(), **victim):
    """Pool "victim" plays `steps` once the file `go` exists, then says READY=1; pool
    "bystander" is a well-behaved notify worker. Returns (vigil, victim's run, bystander's run),
    once both are ready and the steps are done."""
    go = pools.workdir / "go"
    steps = [{"wait_file": str(go)}, *steps, {"send": "READY=1"}]
    config = pools.config([
        {"name": "bystander", "command": pools.worker(), "readiness": {"mode": "notify"}},
        {"name": "victim", "command": [PYTHON3, str(SCRIPT), json.dumps(steps)],
         "readiness": {"mode": "notify"}, "stop_timeout": "5s", **victim}])
    vigil = pools.start(list(args), config=config, pid1=mode == "pid1")
    vigil.log.wait("worker_ready", pool="bystander")
    (victim_run,) = vigil.records.wait_runs(1, pool="victim")
    (bystander_run,) = vigil.records.runs(pool="bystander")
    go.touch()
    vigil.log.wait("worker_ready", pool="victim", timeout=60)
    victim_run.wait(lambda r: len(r.of("step")) == len(steps), what="every step", timeout=30)
    return vigil, victim_run, bystander_run


def finish(vigil, victim_run, bystander_run):
    """PID 1 still works: a drain on SIGTERM, both workers stopped once, exit 0; the bystander
    was never signalled before, nor restarted, nor refused anything."""
    log = vigil.log
    assert log.events("notify_rejected", pool="bystander") == []
    assert bystander_run.signals() == []
    vigil.signal(signal.SIGTERM)
    assert vigil.wait(15) == 0
    assert bystander_run.signals() == ["SIGTERM"] and victim_run.signals() == ["SIGTERM"]
    assert len(log.events("worker_started")) == 2, log.summary()
    assert log.events("drain_started", trigger="signal"), log.summary()


def step(run, action):
    (found,) = [s for s in run.of("step") if s["action"] == action]
    return found


def test_random_datagrams_are_each_refused_with_their_cause(pools, mode):
    """300 random invalid datagrams (oversized up to 70 kB, empty, binary, no '=', bad values of
    known keys): each refused, in order, with the cause its kind calls for; then READY=1 is
    heard."""
    vigil, victim, bystander = abuse(pools, mode, [{"random": 300, "seed": 10}])
    expected = step(victim, "random")["causes"]
    rejected = vigil.log.wait("notify_rejected", count=300, pool="victim")
    causes = [e["cause"] for e in vigil.log.events("notify_rejected", pool="victim")]
    assert causes == expected, rejected
    assert {"oversized", "empty", "not_text", "malformed"} <= set(causes)
    assert all(e["detail"] for e in vigil.log.events("notify_rejected"))
    assert vigil.log.events("drain_started") == []
    finish(vigil, victim, bystander)


def test_huge_datagrams_are_refused_with_their_size(pools, mode):
    """4 KiB + 1, 64 KiB and 200 KiB: refused as oversized, each with its real size."""
    sizes = [4097, 64 * 1024, 200 * 1024]
    vigil, victim, bystander = abuse(pools, mode, [{"huge": n} for n in sizes])
    rejected = vigil.log.events("notify_rejected", pool="victim")
    assert [e["cause"] for e in rejected] == ["oversized"] * 3, vigil.log.summary()
    for event, size in zip(rejected, sizes):
        assert f"datagram of {size} bytes, larger than 4096" == event["detail"], event
    finish(vigil, victim, bystander)


def test_passed_descriptors_are_closed_and_the_datagram_refused(pools, mode):
    """READY=1 passing 3, then 253 descriptors (the most one message carries): refused as
    fd_passed, and Vigil has closed every one (the worker's pipes read EOF) and holds no more
    descriptors than before."""
    go = pools.workdir / "go"
    # As abuse() does, but Vigil's descriptors are counted once it has settled, before `go`
    # (and without the control plane, whose connection comes and goes).
    config_steps = [{"wait_file": str(go)}, {"fds": 3}, {"fds": 253}, {"send": "READY=1"}]
    config = pools.config([
        {"name": "bystander", "command": pools.worker(), "readiness": {"mode": "notify"}},
        {"name": "victim", "command": [PYTHON3, str(SCRIPT), json.dumps(config_steps)],
         "readiness": {"mode": "notify"}, "stop_timeout": "5s"}])
    vigil = pools.start(config=config, pid1=mode == "pid1", env={"VIGIL_CONTROL": "false"})
    vigil.log.wait("worker_ready", pool="bystander")
    (victim,) = vigil.records.wait_runs(1, pool="victim")
    (bystander,) = vigil.records.runs(pool="bystander")
    before = open_fds(vigil.pid)
    go.touch()
    vigil.log.wait("worker_ready", pool="victim")
    victim.wait(lambda r: len(r.of("step")) == 4, what="every step")
    rejected = vigil.log.events("notify_rejected", pool="victim")
    assert [e["cause"] for e in rejected] == ["fd_passed"] * 2, vigil.log.summary()
    assert "253 descriptor(s)" in rejected[1]["detail"], rejected[1]
    for s in victim.of("step"):
        if s["action"] == "fds":
            assert all(s["eof"]), s
    assert open_fds(vigil.pid) == before
    finish(vigil, victim, bystander)


def test_a_flood_is_throttled_by_the_kernel_and_nothing_sent_is_lost(pools, mode):
    """20,000 STATUS= datagrams as fast as a non-blocking socket takes them: what the kernel
    refused the sender saw (EAGAIN: the socket's queue is bounded), and every datagram it took
    is read and applied (one worker_status line each), none dropped unread; the other pool's
    worker is untouched and Vigil answers SIGTERM at once."""
    vigil, victim, bystander = abuse(pools, mode, [{"flood": 20000}],
                                     args=["--log-level", "debug"])
    flood = step(victim, "flood")
    assert flood["sent"] + flood["refused"] == 20000
    statuses = vigil.log.wait("worker_status", count=flood["sent"], pool="victim", timeout=30)
    got = [e["msg"] for e in vigil.log.events("worker_status", pool="victim")]
    assert len(got) == flood["sent"] and got[-1] == statuses["msg"]
    assert vigil.log.events("notify_rejected") == []
    finish(vigil, victim, bystander)


def test_mainpid_1_with_a_stop_request_is_refused_whole(pools, mode):
    """MAINPID=1 with X_VIGIL_STOP=1 in one datagram: refused whole (main_pid_refused): no stop,
    the worker keeps its own main process."""
    vigil, victim, bystander = abuse(pools, mode, [{"send": "MAINPID=1\nX_VIGIL_STOP=1"}])
    (rejected,) = vigil.log.events("notify_rejected", pool="victim")
    assert rejected["cause"] == "main_pid_refused" and "PID 1" in rejected["detail"], rejected
    assert vigil.log.events("stop_requested") == [] and vigil.log.events("worker_main_pid") == []
    finish(vigil, victim, bystander)
