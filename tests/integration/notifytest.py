"""Helpers of the sd_notify authentication and adversarial tests: senders from outside the
worker (in Vigil's PID namespace when it is PID 1), freezing Vigil so that a datagram waits
unread, and the notify sockets the kernel lists in /proc/net/unix."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Iterator, Optional

from vigiltest import PYTHON3, Launcher, PoolLauncher, proc_stat, wait_for

WORKERS = Path(__file__).resolve().parent / "workers"
NOTIFY_SEND = WORKERS / "notify_send.py"
NOBODY = 65534


def credential_env(creds: str) -> dict[str, str]:
    """Vigil's environment for one way of reading senders' credentials (notify.credentials)."""
    return {"VIGIL_NOTIFY_CREDENTIALS": creds}


def in_vigil_namespace(vigil, argv: list[str]) -> list[str]:
    """argv run in Vigil's PID namespace when it is PID 1 (nsenter forks it there)."""
    if vigil.pid1:
        return ["nsenter", "--target", str(vigil.pid), "--pid", "--", *argv]
    return argv


def send_once(launcher: Launcher, vigil, address: str, message: str, *,
              uid: Optional[int] = None, namespace: bool = True, repeat: int = 1) -> str:
    """Runs notify_send.py --exit to completion (it and its reaper are gone when this returns);
    returns its report: "sent PID" or "error ERRNO"."""
    argv = [PYTHON3, str(NOTIFY_SEND), address, message, "--exit", "--repeat", str(repeat)]
    if uid is not None:
        argv += ["--uid", str(uid)]
    if namespace:
        argv = in_vigil_namespace(vigil, argv)
    sender = launcher.popen(argv, stdout=subprocess.PIPE)
    out, _ = sender.communicate(timeout=10)
    assert sender.returncode == 0, (sender.returncode, out)
    return out.decode().strip()


@contextlib.contextmanager
def frozen(vigil) -> Iterator[None]:
    """Vigil stopped (SIGSTOP from the host: it reaches a namespace's PID 1 too) for the body, so
    what is sent meanwhile waits unread in its socket; continued afterwards, whatever happens."""
    vigil.signal(signal.SIGSTOP)
    wait_for(lambda: getattr(proc_stat(vigil.pid), "state", "") == "T", what="vigil to stop")
    try:
        yield
    finally:
        vigil.signal(signal.SIGCONT)


def listed_unix_sockets() -> list[str]:
    """Every bound unix socket's address the kernel lists for this network namespace (what any
    process of the pod can read)."""
    out = []
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8:
            out.append(fields[7])
    return out


def waiting_pool(pools: PoolLauncher, go: Path, **extra) -> Path:
    """One notify worker that sends READY=1 only once the file `go` exists."""
    return pools.config([{"name": "app", "command": pools.worker("--wait-file", str(go)),
                          "readiness": {"mode": "notify"}, "stop_timeout": "5s", **extra}])


def shared_dir(prefix: str) -> Path:
    """A directory every uid can traverse and write (tmp_path's parents are 0700)."""
    import tempfile
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o777)
    return directory


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
