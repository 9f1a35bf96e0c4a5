"""`vigilctl status` without --json: the readable table an operator reads in `kubectl exec`."""

import os
import re
import signal

from kubesim import Kubelet, pool, wait_for, worker

GRACE = 8.0


def row(table: str, pool_name: str, slot: int) -> list[str]:
    """The columns of one worker's row (SLOT PID STATE SINCE RESTARTS LAST-EXIT STATUS)."""
    lines = table.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"pool {pool_name}:")))
    assert lines[start + 1].split() == ["SLOT", "PID", "STATE", "SINCE", "RESTARTS", "LAST",
                                        "EXIT", "STATUS"], lines[start + 1]
    for line in lines[start + 2:]:
        if not line.startswith("  "):
            break
        cols = line.split()
        if cols[0] == str(slot):
            return cols
    raise AssertionError(f"no row for {pool_name}/{slot} in\n{table}")


def test_status_table(pod):
    """The table shows the agent's phase, each pool's ready count and each worker's pid, state, restarts, last exit and STATUS= text; a killed and restarted worker shows its new pid, 1 restart and signaled(SIGKILL) (the label the logs and the termination message use); a drained agent shows the drain."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker()), pool("jobs", worker(), replicas=1)]})
    runs = {r.name: r for r in pod.wait_ready(3)}
    r = pod.ctl("status")
    assert r.code == 0, r
    table = r.stdout
    assert table.splitlines()[0] == "agent: ready", table
    assert "\npool web: 2/2 ready\n" in table and "\npool jobs: 1/1 ready\n" in table, table
    for name in ("web/0", "web/1", "jobs/0"):
        pool_name, slot = name.split("/")
        cols = row(table, pool_name, int(slot))
        assert cols[1:3] == [str(runs[name].pid), "ready"], cols
        assert re.fullmatch(r"\d+s", cols[3]) and cols[4:] == ["0", "-", "serving"], cols

    os.kill(pod.vigil.host_pid(runs["web/1"].pid), signal.SIGKILL)
    wait_for(lambda: len(pod.runs.ready("web")) == 3, 10.0, "web/1's replacement")
    wait_for(lambda: "pool web: 2/2 ready" in pod.ctl("status").stdout, 5.0, "web ready again")
    new = [r for r in pod.runs.all("web", slot=1) if r.pid != runs["web/1"].pid]
    cols = row(pod.ctl("status").stdout, "web", 1)
    assert cols[1:3] == [str(new[0].pid), "ready"], cols
    assert cols[4:6] == ["1", "signaled(SIGKILL)"], cols

    assert pod.ctl("drain", "--wait").code == 0
    table = pod.ctl("status").stdout
    assert table.splitlines()[:2] == ["agent: drained, not ready",
                                      "drain: complete, graceful (trigger prestop), "
                                      "0 worker(s) remaining"], table
    assert "pool web: 0/2 ready, not ready" in table, table
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
