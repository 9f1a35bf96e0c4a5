"""vigil_notify_rejected_total{cause} after a worker and other processes of the pod abused a
notify socket (issue 10): every refusal counted once under its cause, exact values, and the
other pool's series untouched. Every scrape passes `promtool check metrics` (metrics.py)."""

import json
import socket
import subprocess
import sys
from pathlib import Path

from kubesim import PYTHON3, free_port, pool, wait_for, worker
from metrics import scrape, try_scrape

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from notifytest import NOTIFY_SEND, frozen, in_vigil_namespace, send_once  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "integration" / "workers" / "notify_script.py"
CAUSES = ["oversized", "empty", "not_text", "malformed", "sender_gone",
          "sender_outside_namespace", "sender_not_in_group", "no_credentials", "fd_passed",
          "main_pid_refused"]


def test_every_refusal_is_counted_under_its_cause(pod, launcher, tmp_path):
    records = tmp_path / "script-records"
    records.mkdir()
    go = tmp_path / "go"
    steps = [{"wait_file": str(go)}, {"huge": 5000}, {"send": ""}, {"send_hex": "5245414459003d31"},
             {"send": "READY"}, {"fds": 2}, {"send": "MAINPID=1\nREADY=1"},
             {"send": "READY=1"}]
    address = f"127.0.0.1:{free_port()}"
    pod.start({"pools": [pool("keeper", worker(), replicas=1),
                         pool("app", [PYTHON3, str(SCRIPT), json.dumps(steps)], replicas=1)]},
              ["--metrics-address", address], env={"WORKER_RECORDS": str(records)})
    wait_for(lambda: try_scrape(address), 10, "/metrics to answer")
    notify_socket = wait_for(lambda: [e["notify_socket"] for e in
                                      pod.events("worker_started", pool="app")], 10)[0]
    # Other processes of the pod: from outside its PID namespace, alive outside the worker's
    # group, and gone (reaped while Vigil was frozen) before their datagram was read.
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"X_VIGIL_STOP=1", notify_socket)
    pod.log.wait("notify_rejected", cause="sender_outside_namespace")
    alive = launcher.popen(in_vigil_namespace(pod.vigil, [PYTHON3, str(NOTIFY_SEND),
                                                          notify_socket, "X_VIGIL_STOP=1"]),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert alive.stdout.readline().startswith(b"sent ")
    pod.log.wait("notify_rejected", cause="sender_not_in_group")
    alive.stdin.close()
    alive.wait(5)
    with frozen(pod.vigil):
        assert send_once(launcher, pod.vigil, notify_socket, "X_VIGIL_STOP=1").startswith("sent")
    pod.log.wait("notify_rejected", cause="sender_gone")
    # The worker's own abuse, then its READY=1.
    go.touch()
    pod.log.wait("worker_ready", pool="app", timeout=15)
    m = scrape(address)
    for cause in CAUSES:
        expected = 0 if cause == "no_credentials" else 1
        assert m.value("vigil_notify_rejected_total", pool="app", cause=cause) == expected, cause
        assert m.value("vigil_notify_rejected_total", pool="keeper", cause=cause) == 0
    assert m.value("vigil_notify_messages_total", pool="app", key="READY") == 1
    assert m.value("vigil_notify_messages_total", pool="app", key="MAINPID") == 0
    assert m.value("vigil_notify_messages_total", pool="app", key="X_VIGIL_STOP") == 0
    assert m.total("vigil_drains_total") == 0
    assert len(pod.events("notify_rejected")) == len(CAUSES) - 1
