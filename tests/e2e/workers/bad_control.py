#!/usr/bin/python3
"""A misbehaving vigil-control for the protocol tests (control.binary in the config).

Run N (counted in $BAD_CONTROL_RUNS) does what $BAD_CONTROL_PLAN's N-th word says, on fd 3 (the
core's socketpair), then waits to be killed:
  over_limit   a frame header announcing 2^32-1 bytes (over the 16 MiB limit)
  garbage      a frame of the right size holding bytes that are no command
  real         exec the real vigil-control ($BAD_CONTROL_REAL) with the same arguments
Past the end of the plan: real.
"""
import os
import struct
import sys
import time

plan = os.environ["BAD_CONTROL_PLAN"].split()
counter = os.environ["BAD_CONTROL_RUNS"]
with open(counter, "a+") as f:
    f.seek(0)
    run = len(f.read())
    f.write("x")
action = plan[run] if run < len(plan) else "real"
if action == "real":
    os.execv(os.environ["BAD_CONTROL_REAL"], [os.environ["BAD_CONTROL_REAL"], *sys.argv[1:]])
if action == "over_limit":
    os.write(3, struct.pack("<I", 0xFFFFFFFF))
elif action == "garbage":
    payload = b"\x0a\xff\xff\xff\x0f not a command"
    os.write(3, struct.pack("<I", len(payload)) + payload)
else:
    sys.exit(f"bad_control.py: unknown action {action}")
while True:
    time.sleep(1)
