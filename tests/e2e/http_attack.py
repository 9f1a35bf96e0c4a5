"""HTTP clients that misbehave, for the adversarial tests of vigil-control's HTTP listeners
(/metrics, /healthz/*, /drain): connections that send nothing, slowloris clients that send a
request header a byte at a time, and clients that send a 10 MB header. Plus a well-behaved GET
that measures how long the answer took.

Everything runs on plain sockets in a background thread of the test process (no subprocess: the
attack needs hundreds of sockets, not hundreds of processes)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Optional


def get(port: int, path: str, timeout: float = 30.0,
        headers: Optional[dict] = None) -> tuple[int, str, float]:
    """GET http://127.0.0.1:port/path: (status code, body, seconds taken). Connection: close."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), f"GET {path}: not an HTTP response: {data[:200]!r}"
    return int(head.split()[1]), body.decode(errors="replace"), time.monotonic() - start


class Attack:
    """`idle` connections that send nothing, `slow` that send a request one byte every
    `slow_period` seconds, and `huge` that send a request with a `huge_bytes` header, against
    one port. Connections the server closes are counted and opened again (a persistent
    attacker), so the pressure stays on for as long as the attack runs."""

    def __init__(self, port: int, idle: int = 50, slow: int = 50, huge: int = 2,
                 slow_period: float = 0.5, huge_bytes: int = 10 << 20):
        self.port = port
        self.idle, self.slow, self.huge = idle, slow, huge
        self.slow_period = slow_period
        self.huge_bytes = huge_bytes
        self.closed_by_server = {"idle": 0, "slow": 0, "huge": 0}
        self.huge_answers: list[bytes] = []  # What the server said to each 10 MB header.
        self.refused = 0  # connect() failures
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Attack":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _connect(self) -> Optional[socket.socket]:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError:
            self.refused += 1
            return None
        s.setblocking(False)
        return s

    def _run(self) -> None:
        import select
        conns: dict[socket.socket, dict] = {}

        def open_one(kind: str) -> None:
            s = self._connect()
            if s is None:
                return
            state = {"kind": kind, "sent": 0, "next": time.monotonic(), "answer": b""}
            if kind == "slow":
                state["data"] = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
            elif kind == "huge":
                state["data"] = (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: " +
                                 b"a" * self.huge_bytes + b"\r\n\r\n")
            conns[s] = state

        for kind, n in (("idle", self.idle), ("slow", self.slow), ("huge", self.huge)):
            for _ in range(n):
                open_one(kind)
        while not self._stop.is_set():
            now = time.monotonic()
            writers = [s for s, st in conns.items() if st["kind"] == "huge" and
                       st["sent"] < len(st["data"])]
            readable, writable, _ = select.select(list(conns), writers, [], 0.05)
            for s in readable:
                st = conns[s]
                try:
                    chunk = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    st["answer"] += chunk
                    continue
                # Closed by the server: note it and come back, as an attacker would.
                self.closed_by_server[st["kind"]] += 1
                if st["kind"] == "huge":
                    self.huge_answers.append(st["answer"])
                del conns[s]
                s.close()
                open_one(st["kind"])
            for s in writable:
                st = conns.get(s)
                if st is None:
                    continue
                try:
                    st["sent"] += s.send(st["data"][st["sent"]:st["sent"] + 65536])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    pass  # Reset: the read side sees it.
            for s, st in list(conns.items()):
                if st["kind"] == "slow" and now >= st["next"] and st["sent"] < len(st["data"]):
                    try:
                        st["sent"] += s.send(st["data"][st["sent"]:st["sent"] + 1])
                    except OSError:
                        pass
                    st["next"] = now + self.slow_period
        for s in conns:
            s.close()
