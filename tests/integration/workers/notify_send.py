#!/usr/bin/python3
"""Sends one sd_notify datagram from outside any worker, then stays alive until stdin closes
(so that Vigil can still look up the sender's process group when it reads the datagram).

    notify_send.py ADDRESS MESSAGE [--exit]   # ADDRESS as in NOTIFY_SOCKET ("@name": abstract)
Prints "sent PID" (the pid in this process's PID namespace) once the datagram is out. With
--exit it exits at once instead.
"""
import os
import socket
import sys

address, message = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.connect("\0" + address[1:] if address.startswith("@") else address)
sock.send(message.encode())
print(f"sent {os.getpid()}", flush=True)
if sys.argv[3:] != ["--exit"]:
    sys.stdin.read()
