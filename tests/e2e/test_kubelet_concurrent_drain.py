"""Many drain requests at once (a preStop hook retried, an operator, an autoscaler): one drain."""

from kubesim import Kubelet, log_time, pool, worker

GRACE = 10.0
LINGER = 3.0  # long enough that 50 vigilctl processes all start before the drain ends, even on a loaded 2-core machine
CALLS = 50


def test_fifty_concurrent_drains_make_one_drain(pod):
    """50 concurrent vigilctl drain / drain --wait calls all succeed; one drain_started; each worker gets exactly one SIGTERM; exit 0 after SIGTERM."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--linger", LINGER)),
                         pool("jobs", worker("--linger", LINGER))]})
    pod.wait_ready(4)

    kubelet = Kubelet(pod, GRACE)
    kubelet.begin()
    calls = [pod.ctl.start("drain", *(["--wait"] if i % 2 else []), "--reason", f"call {i}")
             for i in range(CALLS)]
    results = [c.wait(GRACE) for c in calls]
    failed = [(i, str(r)) for i, r in enumerate(results) if r.code != 0]
    assert not failed, failed
    (complete,) = pod.events("drain_complete")
    for i, r in enumerate(results):
        if i % 2:
            assert r.stdout == "drained: every worker ended gracefully\n", r
            # --wait returned once the drain was complete, not before.
            assert r.ended_wall >= log_time(complete)
        else:
            assert r.stdout.startswith("drain started (trigger "), r

    assert len(pod.events("drain_requested")) == CALLS
    # They were concurrent: every one reached the agent while the drain was in progress.
    names = [e.get("event") for e in pod.log.records]
    last_request = max(i for i, n in enumerate(names) if n == "drain_requested")
    assert last_request < names.index("drain_complete")
    (started,) = pod.events("drain_started")
    assert started["trigger"] in ("prestop", "api")
    assert len(pod.events("pool_stopping")) == 2  # jobs, then web: once each.
    assert pod.running()
    assert pod.ctl.status()["phase"] == "PHASE_DRAINED"

    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    assert end.exited - kubelet.started < GRACE

    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "jobs/1", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGTERM"], run
        assert run.exit_t is not None
    assert len(pod.events("drain_complete")) == 1
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [0]
