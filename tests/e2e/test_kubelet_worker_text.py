"""Text from workers is bytes: a STATUS= that is not UTF-8 must not blind the control plane.

The core carries worker text to vigil-control as protobuf `bytes`; vigil-control turns it into
the public API's strings through one sanitizer (docs/control.md: valid UTF-8 kept, every other
byte and every control character shown as \\xNN). Regression test of issue 10, defect 1: with a
proto3 `string`, vigil-control rejected every message carrying such a text, so the worker's
events were dropped and, after a restart of vigil-control, the snapshot itself.
"""

import os
import signal

from kubesim import pool, wait_for, worker

# Valid UTF-8 (é), two bytes that are never UTF-8, a tab and DEL (control characters the core's
# sd_notify parser lets through), an overlong encoding of '/', and a sequence cut short.
STATUS = b"caf\xc3\xa9 \xff\xfe \t\x7f \xc0\xaf end \xe2\x82"
SHOWN = "caf\u00e9 \\xff\\xfe \\x09\\x7f \\xc0\\xaf end \\xe2\\x82"


def workers_of(pod, name="web"):
    """slot -> worker, from `vigilctl status --json`."""
    status = pod.ctl.status()
    for p in status["pools"]:
        if p["name"] == name:
            return {w["slot"]: w for w in p["workers"]}
    raise AssertionError(f"no pool {name} in {status}")


def shows(pod, pids):
    """Every worker is ready, with its pid as in `pids` (slot -> pid) and the escaped text."""
    workers = workers_of(pod)
    return all(workers[slot]["pid"] == pid and workers[slot]["state"] == "WORKER_STATE_READY"
               and workers[slot]["statusText"] == SHOWN for slot, pid in pids.items())


def test_non_utf8_status_keeps_the_control_plane_working(pod):
    """A worker sends STATUS= with bytes that are not UTF-8: `vigilctl status` shows them
    escaped, a killed worker's replacement shows its new pid, and a vigil-control restarted
    by SIGKILL accepts the snapshot (status answers, readiness SERVING)."""
    pod.start({"pools": [pool("web", worker("--status-hex", STATUS.hex()), replicas=2)]})
    runs = pod.wait_ready(2)
    pids = {r.slot: r.pid for r in runs}
    wait_for(lambda: shows(pod, pids), 10, f"vigilctl status to show {pids} with {SHOWN!r}")
    table = pod.ctl("status")
    assert table.code == 0, table
    assert table.stdout.count(SHOWN) == 2, table.stdout
    assert "\t" not in table.stdout and "\x7f" not in table.stdout

    # A worker killed and restarted: its events reach vigil-control (the new pid shows).
    r = pod.ctl("signal", "web/0", "KILL")
    assert r.code == 0, r
    new = wait_for(lambda: [x for x in pod.runs.ready("web") if x.slot == 0 and x.pid != pids[0]],
                   15, "a new ready worker in slot 0")[0]
    pids[0] = new.pid
    wait_for(lambda: shows(pod, pids), 10, f"vigilctl status to show the new pid {new.pid}")

    # vigil-control SIGKILLed: the restarted one accepts the core's snapshot.
    control = pod.control_pid()
    assert control is not None
    os.kill(control, signal.SIGKILL)
    wait_for(lambda: pod.control_pid() not in (None, control), 10, "a new vigil-control")
    wait_for(lambda: pod.ctl("status", timeout=5).code == 0, 10, "vigilctl status to answer")
    wait_for(lambda: shows(pod, pids), 10, "the restarted vigil-control to show every worker")
    assert pod.ctl.health("readiness") == 0
    assert pod.ctl.health("liveness") == 0
    r = pod.ctl("wait-ready", "--timeout", "5s")
    assert r.code == 0, r
