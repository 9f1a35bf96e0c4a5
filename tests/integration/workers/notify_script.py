#!/usr/bin/python3
"""A pool worker that plays a script of sd_notify actions, for the authentication and
adversarial tests (well-behaved speakers and abusers alike).

    notify_script.py STEPS_JSON

STEPS_JSON is a list of steps, each a dict naming one action:
  {"send": TEXT}                  one datagram from the worker itself
  {"send_hex": HEX}               one datagram of raw bytes
  {"child_send": TEXT}            one datagram from a child in the worker's group (stays alive)
  {"sleep": SECONDS}
  {"wait_file": PATH}             until PATH exists
  {"huge": N}                     one datagram of N bytes ("STATUS=xxx...")
  {"fds": N}                      "READY=1" passing N descriptors (SCM_RIGHTS): pipe write ends;
                                  records whether each pipe then reads EOF (Vigil closed them)
  {"random": N, "seed": S}        N datagrams, each invalid in its own random way; records the
                                  cause Vigil must give each ("causes")
  {"flood": N}                    N x "STATUS=flood I" on a non-blocking socket as fast as it
                                  goes; records how many the kernel took ("sent") and refused
                                  ("refused": EAGAIN, the socket's queue was full)
  {"fork_main": true}             a child in the worker's group that stays alive, then
                                  MAINPID=<child>
  {"mainpid": WHAT}               MAINPID= naming "1", "parent" (Vigil, when it is the parent),
                                  "gone" (a child already reaped), "file:PATH" (a pid written in
                                  PATH by the test) or a number
  {"pings": N, "every": SECONDS}  WATCHDOG=1 N times
Each step is recorded once done ({"ev": "step", "i": I, "action": ..., results}), in the
records format of pool_worker.py; then the worker runs until SIGTERM or SIGINT (recorded) and
exits 0.
"""
import json
import os
import random
import select
import signal
import socket
import sys
import time

from pool_worker import Recorder

TICK = 0.01
MAX = 4096


def address():
    a = os.environ["NOTIFY_SOCKET"]
    return "\0" + a[1:] if a.startswith("@") else a


def new_socket(blocking=True):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.connect(address())
    sock.setblocking(blocking)
    return sock


def keep_alive_child(record, name, action=None):
    """A child in the worker's group that does `action` (if any), then records its signals and
    lives until the worker's group is killed (or SIGTERM). Stop signals are held until it has its
    own handlers, so one sent right after the fork is not taken by the parent's."""
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        return pid
    record.proc = name
    state = {"stop": False}

    def on_signal(signo, frame):
        record("signal", sig=signal.Signals(signo).name)
        state["stop"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    record("child", pgid=os.getpgrp(), ppid=os.getppid())
    if action:
        action()
    while not state["stop"]:
        time.sleep(TICK)
    os._exit(0)


def random_invalid(rng):
    """(datagram, cause Vigil must reject it with), chosen at random."""
    kind = rng.choice(["oversized", "empty", "binary", "no_equals", "bad_value"])
    if kind == "oversized":
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(MAX + 1, 70000))), "oversized"
    if kind == "empty":
        return b"", "empty"
    if kind == "binary":
        data = bytearray(rng.getrandbits(8) for _ in range(rng.randint(1, MAX)))
        data[rng.randrange(len(data))] = rng.choice([0, 1, 2, 7, 8, 11, 12, 14, 27, 31])
        return bytes(data), "not_text"
    if kind == "no_equals":
        alphabet = [c for c in range(0x21, 0x7F) if c != ord("=")]
        line = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
        return b"READY=1\n" + line, "malformed"
    key = rng.choice([b"READY", b"WATCHDOG", b"MAINPID", b"EXTEND_TIMEOUT_USEC", b"ERRNO",
                      b"X_VIGIL_STOP", b"STOPPING"])
    value = bytes(rng.choice(b"abcxyz-+ ") for _ in range(rng.randint(1, 20)))
    return key + b"=" + value, "malformed"


def run_step(step, record):
    out = {}
    if "send" in step:
        new_socket().send(step["send"].encode())
    elif "send_hex" in step:
        new_socket().send(bytes.fromhex(step["send_hex"]))
    elif "child_send" in step:
        text = step["child_send"]
        out["child"] = keep_alive_child(record, "child", lambda: new_socket().send(text.encode()))
    elif "sleep" in step:
        time.sleep(step["sleep"])
    elif "wait_file" in step:
        while not os.path.exists(step["wait_file"]):
            time.sleep(TICK)
    elif "huge" in step:
        size = step["huge"]
        data = b"STATUS=" + b"x" * (size - len(b"STATUS="))
        sock = new_socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size + 65536)
        sock.send(data)
        out["size"] = len(data)
    elif "fds" in step:
        pipes = [os.pipe() for _ in range(step["fds"])]
        socket.send_fds(new_socket(), [b"READY=1"], [w for _, w in pipes])
        for _, w in pipes:
            os.close(w)
        # Each read end sees EOF once no write end is left open anywhere, Vigil's copy included.
        deadline = time.monotonic() + 5
        eof = []
        for r, _ in pipes:
            ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
            eof.append(bool(ready) and os.read(r, 1) == b"")
        out["eof"] = eof
    elif "random" in step:
        rng = random.Random(step["seed"])
        sock = new_socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        causes = []
        for _ in range(step["random"]):
            data, cause = random_invalid(rng)
            sock.send(data)
            causes.append(cause)
        out["causes"] = causes
    elif "flood" in step:
        sock = new_socket(blocking=False)
        sent = refused = 0
        for i in range(step["flood"]):
            try:
                sock.send(f"STATUS=flood {i}".encode())
                sent += 1
            except BlockingIOError:
                refused += 1
        out.update(sent=sent, refused=refused)
    elif "fork_main" in step:
        child = keep_alive_child(record, "main")
        new_socket().send(f"MAINPID={child}".encode())
        out["main"] = child
    elif "mainpid" in step:
        what = str(step["mainpid"])
        if what == "parent":
            pid = os.getppid()
        elif what == "gone":
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
        elif what.startswith("file:"):
            pid = int(open(what[5:]).read())
        else:
            pid = int(what)
        new_socket().send(f"MAINPID={pid}".encode())
        out["pid"] = pid
    elif "pings" in step:
        sock = new_socket()
        for _ in range(step["pings"]):
            sock.send(b"WATCHDOG=1")
            time.sleep(step["every"])
    else:
        raise SystemExit(f"unknown step {step}")
    return out


def main():
    steps = json.loads(sys.argv[1])
    record = Recorder("worker")
    state = {"stop": False}

    def on_signal(signo, frame):
        record("signal", sig=signal.Signals(signo).name)
        state["stop"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    record("start", ppid=os.getppid(), pgid=os.getpgrp(), sid=os.getsid(0), uid=os.getuid(),
           gid=os.getgid(), groups=sorted(os.getgroups()),
           env={k: os.environ[k] for k in ("VIGIL_POOL", "VIGIL_WORKER", "NOTIFY_SOCKET",
                                           "WATCHDOG_USEC") if k in os.environ})
    for i, step in enumerate(steps):
        result = run_step(step, record)
        record("step", i=i, action=next(iter(step)), **result)
    while not state["stop"]:
        time.sleep(TICK)
    record("exit", code=0)
    sys.exit(0)


if __name__ == "__main__":
    main()
