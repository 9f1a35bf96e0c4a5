"""gRPC on demand (issue 13): vigil-control runs gRPC only while a client needs it. After
control.grpc_idle_linger with no connection open and no call in flight, no gRPC thread is left
and vigil-control makes no wake-up; the next client is served; a Watch stream keeps gRPC up;
and many up/down cycles leak no thread or descriptor. The linger is set through the environment
(VIGIL_CONTROL_GRPC_IDLE_LINGER), which a Vigil without the option ignores: on such a Vigil these
tests fail at their first check of gRPC's threads, not at start-up."""

import json
import os
import subprocess
import time

from kubesim import (GRPC_RAW, PYTHON3, Kubelet, free_port, grpc_call, health_check, pool,
                     wait_for, worker)
from streaming import GrpcStream, pb_decode

GRACE = 8.0
SERVING = 1
LINGER = "300ms"
# gRPC's threads and ours that serve it (grpc_runtime.h): none may exist while gRPC is down.
GRPC_THREADS = {"grpc-unix", "grpc-health", "grpc-api", "grpc-linger", "grpc_global_tim",
                "timer_manager", "event_engine", "default-executo", "resolver-execut",
                "grpc_shutdown"}


def start(pod, *args, linger=LINGER):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "pools": [pool("web", worker())]},
              args=list(args), env={"VIGIL_CONTROL_GRPC_IDLE_LINGER": linger})
    pod.wait_ready(2)
    return wait_for(pod.control_pid, 10.0, "vigil-control")


def stop(pod):
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0


def threads(pid) -> list[str]:
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass  # A thread that just ended.
    return names


def grpc_threads(pid) -> list[str]:
    return [t for t in threads(pid) if t in GRPC_THREADS]


def descriptors(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def switches(pid) -> int:
    """Voluntary context switches summed over the process's threads (the bench's wake-ups)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                total += sum(int(line.split()[1]) for line in f
                             if line.startswith("voluntary_ctxt_switches"))
        except OSError:
            pass
    return total


def wait_grpc_down(pid, timeout=10.0):
    wait_for(lambda: not grpc_threads(pid), timeout,
             f"no gRPC thread in vigil-control (has {sorted(grpc_threads(pid))})")


def test_idle_leaves_no_grpc_thread_and_no_wakeup(pod):
    """After a call and the linger, vigil-control has no gRPC thread and its context switches stop growing (2 s windows, up to 20 s)."""
    pid = start(pod)
    assert pod.ctl("status").code == 0
    wait_grpc_down(pid)

    def quiet():
        before = switches(pid)
        time.sleep(2.0)  # The measuring window, not a synchronisation.
        return switches(pid) == before

    wait_for(quiet, 20.0, "a 2 s window without a wake-up of vigil-control")
    stop(pod)


def test_first_call_after_idle_is_served(pod, tmp_path):
    """With gRPC down, vigilctl status, a health Check on the health port and GetStatus on the API port with its token are each served (each starting gRPC again)."""
    token = tmp_path / "token"
    token.write_text("s3cr3t-token-0123456789\n")
    health, api = free_port(), free_port()
    pid = start(pod, "--health-port", str(health), "--api-port", str(api), "--token-file",
                str(token))
    wait_grpc_down(pid)
    r = pod.ctl("status")
    assert r.code == 0 and "ready" in r.stdout, r
    wait_grpc_down(pid)
    assert health_check(f"127.0.0.1:{health}", "") == ("OK", SERVING)
    wait_grpc_down(pid)
    code, details, response = grpc_call(f"127.0.0.1:{api}", "/vigil.v1.Lifecycle/GetStatus", b"",
                                        "s3cr3t-token-0123456789")
    assert code == "OK", (code, details)
    assert b"web" in response
    wait_grpc_down(pid)
    stop(pod)


def test_watch_stream_keeps_grpc_up(pod, launcher):
    """A Watch stream open across many lingers keeps gRPC up and goes on receiving: a scale-up later shows on it."""
    pid = start(pod)
    watch = GrpcStream(launcher, f"unix:{pod.socket}", "/vigil.v1.Lifecycle/Watch")
    watch.wait_for(lambda m: m, 10.0, "the Watch stream's snapshot")
    # Ten lingers: gRPC stays up all along (a down would end the stream).
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        assert "grpc-unix" in threads(pid), threads(pid)
        time.sleep(0.05)  # Sampling interval of the check.
    assert watch.end is None, watch.end
    seen = len(watch.messages)
    assert pod.ctl("scale", "web", "3").code == 0
    watch.wait_for(lambda m: len(m) > seen, 10.0, "an event after the lingers")
    assert pb_decode(watch.messages[-1])  # An event, not noise.
    stop(pod)


def test_many_cycles_leak_no_thread_or_descriptor(pod):
    """50 rounds of call, idle (gRPC down), call: vigil-control's threads and descriptors are the same at the end as after the first round."""
    pid = start(pod, linger="100ms")
    assert pod.ctl("status").code == 0
    wait_grpc_down(pid)
    first = (len(threads(pid)), descriptors(pid))
    for _ in range(50):
        r = pod.ctl("status")
        assert r.code == 0, r
        wait_grpc_down(pid)
    # A descriptor closes just after its thread's last call: the counts settle, or they leak.
    wait_for(lambda: (len(threads(pid)), descriptors(pid)) == first, 5.0,
             f"threads and descriptors back to {first}, "
             f"now {(len(threads(pid)), descriptors(pid))}")
    stop(pod)


def test_a_kept_channel_idle_past_the_linger_is_served(pod):
    """A grpcio channel on the unix socket kept open and idle for several lingers between calls: every call is served (gRPC stays up while a connection is open; shutting it down under the channel failed calls UNAVAILABLE "Broken pipe")."""
    start(pod)
    check = {"method": "/grpc.health.v1.Health/Check", "request": "", "token": None}
    spec = {"target": f"unix:{pod.socket}",
            "calls": [check] + [dict(check, pause=1.0) for _ in range(4)]}
    done = subprocess.run([PYTHON3, str(GRPC_RAW)], input=json.dumps(spec), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [r["code"] for r in json.loads(done.stdout)] == ["OK"] * 5, done.stdout
    stop(pod)
