"""A tiny WSGI application for the gunicorn pool tests.

  /          200 "hello from POOL/SLOT"
  /healthz   200 when $APP_HEALTHY_FILE exists (or is not set), else 503; each hit is appended
             to $APP_HITS_FILE as "STATUS USER-AGENT".
"""
import os


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        healthy_file = os.environ.get("APP_HEALTHY_FILE")
        healthy = healthy_file is None or os.path.exists(healthy_file)
        status = "200 OK" if healthy else "503 Service Unavailable"
        hits = os.environ.get("APP_HITS_FILE")
        if hits:
            with open(hits, "a") as f:
                f.write(f"{status[:3]} {environ.get('HTTP_USER_AGENT', '-')}\n")
        body = b"ok\n" if healthy else b"not yet\n"
    else:
        status = "200 OK"
        body = (f"hello from {os.environ.get('VIGIL_POOL')}/{os.environ.get('VIGIL_WORKER')}"
                f" pid {os.getpid()}\n").encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
