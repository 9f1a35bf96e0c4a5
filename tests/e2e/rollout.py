"""A rollout under load: real gunicorn (examples/gunicorn as it is), a load balancer that stops
routing to a deleted pod only after a propagation lag, and the kubelet's sequence on the old pod.

Built on kubesim.py (Pod, Kubelet, the vigilctl background hook) and through it on
tests/integration/vigiltest.py (Launcher: every process carries the test's token and cleanup
kills whatever is left). Used by tests/e2e/test_rollout_gunicorn.py and bench/rollouts.

What one rollout does (run_rollout):
- Two pods on the loopback, each a PID namespace with its own PID 1 and gunicorn on its own
  port: the OLD pod, which is deleted, and the NEW pod, already running and ready beside it (a
  Deployment rolling out with maxSurge). PID 1 is Vigil (the example's vigil.yaml, its drain
  settings changed only where the setup says) or tini (`tini -- gunicorn ...`, the baseline).
- Router: client-side endpoint picking, as kube-proxy does: each new connection goes to one of
  the currently routed pods, chosen at random; connections already open stay where they are
  (conntrack). The old pod is removed `lag` seconds after its deletion begins (the
  EndpointSlice change reaching every node); nothing in the pod is told.
- Load: ~120 requests/s, open loop (each request is due at its time whatever the others do),
  one in five a slow one (/slow?ms=800), run by a pool of client threads; each request on a new
  HTTP/1.1 connection (`Connection: close`, as a client behind a Service), or with
  keepalive=True on connections each client thread keeps and reuses.
- The kubelet (kubesim.Kubelet): at the deletion the preStop hook (`vigilctl drain --wait`, or
  `sleep N`, or none), SIGTERM to PID 1 once it returns, SIGKILL at the end of the grace period.

What it measures (RolloutResult): requests sent after the deletion, those that failed
(refused, reset, timed out, 5xx), requests in flight at the old pod's first stop signal and
how many of them completed, and the times from the deletion to the routing change, the first
stop signal, the drain's end and PID 1's exit, with Vigil's own account (the JSON log's
drain_started, propagation_over, worker_stopping, drain_complete; /metrics scraped after the
hook returned; the termination message).

Clocks: every time here is the wall clock (time.time()), the clock of Vigil's JSON log.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import http.client
import os
import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

import yaml

from kubesim import Kubelet, Launcher, Pod, free_port, log_time, wait_for
from kubesim import Background
from metrics import Scrape, scrape, try_scrape
from vigiltest import UNSHARE, children_of

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "gunicorn"
TINI = "/usr/bin/tini"


# ---------------------------------------------------------------------------------------------
# The example, as the image runs it, moved to a loopback port


def example_config() -> dict:
    """examples/gunicorn/vigil.yaml, parsed."""
    return yaml.safe_load((EXAMPLE / "vigil.yaml").read_text())


def gunicorn_argv(port: int) -> list[str]:
    """The example pool's command, bound to 127.0.0.1:port and serving examples/gunicorn/app.py
    from the repository (the image has it in /app)."""
    argv = list(example_config()["pools"][0]["command"])
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:8000", argv
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    assert argv[argv.index("--chdir") + 1] == "/app", argv
    argv[argv.index("--chdir") + 1] = str(EXAMPLE)
    return argv


def vigil_config(port: int, drain: Optional[dict], termination_log: Path) -> dict:
    """The example's vigil.yaml with gunicorn on port; `drain` keys replace the example's (None:
    the example's drain settings as they are, i.e. Vigil's defaults but the grace period). The
    fixed health port goes (pods run side by side); the log is JSON either way."""
    config = example_config()
    config["pools"][0]["command"] = gunicorn_argv(port)
    config["control"] = {k: v for k, v in config.get("control", {}).items() if k != "health_port"}
    config["drain"] = {**config.get("drain", {}), **(drain or {})}
    config["termination_message_path"] = str(termination_log)
    return config


def grace_of(config: dict) -> float:
    text = str(config["drain"]["grace_period"])
    assert text.endswith("s") and text[:-1].isdigit(), text
    return float(text[:-1])


# ---------------------------------------------------------------------------------------------
# The setups compared


@dataclasses.dataclass(frozen=True)
class Setup:
    """How the old pod runs gunicorn and how the kubelet deletes it."""

    name: str
    init: str  # "vigil" or "tini"
    drain: Optional[dict] = None  # vigil: drain keys over the example's (None: as it is)
    prestop_sleep: Optional[float] = None  # tini: a `sleep N` preStop hook (None: no hook)

    def __str__(self) -> str:
        return self.name


VIGIL_DEFAULT = Setup("Vigil, default settings", "vigil")
VIGIL_FIXED_0 = Setup("Vigil, propagation_delay: 0s", "vigil", {"propagation_delay": "0s"})
VIGIL_FIXED_3 = Setup("Vigil, propagation_delay: 3s", "vigil", {"propagation_delay": "3s"})
TINI_PLAIN = Setup("tini, no preStop", "tini")
TINI_SLEEP5 = Setup("tini, preStop sleep 5", "tini", prestop_sleep=5.0)
VIGIL_HOLD = Setup("Vigil, auto + hold_connections", "vigil", {"hold_connections": True})
SETUPS = [VIGIL_DEFAULT, VIGIL_FIXED_0, VIGIL_FIXED_3, TINI_PLAIN, TINI_SLEEP5, VIGIL_HOLD]
TINI_GRACE = 30.0  # The pod's terminationGracePeriodSeconds, as the example's Vigil is told.


def auto_supported(vigil_bin: str, workdir: Path) -> bool:
    """Whether this vigil accepts `drain.propagation_delay: auto` (`vigil --check`)."""
    def check(delay: str) -> subprocess.CompletedProcess:
        path = workdir / "auto-check.yaml"
        path.write_text(f"drain: {{propagation_delay: {delay}}}\n"
                        "pools: [{name: web, command: [/bin/true]}]\n")
        return subprocess.run([vigil_bin, "--check", "--config", str(path)],
                              capture_output=True, text=True, timeout=30)
    fixed = check("2s")  # The same file with a duration passes: only `auto` can be refused.
    assert fixed.returncode == 0, f"vigil --check: {fixed.stdout}{fixed.stderr}"
    return check("auto").returncode == 0


# ---------------------------------------------------------------------------------------------
# Pods


class VigilPod:
    """gunicorn under Vigil (kubesim.Pod) with /metrics on a free port."""

    kind = "vigil"

    def __init__(self, launcher: Launcher, vigilctl_bin: str, workdir: Path,
                 drain: Optional[dict]):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.metrics_address = f"127.0.0.1:{free_port()}"
        self.termination_log = workdir / "termination-log"
        self.termination_log.write_text("")  # Written only if it exists, as the kubelet's.
        self.config = vigil_config(self.port, drain, self.termination_log)
        self.grace = grace_of(self.config)
        self.pod = Pod(launcher, vigilctl_bin, workdir)
        self.pod.start(self.config, ["--metrics-address", self.metrics_address])
        self.ctl = self.pod.ctl

    @property
    def pid(self) -> int:
        return self.pod.pid

    def exits_within(self, timeout: float) -> Optional[int]:
        return self.pod.exits_within(timeout)

    def wait_exit(self, timeout: float) -> int:
        return self.pod.wait_exit(timeout)

    def wait_ready(self, timeout: float) -> None:
        """gunicorn's READY=1 made the pool ready (`vigilctl wait-ready`), and it answers."""
        self.pod.log.wait("worker_ready", timeout=timeout)
        r = self.ctl("wait-ready", "--timeout", f"{timeout:g}s", timeout=timeout + 5)
        assert r.code == 0, f"vigilctl wait-ready: {r}\n{self.pod.log.summary()}"
        wait_serving(self.port, timeout)
        wait_for(lambda: try_scrape(self.metrics_address), timeout, "/metrics to answer")

    def stop(self, timeout: float = 20.0) -> None:
        """The end of the NEW pod, which nothing measures: SIGKILL to PID 1 ends the namespace."""
        if self.pod.running():
            os.kill(self.pid, signal.SIGKILL)
            self.pod.wait_exit(timeout)


class TiniPod:
    """gunicorn under tini as PID 1 of a new PID namespace: what most images do today."""

    kind = "tini"

    def __init__(self, launcher: Launcher, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.grace = TINI_GRACE
        self.output = workdir / "tini.out"
        with open(self.output, "wb") as out:
            self.popen = launcher.popen([UNSHARE, "--pid", "--fork", "--mount-proc", TINI, "--",
                                         *gunicorn_argv(self.port)],
                                        env={"PYTHONDONTWRITEBYTECODE": "1"}, stdout=out,
                                        stderr=subprocess.STDOUT)
        self._pid: Optional[int] = None

    @property
    def pid(self) -> int:
        """tini's pid on the host (unshare's child)."""
        if self._pid is None:
            def tini():
                for child in children_of(self.popen.pid):
                    try:
                        if os.readlink(f"/proc/{child}/exe") == TINI:
                            return child
                    except OSError:
                        pass
                return None
            self._pid = wait_for(tini, 10, "tini to run under unshare")
        return self._pid

    def exits_within(self, timeout: float) -> Optional[int]:
        try:
            return self.popen.wait(max(timeout, 0))
        except subprocess.TimeoutExpired:
            return None

    def wait_exit(self, timeout: float) -> int:
        code = self.exits_within(timeout)
        assert code is not None, f"tini did not exit within {timeout}s"
        return code

    def wait_ready(self, timeout: float) -> None:
        self.pid  # noqa: B018  (waits for tini)
        wait_serving(self.port, timeout)

    def stop(self, timeout: float = 20.0) -> None:
        """The end of the NEW pod, which nothing measures: SIGKILL to PID 1 ends the namespace."""
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait_exit(timeout)


def get(port: int, path: str = "/", timeout: float = 5.0) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def wait_serving(port: int, timeout: float) -> None:
    """gunicorn's workers answer on port (READY=1 comes from the master before they boot)."""
    def answers():
        try:
            return get(port, timeout=1.0)[0] == 200
        except OSError:
            return False
    wait_for(answers, timeout, f"gunicorn to answer on port {port}")


# ---------------------------------------------------------------------------------------------
# The load balancer and the load


class Router:
    """The endpoints of the Service as one node's kube-proxy sees them: each new connection goes
    to one of them at random."""

    def __init__(self, ports: list[int], seed: int = 0):
        self._ports = list(ports)
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.removed: dict[int, float] = {}  # port: when (time.time())

    def pick(self) -> int:
        with self._lock:
            return self._random.choice(self._ports)

    def remove(self, port: int) -> None:
        with self._lock:
            self._ports.remove(port)
            self.removed[port] = time.time()


@dataclasses.dataclass
class Request:
    due: float  # when the load generator meant to send it
    kind: str  # fast (/), slow (/slow?ms=800), long (/slow?ms=3000)
    start: float = 0.0  # when its connection was opened (or reused)
    end: float = 0.0  # when it completed or failed
    port: int = 0
    status: int = 0
    error: Optional[str] = None  # refused, reset, timeout, 5xx, ...
    reused: bool = False  # sent on a kept-alive connection
    retried: Optional[str] = None  # keep-alive: the stale connection's error, retried once

    @property
    def ok(self) -> bool:
        return self.error is None


def error_kind(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                      ConnectionAbortedError)):
        return "reset"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(e).__name__


class Load:
    """The load generator: `rate` requests/s, open loop; every 1/slow_fraction-th request is
    slow (/slow?ms=slow_ms), every long_every-th of those instead long (/slow?ms=long_ms)."""

    def __init__(self, router: Router, rate: float = 120.0, slow_fraction: float = 0.2,
                 slow_ms: int = 800, long_every: int = 4, long_ms: int = 3000,
                 clients: int = 64, keepalive: bool = False, timeout: float = 10.0):
        self.router = router
        self.rate = rate
        self.slow_every = max(1, round(1 / slow_fraction)) if slow_fraction > 0 else 0
        self.slow_ms = slow_ms
        # Long requests outlast any quiet period: some are still in flight at the stop signal
        # whatever the setup, so "every request in flight at SIGTERM completed" is never vacuous.
        self.long_every = long_every
        self.long_ms = long_ms
        self.keepalive = keepalive
        self.timeout = timeout
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(clients, thread_name_prefix="client")
        self._local = threading.local()
        self._thread = threading.Thread(target=self._dispatch, name="load", daemon=True)

    def start(self) -> "Load":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops sending and waits for every request sent to end (each within its timeout)."""
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def completed(self, port: int) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.port == port and r.ok and r.end)

    def _dispatch(self) -> None:
        t0 = time.time()
        i = 0
        while not self._stop.is_set():
            due = t0 + i / self.rate
            # Pacing the load (time passing), not synchronisation.
            if self._stop.wait(max(0.0, due - time.time())):
                break
            kind = "fast"
            if self.slow_every and i % self.slow_every == 0:
                long = self.long_every and (i // self.slow_every) % self.long_every == 1
                kind = "long" if long else "slow"
            request = Request(due, kind)
            with self._lock:
                self.requests.append(request)
            self._pool.submit(self._send, request)
            i += 1

    def _connection(self, port: int, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        if not self.keepalive:
            return http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout), False
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get("current")
        if conn is not None and not fresh:
            return conn, True
        if conn is not None:
            conn.close()
        conn = conns["current"] = http.client.HTTPConnection("127.0.0.1", port,
                                                             timeout=self.timeout)
        return conn, False

    def _send(self, request: Request) -> None:
        path = {"fast": "/", "slow": f"/slow?ms={self.slow_ms}",
                "long": f"/slow?ms={self.long_ms}"}[request.kind]
        try:
            self._attempt(request, path, fresh=False)
            if request.error is not None and request.reused and request.error == "reset":
                # A kept-alive connection the server had closed: clients (urllib3, Go's
                # net/http) retry an idempotent request once on a new connection.
                request.retried = request.error
                request.error = None
                self._attempt(request, path, fresh=True)
        finally:
            request.end = time.time()

    def _attempt(self, request: Request, path: str, fresh: bool) -> None:
        if self.keepalive:
            current = getattr(self._local, "conns", {}).get("current")
            port = current.port if current is not None and not fresh else self.router.pick()
        else:
            port = self.router.pick()
        conn, reused = self._connection(port, fresh)
        request.port, request.reused = conn.port, reused
        request.start = time.time()
        try:
            headers = {} if self.keepalive else {"Connection": "close"}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            request.status = response.status
            if response.status >= 500:
                request.error = "5xx"
            elif response.status != 200:
                request.error = f"http {response.status}"
            if response.will_close and self.keepalive:
                conn.close()
                self._local.conns.pop("current", None)
        except (OSError, http.client.HTTPException) as e:
            request.error = error_kind(e)
            conn.close()
            if self.keepalive:
                self._local.conns.pop("current", None)
        finally:
            if not self.keepalive:
                conn.close()


# ---------------------------------------------------------------------------------------------
# One rollout


@dataclasses.dataclass
class RolloutResult:
    setup: Setup
    lag: float
    keepalive: bool
    deleted: float  # time.time() the deletion began (the preStop hook started)
    requests: list[Request]
    old_port: int
    routed_off: float  # the router stopped sending new connections to the old pod
    first_stop: Optional[float]  # the first stop signal reached gunicorn's master
    drain_end: Optional[float]  # Vigil's drain_complete; tini: PID 1's exit
    exited: float  # the old pod's PID 1 was gone
    exit_code: Optional[int]
    sigkilled: bool
    hook_code: Optional[int] = None
    hook_output: str = ""
    events: list[dict] = dataclasses.field(default_factory=list)  # Vigil's JSON log
    metrics: Optional[Scrape] = None  # Vigil's /metrics once the hook returned
    termination_message: str = ""

    # Counts -------------------------------------------------------------------------------
    @property
    def after_deletion(self) -> list[Request]:
        return [r for r in self.requests if r.start >= self.deleted]

    @property
    def failed(self) -> list[Request]:
        """Every request that failed, before the deletion too (there should be none)."""
        return [r for r in self.requests if not r.ok]

    @property
    def failed_after_deletion(self) -> list[Request]:
        return [r for r in self.after_deletion if not r.ok]

    def failure_kinds(self) -> dict[str, int]:
        """What the requests sent after the deletion failed with: {refused: 12, ...}."""
        return dict(collections.Counter(r.error for r in self.failed_after_deletion))

    @property
    def retried(self) -> list[Request]:
        """Keep-alive: requests that met a connection the server had closed and were sent again
        on a new one (as HTTP client libraries do), successfully or not."""
        return [r for r in self.requests if r.retried]

    @property
    def in_flight_at_stop(self) -> list[Request]:
        """Requests to the old pod sent before its first stop signal and not over then."""
        if self.first_stop is None:
            return []
        return [r for r in self.requests
                if r.port == self.old_port and r.start < self.first_stop < r.end]

    @property
    def in_flight_completed(self) -> list[Request]:
        return [r for r in self.in_flight_at_stop if r.ok]

    @property
    def sent_to_old_after_routing(self) -> int:
        return sum(1 for r in self.requests if r.port == self.old_port and r.start > self.routed_off)

    # Times from the deletion ---------------------------------------------------------------
    def since(self, t: Optional[float]) -> Optional[float]:
        return None if t is None else t - self.deleted

    @property
    def to_first_stop(self) -> Optional[float]:
        return self.since(self.first_stop)

    @property
    def to_drain_end(self) -> Optional[float]:
        return self.since(self.drain_end)

    @property
    def to_exit(self) -> float:
        return self.exited - self.deleted

    def event(self, name: str) -> Optional[dict]:
        found = [e for e in self.events if e.get("event") == name]
        return found[0] if found else None

    def summary(self) -> str:
        def s(v):
            return "-" if v is None else f"{v:.2f}s"
        prop = self.event("propagation_over") or {}
        return (f"{self.setup} lag {self.lag:g}s{' keep-alive' if self.keepalive else ''}: "
                f"{len(self.after_deletion)} sent after deletion, "
                f"{len(self.failed_after_deletion)} failed {self.failure_kinds()}"
                + (f" ({len(self.retried)} retried)" if self.keepalive else "") + ", in flight at "
                f"stop {len(self.in_flight_completed)}/{len(self.in_flight_at_stop)} completed; "
                f"first stop {s(self.to_first_stop)}, drain end {s(self.to_drain_end)}, exit "
                f"{s(self.to_exit)}; exit code {self.exit_code}"
                + (f"; propagation_over {prop}" if prop else ""))


def run_rollout(launcher: Launcher, vigilctl_bin: str, workdir: Path, setup: Setup, lag: float,
                *, keepalive: bool = False, rate: float = 120.0, slow_fraction: float = 0.2,
                slow_ms: int = 800, after: float = 1.0, seed: int = 0) -> RolloutResult:
    """Deletes the old pod while the new one serves beside it, under load; see the module's
    doc. `after`: how long the load goes on once the old pod is gone and out of routing."""
    if setup.init == "vigil":
        old = VigilPod(launcher, vigilctl_bin, workdir / "old", setup.drain)
        new = VigilPod(launcher, vigilctl_bin, workdir / "new", setup.drain)
    else:
        old = TiniPod(launcher, workdir / "old")
        new = TiniPod(launcher, workdir / "new")
    old.wait_ready(30)
    new.wait_ready(30)

    router = Router([old.port, new.port], seed)
    load = Load(router, rate, slow_fraction, slow_ms, keepalive=keepalive).start()
    try:
        # Both pods have been serving for a while (the slow requests too).
        wait_for(lambda: load.completed(old.port) >= 30 and load.completed(new.port) >= 30, 20,
                 "both pods to serve the load")

        kubelet = Kubelet(old, old.grace)
        hook: Optional[Background] = None
        if setup.init == "vigil":
            hook = kubelet.prestop()
        elif setup.prestop_sleep is not None:
            kubelet.begin()
            argv = ["/bin/sleep", f"{setup.prestop_sleep:g}"]
            hook = Background(launcher.popen(argv, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE), argv)
        else:
            kubelet.begin()
        deleted = kubelet.started_wall
        # The endpoint's removal reaches this node's kube-proxy `lag` after the deletion.
        removal = threading.Timer(max(0.0, deleted + lag - time.time()), router.remove,
                                  [old.port])
        removal.start()

        hook_code, hook_output, scraped = None, "", None
        if hook is not None:
            done = hook.wait(old.grace + 5)
            hook_code, hook_output = done.code, done.stdout + done.stderr
            if setup.init == "vigil":
                # Drained and still up until SIGTERM: what /metrics says about this drain.
                scraped = scrape(old.metrics_address)
        end = kubelet.terminate()
        removal.join()
        # The load goes on a little past the old pod's end and its removal from routing.
        wait_for(lambda: time.time() >= max(end.exited_wall, router.removed[old.port]) + after,
                 old.grace + lag + after + 5, "the load to run past the rollout")
    finally:
        load.stop()
    new.stop()

    result = RolloutResult(setup, lag, keepalive, deleted, load.requests, old.port,
                           router.removed[old.port], None, None, end.exited_wall, end.code,
                           end.sigkilled, hook_code, hook_output)
    if setup.init == "vigil":
        result.events = list(old.pod.log.records)
        stopping = [e for e in result.events if e.get("event") == "worker_stopping"]
        result.first_stop = log_time(stopping[0]) if stopping else None
        complete = result.event("drain_complete")
        result.drain_end = log_time(complete) if complete else None
        result.metrics = scraped
        result.termination_message = old.termination_log.read_text()
    else:
        # tini passes the kubelet's SIGTERM on to gunicorn at once.
        result.first_stop = kubelet.started_wall + (kubelet.term_sent - kubelet.started)
        result.drain_end = end.exited_wall
    return result


def propagation(r: RolloutResult) -> str:
    """Vigil's propagation_over as a table cell: "quiet after 1.3 s, 23 connections"."""
    over = r.event("propagation_over")
    if over is None:
        return "-"
    text = f"{over['reason']} after {int(over['duration_ms']) / 1000:.1f} s"
    return text + (f", {over['connections']} connections" if over["reason"] != "fixed" else "")


def markdown_table(results: list[RolloutResult]) -> str:
    """One row per rollout: what a reader of docs/rollouts.md compares."""
    def s(v):
        return "-" if v is None else f"{v:.1f} s"
    rows = ["| setup | lag | sent after deletion | failed | in flight at SIGTERM: completed "
            "| deletion → first SIGTERM | deletion → drain end | deletion → exit "
            "| Vigil's propagation_over |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(r.failure_kinds().items()))
        failed = f"**{len(r.failed_after_deletion)}**" + (f" ({kinds})" if kinds else "")
        if r.keepalive:
            failed += f"; {len(r.retried)} retried"
        rows.append(f"| {r.setup} | {r.lag:g} s | {len(r.after_deletion)} | {failed} | "
                    f"{len(r.in_flight_completed)}/{len(r.in_flight_at_stop)} | "
                    f"{s(r.to_first_stop)} | {s(r.to_drain_end)} | {s(r.to_exit)} | "
                    f"{propagation(r)} |")
    return "\n".join(rows) + "\n"
