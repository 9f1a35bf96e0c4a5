"""The control socket's path: Vigil removes only a stale socket of its own kind there.

Regression (issue 10, defect 10): a regular file at the socket path was deleted and replaced by
a socket. Now anything but a stale socket is a start-up error (exit 2, naming the path and what
is there) before any worker starts; a socket some server still listens on is not stolen.
"""

import os
import socket

import pytest

from vigiltest import wait_for

MARKER = "started"


def touch_config(pools):
    return pools.config([{"name": "web", "command": ["/usr/bin/touch", str(pools.workdir / MARKER)]}])


def start_with_socket(pools, path, **kw):
    return pools.run(config=touch_config(pools), env={"VIGIL_SOCKET": str(path)}, pid1=False,
                     json_log=False, **kw)


@pytest.mark.parametrize("kind", ["file", "directory", "symlink"])
def test_what_is_not_a_socket_is_never_deleted(pools, tmp_path, kind):
    path = tmp_path / "control.sock"
    if kind == "file":
        path.write_text("precious data\n")
    elif kind == "directory":
        path.mkdir()
    else:
        (tmp_path / "target").write_text("target\n")
        path.symlink_to(tmp_path / "target")
    vigil, code = start_with_socket(pools, path)
    assert code == 2, vigil.stderr
    assert not (pools.workdir / MARKER).exists(), "a worker was started"
    message = vigil.stderr.strip()
    assert message.startswith("vigil: VIGIL_SOCKET: control.socket: socket path "), message
    assert str(path) in message and "removes only stale sockets" in message, message
    if kind == "file":
        assert path.read_text() == "precious data\n"
    elif kind == "directory":
        assert path.is_dir()
    else:
        assert path.is_symlink() and (tmp_path / "target").read_text() == "target\n"


def test_a_socket_in_use_is_not_stolen(pools, tmp_path):
    path = tmp_path / "control.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        vigil, code = start_with_socket(pools, path)
        assert code == 2, vigil.stderr
        assert "is in use" in vigil.stderr, vigil.stderr
        assert not (pools.workdir / MARKER).exists()
        # Still the server's: a client reaches it.
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(path))
        client.close()
    finally:
        server.close()


def test_a_stale_socket_is_replaced(pools, tmp_path):
    """A socket left by an earlier run (nobody listens) is removed and vigil serves there."""
    path = tmp_path / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # bound, never listening: what a killed vigil-control leaves
    config = pools.config([{"name": "web", "command": ["sleep", "600"],
                            "readiness": {"mode": "started"}}])
    vigil = pools.start(config=config, env={"VIGIL_SOCKET": str(path)})
    vigil.log.wait("control_started")

    def serving():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False
        finally:
            s.close()
    wait_for(serving, what="vigil-control to serve on the old stale path")
    vigil.signal(15)
    assert vigil.wait() == 0


def test_a_directory_that_cannot_be_made_is_named_with_the_fix(pools, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    path = blocker / "vigil" / "control.sock"
    vigil, code = start_with_socket(pools, path)
    assert code == 2, vigil.stderr
    assert f"cannot create directory '{blocker}/vigil'" in vigil.stderr, vigil.stderr
    assert not (pools.workdir / MARKER).exists()
    assert blocker.read_text() == "x"


def test_a_read_only_directory_names_the_fix(pools, tmp_path, launcher):
    """What a read-only root filesystem does to /run/vigil: a bind mount made read-only."""
    ro = tmp_path / "ro"
    ro.mkdir()
    path = ro / "run" / "control.sock"
    # A private mount namespace with a read-only bind mount of `ro`, as a readOnlyRootFilesystem.
    script = (f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
              f"exec {launcher.vigil_bin} --config {touch_config(pools)}")
    popen = launcher.popen(["unshare", "--mount", "sh", "-c", script],
                           env={"VIGIL_SOCKET": str(path), "VIGIL_METRICS_ADDRESS": "off"},
                           stderr=open(tmp_path / "err", "wb"))
    assert popen.wait(10) == 2
    err = (tmp_path / "err").read_text()
    assert "Read-only file system" in err and "emptyDir" in err, err
    assert not (pools.workdir / MARKER).exists()
