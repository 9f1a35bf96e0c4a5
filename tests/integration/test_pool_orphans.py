"""Orphans and process groups: processes a worker leaves outside its group are reaped when they
exit and never change a worker's state; those left in its group die with it."""

import signal

from vigiltest import all_procs, proc_stat, wait_for


def zombies_of(pid):
    return [p.pid for p in all_procs() if p.ppid == pid and p.state == "Z"]


def test_orphan_exiting_3_is_reaped_and_changes_nothing(pools, mode):
    """An orphan (own session) reparented to Vigil exits 3: reaped, no worker or pool changes."""
    config = pools.config([{"name": "app", "command": pools.worker("--orphan", "0.5", "3"),
                            "replicas": 2, "readiness": {"mode": "notify"}}])
    vigil = pools.start(config=config, pid1=mode == "pid1")
    vigil.log.wait("worker_ready", count=2)
    runs = vigil.records.wait_runs(2)
    orphans = []
    for run in runs:
        (orphan,) = run.wait(lambda r: r.children("orphan"), what="the orphan")
        assert orphan["sid"] == orphan["pid"] != run.pid
        orphans.append((run, vigil.host_pid(orphan["pid"])))
    for run, host in orphans:
        stat = proc_stat(host)
        assert stat is None or stat.ppid == vigil.pid, "the orphan was not reparented to vigil"
    for run, host in orphans:
        (code,) = run.wait(lambda r: [x["code"] for x in r.of("exit", proc="orphan")],
                           what="the orphan's exit")
        assert code == 3
        wait_for(lambda: proc_stat(host) is None, what="vigil to reap the orphan")
    assert zombies_of(vigil.pid) == []
    log = vigil.log
    assert log.events("worker_exited") == [] and log.events("pool_unready") == []
    assert len(log.events("worker_started")) == 2
    assert vigil.running()
    for run in runs:
        assert run.exit is None and run.signals() == []
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0, "the orphans' exit 3 does not count"


def test_group_members_die_with_the_worker(pools):
    """When a worker exits, what it left in its process group is SIGKILLed; nothing is left."""
    config = pools.config([{"name": "app", "command": pools.worker("--group-child",
                                                                   "--exit-after", "0.2",
                                                                   "--exit-code", "0"),
                            "readiness": {"mode": "notify"}, "restart": "never"}])
    vigil = pools.start(config=config)
    (run,) = vigil.records.wait_runs(1)
    (child,) = run.wait(lambda r: r.children(), what="the group child")
    assert child["pgid"] == run.pid
    child_host = vigil.host_pid(child["pid"])
    worker_host = vigil.host_pid(run.pid)
    assert vigil.wait() == 0
    exited = vigil.log.events("worker_exited")
    assert [(e["reason"], e["code"]) for e in exited] == [("exited", 0)]
    assert proc_stat(child_host) is None and proc_stat(worker_host) is None
    assert run.signals("child") == [], "killed with SIGKILL, not asked"


def test_group_members_killed_while_vigil_runs(pools, mode):
    """A worker's group child dies as soon as the worker exits, before any restart."""
    config = pools.config([{"name": "app", "command": pools.worker("--group-child",
                                                                   "--exit-after", "0.2",
                                                                   "--exit-code", "1"),
                            "readiness": {"mode": "notify"},
                            "backoff": {"initial": "5s"}}])
    vigil = pools.start(config=config, pid1=mode == "pid1")
    (run,) = vigil.records.wait_runs(1)
    (child,) = run.wait(lambda r: r.children(), what="the group child")
    child_host = vigil.host_pid(child["pid"])
    vigil.log.wait("worker_restart_scheduled")
    wait_for(lambda: proc_stat(child_host) is None, timeout=2, what="the group child to die")
    assert zombies_of(vigil.pid) == []
    assert len(vigil.log.events("worker_started")) == 1  # Still in its 5s backoff.
    vigil.signal(signal.SIGTERM)
    # Stopped while waiting to restart after its exit 1: no process was left, but its last run
    # failed (issue 12: this used to exit 0, "ended gracefully").
    assert vigil.wait() == 5
