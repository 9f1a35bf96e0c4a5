"""gRPC clients that misbehave, against vigil-control's listeners: streams whose client never
reads, garbage bytes, huge messages, malformed and out-of-range requests, abandoned streams,
more streams than the limit. For each: PID 1 keeps working, the workers are untouched, the
error is named, and well-behaved clients are still served (docs/control.md, "Limits")."""

import json
import os
import select
import socket
import subprocess
import time
from pathlib import Path

from kubesim import (PYTHON3, Kubelet, free_port, grpc_call, grpc_calls, health_check, pb_int,
                     pb_string, pool, wait_for, worker)
from metrics import Scrape
from streaming import GrpcStream

GRACE = 8.0
SERVING = 1
HERE = Path(__file__).resolve().parent
GRPC_STALL = HERE / "grpc_stall.py"
CHATTY = [PYTHON3, str(HERE / "workers" / "chatty.py"), "0.01"]


# Under ThreadSanitizer (scripts/run-sanitizers.sh exports TSAN_OPTIONS) every byte the
# program touches has shadow memory beside it, and freed memory is held back to catch races:
# the same bounded growth measures 3-8x larger (seen in CI: 36 -> 135 MiB where the plain build
# grows 13 -> 47 MiB). The bounds scale by that factor there; they stay bounds.
MEMORY_FACTOR = 4 if "TSAN_OPTIONS" in os.environ else 1


def rss(pid):
    """Resident memory of pid in bytes (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class Stalled:
    """grpc_stall.py: COUNT calls of METHOD that read nothing until told to (mode "stall"), never
    (mode "abandon"), or as fast as they can (mode "follow")."""

    def __init__(self, launcher, target, count, method, request=b"", mode="stall"):
        argv = [PYTHON3, str(GRPC_STALL), target, str(count), method, request.hex(), mode]
        self.popen = launcher.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        self.count = count

    def _line(self, timeout):
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        assert ready, f"grpc_stall.py said nothing within {timeout}s"
        line = self.popen.stdout.readline()
        assert line, f"grpc_stall.py ended: {self.popen.stderr.read().decode(errors='replace')}"
        return json.loads(line)

    def wait_open(self, timeout=20.0):
        assert self._line(timeout) == {"open": self.count}

    def read_all(self, timeout=30.0):
        """Lets every call read to its end ("follow": stops them); returns
        [{"code", "details", "messages"}]."""
        self.popen.stdin.write(b"read\n")
        self.popen.stdin.flush()
        return self._line(timeout)["ended"]

    def close(self):
        self.popen.stdin.close()
        self.popen.wait(10)


def start(pod, *pools, args=()):
    pools = pools or (pool("web", worker()),)
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "pools": list(pools)}, args=list(args))
    # Only kube_worker.py records its runs; the others are ready when vigilctl says so.
    pod.runs.wait_ready(sum(p["replicas"] for p in pools if p["command"][1] == str(worker()[1])))
    r = pod.ctl("wait-ready", "--timeout", "15s", timeout=20)
    assert r.code == 0, f"vigilctl wait-ready: {r}\n{pod.log.summary()}"
    return f"unix:{pod.socket}"


def untouched(pod, pools=("web",)):
    """PID 1 runs and answers, and every worker still runs its first run, never signalled."""
    assert pod.running()
    for name in pools:
        runs = pod.runs.all(name)
        assert runs and all(r.signals == [] and r.exit_t is None for r in runs), runs
    assert pod.ctl.health("readiness") == 0
    assert not pod.events("worker_exited"), pod.events("worker_exited")


def stop(pod):
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0, end


def test_streams_that_never_read_are_cut_off_and_memory_stays_bounded(pod, launcher):
    """20 Lifecycle.Watch streams whose client never reads, while 4 workers each send a 3.5 kB STATUS= every 10 ms: vigil-control's RSS stays bounded, each stream is ended RESOURCE_EXHAUSTED (logged and counted), and meanwhile status, health and a reading Watch are served."""
    port = free_port()
    target = start(pod, pool("web", worker()), pool("chatty", CHATTY, replicas=4),
                   args=["--metrics-address", f"127.0.0.1:{port}"])
    control = pod.control_pid()
    base = rss(control)
    readers = Stalled(launcher, target, 2, "/vigil.v1.Lifecycle/Watch", mode="follow")
    readers.wait_open()

    stalled = Stalled(launcher, target, 20, "/vigil.v1.Lifecycle/Watch")
    stalled.wait_open()
    peak = base
    deadline = time.monotonic() + 60.0
    while len(pod.events("stream_cut_off")) < 20:
        peak = max(peak, rss(control))
        assert peak - base < (96 << 20) * MEMORY_FACTOR, \
            f"vigil-control grew from {base >> 20} MiB to {peak >> 20} MiB with 20 stalled streams"
        assert time.monotonic() < deadline, \
            f"{len(pod.events('stream_cut_off'))} of 20 stalled streams cut off within 60s"
        time.sleep(0.05)  # Sampling period of the RSS, not a synchronisation.
    for _ in range(20):  # The cut-off streams' memory is given back, nothing else grows.
        peak = max(peak, rss(control))
        time.sleep(0.05)
    print(f"vigil-control RSS: {base / 2**20:.1f} MiB before, peak {peak / 2**20:.1f} MiB "
          f"with 20 stalled Watch streams")
    cut = pod.events("stream_cut_off")
    assert {e["method"] for e in cut} == {"/vigil.v1.Lifecycle/Watch"}, cut
    assert all(e["msg"].startswith("a stream fell too far behind") for e in cut), cut[0]

    # Everyone else is served meanwhile.
    assert pod.ctl("status").code == 0
    assert health_check(target, "readiness") == ("OK", SERVING)
    late = GrpcStream(launcher, target, "/vigil.v1.Lifecycle/Watch")
    late.wait_for(lambda m: len(m) > 10, 10.0, "a snapshot and events on a new Watch")
    scrape = urllib_get(f"http://127.0.0.1:{port}/metrics")
    assert Scrape(scrape).get("vigil_control_streams_cut_off_total",
                              method="/vigil.v1.Lifecycle/Watch") == 20, scrape[-3000:]

    # Each stalled client, once it reads, finds out why it was ended.
    for end in stalled.read_all():
        assert end["code"] == "RESOURCE_EXHAUSTED", end
        assert "fell too far behind" in end["details"] and "MiB" in end["details"], end
    stalled.close()
    for end in readers.read_all():  # The clients that read kept up and were never cut off.
        assert end["code"] == "RUNNING" and end["messages"] > 100, end
    readers.close()
    assert late.end is None, late.end
    untouched(pod, ("web",))
    stop(pod)


def urllib_get(url, timeout=10.0):
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


INT64_MAX = (1 << 63) - 1
INT32_MAX = (1 << 31) - 1
LIFECYCLE = "/vigil.v1.Lifecycle/"


def test_out_of_range_and_malformed_requests_are_refused_naming_what_is_wrong(pod):
    """Every out-of-range argument (a Drain deadline near INT64_MAX or negative, an unknown trigger, replicas or max_unavailable or a slot out of range, an unknown signal, an empty or over-long pool name, an over-long reason) and every request that is not protobuf at all is refused INVALID_ARGUMENT with a message naming the field and its bound; nothing is drained or scaled and the workers are untouched."""
    target = start(pod)
    long_name = "p" * 10000
    cases = [
        # (method, request, code, words the message must hold)
        ("Drain", pb_int(2, INT64_MAX), "INVALID_ARGUMENT",
         ["deadline_ms", "31536000000", str(INT64_MAX)]),
        ("Drain", pb_int(2, -1), "INVALID_ARGUMENT", ["deadline_ms", "0", "-1"]),
        ("DrainStream", pb_int(2, INT64_MAX), "INVALID_ARGUMENT", ["deadline_ms", "31536000000"]),
        ("Drain", pb_string(4, "bogus"), "INVALID_ARGUMENT", ["trigger", "prestop", "bogus"]),
        ("Drain", pb_string(1, "r" * 5000), "INVALID_ARGUMENT", ["reason", "1024", "5000"]),
        ("Shutdown", pb_string(1, "r" * 5000), "INVALID_ARGUMENT", ["reason", "1024"]),
        ("Scale", pb_string(1, "web") + pb_int(2, -1), "INVALID_ARGUMENT",
         ["replicas", "100000", "-1"]),
        ("Scale", pb_string(1, "web") + pb_int(2, INT32_MAX), "INVALID_ARGUMENT",
         ["replicas", "100000", str(INT32_MAX)]),
        ("Scale", pb_int(2, 3), "INVALID_ARGUMENT", ["pool", "required"]),
        ("Scale", pb_string(1, long_name) + pb_int(2, 3), "INVALID_ARGUMENT",
         ["pool", "10000 bytes", "63"]),
        ("Scale", pb_string(1, "nope") + pb_int(2, 3), "NOT_FOUND", ["no pool named 'nope'"]),
        ("Restart", pb_string(1, "web") + pb_int(2, -1), "INVALID_ARGUMENT",
         ["max_unavailable", "100000", "-1"]),
        ("Restart", pb_string(1, "web") + pb_int(2, 100001), "INVALID_ARGUMENT",
         ["max_unavailable", "100000"]),
        ("Signal", pb_string(1, "web") + pb_int(2, -2) + pb_string(3, "HUP"),
         "INVALID_ARGUMENT", ["slot", "-1", "99999", "-2"]),
        ("Signal", pb_string(1, "web") + pb_int(2, INT32_MAX) + pb_string(3, "HUP"),
         "INVALID_ARGUMENT", ["slot", "99999"]),
        ("Signal", pb_string(1, "web") + pb_int(2, -1) + pb_string(3, "BOGUS"),
         "INVALID_ARGUMENT", ["signal", "BOGUS"]),
        ("Signal", pb_string(1, "web") + pb_int(2, -1), "INVALID_ARGUMENT", ["signal", "required"]),
        ("Signal", pb_string(1, "web") + pb_int(2, -1) + pb_string(3, "S" * 5000),
         "INVALID_ARGUMENT", ["signal", "5000 bytes"]),
    ]
    # Not protobuf at all, or a string that is not UTF-8: each method names its request type.
    for method, request_type in (("GetStatus", "GetStatusRequest"), ("Drain", "DrainRequest"),
                                 ("Scale", "ScaleRequest"), ("Restart", "RestartRequest"),
                                 ("Signal", "SignalRequest"), ("Shutdown", "ShutdownRequest"),
                                 ("DrainStream", "DrainRequest"), ("Watch", "WatchRequest")):
        cases.append((method, b"\xff\xff\xff\xff", "INVALID_ARGUMENT",
                      ["malformed request", f"vigil.v1.{request_type}"]))
    cases.append(("Drain", pb_string(1, "x")[:-1] + b"\xff", "INVALID_ARGUMENT",
                  ["malformed request", "vigil.v1.DrainRequest"]))
    streaming = {"DrainStream", "Watch"}
    unary = [c for c in cases if c[0] not in streaming]
    answers = grpc_calls(target, [(LIFECYCLE + m, req) for m, req, _, _ in unary])
    for (method, _, code, words), (got, details, _) in zip(unary, answers):
        assert got == code, (method, words, got, details)
        assert details and all(w in details for w in words), (method, words, details)
        assert len(details) < 400, (method, len(details))
    for method, request, code, words in (c for c in cases if c[0] in streaming):
        end = stream_end(pod, target, LIFECYCLE + method, request)
        assert end["code"] == code, (method, words, end)
        assert all(w in end["details"] for w in words), (method, words, end)
    # Health: an unknown service is named, cut to a readable length.
    code, details, _ = grpc_call(target, "/grpc.health.v1.Health/Check", pb_string(1, "s" * 5000))
    assert code == "NOT_FOUND" and "unknown service" in details and len(details) < 400, \
        (code, details[:500])
    code, details, _ = grpc_call(target, "/grpc.health.v1.Health/Check", b"\xff\xff")
    assert code == "INVALID_ARGUMENT" and "grpc.health.v1.HealthCheckRequest" in details, \
        (code, details)

    assert not pod.events("drain_started") and not pod.events("drain_requested")
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_READY" and status["pools"][0]["desired"] == 2, status
    untouched(pod)
    stop(pod)


def stream_end(pod, target, method, request):
    """A server-streaming call's final status {"code", "details"} (grpc_stream.py)."""
    done = subprocess.run([PYTHON3, str(HERE / "grpc_stream.py"), target, method, request.hex()],
                          capture_output=True, text=True, timeout=30)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and "code" in lines[-1], (done.stdout, done.stderr)
    return lines[-1]


def read_all(sock, timeout=10.0):
    """Everything the server sends until it closes (or the timeout)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def goaway_debug(data):
    """The debug text of the first HTTP/2 GOAWAY frame in data (b"" if none)."""
    i = 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i:i + 3], "big")
        kind = data[i + 3]
        payload = data[i + 9:i + 9 + length]
        if kind == 7:  # GOAWAY: last stream id (4), error code (4), debug data
            return payload[8:]
        i += 9 + length
    return b""


def test_garbage_huge_messages_and_idle_connections(pod):
    """On the health port and the API port: 100 idle TCP connections each (let go after 10 s with a GOAWAY naming the timeout), clients sending garbage bytes, a TLS hello or an HTTP/1 request (each told, in a GOAWAY or an HTTP 400, that the port speaks gRPC), a 5 MB request (RESOURCE_EXHAUSTED naming the limit); meanwhile health Check on the health port and status on the unix socket answer promptly; the workers are untouched."""
    health, api = free_port(), free_port()
    token = pod.workdir / "token"
    token.write_text("s3cr3t-token-0123456789\n")
    target = start(pod, args=["--health-port", str(health), "--api-port", str(api),
                              "--api-address", "127.0.0.1", "--token-file", str(token)])
    opened = time.monotonic()
    idle = [socket.create_connection(("127.0.0.1", port)) for port in (health, api)
            for _ in range(100)]
    try:
        for port in (health, api):
            for junk in (os.urandom(4096),
                         b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500)):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(junk)
                    answer = read_all(s)
                assert b"not an HTTP/2 client preface" in goaway_debug(answer), \
                    (port, junk[:20], answer[:200])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = read_all(s)
            assert answer.startswith(b"HTTP/1.1 400 ") and b"speaks gRPC" in answer, answer
            began = time.monotonic()
            assert health_check(f"127.0.0.1:{health}", "readiness") == ("OK", SERVING)
            assert time.monotonic() - began < 5.0
        for address, token_value in ((f"127.0.0.1:{health}", None),
                                     (f"127.0.0.1:{api}", "s3cr3t-token-0123456789"),
                                     (target, None)):
            code, details, _ = grpc_call(address, "/grpc.health.v1.Health/Check",
                                         pb_string(1, "x" * (5 << 20)), token_value)
            assert code == "RESOURCE_EXHAUSTED", (address, code, details)
            assert "larger than max" in details and "65536" in details, details
        code, details, _ = grpc_call(target, LIFECYCLE + "Drain", pb_string(1, "r" * (5 << 20)))
        assert code == "RESOURCE_EXHAUSTED" and "65536" in details, (code, details)
        began = time.monotonic()
        assert pod.ctl("status").code == 0
        assert time.monotonic() - began < 5.0
        assert health_check(f"127.0.0.1:{health}", "liveness") == ("OK", SERVING)
        # The idle connections are let go at the preface timeout, saying why.
        for s in idle:
            answer = read_all(s, timeout=max(1.0, opened + 20.0 - time.monotonic()))
            assert b"no HTTP/2 client preface within 10s" in goaway_debug(answer), answer[:100]
        assert time.monotonic() - opened > 9.0
    finally:
        for s in idle:
            s.close()
    causes = {(e["listener"], e["cause"]) for e in pod.events("connection_closed")}
    assert causes >= {("health", "bad_request"), ("api", "bad_request"),
                      ("health", "header_timeout"), ("api", "header_timeout")}, causes
    assert not pod.events("drain_requested")
    untouched(pod)
    stop(pod)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_abandoned_streams_and_the_stream_limits(pod, launcher):
    """60 Watch streams whose client is SIGKILLed are all cleaned up (streams gauge back to 0, descriptors back); the unix socket holds 64 streams and refuses the 65th RESOURCE_EXHAUSTED naming the limit, the health port 16, while unary calls (status, health Check) go on being served; once streams close, new ones are accepted."""
    port, health = free_port(), free_port()
    target = start(pod, args=["--metrics-address", f"127.0.0.1:{port}",
                              "--health-port", str(health)])
    control = pod.control_pid()
    fds = open_fds(control)

    def streams(listener):
        scrape = Scrape(urllib_get(f"http://127.0.0.1:{port}/metrics"))
        return scrape.get("vigil_control_streams", listener=listener)

    abandoned = Stalled(launcher, target, 60, LIFECYCLE + "Watch", mode="abandon")
    abandoned.wait_open()
    assert streams("unix") == 60
    abandoned.popen.kill()
    abandoned.popen.wait(10)
    wait_for(lambda: streams("unix") == 0, 20.0, "the abandoned streams to be cleaned up")
    wait_for(lambda: open_fds(control) <= fds + 2, 20.0,
             f"vigil-control's descriptors back to {fds} (now {open_fds(control)})")

    full = Stalled(launcher, target, 64, LIFECYCLE + "Watch", mode="follow")
    full.wait_open()
    assert streams("unix") == 64
    end = stream_end(pod, target, LIFECYCLE + "Watch", b"")
    assert end["code"] == "RESOURCE_EXHAUSTED", end
    assert end["details"] == "too many streams open on the unix socket (limit 64); retry later"
    end = stream_end(pod, target, "/grpc.health.v1.Health/Watch", pb_string(1, "readiness"))
    assert end["code"] == "RESOURCE_EXHAUSTED", end
    assert pod.ctl("status").code == 0
    assert health_check(target, "readiness") == ("OK", SERVING)

    tcp = f"127.0.0.1:{health}"
    probes = Stalled(launcher, tcp, 16, "/grpc.health.v1.Health/Watch", pb_string(1, "readiness"),
                     mode="follow")
    probes.wait_open()
    end = stream_end(pod, tcp, "/grpc.health.v1.Health/Watch", pb_string(1, "liveness"))
    assert end == {"code": "RESOURCE_EXHAUSTED",
                   "details": "too many streams open on the health port (limit 16); retry later"}
    assert health_check(tcp, "readiness") == ("OK", SERVING)

    for group in (full, probes):
        assert all(e["code"] == "RUNNING" for e in group.read_all()), "a stream was ended"
        group.close()
    wait_for(lambda: streams("unix") == 0 and streams("health") == 0, 20.0, "streams closed")
    watch = GrpcStream(launcher, target, LIFECYCLE + "Watch")
    watch.wait_for(lambda m: m, 10.0, "a Watch accepted again")
    scrape = Scrape(urllib_get(f"http://127.0.0.1:{port}/metrics"))
    assert scrape.get("vigil_control_calls_refused_total", listener="unix", limit="streams") == 2
    assert scrape.get("vigil_control_calls_refused_total", listener="health",
                      limit="streams") == 1
    untouched(pod)
    stop(pod)


def test_many_idle_http2_connections_cost_bounded_memory(pod):
    """6000 connections to the health port that send the HTTP/2 preface and then nothing (each about 16 KiB of gRPC buffers): vigil-control grows by less than 40 MiB (the port's 16 MiB memory quota, reclaimed from idle connections first) and health Check still answers."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 16384), max(hard, 16384)))
    health = free_port()
    start(pod, args=["--health-port", str(health)])
    control = pod.control_pid()
    base = rss(control)
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(9)[:3] + b"\x04" + bytes(5)  # + SETTINGS
    conns = []
    try:
        for _ in range(6000):
            s = socket.create_connection(("127.0.0.1", health), timeout=10)
            s.sendall(preface)
            conns.append(s)
        peak = base
        for _ in range(40):  # Two seconds of samples once they are all open.
            peak = max(peak, rss(control))
            time.sleep(0.05)  # Sampling period of the RSS, not a synchronisation.
        began = time.monotonic()
        assert health_check(f"127.0.0.1:{health}", "readiness") == ("OK", SERVING)
        took = time.monotonic() - began
        print(f"6000 idle HTTP/2 connections: vigil-control {base / 2**20:.1f} MiB -> "
              f"{peak / 2**20:.1f} MiB, a health Check took {took * 1000:.0f} ms")
        assert peak - base < (40 << 20) * MEMORY_FACTOR, f"{base >> 20} MiB -> {peak >> 20} MiB"
        assert took < 5.0
    finally:
        for s in conns:
            s.close()
    untouched(pod)
    stop(pod)
