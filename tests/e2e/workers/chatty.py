#!/usr/bin/python3
"""A pool worker that keeps the control plane busy: READY=1, then a new STATUS= of about
3.5 kB every PERIOD seconds (each one an event on every Lifecycle.Watch stream), until SIGTERM.

argv: [PERIOD] (default 0.002)
"""
import os
import signal
import socket
import sys
import time

PERIOD = float(sys.argv[1]) if len(sys.argv) > 1 else 0.002


def main():
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.connect(address)
    sock.send(b"READY=1")
    filler = "x" * 3500
    n = 0
    while not stop:
        n += 1
        try:
            sock.send(f"STATUS={n} {filler}".encode())
        except OSError:
            pass  # A full socket buffer: the next one will do.
        time.sleep(PERIOD)


if __name__ == "__main__":
    main()
