#!/usr/bin/python3
"""A TCP worker for the traffic-aware drain's tests: listens on 127.0.0.1:PORT, answers each
connection with one line and closes it, sends READY=1 once listening, and on SIGTERM appends
{"ev": "term", "t": time.time()} to RECORD and exits 0.

    tcp_server.py PORT RECORD [--child]

--child: the listening socket is held by a child process in the worker's process group (the
worker itself holds none), as a shell that runs the server without exec would.
"""
import json
import os
import signal
import socket
import sys
import time


def record(path, **fields):
    with open(path, "a") as f:
        f.write(json.dumps(fields) + "\n")


def serve(port, path):
    def on_term(signo, frame):
        record(path, ev="term", t=time.time(), pid=os.getpid())
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"READY=1", notify)
        s.close()
    record(path, ev="listening", t=time.time(), pid=os.getpid())
    while True:
        conn, _ = listener.accept()
        try:
            conn.sendall(b"hello\n")
        finally:
            conn.close()


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    if "--child" in sys.argv[3:]:
        # The worker waits; its child (same process group) listens. SIGTERM goes to the group.
        signal.signal(signal.SIGTERM, lambda *_: None)
        pid = os.fork()
        if pid == 0:
            serve(port, path)
        os.waitpid(pid, 0)
        return
    serve(port, path)


if __name__ == "__main__":
    main()
