#!/usr/bin/python3
"""A configurable pool worker for Vigil's pool-mode integration tests.

It talks to Vigil with python3-sdnotify (the Debian package, as a real application would) and
records what happens to it, one JSON object a line, in $WORKER_RECORDS/POOL-SLOT-PID.jsonl:
  {"ev": "start", "ppid", "pgid", "sid", "uid", "gid", "groups", "env": {...}}   on start
  {"ev": "notify", "msg"}, {"ev": "ready"}, {"ev": "junk_sent"}     what it sent (before sending)
  {"ev": "signal", "sig": "SIGTERM"}                                each signal caught
  {"ev": "exit", "code"}                                            just before exiting
  {"ev": "child", "pgid", "sid", "ppid"}                            a process it forked
Every record has "pid", "t" (time.time(), the clock of Vigil's log timestamps) and "proc"
(worker, child or orphan: a forked child appends to its parent's file).

By default it boots, sends READY=1, runs until SIGTERM or SIGINT, then exits 0. Options change
that; see parse(). Options marked [slot] apply only to the slot given with --only-slot (to all
slots without it), so one pool can hold one misbehaving worker among well-behaved ones.
"""
import argparse
import json
import os
import signal
import socket
import sys
import time

import sdnotify

POOL = os.environ.get("VIGIL_POOL", "none")
SLOT = int(os.environ.get("VIGIL_WORKER", "0"))
ENV_KEYS = ("VIGIL_POOL", "VIGIL_WORKER", "NOTIFY_SOCKET", "WATCHDOG_USEC")
TICK = 0.01  # Main loop period: how fast a caught signal is acted upon.


def signals(text):
    return [signal.Signals[s if s.startswith("SIG") else "SIG" + s] for s in text.split(",") if s]


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--boot", type=float, default=0.0, help="seconds of init before READY=1")
    p.add_argument("--boot-per-slot", type=float, default=0.0, help="plus this times the slot")
    p.add_argument("--no-ready", action="store_true", help="never send READY=1")
    p.add_argument("--only-slot", type=int, default=None, help="[slot] options apply to it only")
    p.add_argument("--exit-before-ready", type=int, default=None, metavar="CODE", help="[slot]")
    p.add_argument("--stop-pod", action="store_true",
                   help="[slot] send X_VIGIL_STOP=1 during init, before READY=1")
    p.add_argument("--wait-file", default=None, metavar="PATH",
                   help="[slot] during init, wait until PATH exists (before --stop-pod)")
    p.add_argument("--send-junk", action="store_true",
                   help="[slot] during init, send JUNK's datagrams (each must be rejected whole)")
    p.add_argument("--ready-from-child", action="store_true",
                   help="READY=1 is sent by a child in the worker's group (which stays alive)")
    p.add_argument("--exit-after-stop", type=int, default=None, metavar="CODE",
                   help="[slot] exit with CODE right after sending X_VIGIL_STOP=1")
    p.add_argument("--exit-after", type=float, default=None, metavar="SECONDS",
                   help="[slot] once ready, exit after SECONDS with --exit-code")
    p.add_argument("--exit-code", type=int, default=0)
    p.add_argument("--pings", type=int, default=None,
                   help="[slot] once ready, send this many WATCHDOG=1 then stop pinging")
    p.add_argument("--ping-every", type=float, default=0.1)
    p.add_argument("--watchdog-trigger", action="store_true", help="[slot] WATCHDOG=trigger")
    p.add_argument("--keep", type=signals, default=signals("HUP,USR1,USR2,WINCH,ABRT"),
                   help="signals recorded that keep it running")
    p.add_argument("--stop", type=signals, default=signals("TERM,INT"),
                   help="signals recorded that make it exit (after --linger) with 0")
    p.add_argument("--ignore", type=signals, default=[],
                   help="signals recorded and ignored (e.g. TERM to test SIGKILL escalation)")
    p.add_argument("--default", type=signals, default=[],
                   help="signals left at their default action (not recorded)")
    p.add_argument("--linger", type=float, default=0.0, help="seconds between stop signal and exit")
    p.add_argument("--group-child", action="store_true",
                   help="fork a child in the worker's process group that records its signals")
    p.add_argument("--orphan", nargs=2, type=float, metavar=("SECONDS", "CODE"), default=None,
                   help="make an orphan in its own session that exits CODE after SECONDS")
    p.add_argument("--print-at-exit", default=None,
                   help="write TEXT to stdout right before exiting on a stop signal")
    p.add_argument("--print", dest="prints", action="append", default=[],
                   help="write TEXT ({pool}, {slot} and \\n replaced); prefix 'err:' for stderr")
    return p.parse_args()


class Recorder:
    def __init__(self, proc):
        directory = os.environ["WORKER_RECORDS"]
        self.path = os.path.join(directory, f"{POOL}-{SLOT}-{os.getpid()}.jsonl")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.proc = proc

    def __call__(self, ev, **fields):
        fields.update(ev=ev, proc=self.proc, pid=os.getpid(), t=time.time())
        os.write(self.fd, (json.dumps(fields) + "\n").encode())


def main():
    args = parse()
    args.stop = [s for s in args.stop if s not in args.ignore]
    mine = args.only_slot is None or args.only_slot == SLOT
    record = Recorder("worker")
    state = {"stop": None}

    def on_signal(signo, frame):
        record("signal", sig=signal.Signals(signo).name)
        if signo in args.stop and state["stop"] is None:
            state["stop"] = time.monotonic()

    for signo in set(args.keep) | set(args.stop) | set(args.ignore):
        if signo not in args.default:
            signal.signal(signo, on_signal)

    record("start", ppid=os.getppid(), pgid=os.getpgrp(), sid=os.getsid(0), uid=os.getuid(),
           gid=os.getgid(), groups=sorted(os.getgroups()),
           env={k: os.environ[k] for k in ENV_KEYS if k in os.environ})
    notifier = sdnotify.SystemdNotifier(debug=True) if "NOTIFY_SOCKET" in os.environ else None

    def notify(msg):
        record("notify", msg=msg)  # First: the message may get the worker killed at once.
        notifier.notify(msg)

    for text in args.prints:
        stream = sys.stderr if text.startswith("err:") else sys.stdout
        text = text.removeprefix("err:").replace("\\n", "\n")
        stream.write(text.replace("{slot}", str(SLOT)).replace("{pool}", POOL))
        stream.flush()

    if args.group_child:
        fork_group_child(record)
    if args.orphan:
        make_orphan(record, *args.orphan)

    time.sleep(args.boot + args.boot_per_slot * SLOT)
    if mine and args.send_junk:
        send_junk(record)
    while mine and args.wait_file and not os.path.exists(args.wait_file):
        time.sleep(TICK)
    if mine and args.stop_pod:
        notify("X_VIGIL_STOP=1")
        if args.exit_after_stop is not None:
            record("exit", code=args.exit_after_stop)
            os._exit(args.exit_after_stop)
    if mine and args.exit_before_ready is not None:
        record("exit", code=args.exit_before_ready)
        sys.exit(args.exit_before_ready)
    if args.ready_from_child:
        if os.fork() == 0:
            record.proc = "child"
            notify("READY=1")
            while True:
                time.sleep(TICK)  # Alive, so Vigil can check its process group.
    elif not args.no_ready and not (mine and args.stop_pod):
        notify("READY=1\nSTATUS=serving")
        record("ready")

    ready_at = time.monotonic()
    pings = args.pings if mine else None
    next_ping = ready_at
    triggered = False
    while True:
        now = time.monotonic()
        if state["stop"] is not None and now >= state["stop"] + args.linger:
            if args.print_at_exit is not None:
                text = args.print_at_exit.replace("\\n", "\n").replace("{slot}", str(SLOT))
                sys.stdout.write(text)
                sys.stdout.flush()
            record("exit", code=0)
            sys.exit(0)
        if mine and args.exit_after is not None and now >= ready_at + args.exit_after:
            record("exit", code=args.exit_code)
            sys.exit(args.exit_code)
        if pings and now >= next_ping:
            notify("WATCHDOG=1")
            pings -= 1
            next_ping = now + args.ping_every
        if mine and args.watchdog_trigger and not triggered:
            notify("WATCHDOG=trigger")
            triggered = True
        time.sleep(TICK)


# Datagrams Vigil must drop whole, and the cause it must give; then one it must accept.
JUNK = [
    (b"STATUS=" + b"x" * 5000, "oversized"),
    (b"READY=1\x00", "not_text"),
    (b"READY=1\n\x01\x02", "not_text"),
    (b"READY", "malformed"),
    (b"READY=2", "malformed"),
    (b"READY=1\nthis line has no equals sign", "malformed"),
    (b"WATCHDOG=maybe", "malformed"),
    (b"MAINPID=-5", "malformed"),
    (b"", "empty"),
]
ACCEPTED_JUNK = b"X_SOMETHING_ELSE=1\nUNKNOWN_KEY=whatever\nSTATUS=booting"


def send_junk(record):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = os.environ["NOTIFY_SOCKET"]
    sock.connect("\0" + address[1:] if address.startswith("@") else address)
    for data, _ in JUNK:
        sock.send(data)
    sock.send(ACCEPTED_JUNK)
    record("junk_sent", count=len(JUNK))


def fork_group_child(record):
    """A child in the worker's process group; with the worker's handlers, it records (as
    "child") every signal it gets, and keeps running until SIGKILLed."""
    if os.fork():
        return
    record.proc = "child"
    record("child", pgid=os.getpgrp(), sid=os.getsid(0), ppid=os.getppid())
    while True:
        time.sleep(TICK)


def make_orphan(record, seconds, code):
    """A child that starts a grandchild in a new session (out of the worker's group) and exits,
    so the grandchild is orphaned and reparented to Vigil; it exits `code` after `seconds`."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    if os.fork():
        os._exit(0)
    os.setsid()
    record.proc = "orphan"
    record("child", pgid=os.getpgrp(), sid=os.getsid(0), ppid=os.getppid())
    time.sleep(seconds)
    record("exit", code=int(code))
    os._exit(int(code))


if __name__ == "__main__":
    main()
