"""Idle, the core makes zero wake-ups: no polling timer (tini wakes up every second), in
single-command mode and in pool mode, with the control plane running and being asked for status.

Wake-ups are counted as the context switches of vigil's only thread (/proc/PID/status): a
process blocked in epoll_wait(-1) makes none. The test watches an idle vigil for IDLE_WINDOW
seconds; this wait is the measurement itself, not a synchronisation, and a core that woke up
every second would show at least two switches in it.
"""

import subprocess
import time
from pathlib import Path

from vigiltest import start_recorded, status_field, wait_for

IDLE_WINDOW = 2.5


def switches(pid: int) -> int:
    return int(status_field(pid, "voluntary_ctxt_switches")) + \
        int(status_field(pid, "nonvoluntary_ctxt_switches"))


# epoll_wait and epoll_pwait on x86_64, epoll_pwait on aarch64: for kernels without wchan.
EPOLL_WAIT_SYSCALLS = {"232", "281", "22"}


def waiting_in_epoll(pid: int) -> bool:
    """vigil is blocked in epoll_wait (not still finishing its last iteration)."""
    with open(f"/proc/{pid}/wchan") as f:
        if "epoll" in f.read():
            return True
    with open(f"/proc/{pid}/syscall") as f:
        return f.read().split()[0] in EPOLL_WAIT_SYSCALLS


def assert_idle(pid: int, during=lambda: None) -> None:
    # Start counting once vigil is back in epoll_wait: the switch into it would count otherwise.
    wait_for(lambda: waiting_in_epoll(pid), what="vigil to wait in epoll_wait")
    before = switches(pid)
    end = time.monotonic() + IDLE_WINDOW
    during()
    time.sleep(max(0.0, end - time.monotonic()))  # The measurement window (see above).
    assert switches(pid) - before == 0, "the idle core woke up"


def test_single_command_core_is_idle(start, helpers, tmp_path):
    """vigil -- CMD, CMD waiting: vigil makes no wake-up at all."""
    vigil, _ = start_recorded(start, helpers, tmp_path)
    assert_idle(vigil.pid)
    assert vigil.running()


def test_pool_core_is_idle_without_the_control_plane(pools):
    """A ready pool of two workers, no probe, no watchdog: the core makes no wake-up."""
    vigil = pools.start(["--control=false"], config=pools.config(
        [{"name": "app", "command": pools.worker(), "replicas": 2,
          "readiness": {"mode": "notify"}, "min_ready": 2}]))
    vigil.log.wait("agent_ready")
    assert_idle(vigil.pid)
    assert vigil.running()


def test_pool_core_is_idle_while_the_control_plane_answers(pools, vigil_bin, tmp_path):
    """With vigil-control running, `vigilctl status` is answered from its read model: the core
    still makes no wake-up."""
    vigilctl = Path(vigil_bin).parent / "vigilctl"
    assert vigilctl.is_file(), f"vigilctl not found next to vigil ({vigilctl})"
    socket = tmp_path / "control.sock"  # PoolLauncher's VIGIL_SOCKET.
    vigil = pools.start(config=pools.config(
        [{"name": "app", "command": pools.worker(), "replicas": 2,
          "readiness": {"mode": "notify"}, "min_ready": 2}]))
    vigil.log.wait("agent_ready")

    def status() -> str:
        done = subprocess.run([str(vigilctl), "--socket", str(socket), "status"],
                              capture_output=True, text=True, timeout=10)
        return done.stdout if done.returncode == 0 else ""

    wait_for(lambda: "2/2 ready" in status(), what="vigil-control to report the ready pool")
    assert_idle(vigil.pid, during=lambda: [status() for _ in range(3)])
    assert vigil.running()
