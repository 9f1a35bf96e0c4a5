"""Nobody reads Vigil's output: PID 1 must not block in a write.

A container runtime that stalls, a full `kubectl logs` pipe, a terminal stopped with ^S: Vigil's
stdout or stderr is a pipe that nobody drains. The core writes through non-blocking channels
with bounded buffers; what does not fit is dropped, counted and reported once the reader is back.
Before the fix, the core blocked in write(): no reaping, no restarts, SIGTERM pending forever.
"""

import os
import signal

from vigiltest import wait_for


def crash_pool(counter):
    """A worker that records each run and fails at once: restarts prove the loop is alive."""
    return {"name": "crash", "command": ["sh", "-c", f"echo run >> {counter}; exit 1"],
            "replicas": 1, "backoff": {"initial": "0s", "max": "10ms"},
            "crash_loop": {"max_restarts": 100000}}


def runs(counter):
    try:
        return counter.read_text().count("run")
    except FileNotFoundError:
        return 0


def unread_pipe():
    """A pipe with a small buffer whose read end the test holds and does not read."""
    r, w = os.pipe()
    import fcntl
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
    return r, w


def drain(fd):
    os.set_blocking(fd, False)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


def test_unread_stdout_with_log_prefix_does_not_freeze_pid1(pools, tmp_path):
    """A worker floods stdout through log_prefix while nobody reads Vigil's stdout: restarts go
    on, SIGTERM ends the pod at once, the lost lines are counted and reported."""
    counter = tmp_path / "runs"
    flood = {"name": "flood", "log_prefix": True, "replicas": 1,
             "command": ["sh", "-c", "yes 'a line of flood output' | head -n 200000; exec sleep 600"]}
    config = pools.config([flood, crash_pool(counter)])
    r, w = unread_pipe()
    try:
        vigil = pools.start(config=config, stdout=w)
    finally:
        os.close(w)
    try:
        before = wait_for(lambda: runs(counter) >= 5 and runs(counter), what="first crashes")
        # The flood has long filled the pipe; the loop must still be restarting the crasher.
        wait_for(lambda: runs(counter) >= before + 20, timeout=15,
                 what="restarts to go on while stdout is stalled")
        vigil.signal(signal.SIGTERM)
        assert vigil.exits_within(10) is not None, "vigil blocked: " + vigil.log.summary()
        drained = drain(r)
    finally:
        os.close(r)
    assert drained.startswith(b"[flood/0] a line of flood output\n")
    # Whole lines only: the pipe got some, the rest was dropped and said so.
    assert all(line == b"[flood/0] a line of flood output"
               for line in drained.splitlines()), drained[-200:]
    dropped = vigil.log.events("output_dropped", stream="stdout")
    assert dropped and dropped[0]["lines"] > 0, vigil.log.summary()


def test_unread_stderr_does_not_freeze_pid1(pools, tmp_path):
    """Vigil's own log lines (info level, a line per restart) go to a stderr nobody reads: the
    loop goes on and SIGTERM still ends the pod."""
    counter = tmp_path / "runs"
    config = pools.config([crash_pool(counter)])
    r, w = unread_pipe()
    try:
        vigil = pools.start(config=config, stderr=w)
    finally:
        os.close(w)
    try:
        # About 4 log lines a restart: 500 restarts are far more than the 4 KiB pipe holds.
        wait_for(lambda: runs(counter) >= 500, timeout=30,
                 what="restarts to go on while stderr is stalled")
        vigil.signal(signal.SIGTERM)
        assert vigil.exits_within(10) is not None, "vigil blocked on its own stderr"
        drained = drain(r).decode()
    finally:
        os.close(r)
    lines = drained.splitlines()
    assert lines, "nothing reached stderr"
    # Whole JSON lines: never half of one.
    import json
    for line in lines:
        json.loads(line)
