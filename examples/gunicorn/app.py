"""The example application of Vigil's image (Dockerfile stage `example-gunicorn`): a WSGI app
served by gunicorn, run by Vigil as a pool (vigil.yaml next to this file). The rollout tests
(tests/e2e/test_rollout_gunicorn.py) and bench/rollouts run it as it is.

  /             200 "hello from POOL/SLOT pid PID"
  /healthz      200 "ok"
  /slow?ms=N    200 "slept N ms pid PID" after N milliseconds (0 <= N <= 60000; else 400): a
                request still in flight when the pod is deleted, which a graceful stop finishes
"""
import os
import time
from urllib.parse import parse_qs

MAX_SLOW_MS = 60000


def _answer(start_response, status, text):
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _slow(environ, start_response):
    values = parse_qs(environ.get("QUERY_STRING", "")).get("ms", ["0"])
    try:
        ms = int(values[0])
    except ValueError:
        ms = -1
    if not 0 <= ms <= MAX_SLOW_MS:
        return _answer(start_response, "400 Bad Request",
                       f"ms must be an integer from 0 to {MAX_SLOW_MS}\n")
    time.sleep(ms / 1000)
    return _answer(start_response, "200 OK", f"slept {ms} ms pid {os.getpid()}\n")


def app(environ, start_response):
    path = environ.get("PATH_INFO")
    if path == "/healthz":
        return _answer(start_response, "200 OK", "ok\n")
    if path == "/slow":
        return _slow(environ, start_response)
    return _answer(start_response, "200 OK",
                   f"hello from {os.environ.get('VIGIL_POOL', '-')}/"
                   f"{os.environ.get('VIGIL_WORKER', '-')} pid {os.getpid()}\n")
