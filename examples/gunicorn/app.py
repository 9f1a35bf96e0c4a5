"""The example application of Vigil's image (Dockerfile stage `example-gunicorn`): a WSGI app
served by gunicorn, run by Vigil as a pool (vigil.yaml next to this file).

  /          200 "hello from POOL/SLOT pid PID"
  /healthz   200 "ok"
"""
import os


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        body = b"ok\n"
    else:
        body = (f"hello from {os.environ.get('VIGIL_POOL', '-')}/"
                f"{os.environ.get('VIGIL_WORKER', '-')} pid {os.getpid()}\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
