"""Stop hooks (`hooks:` in the config): run at the end of the drain, once every worker is gone,
in reverse registration order, each bounded by its timeout, also after a straggler was
SIGKILLed."""

import json
from pathlib import Path

from kubesim import PYTHON3, Kubelet, log_time, pool, worker

HOOK = Path(__file__).resolve().parent / "workers" / "hook.py"
HANG_TIMEOUT = 0.7


def hooks(path):
    """`flush` registered first (quick), `upload` second (hangs until its timeout)."""
    return [{"name": "flush", "command": [PYTHON3, str(HOOK), str(path)], "timeout": "5s"},
            {"name": "upload", "command": [PYTHON3, str(HOOK), str(path), "--hang"],
             "timeout": f"{HANG_TIMEOUT:g}s"}]


def hook_records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_hooks(pod, path, trigger, workers_gone_wall, capped=False):
    """`capped`: the drain reached its deadline, so what is left of the grace period is shared
    among the hooks and the hanging one may be cut before its own timeout."""
    records = hook_records(path)
    starts = [(r["hook"], r["trigger"]) for r in records if r["ev"] == "start"]
    # Reverse registration order; each one saw why the drain happened.
    assert starts == [("upload", trigger), ("flush", trigger)], records
    ends = [r["hook"] for r in records if r["ev"] == "end"]
    assert ends == ["flush"], "the hanging hook ended by itself?"
    upload, flush = [r for r in records if r["ev"] == "start"]
    assert upload["t"] >= workers_gone_wall, "a hook started before every worker was gone"
    assert flush["t"] > upload["t"]

    names = [e.get("event") for e in pod.log.records]
    started = pod.events("hook_started")
    assert [e["hook"] for e in started] == ["upload", "flush"]
    (timeout,) = pod.events("hook_timeout")
    assert timeout["hook"] == "upload"
    # `upload` was killed at its timeout (counted from its spawn), and only then did `flush`
    # start. Log times are truncated to the millisecond.
    hung = log_time(started[1]) - log_time(started[0])
    lower = 0.1 - 0.001 if capped else HANG_TIMEOUT - 0.001
    assert lower <= log_time(timeout) - log_time(started[0]) <= hung
    assert hung < HANG_TIMEOUT + 0.5
    exited = pod.events("hook_exited")
    assert [(e.get("hook"), e["code"], e["signal"]) for e in exited] == [
        ("upload", -1, "SIGKILL"), ("flush", 0, "")]
    order = [names.index("hook_timeout"), pod.log.index(exited[0]), pod.log.index(started[1]),
             pod.log.index(exited[1]), names.index("drain_complete")]
    assert order == sorted(order), names
    # Every worker_exited came before the first hook started.
    assert max(i for i, n in enumerate(names) if n == "worker_exited") < pod.log.index(started[0])


def test_hooks_after_graceful_drain(pod, tmp_path):
    """Two hooks after a graceful drain: reverse order, the hanging one killed at its timeout, the next one still runs; exit 0."""
    path = tmp_path / "hooks.jsonl"
    grace = 8.0
    pod.start({"drain": {"grace_period": f"{grace:g}s"}, "hooks": hooks(path),
               "pools": [pool("web", worker("--linger", 0.3)),
                         pool("jobs", worker("--linger", 0.3))]})
    pod.wait_ready(4)
    kubelet = Kubelet(pod, grace)
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    assert end.exited - kubelet.started < grace

    runs = pod.runs.all()
    assert len(runs) == 4
    for run in runs:
        assert run.signals == ["SIGTERM"], run
        assert run.exit_t is not None
    last_exit = max(log_time(e) for e in pod.events("worker_exited"))
    check_hooks(pod, path, "signal", last_exit)


def test_hooks_after_straggler_killed(pod, tmp_path):
    """A straggler SIGKILLed at the deadline, then both hooks run (reverse order, timeout enforced) before Vigil exits 4."""
    path = tmp_path / "hooks.jsonl"
    # Deadline at 3s, SIGKILL at 4.5s: each hook's share of what is left is (6 - 4.5 - 0.5) / 2
    # = 0.5s, less than `upload`'s own timeout (capped), and time enough for a Python hook to
    # start on a loaded machine (with 0.25s it sometimes did not, and never wrote its start).
    grace, margin = 6.0, 3.0
    pod.start({"drain": {"grace_period": f"{grace:g}s", "safety_margin": f"{margin:g}s"},
               "hooks": hooks(path),
               "pools": [pool("web", worker("--ignore", "TERM,INT"), replicas=1,
                              stop_timeout="30s")]})
    pod.wait_ready(1)
    kubelet = Kubelet(pod, grace)
    hook = kubelet.prestop()
    result = hook.wait(grace + 5)
    assert result.code == 1 and "web/0" in result.stdout, result
    # Drained and waiting for SIGTERM: nothing is left in the pod, not even the hanging hook's
    # child (its whole process group was killed at the timeout).
    assert pod.running()
    assert pod.leftovers() == []
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 4

    (run,) = pod.runs.all()
    assert run.signals == ["SIGTERM", "SIGINT"] and run.exit_t is None
    (killed,) = pod.events("worker_exited")
    assert killed["reason"] == "stop_timeout_killed"
    check_hooks(pod, path, "prestop", log_time(killed), capped=True)
    # The drain (hooks included) was complete when the preStop hook returned.
    assert result.ended_wall >= log_time(pod.events("drain_complete")[0])
