"""A Celery application run by Vigil as one pool of `celery worker` processes (vigil.yaml next
to this file; README.md says why each setting is what it is).

  tasks.process(job, seconds)   works for `seconds` (sleeps), then returns job

Broker: CELERY_BROKER_URL (read by the `celery` command and by this module), e.g.
redis://127.0.0.1:6379/0. When JOBS_RECORD names a file, every run of a task appends a JSON line
to it as it starts and as it ends (the end-to-end test reads them: no task lost or run twice).

What makes a drain lose nothing, whichever way a worker ends:
- task_acks_late: a message is acknowledged when its task has finished, not when it was
  received, so a worker that dies mid-task leaves it unacknowledged and it is delivered again.
- task_reject_on_worker_lost: when the pool's child process dies under a running task (the fast
  stop signal, an OOM kill), the task is requeued instead of being acknowledged as failed.
- worker_prefetch_multiplier=1 with --concurrency 1: a worker holds one message at a time, the
  one it runs; the rest stay in the queue for the other workers (and the next pod).
- Vigil integration, in the signal handlers below: READY=1 when the worker consumes, STOPPING=1
  when it starts shutting down, the pool's child ignoring SIGTERM (Vigil signals the whole
  process group; the main process finishes the task, the child must not die of it), and a
  second thread in the main process, so that Celery's signal handlers ask for the shutdown
  instead of raising it wherever the main process happens to be.
"""

import json
import os
import signal
import socket
import threading
import time

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutting_down

app = Celery("tasks", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Redis redelivers a message whose worker vanished without a word (SIGKILL) only after this
    # long; it must exceed the longest task, or a slow task is run twice (README.md).
    broker_transport_options={"visibility_timeout": 3600},
    task_ignore_result=True,
    # The worker keeps its own log format; Vigil prefixes each line with [pool/slot].
    worker_hijack_root_logger=True,
    broker_connection_retry_on_startup=True,
)


def _record(event: str, job, request) -> None:
    path = os.environ.get("JOBS_RECORD")
    if not path:
        return
    line = json.dumps({"ev": event, "job": job, "t": time.time(), "pid": os.getpid(),
                       "worker": request.hostname, "slot": os.environ.get("VIGIL_WORKER"),
                       "redelivered": bool((request.delivery_info or {}).get("redelivered"))})
    # One write of one short line with O_APPEND: lines from several workers never interleave.
    with open(path, "a") as f:
        f.write(line + "\n")


@app.task(bind=True)
def process(self, job, seconds: float):
    _record("start", job, self.request)
    time.sleep(seconds)
    _record("done", job, self.request)
    return job


# --- Vigil integration ----------------------------------------------------------------------


def _sd_notify(state: str) -> None:
    """Sends one sd_notify datagram to Vigil (NOTIFY_SOCKET), if there is one."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(state.encode(), address)
        except OSError:
            pass  # Not under a supervisor that listens: readiness is only an optimisation.


@worker_ready.connect
def _ready(**_):
    # The consumer is connected to the broker and takes tasks: ready. Celery has no sd_notify.
    _sd_notify("READY=1")


@worker_shutting_down.connect
def _stopping(sig=None, how=None, **_):
    # Sent in the main process by Celery's own SIGTERM/SIGINT/SIGQUIT handlers.
    _sd_notify(f"STOPPING=1\nSTATUS={how or '?'} shutdown on {sig or '?'}")


@worker_process_init.connect
def _child_ignores_sigterm(**_):
    # Runs in each prefork child. Celery resets SIGTERM to its default action there, so the
    # SIGTERM Vigil sends to the worker's process group would kill the child mid-task (and the
    # main process would report WorkerLostError). Ignored, the child finishes its task while the
    # main process carries out the warm shutdown. SIGQUIT (the fast stop signal) still ends it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@worker_init.connect
def _shutdown_at_a_safe_point(**_):
    # Celery 5.2's shutdown handlers (celery/apps/worker.py) raise WorkerShutdown/WorkerTerminate
    # from the signal handler when the main process has a single thread, and only set a flag
    # that the event loop checks between events when it has more. Raised at an arbitrary point
    # (while the main process hands a task to its child or reads a result), the warm shutdown can
    # hang: seen under load, the task finished but was never acknowledged, the worker hung until
    # the fast signal, and the task ran again in the next pod. An idle thread makes it the flag.
    # The cold shutdown then goes through the loop too: the child, killed by the SIGQUIT of the
    # process group, is reported lost and task_reject_on_worker_lost requeues its task.
    threading.Thread(target=threading.Event().wait, name="shutdown-at-a-safe-point",
                     daemon=True).start()
