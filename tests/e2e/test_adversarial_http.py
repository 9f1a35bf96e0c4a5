"""HTTP clients that misbehave, against vigil-control's HTTP listeners (the /metrics address and
the HTTP port with /healthz/* and /drain): 50 connections that send nothing, 50 slowloris
clients sending a header a byte at a time, clients sending a 10 MB header. Throughout, /metrics
and both health endpoints answer promptly; the attackers are cut off with a named error; PID 1
and the workers are untouched (docs/control.md, "Limits")."""

import time

from http_attack import Attack, get
from kubesim import Kubelet, free_port, pool, worker

GRACE = 8.0
# How long a request may take while the listeners are under attack, on a loaded 2-core CI
# machine. Unattacked, each takes a few milliseconds; a starved listener takes 30 s or more.
PROMPT = 3.0


def start(pod):
    metrics, http = free_port(), free_port()
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "pools": [pool("web", worker())]},
              args=["--metrics-address", f"127.0.0.1:{metrics}", "--http-port", str(http)])
    pod.wait_ready(2)
    return metrics, http


def probe(metrics, http):
    """One request to each endpoint: [(path, seconds)], each checked."""
    out = []
    code, body, took = get(metrics, "/metrics")
    assert code == 200 and "vigil_core_metrics_up 1" in body, (code, body[:300])
    out.append(("/metrics", took))
    for path, expected in (("/healthz/live", "alive\n"), ("/healthz/ready", "ready\n")):
        code, body, took = get(http, path)
        assert (code, body) == (200, expected), (path, code, body)
        out.append((path, took))
    return out


def test_idle_slow_and_huge_clients_starve_nothing(pod):
    """Against both ports at once: 50 idle, 50 slowloris and 2 clients sending 10 MB headers (reconnecting whenever cut off) for 15 s; every /metrics, /healthz/live and /healthz/ready answers within PROMPT; the 10 MB headers get 431; the idle and slow clients are closed by the header timeout; the workers are untouched."""
    metrics, http = start(pod)
    worst = {}
    with Attack(metrics) as on_metrics, Attack(http) as on_http:
        end = time.monotonic() + 15.0  # Longer than the header timeout: cut-offs happen.
        rounds = 0
        while time.monotonic() < end:
            for path, took in probe(metrics, http):
                worst[path] = max(worst.get(path, 0.0), took)
                assert took < PROMPT, f"{path} took {took:.2f}s under attack"
            rounds += 1
            time.sleep(0.1)  # Pace of the probes, not a synchronisation.
    print(f"under attack, {rounds} rounds: worst " +
          ", ".join(f"{p} {t * 1000:.0f} ms" for p, t in worst.items()) +
          f"; metrics port closed {on_metrics.closed_by_server}, refused {on_metrics.refused}; "
          f"HTTP port closed {on_http.closed_by_server}, refused {on_http.refused}")
    for attack in (on_metrics, on_http):
        assert attack.huge_answers, "no 10 MB header was answered"
        for answer in attack.huge_answers:
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            assert b"request header larger than" in answer, answer[:300]
        # Idle and slow clients are cut off by the header timeout, not served forever.
        assert attack.closed_by_server["idle"] >= 50, attack.closed_by_server
        assert attack.closed_by_server["slow"] >= 50, attack.closed_by_server
    assert pod.running()
    assert all(r.signals == [] and r.exit_t is None for r in pod.runs.all()), pod.runs.all()
    assert pod.ctl.health("readiness") == 0
    cut = pod.events("connection_closed")
    assert {e["cause"] for e in cut} >= {"header_timeout", "header_too_large"}, cut[:5]
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0, end


def test_idle_connection_gets_408_at_the_header_timeout(pod):
    """A connection that sends nothing is answered 408 and closed at the header timeout (10 s), and so is one that sent half a request, on both ports; a client that shuts its side after a whole request is answered."""
    import socket
    metrics, http = start(pod)
    clients = []
    for port in (metrics, http):
        for sent in (b"", b"GET /healthz/live HTTP/1.1\r\nHost:"):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(sent)
            clients.append((s, time.monotonic()))
    for s, begun in clients:
        data = b""
        with s:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        took = time.monotonic() - begun
        assert data.startswith(b"HTTP/1.1 408 "), data
        assert b"no complete request header within 10s" in data, data
        assert 9.0 < took < 10.0 + PROMPT, took
    assert probe(metrics, http)
    # A client that shuts its side once the request is sent still gets its answer.
    for port, path, expected in ((metrics, "/metrics", b"vigil_core_metrics_up 1"),
                                 (http, "/healthz/live", b"alive")):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 ") and expected in data, (path, data[:300])


def test_health_answers_while_metrics_are_slow(pod):
    """With the core stopped (SIGSTOP), every scrape waits 2 s for it: 12 scrapes at once: one collection runs (with the 1 to 4 scrapes that had queued when it began) and 4 more wait (answered vigil_core_metrics_up 0, together, by the next collection), the rest get 503 at once naming the limit, while /healthz/live answers within PROMPT throughout; after SIGCONT scrapes are whole again."""
    import os
    import signal
    import threading
    metrics, http = start(pod)
    results = []

    def scrape():
        results.append(get(metrics, "/metrics", timeout=60))

    os.kill(pod.pid, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=scrape) for _ in range(12)]
        for t in threads:
            t.start()
        worst = 0.0
        while any(t.is_alive() for t in threads):
            code, body, took = get(http, "/healthz/live")
            # Liveness means "the core answers" (docs/control.md): a core stopped for more
            # than 6 s is reported dead, and that is the right answer, given promptly.
            assert (code, body) in ((200, "alive\n"), (503, "the core is not answering\n"))
            worst = max(worst, took)
            assert took < PROMPT, f"/healthz/live took {took:.2f}s while scrapes waited"
            time.sleep(0.05)  # Pace of the probes, not a synchronisation.
        for t in threads:
            t.join()
    finally:
        os.kill(pod.pid, signal.SIGCONT)
    print(f"/healthz/live worst {worst * 1000:.0f} ms while 12 scrapes waited for a stopped core")
    answered = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 503]
    assert len(answered) + len(refused) == 12, results
    # The collection running holds the scrapes that had queued when it began (1 to 4), and 4
    # more may queue behind it: 5 to 8 answered, the rest refused at once.
    assert 5 <= len(answered) <= 8, [(c, round(t, 2)) for c, _, t in results]
    assert all("vigil_core_metrics_up 0" in body for _, body, _ in answered)
    assert all(body == "too many scrapes in progress (limit 4); retry later\n" and took < PROMPT
               for _, body, took in refused), refused
    code, body, _ = get(metrics, "/metrics")
    assert code == 200 and "vigil_core_metrics_up 1" in body
    assert pod.ctl.health("readiness") == 0
