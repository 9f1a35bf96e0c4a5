"""The socket directory /run/vigil under a read-only root and a non-root user (issue 14).

Each pod is Vigil as PID 1 of new PID and mount namespaces, with a private tmpfs at /run made
read-only (a `readOnlyRootFilesystem`), run as uid/gid 65532 (the image's user) by setpriv, and
/run/vigil either an emptyDir (a tmpfs of mode 0777, what the chart and manifests mount), the
image's directory (owned by 65532, but on the read-only root), or a root-owned directory.

Regressions: with the socket's directory unusable, Vigil started its workers and vigil-control
failed to bind in a restart loop; `vigilctl drain --wait` waited 1 hour by default for a socket
that would never come. Now Vigil refuses to start (exit 2) naming the path and the fix, and
vigilctl is bounded by the grace period it is told (VIGIL_GRACE_PERIOD, default 30 s) and says
at once what is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from kubesim import wait_for
from vigiltest import children_of

UID = 65532
AS_USER = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]
STARTED = "worker-started"


@pytest.fixture
def shared():
    """A directory uid 65532 can read and write (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="vigil-socket-dir-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_config(shared: Path) -> Path:
    worker = f"touch {shared}/{STARTED}; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"
    config = shared / "vigil.yaml"
    config.write_text(
        "drain: {grace_period: 10s, safety_margin: 2s}\n"
        "pools:\n"
        f"  - {{name: web, replicas: 2, readiness: {{mode: started}}, stop_timeout: 5s,\n"
        f"     command: [/bin/sh, -c, \"{worker}\"]}}\n")
    config.chmod(0o644)
    return config


def pod_script(vigil_bin: str, config: Path, run_vigil: str, *, read_only: bool = True,
               extra: str = "") -> str:
    """A shell script for `unshare --mount`: a private /run, /run/vigil as `run_vigil` says
    (emptydir | image | root), `extra` set-up commands, /run made read-only, then vigil as
    uid 65532."""
    lines = ["set -e", "mount -t tmpfs -o mode=0755 tmpfs /run", "mkdir /run/vigil"]
    if run_vigil == "emptydir":
        lines.append("mount -t tmpfs -o mode=0777 tmpfs /run/vigil")
    elif run_vigil == "image":
        lines.append(f"chown {UID}:{UID} /run/vigil")
    else:
        assert run_vigil == "root"
    if extra:
        lines.append(extra)
    if read_only:
        lines.append("mount -o remount,ro /run")
    lines.append(f"exec {' '.join(AS_USER)} {vigil_bin} --config {config}")
    return "\n".join(lines)


def start_pod(launcher, script: str, err: Path, env=None) -> subprocess.Popen:
    return launcher.popen(["unshare", "--pid", "--fork", "--mount-proc", "--mount", "sh", "-c",
                           script], env=env or {}, stderr=open(err, "wb"))


def ctl_in_pod(popen: subprocess.Popen, vigilctl_bin: str, *args: str, timeout: float = 30):
    """vigilctl as uid 65532 in the pod's mount namespace (what `kubectl exec` does)."""
    vigil = wait_for(lambda: (children_of(popen.pid) or [None])[0], what="vigil under unshare")
    return subprocess.run(["nsenter", f"--target={vigil}", "--mount", *AS_USER, vigilctl_bin,
                           *args], capture_output=True, text=True, timeout=timeout)


def test_emptydir_at_run_vigil_serves_with_read_only_root_as_non_root(launcher, vigil_bin,
                                                                     vigilctl_bin, shared):
    """What the chart and manifests do: a pool runs, vigilctl works, the drain and the exit."""
    err = shared / "vigil.err"
    popen = start_pod(launcher, pod_script(vigil_bin, write_config(shared), "emptydir"), err)
    ready = ctl_in_pod(popen, vigilctl_bin, "wait-ready", "--timeout", "20s")
    assert ready.returncode == 0, (ready.stderr, err.read_text())
    status = ctl_in_pod(popen, vigilctl_bin, "status")
    assert status.returncode == 0 and "pool web: 2/2 ready" in status.stdout, status
    drain = ctl_in_pod(popen, vigilctl_bin, "drain", "--wait")
    assert drain.returncode == 0, (drain, err.read_text())
    assert "every worker ended gracefully" in drain.stdout
    vigil = children_of(popen.pid)[0]
    os.kill(vigil, 15)
    assert popen.wait(15) == 0, err.read_text()


@pytest.mark.parametrize("run_vigil, read_only, cause", [
    ("image", True, "Read-only file system"),
    ("root", False, "Permission denied"),
], ids=["read-only-root", "not-writable-by-uid"])
def test_unusable_socket_dir_fails_at_start_naming_it_and_the_fix(launcher, vigil_bin, shared,
                                                                  run_vigil, read_only, cause):
    """The notify directory elsewhere (writable): only the control socket's directory is
    wrong. It used to start the workers while vigil-control failed to bind, in a loop."""
    err = shared / "vigil.err"
    extra = "mkdir /run/other && mount -t tmpfs -o mode=0777 tmpfs /run/other"
    script = pod_script(vigil_bin, write_config(shared), run_vigil, read_only=read_only,
                        extra=extra)
    popen = start_pod(launcher, script, err, env={"VIGIL_NOTIFY_DIR": "/run/other/notify"})
    try:
        code = popen.wait(15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"vigil did not exit at start-up: {err.read_text()[-2000:]}")
    message = err.read_text()
    assert code == 2, message
    assert not (shared / STARTED).exists(), "a worker was started"
    assert "/run/vigil/control.sock" in message and cause in message, message
    assert "emptyDir at /run/vigil" in message and "control.socket" in message, message
    assert message.count("\n") <= 2, "one message, not a loop: " + message


def test_read_only_run_vigil_names_the_control_socket_first(launcher, vigil_bin, shared):
    """The image's /run/vigil on a read-only root, defaults otherwise: the message is about
    /run/vigil and the control socket, the first thing that needs it."""
    err = shared / "vigil.err"
    popen = start_pod(launcher, pod_script(vigil_bin, write_config(shared), "image"), err)
    assert popen.wait(15) == 2
    message = err.read_text()
    assert message.startswith("vigil: ") and "control.socket" in message, message
    assert "emptyDir at /run/vigil" in message and "Read-only file system" in message, message
    assert not (shared / STARTED).exists()


def test_read_only_notify_dir_that_exists_fails_at_start(launcher, vigil_bin, shared):
    """A notify directory that is there (made by the image) but on the read-only root: each
    worker's socket could never be made in it."""
    err = shared / "vigil.err"
    extra = (f"mkdir -m 0711 /run/vigil/notify && chown {UID}:{UID} /run/vigil/notify && "
             "mkdir /run/other && mount -t tmpfs -o mode=0777 tmpfs /run/other")
    script = pod_script(vigil_bin, write_config(shared), "image", extra=extra)
    popen = start_pod(launcher, script, err, env={"VIGIL_SOCKET": "/run/other/control.sock",
                                                  "VIGIL_NOTIFY_DIR": "/run/vigil/notify"})
    try:
        code = popen.wait(15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"vigil did not exit at start-up: {err.read_text()[-2000:]}")
    message = err.read_text()
    assert code == 2, message
    assert "/run/vigil/notify" in message and "Read-only file system" in message, message
    assert "emptyDir at /run/vigil" in message, message
    assert not (shared / STARTED).exists()


# --- vigilctl: at once when the socket is not there; drain --wait bounded ---------------------

def run_ctl(launcher, vigilctl_bin, args, env, timeout=20):
    started = time.monotonic()
    popen = launcher.popen([vigilctl_bin, *args], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        out, err = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        out, err = popen.communicate()
        pytest.fail(f"vigilctl {' '.join(args)} still waiting after {timeout}s: {err!r}")
    return popen.returncode, out.decode(), err.decode(), time.monotonic() - started


@pytest.mark.parametrize("args", [["status"], ["drain"], ["drain", "--wait"]],
                         ids=["status", "drain", "drain-wait"])
def test_missing_socket_directory_is_reported_at_once(launcher, vigilctl_bin, tmp_path, args):
    """Vigil makes the socket's directory before anything else: without it, no agent will ever
    answer there. (Only wait-ready, run from a container's first instant, keeps trying.)"""
    socket = tmp_path / "no-such-dir" / "control.sock"
    code, _, err, took = run_ctl(launcher, vigilctl_bin, ["--socket", str(socket), *args], {})
    assert code == 3, err
    assert f"{tmp_path / 'no-such-dir'}" in err and "does not exist" in err, err
    assert "VIGIL_SOCKET" in err, err
    assert took < 5, f"took {took:.1f}s"


def test_a_path_that_is_not_a_socket_is_reported_at_once(launcher, vigilctl_bin, tmp_path):
    path = tmp_path / "control.sock"
    path.write_text("")
    code, _, err, took = run_ctl(launcher, vigilctl_bin,
                                 ["--socket", str(path), "drain", "--wait"], {})
    assert code == 3 and f"{path} is not a socket" in err, err
    assert took < 5


def test_drain_wait_is_bounded_by_the_grace_period(launcher, vigilctl_bin, tmp_path):
    """The socket's directory is there, the socket not (yet): vigil-control starting or
    restarting. drain --wait keeps trying for VIGIL_GRACE_PERIOD, not an hour."""
    socket = tmp_path / "control.sock"
    code, _, err, took = run_ctl(launcher, vigilctl_bin, ["--socket", str(socket), "drain",
                                 "--wait"], {"VIGIL_GRACE_PERIOD": "2s"})
    assert code == 3, err
    assert str(socket) in err and "2s" in err, err
    assert 1.5 < took < 15, f"took {took:.1f}s"


def test_timeout_flag_wins_over_the_grace_period(launcher, vigilctl_bin, tmp_path):
    socket = tmp_path / "control.sock"
    code, _, err, took = run_ctl(launcher, vigilctl_bin, ["--socket", str(socket), "drain",
                                 "--wait", "--timeout", "1s"], {"VIGIL_GRACE_PERIOD": "1h"})
    assert code == 3, err
    assert took < 10, f"took {took:.1f}s"


def test_drain_wait_default_is_30_seconds_and_says_so_at_once(launcher, vigilctl_bin, tmp_path):
    """Without VIGIL_GRACE_PERIOD: Kubernetes' default grace period, announced on stderr at
    once (the test does not wait the 30 s out)."""
    socket = tmp_path / "control.sock"
    popen = launcher.popen([vigilctl_bin, "--socket", str(socket), "drain", "--wait"],
                           stderr=subprocess.PIPE)
    os.set_blocking(popen.stderr.fileno(), False)
    seen = b""

    def announced():
        nonlocal seen
        seen += popen.stderr.read() or b""
        return b"\n" in seen or popen.poll() is not None
    wait_for(announced, timeout=10, what="vigilctl's first line")
    line = seen.decode()
    assert popen.poll() is None, f"vigilctl ended at once: {line}"
    assert str(socket) in line and "30s" in line and "VIGIL_GRACE_PERIOD" in line, line
    popen.kill()
    popen.wait()


def test_a_bad_grace_period_is_a_usage_error(launcher, vigilctl_bin, tmp_path):
    code, _, err, _ = run_ctl(launcher, vigilctl_bin,
                              ["--socket", str(tmp_path / "control.sock"), "drain", "--wait"],
                              {"VIGIL_GRACE_PERIOD": "soon"})
    assert code == 2 and "VIGIL_GRACE_PERIOD" in err and "soon" in err, err
