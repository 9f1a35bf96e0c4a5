"""sd_notify robustness: junk datagrams are dropped whole with their cause and never affect the
worker; a datagram from outside the worker's process group (or Vigil's PID namespace) is refused;
one from a member of the group is accepted. (Authentication in depth: test_notify_auth.py.)"""

import signal
import socket
import subprocess
from pathlib import Path

from vigiltest import PYTHON3, WORKERS

# What workers/pool_worker.py --send-junk sends, in order (see JUNK there).
JUNK_CAUSES = ["oversized", "not_text", "not_text", "malformed", "malformed", "malformed",
               "malformed", "malformed", "empty"]


def waiting_pool(pools, go, *worker_args):
    """One notify worker that sends READY=1 only once the file `go` exists."""
    return pools.config([{"name": "app", "command": pools.worker("--wait-file", str(go),
                                                                *worker_args),
                          "readiness": {"mode": "notify"}, "stop_timeout": "5s"}])


def test_junk_datagrams_are_rejected_with_their_cause(pools):
    """Oversized, binary, malformed, empty: each rejected whole with its cause; the worker is
    unaffected and becomes ready with a later valid READY=1."""
    go = pools.workdir / "go"
    vigil = pools.start(config=waiting_pool(pools, go, "--send-junk"))
    rejected = vigil.log.wait("notify_rejected", count=len(JUNK_CAUSES))
    (run,) = vigil.records.runs()
    run.wait(lambda r: r.of("junk_sent"), what="junk sent")
    # Not made ready by a READY=1 inside a rejected datagram, not stopped, not restarted.
    assert vigil.log.events("worker_ready") == []
    go.touch()
    ready = vigil.log.wait("worker_ready")
    log = vigil.log
    rejections = log.events("notify_rejected")
    assert [e["cause"] for e in rejections] == JUNK_CAUSES, log.summary()
    for e in rejections:
        assert (e["pool"], e["slot"], e["level"]) == ("app", 0, "warning")
        assert e["sender_pid"] == run.pid
        assert e["detail"]
    assert "4096" in rejections[0]["detail"]
    assert log.index(rejected) < log.index(ready)
    assert ready["pid"] == run.pid
    assert log.events("worker_exited") == [] and len(log.events("worker_started")) == 1
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert run.signals() == ["SIGTERM"]
    assert len(vigil.log.events("notify_rejected")) == len(JUNK_CAUSES), \
        "the accepted X_/unknown keys were not rejected"


def send_from_host(address, message):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.connect(address)
    sock.send(message.encode())
    sock.close()


def test_sender_outside_the_pid_namespace_is_refused(pools):
    """READY=1 from outside Vigil's PID namespace (sender pid 0) is refused."""
    go = pools.workdir / "go"
    vigil = pools.start(config=waiting_pool(pools, go), pid1=True)
    (run,) = vigil.records.wait_runs(1)
    send_from_host(run.env["NOTIFY_SOCKET"], "READY=1")
    rejected = vigil.log.wait("notify_rejected")
    assert (rejected["cause"], rejected["sender_pid"]) == ("sender_outside_namespace", 0), \
        rejected
    assert vigil.log.events("worker_ready") == []
    go.touch()
    vigil.log.wait("worker_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_sender_outside_the_worker_group_is_refused(pools, launcher, mode):
    """READY=1 from a live process of Vigil's namespace but not of the worker's group: refused."""
    go = pools.workdir / "go"
    vigil = pools.start(config=waiting_pool(pools, go), pid1=mode == "pid1")
    (run,) = vigil.records.wait_runs(1)
    argv = [PYTHON3, str(WORKERS / "notify_send.py"), run.env["NOTIFY_SOCKET"], "READY=1"]
    if vigil.pid1:  # Into Vigil's PID namespace (nsenter forks the command there).
        argv = ["nsenter", "--target", str(vigil.pid), "--pid", "--", *argv]
    sender = launcher.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = sender.stdout.readline().decode()
        assert line.startswith("sent "), line
        sender_pid = int(line.split()[1])
        rejected = vigil.log.wait("notify_rejected")
        assert (rejected["cause"], rejected["sender_pid"]) == ("sender_not_in_group", sender_pid)
        assert "process group" in rejected["detail"], rejected
    finally:
        sender.stdin.close()
        sender.wait(5)
    assert vigil.log.events("worker_ready") == []
    go.touch()
    vigil.log.wait("worker_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_member_of_the_worker_group_is_heard(pools):
    """READY=1 from a child in the worker's process group is accepted."""
    config = pools.config([{"name": "app", "command": pools.worker("--ready-from-child"),
                            "readiness": {"mode": "notify"}, "stop_timeout": "5s"}])
    vigil = pools.start(config=config)
    ready = vigil.log.wait("worker_ready")
    (run,) = vigil.records.runs()
    (sent,) = run.of("notify", proc="child")
    assert sent["pid"] != run.pid and ready["pid"] == run.pid
    assert vigil.log.events("notify_rejected") == []
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_each_run_has_a_socket_of_its_own_in_a_directory_of_its_own(pools):
    """One socket per worker run, each in its own 0700 directory; a restarted worker gets a new
    one, and the old one is removed with its run."""
    config = pools.config([{"name": "app", "command": pools.worker(), "replicas": 2,
                            "readiness": {"mode": "notify"}, "stop_timeout": "5s"}])
    vigil = pools.start(config=config)
    vigil.log.wait("worker_ready", count=2)
    sockets = [Path(run.env["NOTIFY_SOCKET"]) for run in vigil.records.runs()]
    assert len({s.parent for s in sockets}) == 2, sockets
    for sock in sockets:
        assert sock.is_socket() and sock.parent.parent == pools.workdir / "notify"
        assert sock.parent.stat().st_mode & 0o777 == 0o700
        assert sock.stat().st_mode & 0o777 == 0o600
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert list((pools.workdir / "notify").iterdir()) == [], "a run's socket outlived it"
