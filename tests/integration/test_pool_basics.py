"""Pool mode basics: workers start in their own groups with their environment, become ready
over sd_notify, stop once on SIGTERM; min_ready; the one-pool shorthand; the example config;
per-line log prefixes."""

import os
import signal
import time
from pathlib import Path

import pytest

from vigiltest import REPO, WORKERS, log_time, parse_report, proc_stat, wait_for


def notify_pool(pools, replicas, *worker_args, **extra):
    return dict({"name": "web", "command": pools.worker(*worker_args), "replicas": replicas,
                 "readiness": {"mode": "notify"}, "stop_timeout": "5s"}, **extra)


def test_four_workers_start_ready_and_stop_once(pools, mode):
    """4 notify workers: slots 0..3, env, own groups, ready; SIGTERM stops each once; exit 0."""
    vigil = pools.start(config=pools.config([notify_pool(pools, 4)]), pid1=mode == "pid1")
    vigil.log.wait("worker_ready", count=4)
    log = vigil.log
    started = log.events("worker_started")
    assert sorted(e["slot"] for e in started) == [0, 1, 2, 3]
    assert {e["pool"] for e in started} == {"web"}
    assert len({e["pid"] for e in started}) == 4
    assert sorted(e["slot"] for e in log.events("worker_ready")) == [0, 1, 2, 3]
    # Ready once a worker is (min_ready 1): pool first, then the agent, each said once.
    assert len(log.events("pool_ready")) == 1 and len(log.events("agent_ready")) == 1
    first_ready = log.index(log.events("worker_ready")[0])
    assert first_ready < log.index(log.events("pool_ready")[0]) < log.index(
        log.events("agent_ready")[0])

    runs = vigil.records.wait_runs(4)
    assert len(runs) == 4
    slot_of_pid = {e["pid"]: e["slot"] for e in started}
    sockets = set()
    hosts = []
    for run in runs:
        assert run.env["VIGIL_POOL"] == "web"
        assert int(run.env["VIGIL_WORKER"]) == slot_of_pid[run.pid]
        # A socket of its own, in a directory of its own, under the notify directory next to
        # the control socket.
        assert run.env["NOTIFY_SOCKET"].startswith(str(pools.workdir / "notify") + "/"), run.env
        assert run.env["NOTIFY_SOCKET"].endswith("/notify"), run.env
        assert "WATCHDOG_USEC" not in run.env
        sockets.add(run.env["NOTIFY_SOCKET"])
        assert run.start["pgid"] == run.pid, "a worker leads its own process group"
        assert run.start["ppid"] == (1 if vigil.pid1 else vigil.pid)
        host = vigil.host_pid(run.pid)
        assert proc_stat(host).pgid == host
        hosts.append(host)
    assert len(sockets) == 4, "one notify socket per worker"

    sent = time.time()
    vigil.signal(signal.SIGTERM)
    assert vigil.wait(5) == 0
    assert time.time() - sent < 2.0
    for run in runs:
        assert run.signals() == ["SIGTERM"], run.lines
        assert run.exit["code"] == 0
    exited = log.events("worker_exited")
    assert sorted(e["slot"] for e in exited) == [0, 1, 2, 3]
    for e in exited:
        assert (e["reason"], e["code"], e["before_ready"]) == ("exited", 0, False), e
        assert e["level"] == "info"
    assert log.events("worker_restart_scheduled") == []
    assert [e["exit_code"] for e in log.events("agent_exit")] == [0]
    assert all(proc_stat(h) is None for h in hosts), "workers left behind"


@pytest.mark.parametrize("replicas,min_ready,needed", [(3, 2, 2), (2, 5, 2), (2, 0, 0)],
                         ids=["min_ready=2 of 3", "min_ready above replicas", "min_ready=0"])
def test_min_ready(pools, replicas, min_ready, needed):
    """A pool is ready once min(min_ready, replicas) workers are (staggered boots show when)."""
    config = pools.config([notify_pool(pools, replicas, "--boot-per-slot", "0.3",
                                       min_ready=min_ready)])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready", count=replicas)
    # Each event is its own write: the last worker_ready can be read before the pool_ready and
    # agent_ready that follow it, so wait for them too rather than read the log once.
    vigil.log.wait("pool_ready")
    vigil.log.wait("agent_ready")
    log = vigil.log
    (pool_ready,) = log.events("pool_ready")
    assert pool_ready["ready"] == needed and pool_ready["desired"] == replicas
    ready_positions = [log.index(e) for e in log.events("worker_ready")]
    position = log.index(pool_ready)
    # Exactly `needed` workers were ready when the pool became ready.
    assert sum(p < position for p in ready_positions) == needed, log.summary()
    (agent_ready,) = log.events("agent_ready")
    assert log.index(agent_ready) > position
    if needed:
        # Slot needed-1 boots last of those needed; the pool waited for it.
        first_start = log_time(log.events("worker_started")[0])
        assert log_time(pool_ready) - first_start >= 0.3 * (needed - 1)
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


SHORTHAND = {
    "flags": (["--replicas", "3", "--readiness", "notify"], {}),
    "environment": ([], {"VIGIL_REPLICAS": "3", "VIGIL_READINESS_MODE": "notify"}),
}


@pytest.mark.parametrize("args,env", SHORTHAND.values(), ids=SHORTHAND.keys())
def test_one_pool_shorthand(pools, args, env):
    """`vigil --replicas 3 --readiness notify -- python3 worker.py` runs one pool named main."""
    # `python3` is looked up in PATH, like a shell would; this PATH finds Debian's.
    worker = ["python3", str(WORKERS / "pool_worker.py")]
    vigil = pools.start([*args, "--", *worker], env={**env, "PATH": "/usr/bin:/bin"})
    vigil.log.wait("worker_ready", count=3)
    assert sorted(e["slot"] for e in vigil.log.events("worker_started")) == [0, 1, 2]
    assert {e["pool"] for e in vigil.log.events("worker_started")} == {"main"}
    vigil.log.wait("agent_ready")
    runs = vigil.records.wait_runs(3)
    assert sorted(r.slot for r in runs) == [0, 1, 2]
    assert {r.env["VIGIL_POOL"] for r in runs} == {"main"}
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert [r.signals() for r in runs] == [["SIGTERM"]] * 3


def test_example_config_runs(pools):
    """examples/pools/vigil.yaml runs examples/pools/worker.py as documented (3 ready, prefixed)."""
    # The example's command is relative to the repository; its 10s watchdog makes the example
    # worker sleep 5s between checks of SIGTERM, so the test shortens it.
    vigil = pools.start(["--working-dir", str(REPO), "--watchdog", "1s"],
                        config=REPO / "examples" / "pools" / "vigil.yaml")
    vigil.log.wait("worker_ready", count=3)
    assert {e["pool"] for e in vigil.log.events("worker_ready")} == {"web"}
    vigil.log.wait("agent_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    out = vigil.stdout.splitlines()
    for slot in range(3):
        assert f"[web/{slot}] worker web/{slot}: ready" in out, out
        assert f"[web/{slot}] worker web/{slot}: SIGTERM, finishing in-flight work" in out, out
    assert [e["reason"] for e in vigil.log.events("worker_exited")] == ["exited"] * 3


def test_log_prefix_on_every_line(pools):
    """log_prefix: each stdout and stderr line of a worker gets [pool/slot], whole lines only."""
    prints = ["--print", "out one {slot}\\nout two {slot}\\n", "--print", "half a ",
              "--print", "line {slot}\\n", "--print", "err:err one {slot}\\n"]
    config = pools.config([notify_pool(pools, 2, *prints, "--print-at-exit", "bye {slot}\\n",
                                       name="app", log_prefix=True)])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready", count=2)
    wait_for(lambda: vigil.stdout.count("half a line") == 2, what="both workers' output")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    out = vigil.stdout.splitlines()
    err = vigil.log.other
    for slot in (0, 1):
        prefix = f"[app/{slot}] "
        mine = [line for line in out if line.startswith(prefix)]
        assert mine == [f"{prefix}out one {slot}", f"{prefix}out two {slot}",
                        f"{prefix}half a line {slot}", f"{prefix}bye {slot}"], out
        mine = [line for line in err if line.startswith(prefix)]
        assert mine == [f"{prefix}err one {slot}"], err
    assert all(line.startswith(("[app/0] ", "[app/1] ")) for line in out), out
    assert all(line.startswith(("[app/0] ", "[app/1] ")) for line in err), err


# Regression: the relay used to emit a pending last line only on EOF, and nothing flushed it when
# Vigil exited first.
def test_log_prefix_flushes_last_partial_line(pools):
    """A last line without newline is written, prefixed, when the worker ends (even while a
    process it started outside its group still holds the pipe)."""
    # The orphan (own session, so not killed with the worker's group) keeps the stderr pipe
    # open for 5s: Vigil never sees EOF before it exits. Without it the loss is a race that
    # shows about once in ten runs.
    config = pools.config([notify_pool(pools, 1, "--print", "err:tail without newline {slot}",
                                       "--orphan", "5", "0", name="app", log_prefix=True)])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert "[app/0] tail without newline 0" in vigil.log.other, vigil.stderr


def test_worker_environment_is_clean(pools, helpers, mode):
    """Workers get default signal dispositions, an empty mask, only fds 0-2, the pool's env over
    Vigil's, and never Vigil's own NOTIFY_SOCKET or WATCHDOG_USEC."""
    config = pools.config([{"name": "app", "command": [helpers.selfreport, "-p"],
                            "env": {"FROM_POOL": "pool", "OVERRIDDEN": "by-pool"}}])
    extra_r, extra_w = os.pipe()  # A descriptor Vigil inherits and must not pass on.
    try:
        vigil = pools.start(config=config, pid1=mode == "pid1",
                            ignore=[signal.SIGUSR2, signal.SIGHUP], block=[signal.SIGUSR1],
                            pass_fds=[extra_w],
                            env={"OVERRIDDEN": "by-vigil", "NOTIFY_SOCKET": "/run/outer.sock",
                                 "WATCHDOG_USEC": "123", "LISTEN_FDS": "2", "FROM_VIGIL": "1"})
    finally:
        os.close(extra_r)
        os.close(extra_w)
    line = wait_for(lambda: vigil.stdout.splitlines()[:1], what="selfreport's line")[0]
    report = parse_report(line)
    assert (report["sigblk"], report["sigign"], report["fds"]) == \
        ("0000000000000000", "0000000000000000", "0,1,2"), report
    assert report["pgid"] == report["pid"]
    started = vigil.log.wait("worker_started")
    assert int(report["pid"]) == started["pid"]
    worker = vigil.host_pid(started["pid"])
    env = dict(item.split("=", 1) for item in
               Path(f"/proc/{worker}/environ").read_text().split("\0") if "=" in item)
    assert env["FROM_POOL"] == "pool" and env["OVERRIDDEN"] == "by-pool"
    assert env["FROM_VIGIL"] == "1"
    assert env["NOTIFY_SOCKET"].startswith(str(pools.workdir / "notify") + "/")
    assert "WATCHDOG_USEC" not in env and "LISTEN_FDS" not in env
    assert (env["VIGIL_POOL"], env["VIGIL_WORKER"]) == ("app", "0")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
