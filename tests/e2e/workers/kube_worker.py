#!/usr/bin/python3
"""A pool worker for Vigil's kubelet-simulation tests (tests/e2e/).

It tells Vigil it is ready with sd_notify (READY=1 on $NOTIFY_SOCKET) and appends what happens
to it, one JSON object a line with "t" (time.time(), the clock of Vigil's JSON log) and "pid"
(as Vigil sees it), to its own file $E2E_RECORDS/POOL-SLOT-PID.jsonl:
  {"ev": "start", "pool", "slot"}    on start
  {"ev": "ready"}                    right before sending READY=1
  {"ev": "signal", "sig": "SIGTERM"} every signal it catches, as soon as it is caught
  {"ev": "exit", "code": 0}          just before it exits on its own

By default it exits 0 on SIGTERM or SIGINT and keeps running on SIGHUP, SIGUSR1 and SIGUSR2.
"""
import argparse
import json
import os
import signal
import socket
import sys
import time

POOL = os.environ.get("VIGIL_POOL", "none")
SLOT = int(os.environ.get("VIGIL_WORKER", "-1"))
RECORDED = ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT")
TICK = 0.01  # The worker's own loop period: how soon a caught stop signal is acted upon.


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--boot", type=float, default=0.0, help="seconds before READY=1")
    p.add_argument("--no-ready", action="store_true", help="never send READY=1")
    p.add_argument("--linger", type=float, default=0.0,
                   help="seconds between the first stop signal and the exit (finishing requests)")
    p.add_argument("--ignore", default="",
                   help="comma-separated signals recorded but never acted upon (e.g. TERM,INT)")
    p.add_argument("--only-slot", type=int, default=None,
                   help="--ignore and --linger apply to this slot only")
    p.add_argument("--status-hex", default=None,
                   help="the STATUS= sent with READY=1, as hex bytes (any bytes, UTF-8 or not)")
    return p.parse_args()


def notify(message: bytes):
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(address)
        s.send(message)


def main():
    args = parse()
    mine = args.only_slot is None or args.only_slot == SLOT
    ignored = {("SIG" + s.strip().upper().removeprefix("SIG")) for s in args.ignore.split(",")
               if s.strip()} if mine else set()
    linger = args.linger if mine else 0.0
    path = os.path.join(os.environ["E2E_RECORDS"], f"{POOL}-{SLOT}-{os.getpid()}.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def record(ev, **fields):
        fields.update(ev=ev, t=time.time(), pid=os.getpid())
        os.write(fd, (json.dumps(fields) + "\n").encode())

    state = {"stop_at": None}

    def on_signal(signo, _frame):
        name = signal.Signals(signo).name
        record("signal", sig=name)
        if name in ("SIGTERM", "SIGINT") and name not in ignored and state["stop_at"] is None:
            state["stop_at"] = time.monotonic() + linger

    for name in RECORDED:
        signal.signal(signal.Signals[name], on_signal)

    record("start", pool=POOL, slot=SLOT, ppid=os.getppid(), pgid=os.getpgrp())
    time.sleep(args.boot)
    if not args.no_ready:
        record("ready")  # First: Vigil may act on READY=1 before send() returns.
        status = bytes.fromhex(args.status_hex) if args.status_hex is not None else b"serving"
        notify(b"READY=1\nSTATUS=" + status)
    while True:
        if state["stop_at"] is not None and time.monotonic() >= state["stop_at"]:
            record("exit", code=0)
            sys.exit(0)
        time.sleep(TICK)


if __name__ == "__main__":
    main()
