"""The kubelet simulation: Vigil as a pod's PID 1, driven the way the kubelet drives a container.

Built on tests/integration/vigiltest.py (imported from there, never copied): Launcher starts
every process with a token so that cleanup kills whatever is left, VigilLog reads Vigil's JSON
log. This module adds what the end-to-end tests need on top:

- Pod: a vigil in pool mode as PID 1 of a new PID namespace (`unshare --pid --fork
  --mount-proc`), its config file, its control socket, its workers' records, and `vigilctl`
  run against it (in the foreground, or in the background like the kubelet's preStop hook).
- Runs: what the workers (workers/kube_worker.py) recorded: start, READY=1, every signal
  caught with its time, their own exit.
- Kubelet.terminate(): SIGTERM to PID 1, then SIGKILL once the grace period runs out.
- grpc_call(): a raw gRPC call (python3-grpcio in a separate process, hand-encoded protobuf)
  for the exact status codes, which vigilctl folds into its exit status.

Clocks: workers and Vigil's log use the wall clock (time.time()); the tests compare those with
each other and measure their own durations with time.monotonic().
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from vigiltest import (  # noqa: E402  (the path above comes first)
    Launcher,
    VigilLog,
    VigilProcess,
    children_of,
    descendants_of,
    free_port,
    log_time,
    wait_for,
)

__all__ = ["Launcher", "VigilLog", "free_port", "log_time", "wait_for", "Pod", "Runs", "Run",
           "Kubelet", "Ctl", "pool", "worker", "grpc_call", "grpc_calls", "health_check",
           "pb_string", "pb_int", "WORKER", "PYTHON3"]

PYTHON3 = "/usr/bin/python3"
WORKER = Path(__file__).resolve().parent / "workers" / "kube_worker.py"


def worker(*args) -> list[str]:
    """argv of workers/kube_worker.py with args."""
    return [PYTHON3, str(WORKER), *map(str, args)]


# ---------------------------------------------------------------------------------------------
# What the workers recorded


class Run:
    """One run of kube_worker.py: its JSON lines."""

    def __init__(self, path: Path):
        self.path = path

    @property
    def lines(self) -> list[dict]:
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # A line being written right now.
                pass
        return out

    def _of(self, ev: str) -> list[dict]:
        return [r for r in self.lines if r["ev"] == ev]

    @property
    def started(self) -> bool:
        return bool(self._of("start"))

    @property
    def pool(self) -> str:
        return self._of("start")[0]["pool"]

    @property
    def slot(self) -> int:
        return self._of("start")[0]["slot"]

    @property
    def pid(self) -> int:
        """The worker's pid as Vigil sees it (inside the pod's PID namespace)."""
        return self._of("start")[0]["pid"]

    @property
    def start_t(self) -> float:
        return self._of("start")[0]["t"]

    @property
    def ready_t(self) -> Optional[float]:
        ready = self._of("ready")
        return ready[0]["t"] if ready else None

    @property
    def exit_t(self) -> Optional[float]:
        """When it exited on its own (None: still running, or killed)."""
        ex = self._of("exit")
        return ex[0]["t"] if ex else None

    @property
    def signals(self) -> list[str]:
        return [r["sig"] for r in self._of("signal")]

    def signal_times(self, sig: str) -> list[float]:
        return [r["t"] for r in self._of("signal") if r["sig"] == sig]

    @property
    def name(self) -> str:
        return f"{self.pool}/{self.slot}"

    def __repr__(self) -> str:
        return f"Run({self.name} pid {self.pid}: {self.signals})"


class Runs:
    """The directory where every kube_worker.py run records itself (E2E_RECORDS)."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def all(self, pool: Optional[str] = None, slot: Optional[int] = None) -> list[Run]:
        """Runs that recorded their start, oldest first."""
        runs = [Run(p) for p in self.directory.glob("*.jsonl")]
        runs = [r for r in runs if r.started
                and (pool is None or r.pool == pool) and (slot is None or r.slot == slot)]
        return sorted(runs, key=lambda r: r.start_t)

    def ready(self, pool: Optional[str] = None) -> list[Run]:
        return [r for r in self.all(pool) if r.ready_t is not None]

    def wait_ready(self, count: int, pool: Optional[str] = None, timeout: float = 15.0) -> list[Run]:
        """The first `count` runs of pool that sent READY=1, once they have."""
        def enough():
            runs = self.ready(pool)
            return runs if len(runs) >= count else None
        return wait_for(enough, timeout, f"{count} ready worker(s) of pool {pool}: {self.all()}")


# ---------------------------------------------------------------------------------------------
# vigilctl


@dataclasses.dataclass
class CtlResult:
    code: int
    stdout: str
    stderr: str
    started: float  # time.monotonic()
    ended: float
    ended_wall: float  # time.time()

    @property
    def elapsed(self) -> float:
        return self.ended - self.started

    def __str__(self) -> str:
        return f"exit {self.code}, stdout {self.stdout!r}, stderr {self.stderr!r}"


class Background:
    """A vigilctl running in the background (the kubelet running the preStop hook)."""

    def __init__(self, popen: subprocess.Popen, argv: Sequence[str]):
        self.popen = popen
        self.argv = list(argv)
        self.started = time.monotonic()
        self.started_wall = time.time()
        self._result: Optional[CtlResult] = None

    def running(self) -> bool:
        return self._result is None and self.popen.poll() is None

    def wait(self, timeout: float) -> CtlResult:
        if self._result is None:
            try:
                out, err = self.popen.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"{self.argv} did not return within {timeout}s") from None
            # communicate() returns as soon as the process is reaped: this is when it returned.
            self._result = CtlResult(self.popen.returncode, out.decode(errors="replace"),
                                     err.decode(errors="replace"), self.started,
                                     time.monotonic(), time.time())
        return self._result


class Ctl:
    """vigilctl against one pod: over its unix socket (VIGIL_SOCKET) unless told otherwise."""

    def __init__(self, launcher: Launcher, binary: str, socket: Path):
        self.launcher = launcher
        self.binary = binary
        self.socket = socket

    def _env(self, env: Optional[dict]) -> dict:
        return {"VIGIL_SOCKET": str(self.socket), **(env or {})}

    def start(self, *args, env: Optional[dict] = None) -> Background:
        argv = [self.binary, *map(str, args)]
        popen = self.launcher.popen(argv, env=self._env(env), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        return Background(popen, argv)

    def __call__(self, *args, timeout: float = 20.0, env: Optional[dict] = None) -> CtlResult:
        return self.start(*args, env=env).wait(timeout)

    def status(self) -> dict:
        """`vigilctl status --json`, parsed."""
        r = self("status", "--json")
        assert r.code == 0, f"vigilctl status --json: {r}"
        return json.loads(r.stdout)

    def health(self, service: str = "readiness", *extra) -> int:
        """`vigilctl health --service S`: 0 SERVING, 1 NOT_SERVING, 3 unreachable."""
        r = self(*extra, "health", "--service", service, timeout=10)
        assert r.code in (0, 1), f"vigilctl health --service {service}: {r}"
        return r.code


# ---------------------------------------------------------------------------------------------
# The pod


class Pod:
    """Vigil in pool mode as PID 1 of a new PID namespace, with the config given as a dict
    (written as JSON, which is YAML), JSON logs, and its control socket under the test's
    directory (in a directory that does not exist yet: vigil-control creates it)."""

    def __init__(self, launcher: Launcher, vigilctl_bin: str, workdir: Path):
        self.launcher = launcher
        self.workdir = workdir
        self.runs = Runs(workdir / "records")
        self.socket = workdir / "run" / "control.sock"
        self.ctl = Ctl(launcher, vigilctl_bin, self.socket)
        self.vigil: Optional[VigilProcess] = None
        self.log: Optional[VigilLog] = None
        self.config_path = workdir / "vigil.yaml"

    def start(self, config: dict, args: Sequence[str] = (), env: Optional[dict] = None,
              **launch) -> "Pod":
        """launch: more Launcher.popen arguments (e.g. rlimits)."""
        self.config_path.write_text(json.dumps(config, indent=1) + "\n")
        argv = ["--log-format", "json", "--log-level", "info", "--config", str(self.config_path),
                "--socket", str(self.socket), *args]
        self.vigil = self.launcher.start(argv, pid1=True,
                                         env={"E2E_RECORDS": str(self.runs.directory), **(env or {})},
                                         **launch)
        self.log = VigilLog(self.vigil.stderr_path)
        self.vigil.pid  # Waits until unshare has forked and exec'd vigil.
        return self

    @property
    def pid(self) -> int:
        """Vigil's pid on the host (the kubelet's view of the container's PID 1)."""
        return self.vigil.pid

    def running(self) -> bool:
        return self.vigil.running()

    def control_pid(self) -> Optional[int]:
        """vigil-control's host pid: the child of vigil running the vigil-control binary."""
        for child in children_of(self.pid):
            try:
                if os.readlink(f"/proc/{child}/exe").endswith("/vigil-control"):
                    return child
            except OSError:
                pass
        return None

    def leftovers(self) -> list[str]:
        """Every process in the pod besides vigil and vigil-control, as "pid exe"."""
        out = []
        for pid in descendants_of(self.pid):
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue  # Gone (or a zombie about to be reaped).
            if not exe.endswith("/vigil-control"):
                out.append(f"{pid} {exe}")
        return out

    def wait_ready(self, workers: int, timeout: float = 15.0) -> list[Run]:
        """Every worker has sent READY=1 and `vigilctl health` (readiness) says SERVING."""
        runs = self.runs.wait_ready(workers, timeout=timeout)
        r = self.ctl("wait-ready", "--timeout", f"{timeout}s", timeout=timeout + 5)
        assert r.code == 0, f"vigilctl wait-ready: {r}\n{self.log.summary()}"
        assert self.ctl.health("readiness") == 0
        return runs

    def exits_within(self, timeout: float) -> Optional[int]:
        """Vigil's exit status if it exits within timeout, else None."""
        try:
            return self.vigil.popen.wait(max(timeout, 0))
        except subprocess.TimeoutExpired:
            return None

    def wait_exit(self, timeout: float) -> int:
        code = self.exits_within(timeout)
        assert code is not None, f"vigil did not exit within {timeout}s\n{self.log.summary()}"
        return code

    def events(self, event: Optional[str] = None, **fields) -> list[dict]:
        return self.log.events(event, **fields)


def pool(name: str, command: Sequence[str], replicas: int = 2, **extra) -> dict:
    """A pool of notify-ready workers; ready when all of them are."""
    return {"name": name, "command": list(command), "replicas": replicas,
            "readiness": {"mode": "notify"}, "min_ready": replicas, "stop_timeout": "20s",
            **extra}


# ---------------------------------------------------------------------------------------------
# The kubelet


@dataclasses.dataclass
class Termination:
    code: Optional[int]  # Vigil's exit status; None when the kubelet had to SIGKILL it
    sigkilled: bool
    term_sent: float  # time.monotonic() of the SIGTERM
    exited: float  # time.monotonic() when PID 1 was gone
    exited_wall: float

    @property
    def after_term(self) -> float:
        return self.exited - self.term_sent


class Kubelet:
    """Deletes the pod the way the kubelet does: the grace period starts with the preStop hook
    (or with SIGTERM when there is none), SIGTERM goes to PID 1 once the hook has returned, and
    SIGKILL when the grace period is over."""

    def __init__(self, pod: Pod, grace: float):
        self.pod = pod
        self.grace = grace
        self.started: Optional[float] = None  # time.monotonic(): the deletion began
        self.started_wall: Optional[float] = None
        self.term_sent: Optional[float] = None

    def begin(self) -> None:
        self.started = time.monotonic()
        self.started_wall = time.time()

    def prestop(self, *args) -> Background:
        """Starts the grace period and runs the preStop hook `vigilctl drain --wait` (in the
        background: the kubelet waits for it, the test watches meanwhile)."""
        self.begin()
        return self.pod.ctl.start("drain", "--wait", *args)

    def remaining(self) -> float:
        return self.started + self.grace - time.monotonic()

    def sigterm(self) -> float:
        """SIGTERM to PID 1 (starting the grace period if no hook did); returns when it was
        sent (time.monotonic())."""
        if self.started is None:
            self.begin()
        self.term_sent = time.monotonic()
        os.kill(self.pod.pid, signal.SIGTERM)
        return self.term_sent

    def finish(self) -> Termination:
        """Waits out the rest of the grace period for PID 1 to exit (the only sleep of this
        simulation: time passing), then SIGKILLs it as the kubelet would."""
        code = self.pod.exits_within(self.remaining())
        sigkilled = False
        if code is None:
            try:
                os.kill(self.pod.pid, signal.SIGKILL)
                sigkilled = True
                code = None
            except ProcessLookupError:  # It exited just as the grace period ran out.
                code = self.pod.wait_exit(10)
            if sigkilled:
                self.pod.wait_exit(10)
        return Termination(code, sigkilled, self.term_sent, time.monotonic(), time.time())

    def terminate(self) -> Termination:
        """SIGTERM, then SIGKILL if PID 1 is still there when the grace period is over."""
        self.sigterm()
        return self.finish()


# ---------------------------------------------------------------------------------------------
# Raw gRPC, for the exact status codes


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # Negative int32 values are sign-extended to 10 bytes.
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_string(field: int, value: str) -> bytes:
    data = value.encode()
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def pb_int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


GRPC_RAW = Path(__file__).resolve().parent / "grpc_raw.py"


def grpc_calls(target: str, calls: Sequence[tuple]) -> list[tuple[str, str, bytes]]:
    """Unary calls [(method, request bytes[, token])] on one channel, made by grpc_raw.py in a
    process of its own; returns [(status code name, details, response bytes)]."""
    spec = {"target": target,
            "calls": [{"method": c[0], "request": c[1].hex(), "token": c[2] if len(c) > 2 else None}
                      for c in calls]}
    done = subprocess.run([PYTHON3, str(GRPC_RAW)], input=json.dumps(spec), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"grpc_raw.py: {done.stderr}"
    return [(r["code"], r["details"], bytes.fromhex(r["response"])) for r in json.loads(done.stdout)]


def grpc_call(target: str, method: str, request: bytes = b"",
              token: Optional[str] = None) -> tuple[str, str, bytes]:
    """One unary call ("/vigil.v1.Lifecycle/Scale", serialized request): (code name, details,
    response bytes)."""
    return grpc_calls(target, [(method, request, token)])[0]


def health_check(target: str, service: str, token: Optional[str] = None) -> tuple[str, Optional[int]]:
    """grpc.health.v1.Health/Check: (status code name, serving status: 1 SERVING, 2 NOT_SERVING)."""
    code, _, response = grpc_call(target, "/grpc.health.v1.Health/Check", pb_string(1, service),
                                  token)
    if code != "OK":
        return code, None
    # HealthCheckResponse {ServingStatus status = 1;}: absent means 0 (UNKNOWN).
    return code, response[1] if response[:1] == b"\x08" else 0
