"""Adversarial: Vigil started with RLIMIT_NOFILE of 64 (`docker run --ulimit nofile=64:64`).

What Vigil does about its descriptor limit (docs/pools.md, "Descriptor limit"):
- it raises its own soft limit to the hard one (a soft 64 under a higher hard limit costs
  nothing);
- in pool mode it knows what the configuration costs it (per worker: notify socket, pidfd, two
  relay pipes with log_prefix, a probe socket) and refuses, before starting anything, a
  configuration that cannot fit (exit 2, naming RLIMIT_NOFILE, the limit and the need);
- at run time it refuses a Scale that cannot fit (RESOURCE_EXHAUSTED, same words);
- whatever still cannot be opened (the limit lowered under a running Vigil) is named in the log
  (worker_spawn_failed "...: Too many open files") and counted
  (vigil_worker_exits_total{reason="spawn_failed"}), and running workers are untouched.
In every case PID 1 keeps working, vigil-control answers, and the pod ends cleanly on SIGTERM.
"""

import json
import os
import re
import resource
import signal
from pathlib import Path

from kubesim import Kubelet, free_port, pool, wait_for, worker
from metrics import try_scrape

NOFILE = resource.RLIMIT_NOFILE
GRACE = 10.0


def config(web, jobs=2, **extra):
    """Two pools of notify workers with log_prefix; extra: more keys of each pool."""
    return {"drain": {"grace_period": f"{GRACE:g}s"},
            "pools": [pool("web", worker(), replicas=web, log_prefix=True, **extra),
                      pool("jobs", worker(), replicas=jobs, log_prefix=True, **extra)]}


def limits(host_pid):
    """(soft, hard) RLIMIT_NOFILE of a process, from /proc/PID/limits."""
    text = Path(f"/proc/{host_pid}/limits").read_text()
    m = re.search(r"^Max open files\s+(\d+)\s+(\d+)", text, re.M)
    return int(m.group(1)), int(m.group(2))


def workers(pod):
    """{"pool/slot": (pid, state)} from `vigilctl status --json`."""
    out = {}
    for p in pod.ctl.status()["pools"]:
        for w in p.get("workers", []):
            out[f"{p['name']}/{w.get('slot', 0)}"] = (w.get("pid", 0), w.get("state"))
    return out


def test_hard_limit_64_runs_a_pool_that_fits_and_refuses_a_scale_that_does_not(pod):
    """nofile 64:64, 8 notify workers with log_prefix, vigil-control on: every worker ready, both processes run with 64; `vigilctl scale web 40` is refused naming RLIMIT_NOFILE; no worker is touched; SIGTERM then exits 0."""
    pod.start(config(web=6), rlimits={NOFILE: (64, 64)})
    pod.wait_ready(8)
    assert limits(pod.pid) == (64, 64)
    assert limits(pod.control_pid()) == (64, 64)
    # The budget's model holds: 16 + 8 x 4 descriptors at most (41 measured).
    assert len(os.listdir(f"/proc/{pod.pid}/fd")) <= 16 + 8 * 4
    before = workers(pod)
    assert len(before) == 8 and all(state == "WORKER_STATE_READY" for _, state in before.values()), before

    r = pod.ctl("scale", "web", "40")
    assert r.code != 0, f"a scale past the descriptor limit was accepted: {r}"
    assert "RLIMIT_NOFILE" in r.stderr + r.stdout and "64" in r.stderr + r.stdout, r
    assert not pod.events("worker_spawn_failed"), pod.log.summary()
    assert workers(pod) == before
    assert pod.ctl.health("readiness") == 0

    # Within the limit, scaling still works.
    r = pod.ctl("scale", "web", "7")
    assert r.code == 0, r
    pod.runs.wait_ready(9)
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0, pod.log.summary()
    assert not pod.events("worker_spawn_failed")


def test_hard_limit_64_refuses_a_configuration_that_cannot_fit(launcher, tmp_path):
    """nofile 64:64 with 22 workers: vigil exits 2 at once, before starting anything, naming RLIMIT_NOFILE, the limit and what the configuration needs."""
    path = tmp_path / "vigil.yaml"
    path.write_text(json.dumps(config(web=20)))
    records = tmp_path / "records"
    records.mkdir()
    done = launcher.run(["--config", str(path), "--socket", str(tmp_path / "run" / "c.sock")],
                        pid1=True, timeout=10, rlimits={NOFILE: (64, 64)},
                        env={"E2E_RECORDS": str(records)})
    assert done.code == 2, done
    assert "RLIMIT_NOFILE" in done.stderr and "64" in done.stderr, done.stderr
    assert "22 workers" in done.stderr, done.stderr
    assert not list(records.iterdir()), "workers were started"
    assert len(done.stderr) < 1000


def test_soft_limit_64_is_raised_for_the_core(pod):
    """nofile 64:4096 with 22 workers: vigil raises its own soft limit and runs all of them."""
    pod.start(config(web=20), rlimits={NOFILE: (64, 4096)})
    pod.wait_ready(22, timeout=30)
    assert limits(pod.pid) == (4096, 4096)
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0, pod.log.summary()


def test_descriptors_exhausted_at_run_time_are_named_counted_and_touch_no_running_worker(pod):
    """The limit lowered under a running vigil (prlimit): a killed worker cannot be restarted; the failure names 'Too many open files' and is counted in /metrics; other workers keep their pids; vigil-control answers; once the limit is back the slot recovers and SIGTERM exits 0."""
    address = f"127.0.0.1:{free_port()}"
    pod.start(config(web=4, crash_loop={"max_restarts": 1000, "period": "60s"}),
              ["--metrics-address", address], rlimits={NOFILE: (64, 64)})
    pod.wait_ready(6)
    before = workers(pod)
    victim = pod.runs.all("web")[0]

    # No descriptor can be opened any more: every free number is above the new soft limit.
    resource.prlimit(pod.pid, NOFILE, (3, 64))
    try:
        os.kill(pod.vigil.host_pid(victim.pid), signal.SIGKILL)
        failed = pod.log.wait("worker_spawn_failed", timeout=10, pool="web")
        assert "Too many open files" in failed["msg"], failed
        scrape = wait_for(lambda: (lambda s: s if s and s.total(
            "vigil_worker_exits_total", pool="web", reason="spawn_failed") >= 1 else None)(
                try_scrape(address)), 10, "the spawn failure counted in /metrics")
        assert scrape.total("vigil_worker_exits_total", pool="jobs") == 0
        after = workers(pod)
        for name, (pid, state) in before.items():
            if name != f"web/{victim.slot}":
                assert after[name] == (pid, state), (name, after[name])
        assert pod.running()
    finally:
        resource.prlimit(pod.pid, NOFILE, (64, 64))

    # The slot comes back at its next restart; readiness returns.
    wait_for(lambda: len(pod.runs.ready("web")) >= 5, 15, "web's slot to recover")
    wait_for(lambda: pod.ctl.health("readiness") == 0, 10, "readiness SERVING again")
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0, pod.log.summary()
