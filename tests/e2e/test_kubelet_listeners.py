"""vigil-control's listeners: the unix socket (0600, its directory created), the TCP health port
for the kubelet's gRPC probes (grpc.health.v1 only), the TCP API port (bearer token only)."""

import os
import stat

import pytest

from kubesim import Kubelet, free_port, grpc_call, health_check, pool, wait_for, worker

GRACE = 8.0
SERVING, NOT_SERVING = 1, 2


def start(pod, *args):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "pools": [pool("web", worker())]},
              args=list(args))
    pod.wait_ready(2)


def stop(pod):
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0


def test_unix_socket_mode_and_directory(pod):
    """The unix socket's directory is created when missing and the socket has mode 0600."""
    assert not pod.socket.parent.exists()
    start(pod)
    st = os.stat(pod.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert pod.socket.parent.is_dir()
    assert pod.ctl("status").code == 0
    stop(pod)


def test_api_port_requires_the_token(pod, tmp_path):
    """On the TCP API port, status works with the right bearer token and fails UNAUTHENTICATED without one or with a wrong one; a drain without the token does nothing."""
    token = tmp_path / "token"
    token.write_text("s3cr3t-token-0123456789\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("s3cr3t-token-0123456788\n")
    port = free_port()
    start(pod, "--api-port", str(port), "--token-file", str(token))
    address = f"127.0.0.1:{port}"

    ok = pod.ctl("--address", address, "--token-file", token, "status", "--json")
    assert ok.code == 0, ok
    assert '"PHASE_READY"' in ok.stdout
    for argv in (["--address", address, "status"],
                 ["--address", address, "--token-file", wrong, "status"],
                 ["--address", address, "--token-file", wrong, "drain"],
                 ["--address", address, "scale", "web", "5"]):
        r = pod.ctl(*argv)
        assert r.code == 3, (argv, r)
        assert "missing or wrong bearer token" in r.stderr, (argv, r)

    method = "/vigil.v1.Lifecycle/GetStatus"
    assert grpc_call(address, method)[0] == "UNAUTHENTICATED"
    assert grpc_call(address, method, token="s3cr3t-token-0123456788")[0] == "UNAUTHENTICATED"
    assert grpc_call(address, method, token="s3cr3t-token-012345678")[0] == "UNAUTHENTICATED"
    assert grpc_call(address, method, token="s3cr3t-token-0123456789")[0] == "OK"
    # Nothing was drained or scaled by the refused calls.
    assert not pod.events("drain_started")
    status = pod.ctl.status()
    assert status["phase"] == "PHASE_READY" and status["pools"][0]["desired"] == 2
    stop(pod)


# Regression test for a fixed bug: grpc.health.v1 on the TCP API port answers without a token, although...
def test_api_port_health_requires_the_token(pod, tmp_path):
    """On the TCP API port, a health Check without the bearer token is refused UNAUTHENTICATED."""
    token = tmp_path / "token"
    token.write_text("s3cr3t-token-0123456789\n")
    port = free_port()
    start(pod, "--api-port", str(port), "--token-file", str(token))
    address = f"127.0.0.1:{port}"
    assert health_check(address, "readiness", token="s3cr3t-token-0123456789") == ("OK", SERVING)
    assert health_check(address, "readiness", token="wrong")[0] == "UNAUTHENTICATED"
    assert health_check(address, "readiness")[0] == "UNAUTHENTICATED"


# Regression test for a fixed bug: --health-port never listens: vigil-control logs 'At least one of the completion...
def test_health_port_serves_only_health(pod):
    """The TCP health port answers grpc.health.v1 (readiness, liveness; readiness off during a drain) but not the Lifecycle API."""
    port = free_port()
    start(pod, "--health-port", str(port))
    tcp = ["--address", f"127.0.0.1:{port}"]
    assert "cannot listen on health port" not in pod.vigil.stderr
    assert pod.ctl.health("readiness", *tcp) == 0
    assert pod.ctl.health("liveness", *tcp) == 0
    assert health_check(f"127.0.0.1:{port}", "readiness") == ("OK", SERVING)

    r = pod.ctl(*tcp, "status")
    assert r.code == 3, r
    assert grpc_call(f"127.0.0.1:{port}", "/vigil.v1.Lifecycle/GetStatus")[0] == "UNIMPLEMENTED"
    assert grpc_call(f"127.0.0.1:{port}", "/vigil.v1.Lifecycle/Drain")[0] == "UNIMPLEMENTED"
    assert not pod.events("drain_started")

    # The kubelet's probes through the port during a drain.
    kubelet = Kubelet(pod, GRACE)
    hook = kubelet.prestop()
    wait_for(lambda: pod.ctl.health("readiness", *tcp) == 1, 2.0, "readiness NOT_SERVING on TCP")
    assert pod.ctl.health("liveness", *tcp) == 0
    assert hook.wait(GRACE).code == 0
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
