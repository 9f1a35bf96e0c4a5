"""SIGTERM sent again and again during the drain (an impatient runtime, `docker stop` twice):
workers see one SIGTERM (for Celery a second TERM means cold shutdown); the repeats are logged."""

import signal

from kubesim import Kubelet, pool, worker

GRACE = 10.0
LINGER = 1.5


def test_repeated_sigterm_is_not_passed_on(pod):
    """SIGTERM 3 times during the drain: each worker sees exactly one SIGTERM, the 2 repeats are logged as ignored, exit 0."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--linger", LINGER)),
                         pool("jobs", worker("--linger", LINGER))]})
    pod.wait_ready(4)

    kubelet = Kubelet(pod, GRACE)
    kubelet.sigterm()
    pod.log.wait("drain_started", timeout=5)
    # One at a time: two SIGTERMs pending at once would merge into one.
    for n in (1, 2):
        pod.vigil.signal(signal.SIGTERM)
        pod.log.wait("signal_ignored", count=n, timeout=5)
    assert not pod.events("drain_complete"), "the repeats came after the drain: test too slow"

    end = kubelet.finish()
    assert not end.sigkilled and end.code == 0

    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "jobs/1", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGTERM"], run
        assert run.exit_t is not None
    assert len(pod.events("signal_ignored")) == 2
    assert len(pod.events("drain_started")) == 1
    assert not pod.events("drain_joined")  # A SIGTERM-started drain: every repeat is ignored.
    names = [e.get("event") for e in pod.log.records]
    last_ignored = max(i for i, n in enumerate(names) if n == "signal_ignored")
    assert last_ignored < names.index("drain_complete")
    assert [e["exit_code"] for e in pod.events("agent_exit")] == [0]
