#!/usr/bin/python3
"""An example pool worker: boots, tells Vigil it is ready over sd_notify, sends watchdog pings,
and on SIGTERM finishes its in-flight work and exits 0.

Uses python3-sdnotify (Debian package), which reads NOTIFY_SOCKET as Vigil sets it.
"""
import os
import signal
import sys
import time

import sdnotify

pool = os.environ.get("VIGIL_POOL", "?")
slot = os.environ.get("VIGIL_WORKER", "?")
watchdog_usec = int(os.environ.get("WATCHDOG_USEC", "0"))
notifier = sdnotify.SystemdNotifier()
stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
print(f"worker {pool}/{slot}: booting (pid {os.getpid()})", flush=True)
time.sleep(float(os.environ.get("BOOT_SECONDS", "0.3")))  # loading the application
notifier.notify("READY=1\nSTATUS=serving")
print(f"worker {pool}/{slot}: ready", flush=True)

# Ping the watchdog at half its interval, as systemd recommends; check for SIGTERM often.
ping_every = watchdog_usec / 2e6 if watchdog_usec else None
last_ping = time.monotonic()
while not stopping:
    time.sleep(0.05)  # one unit of "work"
    if ping_every and time.monotonic() - last_ping >= ping_every:
        notifier.notify("WATCHDOG=1")
        last_ping = time.monotonic()

notifier.notify("STOPPING=1\nSTATUS=finishing in-flight work")
print(f"worker {pool}/{slot}: SIGTERM, finishing in-flight work", flush=True)
time.sleep(0.1)
sys.exit(0)
