"""The Lifecycle API through vigilctl (what an operator or a sidecar does to a running pod):
errors with their codes, scale, rolling restart, signals to one worker."""

import pytest

from kubesim import (Kubelet, grpc_call, log_time, pb_int, pb_string, pool, wait_for,
                     worker)

GRACE = 8.0
API = "/vigil.v1.Lifecycle/"


def start(pod, web_boot=0.0):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--boot", web_boot)),
                         pool("jobs", worker(), replicas=1)]})
    pod.wait_ready(3)


def refused(result, message):
    """vigilctl's answer to a request the agent refused: exit 3 and the agent's reason."""
    assert result.code == 3, result
    assert message in result.stderr, result
    assert result.stdout == "", result


def test_api_errors(pod):
    """Unknown pool (NOT_FOUND), negative replicas and bad signals (INVALID_ARGUMENT), missing worker slot (NOT_FOUND), scale and restart while draining (FAILED_PRECONDITION): vigilctl exits 3 with the reason, nothing changes."""
    start(pod)
    ctl = pod.ctl
    target = f"unix:{pod.socket}"

    refused(ctl("scale", "nope", "2"), "no pool named 'nope'")
    refused(ctl("restart", "nope"), "no pool named 'nope'")
    refused(ctl("signal", "nope/0", "USR1"), "no pool named 'nope'")
    refused(ctl("signal", "nope", "USR1"), "no pool named 'nope'")
    assert grpc_call(target, API + "Scale", pb_string(1, "nope") + pb_int(2, 2))[:2] == \
        ("NOT_FOUND", "no pool named 'nope'")
    assert grpc_call(target, API + "Restart", pb_string(1, "nope"))[0] == "NOT_FOUND"

    refused(ctl("scale", "web", "-1"), "replicas must be between 0 and 100000; got -1")
    assert grpc_call(target, API + "Scale", pb_string(1, "web") + pb_int(2, -1))[0] == \
        "INVALID_ARGUMENT"

    refused(ctl("signal", "web/2", "USR1"), "pool 'web' has no worker 2")
    refused(ctl("signal", "web/99", "USR1"), "pool 'web' has no worker 99")
    code, details, _ = grpc_call(target, API + "Signal",
                                 pb_string(1, "web") + pb_int(2, 7) + pb_string(3, "USR1"))
    assert (code, details) == ("NOT_FOUND", "pool 'web' has no worker 7")
    refused(ctl("signal", "web/0", "NOSUCHSIGNAL"), "NOSUCHSIGNAL")
    assert grpc_call(target, API + "Signal",
                     pb_string(1, "web") + pb_int(2, 0) + pb_string(3, "NOSUCHSIGNAL"))[0] == \
        "INVALID_ARGUMENT"
    # A negative drain deadline is refused before anything starts.
    assert grpc_call(target, API + "Drain", pb_int(2, -1))[0] == "INVALID_ARGUMENT"

    # Usage errors: exit 2, nothing sent.
    for argv in (["scale", "web"], ["scale", "web", "x"], ["signal", "web/x", "HUP"],
                 ["frobnicate"], ["status", "--bogus"]):
        r = ctl(*argv)
        assert r.code == 2, (argv, r)

    # Nothing above touched anything.
    assert [r.signals for r in pod.runs.all()] == [[], [], []]
    assert not pod.events("drain_started")
    assert not pod.events("signal_sent")
    status = ctl.status()
    assert status["phase"] == "PHASE_READY"
    assert [(p["name"], p["desired"], len(p["workers"])) for p in status["pools"]] == \
        [("web", 2, 2), ("jobs", 1, 1)]

    # While draining: no scaling, no restarts.
    kubelet = Kubelet(pod, GRACE)
    kubelet.begin()
    assert ctl("drain").code == 0
    refused(ctl("scale", "web", "3"), "the agent is draining: cannot scale")
    refused(ctl("restart", "web"), "the agent is draining: cannot restart")
    assert grpc_call(target, API + "Scale", pb_string(1, "web") + pb_int(2, 3))[0] == \
        "FAILED_PRECONDITION"
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    runs = pod.runs.all()
    assert len(runs) == 3
    assert all(r.signals == ["SIGTERM"] for r in runs), runs


def ready_count_timeline(runs):
    """[(time, ready workers)] from the records: a worker counts from READY=1 until it is told to
    stop (its first SIGTERM)."""
    events = []
    for r in runs:
        if r.ready_t is not None:
            events.append((r.ready_t, +1))
        terms = r.signal_times("SIGTERM")
        if terms:
            events.append((terms[0], -1))
    count, out = 0, []
    for t, delta in sorted(events):
        count += delta
        out.append((t, count))
    return out


def current(pod, pool_name):
    """The running worker of each slot of pool (the latest run of each slot)."""
    latest = {}
    for r in pod.runs.all(pool_name):
        latest[r.slot] = r
    return latest


def test_scale_restart_signal(pod):
    """scale web 3 shows 3 ready workers; restart web replaces them one at a time, readiness-gated (never fewer than 2 ready); signal web/0 USR1 reaches only that worker."""
    start(pod, web_boot=0.3)  # Replacements take a while to be ready: the gating shows.
    ctl = pod.ctl

    r = ctl("scale", "web", "3")
    assert (r.code, r.stdout) == (0, "pool web scaled to 3\n"), r
    pod.runs.wait_ready(3, "web")
    wait_for(lambda: ctl.status()["pools"][0]["ready"] == 3, 5.0, "3 ready web workers")
    web = ctl.status()["pools"][0]
    assert web["name"] == "web" and web["desired"] == 3
    assert [(w["slot"], w["state"]) for w in web["workers"]] == \
        [(s, "WORKER_STATE_READY") for s in range(3)]
    assert ctl.health("readiness") == 0
    old = {r.slot: r for r in pod.runs.all("web")}
    assert sorted(old) == [0, 1, 2]

    r = ctl("restart", "web")
    assert (r.code, r.stdout) == (0, "rolling restart of pool web started\n"), r
    pod.runs.wait_ready(6, "web", timeout=20)
    wait_for(lambda: (lambda p: p["ready"] == 3 and
                      {w["pid"] for w in p["workers"]}.isdisjoint(o.pid for o in old.values()))(
                          ctl.status()["pools"][0]), 10.0, "the restart to finish")
    new = current(pod, "web")
    assert sorted(new) == [0, 1, 2]
    for slot in range(3):
        assert old[slot].signals == ["SIGTERM"], old[slot]
        assert old[slot].exit_t is not None
        # In place: the replacement starts once the old worker of its slot is gone.
        assert new[slot].start_t > old[slot].exit_t
        assert new[slot].pid != old[slot].pid
    # One at a time, each next one stopped only once the last replacement was ready.
    order = sorted(range(3), key=lambda s: old[s].signal_times("SIGTERM")[0])
    for a, b in zip(order, order[1:]):
        assert old[b].signal_times("SIGTERM")[0] > new[a].ready_t, (a, b)
    timeline = ready_count_timeline(pod.runs.all("web"))
    full = next(i for i, (_, n) in enumerate(timeline) if n == 3)
    assert min(n for _, n in timeline[full:]) == 2, timeline
    assert timeline[-1][1] == 3
    assert pod.ctl.health("readiness") == 0  # min_ready 3 of 3 is back.
    (jobs,) = pod.runs.all("jobs")
    assert jobs.signals == []

    # A signal to one worker reaches only that worker.
    r = ctl("signal", "web/0", "USR1")
    assert (r.code, r.stdout) == (0, "signalled 1 worker(s)\n"), r
    wait_for(lambda: "SIGUSR1" in new[0].signals, 5.0, "SIGUSR1 at web/0")
    r = ctl("signal", "web/2", "SIGUSR2")
    assert (r.code, r.stdout) == (0, "signalled 1 worker(s)\n"), r
    wait_for(lambda: "SIGUSR2" in new[2].signals, 5.0, "SIGUSR2 at web/2")
    r = ctl("signal", "web", "HUP")
    assert (r.code, r.stdout) == (0, "signalled 3 worker(s)\n"), r
    wait_for(lambda: all("SIGHUP" in new[s].signals for s in range(3)), 5.0, "SIGHUP at web/*")
    r = ctl("signal", "jobs", "USR2")
    assert (r.code, r.stdout) == (0, "signalled 1 worker(s)\n"), r
    wait_for(lambda: "SIGUSR2" in jobs.signals, 5.0, "SIGUSR2 at jobs/0")
    assert new[0].signals == ["SIGUSR1", "SIGHUP"]
    assert new[1].signals == ["SIGHUP"]
    assert new[2].signals == ["SIGUSR2", "SIGHUP"]
    assert jobs.signals == ["SIGUSR2"]
    assert [(e["pool"], e["slot"], e["signal"], e["workers"]) for e in pod.events("signal_sent")] \
        == [("web", 0, "SIGUSR1", 1), ("web", 2, "SIGUSR2", 1), ("web", -1, "SIGHUP", 3),
            ("jobs", -1, "SIGUSR2", 1)]

    kubelet = Kubelet(pod, GRACE)
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    for slot in range(3):
        assert new[slot].signals[-1] == "SIGTERM" and new[slot].exit_t is not None
    restarted = [e for e in pod.events("worker_exited") if log_time(e) < kubelet.started_wall]
    assert len(restarted) == 3 and all(e["pool"] == "web" for e in restarted), restarted


# Regression test for a fixed bug: after `vigilctl scale web 1` (from 3), `vigilctl status` keeps listing the retired...
def test_scale_down_status(pod):
    """After scale web 1 (from 3), status lists exactly one web worker, like the core."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker(), replicas=3), pool("jobs", worker(), replicas=1)]})
    runs = {r.name: r for r in pod.wait_ready(4)}
    r = pod.ctl("scale", "web", "1")
    assert (r.code, r.stdout) == (0, "pool web scaled to 1\n"), r
    pod.log.wait("worker_exited", count=2, pool="web", reason="admin")
    assert runs["web/1"].signals == ["SIGTERM"] and runs["web/2"].signals == ["SIGTERM"]
    assert runs["web/0"].signals == []
    refused(pod.ctl("signal", "web/2", "USR1"), "pool 'web' has no worker 2")
    web = pod.ctl.status()["pools"][0]
    assert (web["desired"], web["ready"]) == (1, 1)
    assert [(w["slot"], w["state"]) for w in web["workers"]] == [(0, "WORKER_STATE_READY")]


# Regression test for a fixed bug: `vigilctl scale web 0` on a pod whose only pool is web makes Vigil (PID 1) exit 0...
def test_scale_to_zero_keeps_the_pod(pod):
    """scale web 0 stops every worker of the only pool but the pod stays up: scale web 1 brings one back."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "pools": [pool("web", worker())]})
    pod.wait_ready(2)
    r = pod.ctl("scale", "web", "0")
    assert (r.code, r.stdout) == (0, "pool web scaled to 0\n"), r
    pod.log.wait("worker_exited", count=2, pool="web", reason="admin")
    r = pod.ctl("scale", "web", "1")  # A round trip through the core, after the exits.
    assert (r.code, r.stdout) == (0, "pool web scaled to 1\n"), (r, pod.events("agent_exit"))
    assert not pod.events("agent_exit")
    pod.runs.wait_ready(3, "web")
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
