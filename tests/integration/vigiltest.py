"""Shared machinery for Vigil's integration tests: launching vigil, waiting, reading /proc.

Vigil is started either as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`)
or directly, where it is not PID 1 and makes itself a child subreaper. Every process a test
starts carries a unique token in its environment, so that cleanup finds and kills whatever is
left, daemons included, even when a test fails halfway.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pty
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence, TypeVar

REPO = Path(__file__).resolve().parents[2]
TOKEN_VAR = "VIGIL_TEST_TOKEN"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
DEFAULT_TIMEOUT = 10.0

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Waiting


def wait_for(predicate: Callable[[], T], timeout: float = DEFAULT_TIMEOUT, what: str = "") -> T:
    """Polls predicate until it returns a truthy value, which is returned; fails on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.005)  # Polling interval of the condition, not a settling delay.


# ---------------------------------------------------------------------------------------------
# /proc


@dataclasses.dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    ppid: int
    pgid: int
    sid: int


def proc_stat(pid: int) -> Optional[ProcStat]:
    """The state of pid from /proc/PID/stat, or None when it no longer exists."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return ProcStat(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]))


def all_procs() -> list[ProcStat]:
    stats = (proc_stat(int(name)) for name in os.listdir("/proc") if name.isdigit())
    return [s for s in stats if s is not None]


def is_running(pid: int) -> bool:
    """pid exists and is neither a zombie nor dead."""
    stat = proc_stat(pid)
    return stat is not None and stat.state not in "ZX"


def children_of(pid: int) -> list[int]:
    """Every child of pid, zombies included (they stay listed until reaped)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            out += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def descendants_of(pid: int) -> list[int]:
    out: list[int] = []
    frontier = [pid]
    while frontier:
        for child in children_of(frontier.pop()):
            out.append(child)
            frontier.append(child)
    return out


def ns_pid_to_host(root_host_pid: int, ns_pid: int) -> int:
    """The host pid of the process that has ns_pid in the innermost PID namespace, looked up
    among root_host_pid and its descendants (for a process outside a namespace: ns_pid)."""
    for pid in [root_host_pid] + descendants_of(root_host_pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        match = re.search(r"^NSpid:\s+(.*)$", status, re.M)
        if match and int(match.group(1).split()[-1]) == ns_pid:
            return pid
    raise AssertionError(f"no descendant of {root_host_pid} has pid {ns_pid} in its namespace")


def status_field(pid: int, name: str) -> str:
    match = re.search(rf"^{name}:\s+(.*)$", Path(f"/proc/{pid}/status").read_text(), re.M)
    assert match, f"no {name} in /proc/{pid}/status"
    return match.group(1)


def open_fds(pid: int) -> list[int]:
    return sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))


def kill_tokened(token: str) -> None:
    """SIGKILLs every process whose environment carries token, until none is left."""
    needle = f"{TOKEN_VAR}={token}".encode()
    for _ in range(50):
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                if needle in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                    found.append(int(name))
            except OSError:
                continue
        found = [pid for pid in found if is_running(pid)]
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not any(is_running(p) for p in found), 5.0, "leftovers to die")


# ---------------------------------------------------------------------------------------------
# Workloads


class Record:
    """The file a `sigrecord` helper writes: 'ready PID PGID', then one signal number a line."""

    def __init__(self, path: Path):
        self.path = path

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text().splitlines()
        except FileNotFoundError:
            return []

    @property
    def ready(self) -> bool:
        lines = self._lines()
        return bool(lines) and lines[0].startswith("ready ")

    @property
    def pid(self) -> int:
        """The recorder's pid as it sees it (inside Vigil's namespace when Vigil is PID 1)."""
        return int(self._lines()[0].split()[1])

    @property
    def pgid(self) -> int:
        return int(self._lines()[0].split()[2])

    @property
    def signals(self) -> list[int]:
        return [int(line) for line in self._lines()[1:]]

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> "Record":
        wait_for(lambda: self.ready, timeout, f"{self.path.name} to be ready")
        return self

    def wait_signals(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[int]:
        wait_for(lambda: len(self.signals) >= count, timeout,
                 f"{count} signal(s) in {self.path.name} (have {self.signals})")
        return self.signals


@dataclasses.dataclass(frozen=True)
class Helpers:
    """Paths of the compiled workloads in tests/helpers/."""

    directory: Path

    @property
    def sigrecord(self) -> str:
        return str(self.directory / "sigrecord")

    @property
    def selfreport(self) -> str:
        return str(self.directory / "selfreport")

    @property
    def orphans(self) -> str:
        return str(self.directory / "orphans")

    @property
    def forkstorm(self) -> str:
        return str(self.directory / "forkstorm")

    @property
    def notifystatus(self) -> str:
        return str(self.directory / "notifystatus")

    def recorder(self, path: Path, keep: Iterable[int] = (),
                 default: Iterable[int] = ()) -> list[str]:
        """argv of a sigrecord writing to path; it keeps running on `keep` and leaves `default`
        signals at their default action."""
        argv = [self.sigrecord]
        for signo in keep:
            argv += ["-k", str(int(signo))]
        for signo in default:
            argv += ["-d", str(int(signo))]
        return argv + [str(path)]


def parse_report(line: str) -> dict[str, str]:
    """selfreport's 'key=value ...' line as a dict."""
    return dict(item.split("=", 1) for item in line.split())


# ---------------------------------------------------------------------------------------------
# Running vigil


@dataclasses.dataclass
class Completed:
    code: int
    stdout: str
    stderr: str
    elapsed: float


class VigilProcess:
    """One running vigil, as PID 1 under unshare or directly as a subreaper."""

    def __init__(self, popen: subprocess.Popen, pid1: bool, vigil_bin: str, out: Path, err: Path):
        self.popen = popen
        self.pid1 = pid1
        self._vigil_bin = vigil_bin
        self._out = out
        self._err = err
        self._pid: Optional[int] = None
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        """Vigil's pid in the test's (host) namespace."""
        if self._pid is None:
            if not self.pid1:
                self._pid = self.popen.pid
            else:
                def vigil_child() -> Optional[int]:
                    for child in children_of(self.popen.pid):
                        try:
                            if os.readlink(f"/proc/{child}/exe") == self._vigil_bin:
                                return child
                        except OSError:
                            pass
                    return None
                self._pid = wait_for(vigil_child, what="vigil to run under unshare")
        return self._pid

    def host_pid(self, ns_pid: int) -> int:
        """The host pid of a process Vigil started, given its pid as seen inside."""
        return ns_pid_to_host(self.pid, ns_pid) if self.pid1 else ns_pid

    def cmd_pid(self) -> int:
        """CMD's host pid: the child of vigil that leads its own process group."""
        leaders = [c for c in children_of(self.pid) if getattr(proc_stat(c), "pgid", 0) == c]
        assert len(leaders) == 1, f"vigil's children leading their group: {leaders}"
        return leaders[0]

    def signal(self, signo: int) -> None:
        os.kill(self.pid, signo)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Vigil's exit code (negative: killed by that signal)."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vigil did not exit within {timeout}s") from None

    def running(self) -> bool:
        return self.popen.poll() is None

    @property
    def stdout(self) -> str:
        return self._out.read_text()

    @property
    def stderr(self) -> str:
        return self._err.read_text()

    @property
    def stderr_path(self) -> Path:
        return self._err


class Launcher:
    """Starts vigil (and other processes) for one test and kills whatever is left at the end."""

    def __init__(self, vigil_bin: str, workdir: Path):
        self.vigil_bin = vigil_bin
        self.workdir = workdir
        self.token = uuid.uuid4().hex
        self._count = 0
        self._popens: list[subprocess.Popen] = []

    def env(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        env[TOKEN_VAR] = self.token
        # Tests run side by side: none binds the default metrics port unless it asks for one.
        env["VIGIL_METRICS_ADDRESS"] = "off"
        env.update(extra or {})
        return env

    def popen(self, argv: Sequence[str], *, env: Optional[dict[str, str]] = None,
              stdin=subprocess.DEVNULL, stdout=None, stderr=None,
              ignore: Iterable[int] = (), block: Iterable[int] = (),
              pass_fds: Sequence[int] = (), close: Iterable[int] = (),
              rlimits: Optional[dict[int, tuple[int, int]]] = None) -> subprocess.Popen:
        """Starts argv in a new session with the test token and no core dumps. Optionally
        signals are ignored or blocked, descriptors closed and resource limits set
        ({resource.RLIMIT_NOFILE: (soft, hard)}), as if by a parent that did so before exec
        (ignored and blocked signals and limits survive exec)."""
        ignore, block, close = list(ignore), list(block), list(close)
        limits = dict(rlimits or {})

        def prepare() -> None:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            for which, value in limits.items():
                resource.setrlimit(which, value)
            for fd in close:
                os.close(fd)
            for signo in ignore:
                signal.signal(signo, signal.SIG_IGN)
            if block:
                signal.pthread_sigmask(signal.SIG_BLOCK, block)

        popen = subprocess.Popen(list(argv), env=self.env(env), cwd=self.workdir, stdin=stdin,
                                 stdout=stdout, stderr=stderr, pass_fds=pass_fds,
                                 start_new_session=True, preexec_fn=prepare)
        self._popens.append(popen)
        return popen

    def start(self, args: Sequence[str], *, pid1: bool, program: Optional[str] = None,
              **kwargs) -> VigilProcess:
        """Starts `vigil ARGS`: as PID 1 of a new PID namespace if pid1, else directly. Its
        stdout and stderr go to files (see VigilProcess.stdout) unless given. `program` runs
        vigil under another name (a `tini` symlink)."""
        self._count += 1
        out = self.workdir / f"vigil{self._count}.out"
        err = self.workdir / f"vigil{self._count}.err"
        argv = [program or self.vigil_bin, *args]
        if pid1:
            argv = [UNSHARE, "--pid", "--fork", "--mount-proc", *argv]
        with open(out, "wb") as out_f, open(err, "wb") as err_f:
            kwargs.setdefault("stdout", out_f)
            kwargs.setdefault("stderr", err_f)
            popen = self.popen(argv, **kwargs)
        return VigilProcess(popen, pid1, self.vigil_bin, out, err)

    def start_pid1(self, args: Sequence[str], **kwargs) -> VigilProcess:
        return self.start(args, pid1=True, **kwargs)

    def start_subreaper(self, args: Sequence[str], **kwargs) -> VigilProcess:
        return self.start(args, pid1=False, **kwargs)

    def run(self, args: Sequence[str], *, pid1: bool, timeout: float = DEFAULT_TIMEOUT,
            **kwargs) -> Completed:
        """Runs `vigil ARGS` to completion."""
        vigil = self.start(args, pid1=pid1, **kwargs)
        code = vigil.wait(timeout)
        return Completed(code, vigil.stdout, vigil.stderr, time.monotonic() - vigil.started)

    def cleanup(self) -> None:
        kill_tokened(self.token)
        for popen in self._popens:
            if popen.poll() is None:
                popen.kill()
            popen.wait(5)


def start_recorded(start: Callable[..., VigilProcess], helpers: Helpers, directory: Path,
                   vigil_args: Sequence[str] = (), keep: Iterable[int] = (),
                   default: Iterable[int] = (), **start_kwargs) -> tuple[VigilProcess, Record]:
    """`vigil VIGIL_ARGS -- sigrecord ...` started with start(), once sigrecord is ready."""
    record = Record(directory / "record")
    vigil = start([*vigil_args, "--", *helpers.recorder(record.path, keep, default)],
                  **start_kwargs)
    record.wait_ready()
    return vigil, record


# ---------------------------------------------------------------------------------------------
# Terminals


class Terminal:
    """A process run on a new pseudo-terminal, as the leader of its session (pty.fork)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]):
        pid, fd = pty.fork()
        if pid == 0:  # Child: the pty's slave is our controlling terminal and stdio.
            try:
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                os.execvpe(argv[0], list(argv), env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.output = ""
        self._cursor = 0
        self._status: Optional[int] = None

    def write(self, data: str | bytes) -> None:
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def _read_available(self) -> None:
        while select.select([self.fd], [], [], 0)[0]:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: every slave descriptor is closed.
                return
            if not chunk:
                return
            self.output += chunk.decode(errors="replace")

    def expect(self, pattern: str, timeout: float = DEFAULT_TIMEOUT) -> re.Match:
        """Waits for pattern in the output not consumed by an earlier expect; consumes it."""
        regex = re.compile(pattern)

        def search():
            self._read_available()
            return regex.search(self.output, self._cursor)

        match = wait_for(search, timeout, f"{pattern!r} on the terminal; output so far: "
                                          f"{self.output[self._cursor:]!r}")
        self._cursor = match.end()
        return match

    def foreground(self) -> int:
        """The terminal's foreground process group (host pid)."""
        return os.tcgetpgrp(self.fd)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """The exit code of the session leader (negative: killed by that signal)."""
        def reaped():
            self._read_available()
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
            return pid != 0
        if self._status is None:
            wait_for(reaped, timeout, f"pid {self.pid} to exit")
        return self._status

    def close(self) -> None:
        """Kills everything in the terminal's session, then reaps the leader."""
        for proc in all_procs():
            if proc.sid == self.pid:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        os.close(self.fd)
        if self._status is None:
            os.waitpid(self.pid, 0)


# ---------------------------------------------------------------------------------------------
# Pool mode: vigil's JSON log, the records of workers/pool_worker.py, config files

WORKERS = Path(__file__).resolve().parent / "workers"
PYTHON3 = "/usr/bin/python3"


def log_time(record: dict) -> float:
    """A JSON log line's "time" (UTC, millisecond precision) as seconds since the epoch, the
    clock of time.time()."""
    parsed = datetime.datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return parsed.replace(tzinfo=datetime.timezone.utc).timestamp()


def _field_matches(actual, expected) -> bool:
    if callable(expected):
        return bool(expected(actual))
    if isinstance(expected, bool):  # Booleans are logged as "true"/"false".
        return str(actual).lower() == str(expected).lower()
    return actual == expected


class VigilLog:
    """Vigil's JSON log (--log-format json) read from its stderr file as it grows: `records`
    holds every JSON line so far, `other` every line that is not JSON (workers share stderr)."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._partial = b""
        self._records: list[dict] = []
        self._other: list[str] = []

    def refresh(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            line = raw.decode(errors="replace")
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and "msg" in record and "level" in record:
                self._records.append(record)
            else:
                self._other.append(line)

    @property
    def records(self) -> list[dict]:
        self.refresh()
        return self._records

    @property
    def other(self) -> list[str]:
        self.refresh()
        return self._other

    def events(self, event: Optional[str] = None, **fields) -> list[dict]:
        """Every record of `event` (any event when None) whose fields match: a value, a bool
        (matches "true"/"false") or a predicate."""
        return [r for r in self.records
                if (event is None or r.get("event") == event)
                and all(_field_matches(r.get(k), v) for k, v in fields.items())]

    def names(self) -> list[str]:
        return [r.get("event", "") for r in self.records]

    def summary(self, last: int = 40) -> str:
        keep = ("pool", "slot", "pid", "reason", "code", "signal", "cause", "delay_ms")
        lines = [f"{r.get('time', '')[11:]} {r.get('event', r.get('msg'))} "
                 + " ".join(f"{k}={r[k]}" for k in keep if k in r)
                 for r in self.records[-last:]]
        return "\n  ".join(["vigil's log (last events):"] + lines)

    def wait(self, event: str, timeout: float = DEFAULT_TIMEOUT, count: int = 1,
             **fields) -> dict:
        """The count-th record of `event` matching fields, once it is logged."""
        def found():
            matches = self.events(event, **fields)
            return matches[count - 1] if len(matches) >= count else None
        try:
            return wait_for(found, timeout, f"{count} x {event} {fields}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.summary()}") from None

    def index(self, record: dict) -> int:
        """Position of record in the log (by identity)."""
        for i, r in enumerate(self.records):
            if r is record:
                return i
        raise AssertionError(f"not in the log: {record}")


class WorkerRun:
    """What one run of pool_worker.py recorded (one process and the children it forked)."""

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

    def of(self, ev: str, proc: str = "worker") -> list[dict]:
        return [r for r in self.lines if r["ev"] == ev and r["proc"] == proc]

    @property
    def start(self) -> dict:
        return self.of("start")[0]

    @property
    def pid(self) -> int:
        """The worker's pid as Vigil sees it (inside Vigil's namespace as PID 1)."""
        return self.start["pid"]

    @property
    def pool(self) -> str:
        return self.start["env"].get("VIGIL_POOL", "")

    @property
    def slot(self) -> int:
        return int(self.start["env"]["VIGIL_WORKER"])

    @property
    def env(self) -> dict:
        return self.start["env"]

    def signals(self, proc: str = "worker") -> list[str]:
        return [r["sig"] for r in self.of("signal", proc)]

    def signal_times(self, sig: str, proc: str = "worker") -> list[float]:
        return [r["t"] for r in self.of("signal", proc) if r["sig"] == sig]

    @property
    def exit(self) -> Optional[dict]:
        exits = self.of("exit")
        return exits[0] if exits else None

    def children(self, proc: str = "child") -> list[dict]:
        return [r for r in self.lines if r["ev"] == "child" and r["proc"] == proc]

    def wait(self, predicate: Callable[["WorkerRun"], T], timeout: float = DEFAULT_TIMEOUT,
             what: str = "") -> T:
        return wait_for(lambda: predicate(self), timeout,
                        f"{what or predicate} in {self.path.name}: {self.lines}")

    def __repr__(self) -> str:
        return f"WorkerRun({self.path.name})"


class WorkerRecords:
    """The directory where every pool_worker.py run records itself (WORKER_RECORDS)."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(exist_ok=True)

    def runs(self, pool: Optional[str] = None, slot: Optional[int] = None) -> list[WorkerRun]:
        """Runs that recorded their start, oldest first."""
        out = []
        for path in self.directory.glob("*.jsonl"):
            run = WorkerRun(path)
            if not run.of("start"):
                continue
            if (pool is None or run.pool == pool) and (slot is None or run.slot == slot):
                out.append(run)
        return sorted(out, key=lambda r: r.start["t"])

    def wait_runs(self, count: int, pool: Optional[str] = None, slot: Optional[int] = None,
                  timeout: float = DEFAULT_TIMEOUT) -> list[WorkerRun]:
        return wait_for(lambda: (lambda runs: runs if len(runs) >= count else None)(
            self.runs(pool, slot)), timeout, f"{count} worker run(s) of {pool}/{slot}")

    def by_pid(self, pid: int) -> WorkerRun:
        (run,) = [r for r in self.runs() if r.pid == pid]
        return run


class PoolVigil:
    """A vigil running pools: the VigilProcess, its JSON log and its workers' records."""

    def __init__(self, vigil: VigilProcess, records: WorkerRecords):
        self.vigil = vigil
        self.log = VigilLog(vigil.stderr_path)
        self.records = records

    def __getattr__(self, name):
        return getattr(self.vigil, name)

    def exits_within(self, timeout: float) -> Optional[int]:
        """Vigil's exit code if it exits within timeout, else None (it keeps running)."""
        try:
            return self.vigil.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        try:
            return self.vigil.wait(timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.log.summary()}") from None


def yaml_value(value) -> str:
    """A YAML flow value: JSON is YAML."""
    return json.dumps(value)


def pool_yaml(pools: Sequence[dict], **top) -> str:
    """A config file: top-level keys, then `pools:` with one key a line per pool (values in
    flow style), so that a test can tell which line holds what."""
    lines = [f"{key}: {yaml_value(value)}" for key, value in top.items()]
    lines.append("pools:")
    for pool in pools:
        first = True
        for key, value in pool.items():
            lines.append(f"  {'- ' if first else '  '}{key}: {yaml_value(value)}")
            first = False
    return "\n".join(lines) + "\n"


class PoolLauncher:
    """Starts vigil in pool mode for one test, with JSON logs and worker records."""

    def __init__(self, launcher: Launcher, workdir: Path):
        self.launcher = launcher
        self.workdir = workdir
        self.records = WorkerRecords(workdir / "records")
        self._configs = 0

    @staticmethod
    def worker(*args: str) -> list[str]:
        """argv of workers/pool_worker.py with args."""
        return [PYTHON3, str(WORKERS / "pool_worker.py"), *map(str, args)]

    def config(self, pools: Sequence[dict], **top) -> Path:
        return self.config_text(pool_yaml(pools, **top))

    def config_text(self, text: str) -> Path:
        self._configs += 1
        path = self.workdir / f"vigil{self._configs}.yaml"
        path.write_text(text)
        return path

    def start(self, args: Sequence[str] = (), *, config: Optional[Path] = None, pid1: bool = True,
              env: Optional[dict[str, str]] = None, json_log: bool = True, **kwargs) -> PoolVigil:
        argv = ["--log-format", "json", "--log-level", "info"] if json_log else []
        if config is not None:
            argv += ["--config", str(config)]
        # Each vigil's control plane (if any) gets its own socket: tests run in parallel.
        env = {"WORKER_RECORDS": str(self.records.directory),
               "VIGIL_SOCKET": str(self.workdir / "control.sock"), **(env or {})}
        vigil = self.launcher.start([*argv, *args], pid1=pid1, env=env, **kwargs)
        if pid1:
            found = wait_for(lambda: self._vigil_under(vigil.popen.pid) or
                             (vigil.popen.poll() is not None and "exited"),
                             what="vigil to run under unshare")
            if found != "exited":
                vigil._pid = found
        return PoolVigil(vigil, self.records)

    def _vigil_under(self, unshare_pid: int) -> Optional[int]:
        """unshare's child once it is vigil; unlike VigilProcess.pid, also while the binary is
        being rebuilt (/proc/PID/exe then ends with " (deleted)")."""
        for child in children_of(unshare_pid):
            try:
                if os.readlink(f"/proc/{child}/exe").startswith(self.launcher.vigil_bin):
                    return child
            except OSError:
                pass
        return None

    def run(self, args: Sequence[str] = (), *, timeout: float = DEFAULT_TIMEOUT,
            **kwargs) -> tuple[PoolVigil, int]:
        vigil = self.start(args, **kwargs)
        return vigil, vigil.wait(timeout)


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
