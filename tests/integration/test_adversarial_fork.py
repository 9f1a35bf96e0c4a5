"""Adversarial: a worker forks 2,000 children (tests/helpers/forkstorm.c), next to a pool of
well-behaved workers, with vigil as PID 1 of a new PID namespace.

- The worker exits and leaves them behind, in its process group (Vigil SIGKILLs the group) or
  in sessions of their own (orphans that exit together as soon as the worker is gone): every
  one is reaped, no zombie is left, the slot restarts, and the other workers are untouched.
- The worker keeps them (never reaping what dies): the drain's SIGTERM to its group ends all
  2,001 processes, their zombies are reaped, and the drain completes long before its deadline.
PID 1 keeps working throughout: it restarts the slot, answers SIGTERM, exits 0.
"""

import signal
import time

import pytest

from vigiltest import all_procs, descendants_of, proc_stat, wait_for

CHILDREN = 2000
GRACE = 20.0
MARGIN = 3.0


def zombies_under(pid):
    """Zombies among pid's descendants (vigil's own children included)."""
    zombies = []
    for d in descendants_of(pid):
        stat = proc_stat(d)
        if stat is not None and stat.state == "Z":
            zombies.append(d)
    return zombies


def storm_file_lines(path):
    try:
        return [line.split() for line in path.read_text().splitlines()]
    except FileNotFoundError:
        return []


def start(pools, tmp_path, storm_args):
    storm_file = tmp_path / "storm"
    config = pools.config(
        [{"name": "web", "command": pools.worker(), "replicas": 2,
          "readiness": {"mode": "notify"}},
         {"name": "storm", "command": storm_args + [str(CHILDREN), str(storm_file)],
          "replicas": 1, "readiness": {"mode": "notify"}, "stop_timeout": "15s",
          "backoff": {"initial": "100ms"}}],
        drain={"grace_period": f"{GRACE:g}s", "safety_margin": f"{MARGIN:g}s"})
    vigil = pools.start(config=config)
    web = vigil.records.wait_runs(2, pool="web")
    vigil.log.wait("worker_ready", count=2, pool="web")
    return vigil, web, storm_file


def check_web_untouched(vigil, web):
    assert len(vigil.records.runs("web")) == 2, "a web worker was restarted"
    for run in web:
        assert run.signals() == [] and run.exit is None, run.lines
    assert not vigil.log.events("worker_exited", pool="web")


def stop_and_check(vigil, web):
    started = time.monotonic()
    vigil.signal(signal.SIGTERM)
    assert vigil.wait(GRACE) == 0, vigil.log.summary()
    assert time.monotonic() - started < GRACE - MARGIN
    assert not vigil.log.events("drain_deadline")
    for run in web:
        assert run.signals() == ["SIGTERM"] and run.exit["code"] == 0, run.lines


@pytest.mark.parametrize("where", ["group", "sessions"])
def test_worker_exits_leaving_2000_children(pools, helpers, tmp_path, where):
    """The storm worker exits 1 right after forking 2,000 children (in its group: SIGKILLed by vigil; in their own sessions: orphans exiting together): all reaped, no zombie, the slot restarts, web untouched."""
    marker = tmp_path / "stormed"
    args = [helpers.forkstorm, *(["-s"] if where == "sessions" else []), "-x", "1",
            "-o", str(marker)]
    vigil, web, storm_file = start(pools, tmp_path, args)
    # The storm's run, then its replacement (which forks nothing).
    wait_for(lambda: len(storm_file_lines(storm_file)) >= 2, 30, "the storm slot to restart")
    assert [line[2] for line in storm_file_lines(storm_file)] == [str(CHILDREN), "0"]
    vigil.log.wait("worker_ready", pool="storm", count=2, timeout=30)
    (exited,) = vigil.log.events("worker_exited", pool="storm")
    assert exited["code"] == 1

    def settled():
        # vigil, vigil-control, 2 web workers, the storm's replacement; no zombie.
        return len(descendants_of(vigil.pid)) <= 5 and not zombies_under(vigil.pid)
    wait_for(settled, 30, f"the {CHILDREN} children to be gone and reaped")
    assert not [p for p in all_procs() if p.ppid == vigil.pid and p.state == "Z"]
    check_web_untouched(vigil, web)
    assert vigil.running()
    stop_and_check(vigil, web)


def test_worker_keeping_2000_children_drains_in_time(pools, helpers, tmp_path):
    """The storm worker keeps 2,000 children and reaps none: SIGTERM to vigil ends all 2,001 processes, every zombie is reaped, the drain completes long before its deadline, web ends gracefully; vigil exits 0."""
    vigil, web, storm_file = start(pools, tmp_path, [helpers.forkstorm])
    wait_for(lambda: storm_file_lines(storm_file), 30, "the storm's children")
    vigil.log.wait("worker_ready", pool="storm", timeout=30)
    assert len(descendants_of(vigil.pid)) >= CHILDREN + 3
    check_web_untouched(vigil, web)

    stop_and_check(vigil, web)
    (storm,) = vigil.log.events("worker_exited", pool="storm")
    assert storm["reason"] == "exited" and storm["code"] == 0, storm
    (complete,) = vigil.log.events("drain_complete")
    assert complete["duration_ms"] < (GRACE - MARGIN) * 1000 / 2, complete
    wait_for(lambda: not descendants_of(vigil.popen.pid), 10, "every process of the pod to be gone")
