"""A real gunicorn master (Debian's python3-gunicorn) as a pool worker: its own READY=1 over
NOTIFY_SOCKET, graceful stop on SIGTERM; readiness by http, tcp and exec probes against it."""

import json
import signal
import urllib.request

from vigiltest import PYTHON3, WORKERS, free_port, log_time, proc_stat, wait_for


def gunicorn(port):
    return [PYTHON3, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--chdir", str(WORKERS), "--config", str(WORKERS / "gunicorn_conf.py"),
            "--graceful-timeout", "5", "--log-level", "warning", "wsgi_app:app"]


def gunicorn_pool(port, readiness, **extra):
    return dict({"name": "web", "command": gunicorn(port), "readiness": readiness,
                 "stop_timeout": "10s"}, **extra)


def get(port, path="/"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.status, response.read().decode()


def stop(vigil):
    vigil.signal(signal.SIGTERM)
    assert vigil.wait(10) == 0
    (exited,) = vigil.log.events("worker_exited")
    assert (exited["reason"], exited["code"]) == ("exited", 0), exited
    return exited


def test_gunicorn_notifies_ready_and_stops_gracefully(pools, mode):
    """gunicorn sends READY=1 itself; it serves; SIGTERM stops it gracefully and vigil exits 0."""
    port = free_port()
    vigil = pools.start(config=pools.config([gunicorn_pool(port, {"mode": "notify"})]),
                        pid1=mode == "pid1")
    ready = vigil.log.wait("worker_ready", timeout=15)
    (started,) = vigil.log.events("worker_started")
    assert ready["pid"] == started["pid"], "the master is the worker"
    vigil.log.wait("agent_ready")
    assert vigil.log.events("notify_rejected") == []
    status, body = get(port)
    assert status == 200 and body.startswith("hello from web/0 pid "), body
    # The master leads its group; its gunicorn worker (which served us) is in that group.
    master = vigil.host_pid(started["pid"])
    served_by = vigil.host_pid(int(body.split()[-1]))
    assert proc_stat(master).pgid == master
    assert proc_stat(served_by).pgid == master and proc_stat(served_by).ppid == master
    exited = stop(vigil)
    assert exited["before_ready"] is False
    assert proc_stat(master) is None and proc_stat(served_by) is None


def test_http_probe_readiness_follows_healthz(pools):
    """http probe: ready only once /healthz answers 200; unready after failure_threshold
    failures (not restarted); ready again when it recovers."""
    port = free_port()
    healthy = pools.workdir / "healthy"
    hits = pools.workdir / "hits"
    readiness = {"mode": "http", "host": "127.0.0.1", "port": port, "path": "/healthz",
                 "period": "100ms", "timeout": "1s", "failure_threshold": 2}
    env = {"APP_HEALTHY_FILE": str(healthy), "APP_HITS_FILE": str(hits)}
    vigil = pools.start(config=pools.config([gunicorn_pool(port, readiness)]), env=env)

    def hit_lines():
        return hits.read_text().splitlines() if hits.exists() else []

    wait_for(lambda: len(hit_lines()) >= 3, timeout=15, what="probes answered 503")
    assert set(hit_lines()) == {"503 vigil-probe"}
    assert vigil.log.events("worker_ready") == []
    healthy.touch()
    vigil.log.wait("worker_ready")
    vigil.log.wait("pool_ready")
    assert get(port, "/healthz")[0] == 200

    healthy.unlink()
    unready = vigil.log.wait("pool_unready")
    failures = hit_lines()[hit_lines().index("200 vigil-probe"):]
    assert vigil.log.events("worker_exited") == [], "not restarted for failing probes"
    healthy.touch()
    vigil.log.wait("worker_ready", count=2)
    again = vigil.log.wait("pool_ready", count=2)
    assert log_time(again) > log_time(unready)
    assert "503 vigil-probe" in failures
    assert len(vigil.log.events("worker_started")) == 1
    stop(vigil)


def test_tcp_probe_waits_for_the_listener(pools):
    """tcp probe: ready once gunicorn listens (it binds after a 0.5s boot), not before."""
    port = free_port()
    readiness = {"mode": "tcp", "host": "127.0.0.1", "port": port, "period": "100ms"}
    vigil = pools.start(config=pools.config([gunicorn_pool(port, readiness)]),
                        env={"APP_BIND_DELAY": "0.5"})
    ready = vigil.log.wait("worker_ready", timeout=15)
    (started,) = vigil.log.events("worker_started")
    assert log_time(ready) - log_time(started) >= 0.5
    assert get(port)[0] == 200
    stop(vigil)


def test_exec_probe_against_gunicorn(pools):
    """exec probe: a command run every period, ready when it exits 0; it is told the worker."""
    port = free_port()
    healthy = pools.workdir / "healthy"
    probe_log = pools.workdir / "probes"
    readiness = {"mode": "exec", "period": "200ms", "timeout": "2s",
                 "command": [PYTHON3, str(WORKERS / "http_probe.py"),
                             f"http://127.0.0.1:{port}/healthz"]}
    env = {"APP_HEALTHY_FILE": str(healthy), "PROBE_LOG": str(probe_log)}
    vigil = pools.start(config=pools.config([gunicorn_pool(port, readiness)]), env=env)

    def probes():
        return [json.loads(line) for line in probe_log.read_text().splitlines()] \
            if probe_log.exists() else []

    wait_for(lambda: sum(1 for p in probes() if not p["ok"]) >= 2, timeout=15,
             what="failing probes")
    assert vigil.log.events("worker_ready") == []
    healthy.touch()
    vigil.log.wait("worker_ready")
    (started,) = vigil.log.events("worker_started")
    assert {(p["VIGIL_POOL"], p["VIGIL_WORKER"], p["VIGIL_WORKER_PID"]) for p in probes()} == \
        {("web", "0", str(started["pid"]))}
    assert probes()[-1]["ok"]
    # Probe processes are reaped as they end and never taken for the worker.
    assert vigil.log.events("worker_exited") == []
    stop(vigil)
