"""Prometheus /metrics after crafted scenarios, with exact values: a healthy pod, a crash loop of
boot failures, a watchdog kill, recycling, a preStop drain with a straggler and stop hooks, the
counts surviving a SIGKILL of vigil-control, and an OOM kill in a memory cgroup. Every scrape
passes `promtool check metrics` (metrics.py)."""

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from kubesim import PYTHON3, free_port, pool, wait_for, worker
from metrics import scrape, try_scrape

BACKOFF = {"initial": "10ms", "multiplier": 1, "max": "10ms", "jitter": 0}


def start(pod, config, *args):
    address = f"127.0.0.1:{free_port()}"
    pod.start(config, ["--metrics-address", address, *args])
    wait_for(lambda: try_scrape(address), 10, "/metrics to answer")
    return address


def py(code: str) -> list[str]:
    return [PYTHON3, "-c", code]


def keeper():
    """A pool that stays up, so Vigil does too after another pool has ended for good."""
    return pool("keeper", worker(), replicas=1)


def test_healthy_pod(pod, vigil_bin):
    """Two pools ready: gauges, starts, boot histogram, notify keys, orphans reaped, build info,
    process metrics for both processes, no pid label."""
    orphans = ["sh", "-c", 'for i in 1 2 3; do (true &); done; exec "$@"', "sh", *worker()]
    address = start(pod, {"pools": [pool("web", worker(), replicas=2),
                                    pool("jobs", orphans, replicas=1)]})
    pod.wait_ready(3)
    m = wait_for(lambda: (lambda s: s if s and s.value("vigil_orphans_reaped_total") >= 3 else None)(
        try_scrape(address)), 10, "the three orphans to be reaped")
    assert m.value("vigil_orphans_reaped_total") == 3
    assert m.value("vigil_agent_ready") == 1
    assert m.value("vigil_agent_phase", phase="ready") == 1
    assert m.total("vigil_agent_phase") == 1
    assert m.value("vigil_agent_draining") == 0
    assert m.value("vigil_pool_workers", pool="web", state="ready") == 2
    assert m.value("vigil_pool_workers", pool="jobs", state="ready") == 1
    assert m.total("vigil_pool_workers", state="backoff") == 0
    assert m.value("vigil_pool_desired_workers", pool="web") == 2
    assert m.value("vigil_pool_ready", pool="web") == 1
    assert m.value("vigil_pool_failed", pool="web") == 0
    assert m.value("vigil_worker_starts_total", pool="web") == 2
    assert m.value("vigil_worker_starts_total", pool="jobs") == 1
    assert m.total("vigil_worker_restarts_total") == 0
    assert m.series("vigil_worker_exits_total") == []
    assert m.value("vigil_worker_boot_duration_seconds_count", pool="web") == 2
    assert m.value("vigil_worker_boot_duration_seconds_bucket", pool="web", le="+Inf") == 2
    assert 0 < m.value("vigil_worker_boot_duration_seconds_sum", pool="web") < 10
    # kube_worker.py sends "READY=1\nSTATUS=serving" once.
    assert m.value("vigil_notify_messages_total", pool="web", key="READY") == 2
    assert m.value("vigil_notify_messages_total", pool="web", key="STATUS") == 2
    assert m.value("vigil_notify_messages_total", pool="web", key="WATCHDOG") == 0
    assert m.total("vigil_notify_rejected_total") == 0
    assert m.total("vigil_drains_total") == 0
    assert m.value("vigil_drain_duration_seconds_count") == 0
    assert m.value("vigil_control_restarts_total") == 0
    assert m.value("vigil_signals_received_total", signal="SIGCHLD") >= 1
    # Every worker (3) and orphan (3) and each sh subshell's child is reaped by someone: Vigil
    # reaps at least the orphans.
    assert m.value("vigil_zombies_reaped_total") >= 3
    version = subprocess.run([vigil_bin, "--version"], capture_output=True, text=True).stdout
    assert m.value("vigil_build_info", version=version.split()[-1]) == 1
    for process in ("core", "control"):
        assert m.value("vigil_process_resident_memory_bytes", process=process) > 100_000
        assert m.value("vigil_process_open_fds", process=process) >= 3
        assert m.value("vigil_process_start_time_seconds", process=process) > 1.6e9
        assert m.value("vigil_process_cpu_seconds_total", process=process) >= 0
    assert "pid" not in m.label_names()
    assert m.types["vigil_worker_exits_total"] == "counter"
    assert m.types["vigil_worker_boot_duration_seconds"] == "histogram"


def test_crash_loop_of_boot_failures(pod):
    """A worker that exits 1 before READY=1, max_restarts 2, pools kept: 3 boot failures, 2
    restarts, the verdict; the keeper pool is unaffected and no drain started."""
    crash = pool("crash", py("import sys; sys.exit(1)"), replicas=1, backoff=BACKOFF,
                 crash_loop={"max_restarts": 2, "period": "60s"})
    address = start(pod, {"on_pool_failure": "keep", "pools": [keeper(), crash]})
    pod.log.wait("crash_loop", pool="crash", timeout=10)
    m = scrape(address)
    assert m.value("vigil_worker_exits_total", pool="crash", reason="boot_failure", code="1",
                   signal="") == 3
    assert m.total("vigil_worker_exits_total", pool="crash") == 3
    assert m.value("vigil_worker_restarts_total", pool="crash", reason="boot_failure") == 2
    assert m.total("vigil_worker_restarts_total", pool="crash") == 2
    assert m.value("vigil_worker_starts_total", pool="crash") == 3
    assert m.value("vigil_pool_failed", pool="crash") == 1
    assert m.value("vigil_pool_ready", pool="crash") == 0
    assert m.value("vigil_worker_boot_duration_seconds_count", pool="crash") == 0
    assert m.value("vigil_pool_failed", pool="keeper") == 0
    assert m.total("vigil_worker_exits_total", pool="keeper") == 0
    assert m.total("vigil_drains_total") == 0
    assert m.value("vigil_agent_ready") == 1  # with keep, a failed pool no longer counts


def test_runtime_crash_restarts_counted_by_reason(pod):
    """A worker that crashes with code 3 after READY=1: exits reason exited code 3, restarts by
    that reason; runtime crashes are told apart from boot failures."""
    code = ("import os, socket, sys\n"
            "a = os.environ['NOTIFY_SOCKET'].replace('@', '\\0', 1)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(a)\n"
            "s.send(b'READY=1'); sys.exit(3)")
    app = pool("app", py(code), replicas=1, backoff=BACKOFF,
               crash_loop={"max_restarts": 2, "period": "60s"})
    address = start(pod, {"on_pool_failure": "keep", "pools": [keeper(), app]})
    pod.log.wait("crash_loop", pool="app", timeout=10)
    m = scrape(address)
    assert m.value("vigil_worker_exits_total", pool="app", reason="exited", code="3",
                   signal="") == 3
    assert m.value("vigil_worker_restarts_total", pool="app", reason="exited") == 2
    assert m.value("vigil_worker_restarts_total", pool="app", reason="boot_failure") == 0
    assert m.value("vigil_notify_messages_total", pool="app", key="READY") == 3


def test_watchdog_kill(pod):
    """No WATCHDOG=1 within 300ms of READY=1: SIGABRT, reason watchdog; restart never."""
    wd = pool("wd", worker(), replicas=1, watchdog="300ms", restart="never")
    address = start(pod, {"pools": [keeper(), wd]})
    pod.log.wait("worker_exited", pool="wd", reason="watchdog", timeout=10)
    m = scrape(address)
    assert m.value("vigil_worker_exits_total", pool="wd", reason="watchdog", code="",
                   signal="SIGABRT") == 1
    assert m.total("vigil_worker_exits_total", pool="wd") == 1
    assert m.total("vigil_worker_restarts_total", pool="wd") == 0
    assert m.value("vigil_notify_messages_total", pool="wd", key="WATCHDOG") == 0
    assert m.value("vigil_pool_workers", pool="wd", state="exited") == 1


def test_recycling(pod):
    """max_lifetime 300ms: each recycled run (SIGTERM, exit 0) is an exit and a restart with
    reason recycled; every restart is a start."""
    rec = pool("rec", worker(), replicas=1, max_lifetime="300ms")
    address = start(pod, {"pools": [rec]})
    pod.log.wait("worker_exited", pool="rec", reason="recycled", count=2, timeout=10)
    m = scrape(address)
    recycled = m.value("vigil_worker_exits_total", pool="rec", reason="recycled", code="0",
                       signal="")
    assert recycled >= 2
    assert m.total("vigil_worker_exits_total", pool="rec") == recycled
    assert m.value("vigil_worker_restarts_total", pool="rec", reason="recycled") == recycled
    assert m.value("vigil_worker_starts_total", pool="rec") == recycled + 1
    assert m.total("vigil_worker_restarts_total", pool="rec") == recycled


def test_drain_with_straggler_hooks_and_control_restart(pod, tmp_path):
    """preStop drain of a pool with one worker ignoring SIGTERM and SIGINT (grace 4s, margin
    1s): it is SIGKILLed at the deadline and counted; both stop hooks are counted by result;
    the drain and hold histograms have one observation of about 3.5s. vigil-control SIGKILLed
    afterwards: the new one serves the same counts and one control restart."""
    web = pool("web", worker("--ignore", "TERM,INT", "--only-slot", "1"), replicas=2)
    config = {"drain": {"grace_period": "4s", "safety_margin": "1s"},
              "hooks": [{"name": "flush", "command": ["true"]},
                        {"name": "broken", "command": ["false"]}],
              "pools": [web]}
    address = start(pod, config)
    pod.wait_ready(2)
    hold = pod.ctl("drain", "--wait", "--timeout", "20s", timeout=30)
    assert hold.code != 0, hold  # One worker had to be killed: not a graceful drain.
    m = scrape(address)
    assert m.value("vigil_drains_total", trigger="prestop") == 1
    assert m.total("vigil_drains_total") == 1
    assert m.value("vigil_drain_workers_killed_total", pool="web") == 1
    assert m.value("vigil_worker_exits_total", pool="web", reason="stop_timeout_killed", code="",
                   signal="SIGKILL") == 1
    assert m.value("vigil_worker_exits_total", pool="web", reason="exited", code="0",
                   signal="") == 1
    assert m.value("vigil_stop_hooks_total", hook="flush", result="success") == 1
    assert m.value("vigil_stop_hooks_total", hook="broken", result="failure") == 1
    assert m.total("vigil_stop_hooks_total") == 2
    assert m.value("vigil_drain_duration_seconds_count") == 1
    assert 2.9 <= m.value("vigil_drain_duration_seconds_sum") <= 4.0
    assert m.value("vigil_drain_duration_seconds_bucket", le="2.5") == 0
    assert m.value("vigil_drain_duration_seconds_bucket", le="5") == 1
    assert m.value("vigil_prestop_hold_duration_seconds_count") == 1
    assert 2.9 <= m.value("vigil_prestop_hold_duration_seconds_sum") <= 4.0
    assert m.value("vigil_agent_phase", phase="drained") == 1
    assert m.value("vigil_agent_ready") == 0
    assert m.value("vigil_agent_draining") == 1
    # Every state change is one log line: both workers were logged as stopping, with SIGTERM.
    stopping = pod.events("worker_stopping", pool="web")
    assert sorted((e["slot"], e["signal"]) for e in stopping) == [(0, "SIGTERM"), (1, "SIGTERM")]

    control = pod.control_pid()
    os.kill(control, signal.SIGKILL)
    again = wait_for(lambda: (lambda s: s if s and s.value("vigil_control_restarts_total") == 1
                              else None)(try_scrape(address)), 10, "a new vigil-control's /metrics")
    assert pod.control_pid() not in (None, control)
    for name, labels in [("vigil_drains_total", {"trigger": "prestop"}),
                         ("vigil_drain_workers_killed_total", {"pool": "web"}),
                         ("vigil_stop_hooks_total", {"hook": "flush", "result": "success"}),
                         ("vigil_drain_duration_seconds_count", {}),
                         ("vigil_drain_duration_seconds_sum", {}),
                         ("vigil_worker_starts_total", {"pool": "web"})]:
        assert again.value(name, **labels) == m.value(name, **labels), name
    assert again.value("vigil_zombies_reaped_total") == m.value("vigil_zombies_reaped_total") + 1

    os.kill(pod.pid, signal.SIGTERM)
    assert pod.wait_exit(10) == 4  # Workers were killed at a deadline.


def _memory_cgroup(limit: int):
    """A fresh memory cgroup limited to `limit` bytes: (cgroup.procs path, cleanup), or None."""
    name = f"vigil-test-{uuid.uuid4().hex[:8]}"
    v1 = Path("/sys/fs/cgroup/memory")
    v2 = Path("/sys/fs/cgroup")
    try:
        if (v1 / "memory.limit_in_bytes").exists() or (v1 / "cgroup.procs").exists():
            d = v1 / name
            d.mkdir()
            (d / "memory.limit_in_bytes").write_text(str(limit))
            swap = d / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit))
        elif "memory" in (v2 / "cgroup.controllers").read_text().split():
            d = v2 / name
            d.mkdir()
            (d / "memory.max").write_text(str(limit))
            (d / "memory.swap.max").write_text("0")
        else:
            return None
    except OSError:
        return None
    return d


def test_oom_kill_is_recorded(pod, launcher):
    """A worker that outgrows the container's memory limit is SIGKILLed by the kernel's OOM
    killer: reason oom_killed, read from the memory cgroup's oom_kill counter."""
    cgroup = _memory_cgroup(256 * 1024 * 1024)
    if cgroup is None:
        pytest.skip("no writable memory cgroup on this machine")
    try:
        hog = py("b = []\nwhile True: b.append(bytearray(32 * 1024 * 1024))")
        oom = pool("oom", hog, replicas=1, restart="never", readiness={"mode": "started"})
        # The whole pod (unshare, Vigil and its children) goes into the limited cgroup, as a
        # container's processes are.
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        try:
            address = start(pod, {"pools": [keeper(), oom]})
        finally:
            parent = cgroup.parent / "cgroup.procs"
            (parent).write_text(str(os.getpid()))
        pod.log.wait("worker_exited", pool="oom", timeout=30)
        m = scrape(address)
        assert m.value("vigil_worker_exits_total", pool="oom", reason="oom_killed", code="",
                       signal="SIGKILL") == 1, m.series("vigil_worker_exits_total")
        assert m.value("vigil_pool_workers", pool="keeper", state="ready") == 1
        os.kill(pod.pid, signal.SIGTERM)
        pod.wait_exit(10)
    finally:
        for _ in range(50):
            try:
                cgroup.rmdir()
                break
            except OSError:
                wait_for(lambda: not (cgroup / "cgroup.procs").read_text().strip(), 5,
                         "the test cgroup to empty")
