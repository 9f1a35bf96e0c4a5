"""The kubelet with an httpGet preStop hook and HTTP probes (control.http_port, http_drain):
`GET /drain` holds until the drain is complete, /healthz/ready turns 503 at once,
/healthz/live stays 200."""

import subprocess
import urllib.error
import urllib.request

from kubesim import PYTHON3, Kubelet, free_port, log_time, pool, wait_for, worker

GRACE = 8.0
LINGER = 1.0

# The kubelet's httpGet, in a process of its own (it blocks until the drain is complete).
HTTP_GET = """
import sys, urllib.request, urllib.error
request = urllib.request.Request(sys.argv[1], headers=dict(h.split(": ", 1) for h in sys.argv[2:]))
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(request, timeout=60) as r:
        print(r.status); print(r.read().decode(), end="")
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode(), end="")
"""


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url, token=None):
    """(status, body) of GET url, in this process (for requests that answer at once)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with NO_PROXY.open(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def http_prestop(pod, url, token=None):
    headers = [f"Authorization: Bearer {token}"] if token else []
    popen = pod.launcher.popen([PYTHON3, "-c", HTTP_GET, url, *headers],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return popen


def finish(popen, timeout):
    out, err = popen.communicate(timeout=timeout)
    assert popen.returncode == 0, err
    status, _, body = out.decode().partition("\n")
    return int(status), body


def test_http_prestop_and_probes(pod):
    """httpGet preStop /drain returns 200 once the drain is complete; /healthz/ready 503 from the start of the drain, /healthz/live 200 throughout; SIGTERM then exits 0."""
    port = free_port()
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "control": {"http_port": port, "http_drain": True},
               "pools": [pool("web", worker("--linger", LINGER)),
                         pool("jobs", worker("--linger", LINGER))]})
    pod.wait_ready(4)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: get(f"{base}/healthz/ready") == (200, "ready\n"), 5.0, "/healthz/ready 200")
    assert get(f"{base}/healthz/live") == (200, "alive\n")

    kubelet = Kubelet(pod, GRACE)
    kubelet.begin()
    hook = http_prestop(pod, f"{base}/drain")
    wait_for(lambda: get(f"{base}/healthz/ready")[0] == 503, 2.0, "/healthz/ready 503")
    assert hook.poll() is None, "/drain answered before the drain was complete"
    lives = 0
    while hook.poll() is None:
        assert get(f"{base}/healthz/live") == (200, "alive\n")
        lives += 1
    assert lives >= 3
    status, body = finish(hook, GRACE)
    assert (status, body) == (200, "drained: every worker ended gracefully\n")
    assert pod.running()
    assert pod.ctl.status()["phase"] == "PHASE_DRAINED"
    assert get(f"{base}/healthz/ready")[0] == 503

    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    assert end.after_term < 1.0
    assert end.exited - kubelet.started < GRACE
    runs = pod.runs.all()
    assert sorted(r.name for r in runs) == ["jobs/0", "jobs/1", "web/0", "web/1"]
    for run in runs:
        assert run.signals == ["SIGTERM"], run
    jobs = [r for r in runs if r.pool == "jobs"]
    web = [r for r in runs if r.pool == "web"]
    assert max(r.exit_t for r in jobs) < min(r.signal_times("SIGTERM")[0] for r in web)
    (started,) = pod.events("drain_started")
    assert started["trigger"] == "prestop"


def test_http_drain_needs_the_token(pod, tmp_path):
    """With control.token_file, /drain without the bearer token is 401 and drains nothing; with it, 200 once drained."""
    token = tmp_path / "token"
    token.write_text("http-token-42\n")
    port = free_port()
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "control": {"http_port": port, "http_drain": True, "token_file": str(token)},
               "pools": [pool("web", worker())]})
    pod.wait_ready(2)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: get(f"{base}/healthz/ready")[0] == 200, 5.0, "/healthz/ready 200")
    assert get(f"{base}/drain")[0] == 401
    assert get(f"{base}/drain", token="http-token-41")[0] == 401
    assert pod.ctl.health("readiness") == 0
    assert not pod.events("drain_started")

    kubelet = Kubelet(pod, GRACE)
    kubelet.begin()
    status, body = finish(http_prestop(pod, f"{base}/drain", token="http-token-42"), GRACE)
    assert (status, body) == (200, "drained: every worker ended gracefully\n")
    assert len(pod.events("drain_started")) == 1
    assert log_time(pod.events("drain_complete")[0]) >= kubelet.started_wall - 0.001
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
