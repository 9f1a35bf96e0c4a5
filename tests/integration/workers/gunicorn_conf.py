"""gunicorn settings for the pool tests: $APP_BIND_DELAY seconds of "boot" before it binds."""
import os
import time


def on_starting(server):
    time.sleep(float(os.environ.get("APP_BIND_DELAY", "0")))
