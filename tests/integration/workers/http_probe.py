#!/usr/bin/python3
"""An exec readiness probe: exits 0 when GET URL answers 200, else 1. Appends what Vigil told it
(VIGIL_POOL, VIGIL_WORKER, VIGIL_WORKER_PID) and the result to $PROBE_LOG as one JSON line.

    http_probe.py URL
"""
import json
import os
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
        ok = response.status == 200
except (urllib.error.URLError, OSError):
    ok = False
with open(os.environ["PROBE_LOG"], "a") as log:
    log.write(json.dumps({k: os.environ.get(k) for k in
                          ("VIGIL_POOL", "VIGIL_WORKER", "VIGIL_WORKER_PID")} | {"ok": ok}) + "\n")
sys.exit(0 if ok else 1)
