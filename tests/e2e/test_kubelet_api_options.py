"""The API's optional arguments: a Drain deadline shorter than the grace period (stragglers are
killed at it, not at the grace period's), and a rolling Restart with max_unavailable 2."""

import time

from kubesim import Kubelet, pool, wait_for, worker

GRACE = 20.0


def test_drain_deadline_shorter_than_the_grace_period(pod):
    """vigilctl drain --wait --deadline 2s: the straggler gets the fast signal at 2 s and SIGKILL 1.5 s later (not at the 17 s of the grace period); the hook exits 1 naming it; SIGTERM then exits 4 at once."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--ignore", "TERM,INT", "--only-slot", "0"))]})
    pod.wait_ready(2)
    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop("--deadline", "2s")
    result = hook.wait(GRACE)
    took = result.ended - hook.started
    assert result.code == 1, result
    assert "web/0" in result.stdout + result.stderr, result
    assert 3.0 <= took < 6.0, took  # 2 s deadline + 1.5 s to SIGKILL, far from 17 s.
    (started,) = pod.events("drain_started")
    assert 1900 <= started["deadline_ms"] <= 2000, started
    (stubborn,) = pod.runs.all("web", slot=0)
    assert stubborn.signals == ["SIGTERM", "SIGINT"] and stubborn.exit_t is None, stubborn
    int_at = stubborn.signal_times("SIGINT")[0] - stubborn.signal_times("SIGTERM")[0]
    assert 1.8 <= int_at <= 2.5, int_at
    (other,) = pod.runs.all("web", slot=1)
    assert other.signals == ["SIGTERM"] and other.exit_t is not None, other
    sent = time.monotonic()
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 4
    assert end.exited - sent < 2.0


def test_rolling_restart_with_max_unavailable_2(pod):
    """vigilctl restart web --max-unavailable 2 (4 workers): two old workers stop at a time, the next two only once both replacements are ready; never fewer than 2 ready."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--boot", 0.3), replicas=4)]})
    old = {r.slot: r for r in pod.wait_ready(4)}
    r = pod.ctl("restart", "web", "--max-unavailable", "2")
    assert r.code == 0, r
    pod.runs.wait_ready(8, "web", timeout=20)
    wait_for(lambda: pod.ctl.status()["pools"][0]["ready"] == 4, 10.0, "4 ready workers again")

    new = {}
    for run in pod.runs.all("web"):
        if run.pid != old[run.slot].pid:
            new[run.slot] = run
    assert sorted(new) == [0, 1, 2, 3]
    terms = sorted((old[s].signal_times("SIGTERM")[0], s) for s in range(4))
    first, second = [s for _, s in terms[:2]], [s for _, s in terms[2:]]
    # The first two stop together: the second of them before the first replacement is ready.
    assert terms[1][0] < min(new[s].ready_t for s in first), terms
    # The next two only once both replacements of the first batch are ready.
    assert min(t for t, _ in terms[2:]) > max(new[s].ready_t for s in first), terms
    assert all(old[s].signals == ["SIGTERM"] for s in range(4))

    ready_times = []
    for s in range(4):
        ready_times += [(old[s].ready_t, +1, f"old {s} ready"),
                        (old[s].signal_times("SIGTERM")[0], -1, f"old {s} TERM"),
                        (new[s].ready_t, +1, f"new {s} ready")]
    count, lowest, full = 0, 4, False
    for _, delta, _ in sorted(ready_times):
        count += delta
        full = full or count == 4  # From the moment all four old workers were ready.
        if full:
            lowest = min(lowest, count)
    assert lowest == 2, "\n".join(f"{t:.3f} {what}" for t, _, what in sorted(ready_times))
    assert second  # Both batches happened.

    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
