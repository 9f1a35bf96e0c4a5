#!/usr/bin/python3
"""A wrapper worker that hands its main process over twice, MAINPID=A then MAINPID=B, for the
MAINPID bookkeeping tests (issue 10, defect 3).

    handover.py DIR

The leader L (the process Vigil spawned) starts A, then B, each through an intermediate that
exits at once: both are orphans, reparented to Vigil (which reaps them), and both stay in L's
process group. L sends MAINPID=A, then MAINPID=B with READY=1. A exits 0 once DIR/a-exit
exists. B exits 3 once DIR/b-exit exists (a crash), or 0.3 s after SIGTERM (Vigil must wait for
it). L exits 0 on SIGTERM. Every process records its start ("child" for A and B), signals and
exit in pool_worker.py's format: proc "worker" (L), "a" and "b".
"""
import os
import signal
import socket
import sys
import time

from pool_worker import Recorder

TICK = 0.01
DIRECTORY = sys.argv[1]


def notify(text):
    address = os.environ["NOTIFY_SOCKET"]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.sendto(text.encode(), "\0" + address[1:] if address.startswith("@") else address)


def run(record, crash_file, crash_code, linger, started=None):
    """Records signals; exits 0 `linger` seconds after SIGTERM, or crash_code once crash_file
    exists. `started` is recorded once the handlers are in place."""
    state = {"stop": None}

    def on_signal(signo, frame):
        record("signal", sig=signal.Signals(signo).name)
        if state["stop"] is None:
            state["stop"] = time.monotonic()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if started:
        record("child", **started)
    while True:
        if state["stop"] is not None and time.monotonic() >= state["stop"] + linger:
            record("exit", code=0)
            os._exit(0)
        if crash_file and os.path.exists(os.path.join(DIRECTORY, crash_file)):
            record("exit", code=crash_code)
            os._exit(crash_code)
        time.sleep(TICK)


def orphan(record, name, crash_file, crash_code, linger):
    """Starts `name` as an orphan of L's group; returns its pid once it has recorded itself."""
    reader, writer = os.pipe()
    intermediate = os.fork()
    if intermediate == 0:
        os.close(reader)
        pid = os.fork()
        if pid:
            os.write(writer, f"{pid}\n".encode())
            os._exit(0)
        os.close(writer)
        record.proc = name
        run(record, crash_file, crash_code, linger, {"pgid": os.getpgrp(), "ppid": os.getppid()})
    os.close(writer)
    pid = int(os.read(reader, 64))
    os.close(reader)
    os.waitpid(intermediate, 0)
    return pid


def main():
    record = Recorder("worker")
    record("start", ppid=os.getppid(), pgid=os.getpgrp(), sid=os.getsid(0), uid=os.getuid(),
           gid=os.getgid(), groups=sorted(os.getgroups()),
           env={k: os.environ[k] for k in ("VIGIL_POOL", "VIGIL_WORKER", "NOTIFY_SOCKET")
                if k in os.environ})
    a = orphan(record, "a", "a-exit", 0, 0.0)
    notify(f"MAINPID={a}")
    b = orphan(record, "b", "b-exit", 3, 0.3)
    notify(f"MAINPID={b}\nREADY=1")
    record("handed_over", a=a, b=b)
    run(record, None, 0, 0.0)


if __name__ == "__main__":
    main()
