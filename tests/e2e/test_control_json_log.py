"""--log-format json means every line on stderr is JSON: the libraries vigil-control links (gRPC,
protobuf) log through Vigil's logger, never on their own. Provoked here: ports that cannot be
bound, a client sending garbage, a request with invalid UTF-8 in a string field, and gRPC's
own debug logging (GRPC_VERBOSITY=debug)."""

import json
import socket

from kubesim import Kubelet, free_port, grpc_call, pb_string, pool, wait_for, worker

GRACE = 8.0


def test_every_stderr_line_is_json(pod):
    """With --log-format json and GRPC_VERBOSITY=debug: the health port, the metrics address and the HTTP port are taken, a client sends garbage to the API port, another a DrainRequest whose reason is not UTF-8; every stderr line of the run parses as a JSON object with time, level and msg, and the library lines are there (logger grpc / protobuf)."""
    taken = []
    for _ in range(3):
        s = socket.socket()
        s.bind(("0.0.0.0", 0))
        s.listen()
        taken.append(s)
    health, metrics, http = (s.getsockname()[1] for s in taken)
    api = free_port()
    token = pod.workdir / "token"
    token.write_text("s3cr3t-token-0123456789\n")
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "pools": [pool("web", worker())]},
              args=["--health-port", str(health), "--metrics-address", f"127.0.0.1:{metrics}",
                    "--http-port", str(http), "--api-port", str(api), "--api-address",
                    "127.0.0.1", "--token-file", str(token)],
              env={"GRPC_VERBOSITY": "debug"})
    pod.wait_ready(2)
    # Raw text, not the parsed log: what this test checks is that the lines are JSON.
    wait_for(lambda: "cannot listen on health port" in pod.vigil.stderr, 10.0,
             "the health port's bind failure in the log")

    # Garbage on the API port, then a request that protobuf refuses to parse.
    with socket.create_connection(("127.0.0.1", api), timeout=10) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4)
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
    grpc_call(f"unix:{pod.socket}", "/vigil.v1.Lifecycle/Drain", b"\x0a\x02\xff\xfe")
    wait_for(lambda: "contains invalid UTF-8" in pod.vigil.stderr, 10.0,
             "protobuf's complaint about the invalid UTF-8, in the log")
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
    for s in taken:
        s.close()

    lines = pod.vigil.stderr.splitlines()
    assert lines
    bad = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if not (isinstance(record, dict) and {"time", "level", "msg"} <= record.keys()):
            bad.append(line)
    assert not bad, f"{len(bad)} of {len(lines)} stderr lines are not JSON log records:\n" + \
        "\n".join(bad[:20])
    loggers = {json.loads(line).get("logger") for line in lines}
    assert {"vigil", "grpc", "protobuf"} <= loggers, loggers
