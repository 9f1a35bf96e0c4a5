"""drain.propagation_delay: auto (the default in pool mode): after readiness goes off, the first
stop signal waits until no new TCP connection has reached the workers' ports for
drain.quiet_period, within min_delay and max_delay. Real sockets on loopback, real vigil as PID 1;
the kernel's socket diagnostics are what Vigil reads."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path

from vigiltest import PYTHON3, WORKERS, free_port, wait_for

SERVER = str(WORKERS / "tcp_server.py")


class Client:
    """Opens a connection to 127.0.0.1:port every `every` seconds (reading the answer) until
    stopped; remembers when the last one was made."""

    def __init__(self, port: int, every: float = 0.05):
        self.port, self.every = port, every
        self.count = 0
        self.last = 0.0
        self.until = float("inf")  # wall time at which the load ends by itself
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set() and time.time() < self.until:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    # Until the server closes, as an HTTP client of a `Connection: close` server
                    # does: the server's side of the connection then stays in TIME_WAIT, where
                    # the samples see it however short it was (a client that closes first, of a
                    # connection shorter than a sample, can go unseen: docs/drain.md).
                    while s.recv(16):
                        pass
                self.count += 1
                self.last = time.time()
            except OSError:
                pass
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.last

    def finish_at(self, t: float) -> float:
        """Lets the load go on until wall time t, then returns its last connection's time."""
        self.until = t
        self._thread.join(timeout=t - time.time() + 10)
        return self.stop()

    def __exit__(self, *exc):
        self.stop()


def terms(path: Path) -> list[float]:
    if not path.exists():
        return []
    return [r["t"] for r in map(json.loads, path.read_text().splitlines()) if r["ev"] == "term"]


def listening(path: Path) -> bool:
    return path.exists() and '"listening"' in path.read_text()


def stop(vigil, record: Path) -> tuple[float, dict]:
    """SIGTERM to vigil: how long until the worker got its SIGTERM, and the log's
    propagation_over, once vigil has exited 0."""
    start = time.time()
    vigil.signal(signal.SIGTERM)
    term = wait_for(lambda: terms(record), what="SIGTERM")[0]
    assert vigil.wait() == 0
    (over,) = vigil.log.events("propagation_over")
    return term - start, over


def start_server_pool(pools, tmp_path, drain=None, extra_args=(), name="server", **pool_extra):
    port = free_port()
    record = tmp_path / f"{name}.jsonl"
    config = {"name": "web", "command": [PYTHON3, SERVER, str(port), str(record), *extra_args],
              "readiness": {"mode": "notify"}, "stop_timeout": "5s", **pool_extra}
    top = {"drain": drain} if drain else {}
    vigil = pools.start(config=pools.config([config], **top))
    vigil.log.wait("agent_ready")
    wait_for(lambda: listening(record), what="the server to listen")
    return vigil, port, record


def test_the_first_stop_signal_waits_until_the_ports_are_quiet(pools, tmp_path):
    """Connections keep coming for 1.5s after SIGTERM: the worker's SIGTERM comes about
    quiet_period (1s) after the last one, and the log says why, how many, which port."""
    vigil, port, record = start_server_pool(pools, tmp_path)
    with Client(port) as client:
        wait_for(lambda: client.count >= 5, what="traffic")
        sigterm_at = time.time()
        vigil.signal(signal.SIGTERM)
        last = client.finish_at(sigterm_at + 1.5)  # The load goes on for 1.5s.
        assert terms(record) == [], "stopped while connections were still arriving"
    term = wait_for(lambda: terms(record), what="SIGTERM")[0]
    assert vigil.wait() == 0
    assert last - sigterm_at >= 1.4
    assert term - last >= 0.9, (term, last)
    assert term - last < 1.0 + 1.0, (term, last)  # The quiet period, a sample and some load.
    (over,) = vigil.log.events("propagation_over")
    assert over["reason"] == "quiet"
    assert over["ports"] == str(port)
    assert over["connections"] >= 10
    assert 2400 <= over["duration_ms"] <= 4500


def test_no_listener_stops_at_once(pools):
    """A pool with no TCP listener: reason no_listener, min_delay (0s): as before auto."""
    config = pools.config([{"name": "jobs", "command": pools.worker(), "replicas": 2,
                            "readiness": {"mode": "notify"}}])
    vigil = pools.start(config=config)
    vigil.log.wait("agent_ready")
    runs = vigil.records.wait_runs(2, pool="jobs")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    (over,) = vigil.log.events("propagation_over")
    assert over["reason"] == "no_listener"
    assert over["duration_ms"] < 500
    assert over["ports"] == ""
    for run in runs:
        assert run.signals() == ["SIGTERM"]


def test_a_listener_held_by_a_child_in_the_workers_group_is_found(pools, tmp_path):
    """The worker runs the server in a child (as `sh -c` without exec would): its port is still
    the pool's, and no connection means quiet after quiet_period."""
    vigil, port, record = start_server_pool(pools, tmp_path, extra_args=["--child"])
    took, over = stop(vigil, record)
    assert over["reason"] == "quiet"
    assert over["ports"] == str(port)
    assert 0.9 <= took < 3.0


def test_traffic_that_never_stops_ends_at_max_delay(pools, tmp_path):
    vigil, port, record = start_server_pool(pools, tmp_path, drain={"max_delay": "2s"})
    with Client(port) as client:
        wait_for(lambda: client.count >= 5, what="traffic")
        took, over = stop(vigil, record)
    assert 1.9 <= took < 3.5
    assert over["reason"] == "max_delay"


def test_listed_ports_replace_discovery_and_a_fixed_delay_keeps_its_meaning(pools, tmp_path):
    """ports: [P] watches P only (traffic to the server's own port is ignored); then, with a
    fixed propagation_delay, the delay is exactly that (reason fixed)."""
    other = free_port()
    vigil, port, record = start_server_pool(pools, tmp_path, ports=[other])
    with Client(port) as client:
        wait_for(lambda: client.count >= 3, what="traffic")
        took, over = stop(vigil, record)
    assert took < 3.0  # Quiet on the listed port after 1s, whatever reaches the other.
    assert (over["reason"], over["ports"]) == ("quiet", str(other))

    fixed, _, record2 = start_server_pool(pools, tmp_path, name="fixed",
                                          drain={"propagation_delay": "1500ms"})
    took, over = stop(fixed, record2)
    assert 1.4 <= took < 3.0
    assert over["reason"] == "fixed"


def test_idle_with_traffic_no_wake_up_and_no_netlink_socket(pools, tmp_path):
    """Outside a drain the watch does not exist: a pool whose worker listens and serves
    connections leaves the core in epoll_wait (zero wake-ups) with no netlink socket open."""
    from test_idle import assert_idle

    vigil, port, record = start_server_pool(pools, tmp_path)

    def netlink_sockets() -> int:
        inodes = set()
        fd_dir = Path(f"/proc/{vigil.pid}/fd")
        for fd in fd_dir.iterdir():
            target = str(fd.readlink()) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        with open(f"/proc/{vigil.pid}/net/netlink") as f:
            return sum(1 for line in f.readlines()[1:] if line.split()[-1] in inodes)

    with Client(port):
        assert_idle(vigil.pid)  # Traffic to the worker is not the core's business.
    assert netlink_sockets() == 0
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
