"""A big pool starts a batch of workers per turn of the core's loop (Pool::kStartBatch), so the
core serves signals, its workers and the control plane while the rest are still being spawned.

Regression: the core spawned every replica in one call before its loop ran again, holding PID 1
for the whole of it (seconds for a few thousand workers on this 2-vCPU VM, a minute and more
for 10,000 before spawns stopped copying the descriptor table): a SIGTERM that came meanwhile
waited until every worker had been started, only for all of them to be stopped again, and the
control plane (vigil-control) was started only after the last one.
"""

import resource
import signal

from vigiltest import wait_for

WORKERS = 2000


def test_a_sigterm_during_a_big_start_starts_no_more_workers(pools, helpers):
    """2,000 notify workers: SIGTERM as soon as the first one is ready. The queued starts are
    cancelled (far fewer than 2,000 ever run), every one that did is stopped, exit 0."""
    need = 20 + 2 * WORKERS  # agent/supervisor/fd_budget.h
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = need * 2 if hard == resource.RLIM_INFINITY else min(hard, need * 2)
    assert limit >= need, f"RLIMIT_NOFILE hard limit {hard} < {need}"
    config = pools.config([{"name": "many", "command": [helpers.notifystatus, "8", "78"],
                            "replicas": WORKERS, "readiness": {"mode": "notify"},
                            "stop_timeout": "30s"}])
    vigil = pools.start(config=config, rlimits={resource.RLIMIT_NOFILE: (limit, limit)})
    wait_for(lambda: vigil.log.events("worker_ready"), timeout=120, what="a worker ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait(timeout=300) == 0
    started = vigil.log.events("worker_started")
    exited = vigil.log.events("worker_exited")
    print(f"{len(started)} of {WORKERS} workers started before the SIGTERM took effect")
    assert 0 < len(started) < WORKERS // 2, f"{len(started)} of {WORKERS} workers started"
    assert len(exited) == len(started)
    assert not [e for e in exited if e["reason"] == "stop_timeout_killed"]
