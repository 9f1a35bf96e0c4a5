#!/usr/bin/python3
"""Sends one sd_notify datagram from outside any worker, as another process of the pod would.

    notify_send.py ADDRESS MESSAGE [--exit] [--uid UID] [--repeat N]
ADDRESS as in NOTIFY_SOCKET ("@name": abstract, else a path). With --uid it first drops to that
uid (and gid, no supplementary groups), like an unprivileged process of the pod. Prints
"sent PID" (its pid in its PID namespace) once the datagram is out, or "error ERRNO-NAME" when
the kernel refused it (EACCES: the socket is out of its reach). Then it stays alive until stdin
closes (so that Vigil can still look up the sender when it reads the datagram), or with --exit
exits at once. With --repeat it sends the message N times in a row (the last ones are read
while it exits or after it has gone).
"""
import argparse
import errno
import os
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("address")
parser.add_argument("message")
parser.add_argument("--exit", action="store_true")
parser.add_argument("--uid", type=int, default=None)
parser.add_argument("--repeat", type=int, default=1)
args = parser.parse_args()

if args.uid is not None:
    os.setgroups([])
    os.setgid(args.uid)
    os.setuid(args.uid)
address = args.address
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    sock.connect("\0" + address[1:] if address.startswith("@") else address)
    for _ in range(args.repeat):
        sock.send(args.message.encode())
    print(f"sent {os.getpid()}", flush=True)
except OSError as e:
    print(f"error {errno.errorcode.get(e.errno, e.errno)}", flush=True)
if args.exit:
    os._exit(0)
sys.stdin.read()
