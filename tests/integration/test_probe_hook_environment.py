"""What exec readiness probes and stop hooks inherit: the same environment as the workers
(sys/child_environment.h): Vigil's, less the variables of Vigil's own supervisor (NOTIFY_SOCKET,
WATCHDOG_*, LISTEN_*), plus the pool's `env:` for a probe; then their own VIGIL_* variables."""

import signal
from pathlib import Path

from vigiltest import wait_for

# Vigil's environment, as a supervisor above it (systemd, another Vigil) would set it.
OUTER = {"NOTIFY_SOCKET": "/run/outer.sock", "WATCHDOG_USEC": "123", "WATCHDOG_PID": "1",
         "LISTEN_PID": "1", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b", "FROM_VIGIL": "1",
         "OVERRIDDEN": "by-vigil"}
SUPERVISOR_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID",
                        "LISTEN_FDS", "LISTEN_FDNAMES")


def dump_env(path: Path) -> list[str]:
    """A command that writes its environment to `path` (NUL-separated), atomically."""
    return ["sh", "-c", 'env -0 > "$0.tmp" && mv "$0.tmp" "$0"', str(path)]


def read_env(path: Path) -> dict[str, str]:
    items = [item for item in path.read_bytes().split(b"\0") if item]
    names = [item.split(b"=", 1)[0] for item in items]
    assert len(names) == len(set(names)), f"a name given twice: {items}"
    return dict(item.decode().split("=", 1) for item in items)


def test_exec_probe_gets_the_pool_env_and_not_the_outer_supervisor(pools):
    """An exec probe sees the pool's env: (over Vigil's), Vigil's other variables, VIGIL_POOL,
    VIGIL_WORKER and VIGIL_WORKER_PID, and never NOTIFY_SOCKET, WATCHDOG_* or LISTEN_*."""
    out = pools.workdir / "probe-env"
    readiness = {"mode": "exec", "period": "200ms", "timeout": "5s", "command": dump_env(out)}
    config = pools.config([{"name": "web", "command": pools.worker(), "readiness": readiness,
                            "env": {"FROM_POOL": "pool", "OVERRIDDEN": "by-pool"}}])
    vigil = pools.start(config=config, env=OUTER)
    ready = vigil.log.wait("worker_ready")
    env = read_env(wait_for(lambda: out.exists() and out, what="the probe's environment"))
    assert (env.get("FROM_POOL"), env.get("OVERRIDDEN")) == ("pool", "by-pool"), env
    assert env.get("FROM_VIGIL") == "1", env
    assert (env["VIGIL_POOL"], env["VIGIL_WORKER"], env["VIGIL_WORKER_PID"]) == \
        ("web", "0", str(ready["pid"]))
    leaked = [name for name in SUPERVISOR_VARIABLES if name in env]
    assert leaked == [], f"the probe inherited Vigil's supervisor's {leaked}"
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_stop_hook_does_not_get_the_outer_supervisor_variables(pools):
    """A stop hook sees Vigil's variables, VIGIL_HOOK and VIGIL_DRAIN_TRIGGER, and never
    NOTIFY_SOCKET, WATCHDOG_* or LISTEN_*: a hook that answered them would speak for Vigil."""
    out = pools.workdir / "hook-env"
    config = pools.config([{"name": "web", "command": pools.worker(),
                            "readiness": {"mode": "started"}}],
                          hooks=[{"name": "envdump", "command": dump_env(out)}])
    vigil = pools.start(config=config, env=OUTER)
    vigil.log.wait("worker_started")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    (exited,) = vigil.log.events("hook_exited")
    assert exited["code"] == 0, exited
    env = read_env(out)
    assert (env["VIGIL_HOOK"], env["VIGIL_DRAIN_TRIGGER"]) == ("envdump", "signal")
    assert (env.get("FROM_VIGIL"), env.get("OVERRIDDEN")) == ("1", "by-vigil"), env
    leaked = [name for name in SUPERVISOR_VARIABLES if name in env]
    assert leaked == [], f"the hook inherited Vigil's supervisor's {leaked}"
