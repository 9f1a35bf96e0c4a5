"""vigil-control takes its options from the first frame the core sends on fd 3, not from flags
(issue 11): run by hand, it says what is wrong and exits 2 instead of serving; given options, it
serves what they say. The real binary, next to vigil, with a socketpair as its fd 3; the test
plays the core (the frames are hand-encoded protobuf: a 4-byte little-endian length, then a
CoreMessage; proto/vigil/internal/v1/ipc.proto)."""

import os
import socket
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

TIMEOUT = 30  # seconds: generous, the machine may be loaded


@pytest.fixture
def control_bin(vigil_bin) -> str:
    path = Path(vigil_bin).parent / "vigil-control"
    assert path.is_file(), f"vigil-control not found next to vigil ({path})"
    return str(path)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2); short payloads only (one-byte varints)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def frame(message: bytes) -> bytes:
    return struct.pack("<I", len(message)) + message


def start(control_bin: str, *args: str):
    """vigil-control with one end of a socketpair as its fd 3; returns (process, core's end)."""
    core, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def as_fd3():
        os.dup2(theirs.fileno(), 3)

    proc = subprocess.Popen([control_bin, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            pass_fds=(3,), preexec_fn=as_fd3)
    theirs.close()
    return proc, core


def finish(proc) -> tuple[int, str]:
    _, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, err.decode(errors="replace")


def test_arguments_are_refused(control_bin):
    proc, core = start(control_bin, "--socket", "/tmp/x.sock")
    code, err = finish(proc)
    core.close()
    assert code == 2, err
    assert "vigil-control takes no arguments (got '--socket')" in err, err
    assert "sends its options over fd 3" in err, err


def test_a_first_frame_that_is_not_the_options_is_refused(control_bin):
    """What an old core, or anything else on fd 3, would send first: a snapshot."""
    proc, core = start(control_bin)
    core.sendall(frame(field(1, bytes([5 << 3, 1]))))  # CoreMessage{snapshot{first: true}}
    code, err = finish(proc)
    core.close()
    assert code == 2, err
    assert "the first frame from the core is not its options but a snapshot" in err, err


def test_the_core_closing_before_the_options_is_an_error(control_bin):
    proc, core = start(control_bin)
    core.close()
    code, err = finish(proc)
    assert code == 2, err
    assert "the core closed the connection before sending the options" in err, err


def test_bad_options_are_named(control_bin):
    proc, core = start(control_bin)
    core.sendall(frame(field(4, b"")))  # ControlOptions with no socket
    code, err = finish(proc)
    core.close()
    assert code == 2, err
    assert "socket: empty; the unix socket needs a path" in err, err


def test_it_serves_what_the_options_say(control_bin, tmp_path):
    sock = tmp_path / "c.sock"
    # ControlOptions{socket: sock, socket_mode: 0640 (a two-byte varint)}
    options = field(1, str(sock).encode()) + bytes([2 << 3, (0o640 & 0x7F) | 0x80, 0o640 >> 7])
    proc, core = start(control_bin)
    try:
        core.sendall(frame(field(4, options)))
        deadline = time.monotonic() + TIMEOUT
        while not sock.is_socket() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, finish(proc)
        assert sock.is_socket(), "vigil-control did not listen on the socket its options name"
        assert stat.S_IMODE(sock.stat().st_mode) == 0o640
    finally:
        core.close()  # The core going away: vigil-control exits.
        code, err = finish(proc)
    assert code == 0, err
