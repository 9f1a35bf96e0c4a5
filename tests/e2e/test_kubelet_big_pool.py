"""A big pool with the longest STATUS= texts (issue 10, defect 6): the core <-> control protocol
and the API must not depend on the size of the pools (docs/control.md, "Sizes").

WORKERS workers (tests/helpers/notifystatus.c) each send a STATUS= of 4089 bytes 0xff, the
longest a datagram holds, which the API shows as 16356 characters (\\xff each): about 98 MB of
status in the API, 25 MB in the core's snapshot. Before, `vigilctl status` failed above ~1,100
workers (gRPC's 4 MiB receive limit) and above ~4,400 a restarted vigil-control got a snapshot
over the 16 MiB frame limit and was killed over and over. The config accepts 100000 replicas;
this machine's pid_max (32768) and RLIMIT_NOFILE (20000) do not allow that many processes, so
the test runs WORKERS (default 6000, VIGIL_BIG_POOL to change), above both old limits.
"""

import os
import signal
from pathlib import Path

from kubesim import wait_for

WORKERS = int(os.environ.get("VIGIL_BIG_POOL", "6000"))
LENGTH = 4089
SHOWN = "\\xff" * LENGTH


def helper(vigil_bin) -> str:
    default = Path(vigil_bin).resolve().parents[1] / "tests" / "helpers"
    path = Path(os.environ.get("VIGIL_TEST_HELPERS", default)) / "notifystatus"
    assert os.access(path, os.X_OK), f"{path} not built"
    return str(path)


def check_status(pod, what):
    """`vigilctl status --json` lists every worker, ready, with its own pid and the text."""
    status = pod.ctl.status()
    workers = status["pools"][0]["workers"]
    assert len(workers) == WORKERS, f"{what}: {len(workers)} workers"
    assert [w["slot"] for w in workers] == list(range(WORKERS)), what
    assert all(w["state"] == "WORKER_STATE_READY" for w in workers), what
    assert len({w["pid"] for w in workers}) == WORKERS, what
    bad = [w["slot"] for w in workers if w["statusText"] != SHOWN]
    assert not bad, f"{what}: wrong status text in slots {bad[:10]}"
    return status


def test_the_largest_pool_that_runs_here(pod, vigil_bin):
    pod.start({"drain": {"grace_period": "120s"},
               "pools": [{"name": "big", "command": [helper(vigil_bin), str(LENGTH), "ff"],
                          "replicas": WORKERS, "readiness": {"mode": "notify"},
                          "min_ready": WORKERS, "log_prefix": False, "boot_timeout": "300s",
                          "stop_timeout": "60s"}]})
    r = pod.ctl("wait-ready", "--timeout", "300s", timeout=310)
    assert r.code == 0, f"{r}\n{pod.log.summary()}"
    check_status(pod, "first vigil-control")
    table = pod.ctl("status", timeout=120)
    assert table.code == 0, table
    assert table.stdout.count(SHOWN) == WORKERS

    # A restarted vigil-control gets the whole snapshot, in parts, and serves it.
    control = pod.control_pid()
    os.kill(control, signal.SIGKILL)
    wait_for(lambda: pod.control_pid() not in (None, control), 30, "a new vigil-control")
    wait_for(lambda: pod.ctl("health", "--service", "readiness", timeout=30).code == 0, 120,
             "readiness SERVING from the new vigil-control")
    check_status(pod, "restarted vigil-control")
    assert pod.ctl.health("liveness") == 0
    assert len(pod.events("control_started")) == 2, pod.log.summary()

    # A drain stops every worker at once: thousands of events in one go. vigil-control is never
    # killed for falling behind (at worst it is sent a fresh snapshot instead of the events).
    r = pod.ctl("drain", "--wait", "--timeout", "300s", timeout=310)
    assert r.code == 0, f"{r}\n{pod.log.summary()}"
    assert "every worker ended gracefully" in r.stdout
    assert len(pod.events("control_started")) == 2, pod.log.summary()
    assert not pod.events("control_stalled")
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_DRAINED"
    assert all(w["state"] == "WORKER_STATE_EXITED" for w in status["pools"][0]["workers"])
