#!/usr/bin/python3
"""A stop hook for Vigil's kubelet-simulation tests: appends {"hook", "ev": "start"|"end", "t",
"trigger", "pid"} lines to the file given as its first argument. With --hang it never ends (and
leaves a child sleeping in its process group, which the hook's timeout must kill as well)."""
import json
import os
import sys
import time


def record(path, ev, **fields):
    fields.update(hook=os.environ.get("VIGIL_HOOK", ""), ev=ev, t=time.time(), pid=os.getpid(),
                  trigger=os.environ.get("VIGIL_DRAIN_TRIGGER", ""))
    with open(path, "a") as f:
        f.write(json.dumps(fields) + "\n")


def main():
    path = sys.argv[1]
    hang = "--hang" in sys.argv[2:]
    if hang:
        child = os.fork()
        if child == 0:
            while True:
                time.sleep(3600)
        record(path, "start", child=child, pgid=os.getpgrp())
        while True:
            time.sleep(3600)
    record(path, "start", pgid=os.getpgrp())
    record(path, "end")


if __name__ == "__main__":
    main()
