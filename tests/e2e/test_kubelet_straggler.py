"""A worker that ignores SIGTERM and its fast signal (SIGINT): Vigil SIGKILLs it at the drain's
deadline (start + grace period - safety margin, plus half the margin), before the kubelet's own
SIGKILL would land, and says so (exit 4, `drain --wait` exits 1 naming it)."""

from kubesim import Kubelet, log_time, pool, worker

GRACE = 6.0
MARGIN = 2.0
DEADLINE = GRACE - MARGIN  # Stragglers get their fast signal then...
KILL_AT = DEADLINE + MARGIN / 2  # ...and SIGKILL then.
SLACK = 0.6  # Scheduling slack on a loaded 2-core machine.


def start(pod):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s", "safety_margin": f"{MARGIN:g}s"},
               "pools": [
                   # web/1 ignores both of its pool's stop signals.
                   pool("web", worker("--ignore", "TERM,INT", "--only-slot", 1),
                        stop_timeout="30s", fast_stop_signal="SIGINT"),
                   pool("jobs", worker(), replicas=1)]})
    pod.wait_ready(3)


def check_workers(pod, drain_started_wall):
    runs = {r.name: r for r in pod.runs.all()}
    assert sorted(runs) == ["jobs/0", "web/0", "web/1"]
    assert runs["jobs/0"].signals == ["SIGTERM"] and runs["jobs/0"].exit_t is not None
    assert runs["web/0"].signals == ["SIGTERM"] and runs["web/0"].exit_t is not None
    straggler = runs["web/1"]
    assert straggler.signals == ["SIGTERM", "SIGINT"], straggler
    assert straggler.exit_t is None, "the straggler exited by itself"
    # SIGTERM in its turn (after jobs), SIGINT at the deadline.
    assert straggler.signal_times("SIGTERM")[0] >= runs["jobs/0"].exit_t
    sigint_after = straggler.signal_times("SIGINT")[0] - drain_started_wall
    assert DEADLINE - 0.01 <= sigint_after < DEADLINE + SLACK

    (killed,) = [e for e in pod.events("worker_exited") if e["pool"] == "web" and e["slot"] == 1]
    assert killed["reason"] == "stop_timeout_killed" and killed["signal"] == "SIGKILL"
    killed_after = log_time(killed) - drain_started_wall
    assert KILL_AT - 0.01 <= killed_after < KILL_AT + SLACK
    (deadline,) = pod.events("drain_deadline")
    assert deadline["workers"] == 1
    for e in pod.events("worker_exited"):
        if (e["pool"], e["slot"]) != ("web", 1):
            assert e["reason"] == "exited" and e["code"] == 0, e


def test_straggler_sigkilled_before_the_grace_period(pod):
    """SIGTERM alone: the straggler gets SIGTERM, SIGINT at the deadline, SIGKILL half a margin later; Vigil exits 4 before the kubelet's SIGKILL."""
    start(pod)
    kubelet = Kubelet(pod, GRACE)
    end = kubelet.terminate()
    assert not end.sigkilled, "the kubelet had to SIGKILL vigil: Vigil missed its own deadline"
    assert end.code == 4
    assert KILL_AT - 0.01 <= end.after_term < GRACE
    check_workers(pod, kubelet.started_wall)
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [4]


def test_straggler_with_prestop_hook(pod):
    """preStop drain --wait exits 1 naming the straggler once Vigil killed it; SIGTERM then makes Vigil exit 4 at once, before the grace period is over."""
    start(pod)
    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop()
    result = hook.wait(GRACE + 5)
    assert result.code == 1, f"preStop hook: {result}"
    assert "stragglers" in result.stdout and "web/1" in result.stdout, result
    assert "web/0" not in result.stdout and "jobs/0" not in result.stdout
    assert KILL_AT - 0.01 <= result.elapsed < GRACE
    assert pod.running(), "vigil exited under its own preStop hook"
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_DRAINED"
    assert status["drain"]["stragglers"] == ["web/1"] and not status["drain"]["graceful"]

    end = kubelet.terminate()
    assert not end.sigkilled
    assert end.code == 4
    assert end.after_term < 1.0
    assert end.exited - kubelet.started < GRACE
    check_workers(pod, kubelet.started_wall)


# Regression (issue 10, defect 13): a straggler that ignored SIGTERM for the whole grace period
# and then exited on the fast signal at the deadline counted as graceful: drain --wait exited 0
# and Vigil exited 0 with "every worker ended gracefully".
def test_straggler_obeying_the_fast_signal_is_still_a_straggler(pod):
    """web/1 ignores SIGTERM only: it dies of SIGINT at the deadline; drain --wait exits 1 naming it, the termination message counts it, Vigil exits 4."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s", "safety_margin": f"{MARGIN:g}s"},
               "pools": [pool("web", worker("--ignore", "TERM", "--only-slot", 1),
                              stop_timeout="30s", fast_stop_signal="SIGINT")]})
    pod.wait_ready(2)
    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop()
    result = hook.wait(GRACE + 5)
    assert result.code == 1, f"preStop hook: {result}"
    assert "stragglers" in result.stdout and "web/1" in result.stdout, result
    assert "web/0" not in result.stdout
    assert DEADLINE - 0.01 <= result.elapsed < KILL_AT, result
    (exited,) = [e for e in pod.events("worker_exited") if e["slot"] == 1]
    assert exited["code"] == 0, exited  # it obeyed the fast signal: not SIGKILLed
    status = pod.ctl.status()
    assert status["drain"]["stragglers"] == ["web/1"] and not status["drain"]["graceful"]
    end = kubelet.terminate()
    assert not end.sigkilled
    assert end.code == 4
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [4]
