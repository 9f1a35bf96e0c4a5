"""Server-streaming gRPC calls for the kubelet-simulation tests (Lifecycle.Watch, DrainStream,
grpc.health.v1.Health/Watch), and a small protobuf decoder for their messages.

GrpcStream runs grpc_stream.py in a process of its own (started through the test's Launcher, so
cleanup kills it) and hands out each message as it arrives, waiting for it with a timeout.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from kubesim import PYTHON3, Launcher

GRPC_STREAM = Path(__file__).resolve().parent / "grpc_stream.py"


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def pb_decode(data: bytes) -> dict[int, list]:
    """{field number: [values]}: varints as ints (int32 negatives sign-corrected), length-
    delimited fields as bytes (decode nested messages with pb_decode again)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
            if value >= 1 << 63:
                value -= 1 << 64
        elif wire == 2:
            length, i = _read_varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire} in {data.hex()}")
        out.setdefault(field, []).append(value)
    return out


def pb_first(fields: dict[int, list], field: int, default=None):
    values = fields.get(field)
    return values[-1] if values else default


class GrpcStream:
    """One server-streaming call in progress."""

    def __init__(self, launcher: Launcher, target: str, method: str, request: bytes = b""):
        argv = [PYTHON3, str(GRPC_STREAM), target, method, request.hex()]
        self.popen = launcher.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: list[bytes] = []  # Every message received so far, in order.
        self.end: Optional[dict] = None  # {"code", "details"} once the stream has ended.
        self._buffer = b""

    def _read_line(self, deadline: float) -> Optional[dict]:
        fd = self.popen.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                err = self.popen.stderr.read().decode(errors="replace")
                raise AssertionError(f"grpc_stream.py ended without a status: {err}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _pump(self, deadline: float) -> bool:
        """Reads one more line; False at the deadline or once the stream has ended."""
        if self.end is not None:
            return False
        line = self._read_line(deadline)
        if line is None:
            return False
        if "message" in line:
            self.messages.append(bytes.fromhex(line["message"]))
        else:
            self.end = line
        return True

    def wait_for(self, predicate: Callable[[list[bytes]], object], timeout: float,
                 what: str):
        """The first truthy predicate(messages so far), reading messages as they come."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.messages)
            if result:
                return result
            if not self._pump(deadline):
                raise AssertionError(f"timed out ({timeout}s) waiting for {what}; "
                                     f"{len(self.messages)} message(s), end {self.end}")

    def wait_end(self, timeout: float) -> dict:
        """The stream's final status, once the server has ended it."""
        deadline = time.monotonic() + timeout
        while self.end is None:
            if not self._pump(deadline):
                if self.end is None:
                    raise AssertionError(f"the stream did not end within {timeout}s; "
                                         f"{len(self.messages)} message(s)")
        return self.end
