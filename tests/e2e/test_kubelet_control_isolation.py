"""The core never depends on vigil-control: a control plane that is SIGKILLed comes back with the
same workers, counters and readiness (rebuilt from the core's snapshot), and one that is stopped
(SIGSTOP: not reading its socket) never holds up restarts, the drain or the exit; one that keeps
dying is restarted with a growing backoff."""

import os
import signal

from kubesim import Kubelet, log_time, pool, wait_for, worker

GRACE = 10.0


def start(pod):
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker(), backoff={"initial": "100ms", "jitter": 0})]})
    pod.wait_ready(2)
    control = pod.control_pid()
    assert control is not None, "no vigil-control child of vigil"
    return control


def kill_worker(pod, slot):
    """SIGKILLs the current worker of web/slot, and waits for its replacement to be ready."""
    before = pod.runs.all("web", slot)
    os.kill(pod.vigil.host_pid(before[-1].pid), signal.SIGKILL)
    wait_for(lambda: len([r for r in pod.runs.all("web", slot) if r.ready_t]) == len(before) + 1,
             10.0, f"a new ready worker in web/{slot}")


def workers(status):
    return [(w["slot"], w["pid"], w["state"], w.get("restarts", 0),
             w.get("lastExit", w.get("last_exit", {})).get("reason"))
            for w in status["pools"][0]["workers"]]


def test_sigkilled_control_plane_comes_back_with_the_same_state(pod):
    """After web/1 was restarted once, vigil-control is SIGKILLed: workers are untouched, and the new vigil-control reports the same pids, restart counts, last exit and readiness."""
    control = start(pod)
    kill_worker(pod, 1)
    wait_for(lambda: pod.ctl.status()["pools"][0]["ready"] == 2, 5.0, "2 ready workers")
    before = pod.ctl.status()
    assert [(w[3], w[4]) for w in workers(before)] == [(0, None), (1, "signaled")], before
    unready = len(pod.events("agent_unready"))  # One: web/1's death (min_ready 2).

    os.kill(control, signal.SIGKILL)
    pod.log.wait("control_exited", timeout=5)
    wait_for(lambda: pod.control_pid() not in (None, control), 5.0, "a new vigil-control")
    wait_for(lambda: pod.ctl("status", timeout=5).code == 0, 5.0, "vigilctl status to answer")
    after = pod.ctl.status()
    assert workers(after) == workers(before), (before, after)
    assert (after["phase"], after.get("ready")) == (before["phase"], before.get("ready"))
    assert pod.ctl.health("readiness") == 0
    assert [r.signals for r in pod.runs.all()] == [[], [], []]  # web/0, web/1 twice.
    assert len(pod.events("agent_unready")) == unready

    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0


def test_stopped_control_plane_holds_up_nothing(pod):
    """vigil-control stopped with SIGSTOP: a killed worker is still restarted, and SIGTERM drains and exits 0 at once."""
    control = start(pod)
    os.kill(control, signal.SIGSTOP)
    try:
        for _ in range(3):
            kill_worker(pod, 0)
        kubelet = Kubelet(pod, GRACE)
        end = kubelet.terminate()
        assert not end.sigkilled and end.code == 0
        assert end.after_term < 2.0, end
        assert len(pod.events("drain_complete")) == 1
    finally:
        try:
            os.kill(control, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_a_control_plane_that_keeps_dying_is_restarted_with_growing_backoff(pod):
    """A vigil-control that exits at once (here /bin/false) is restarted after 1 s, 2 s, 4 s; the worker never notices, and SIGTERM still exits 0."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"}, "control": {"binary": "/bin/false"},
               "pools": [pool("web", worker(), replicas=1)]})
    pod.runs.wait_ready(1)
    pod.log.wait("control_exited", count=4, timeout=12)
    starts = [log_time(e) for e in pod.events("control_started")]
    gaps = [b - a for a, b in zip(starts, starts[1:])][:3]
    for got, want in zip(gaps, [1.0, 2.0, 4.0]):
        assert want - 0.05 <= got <= want + 0.5, gaps
    assert not pod.events("worker_exited")
    (run,) = pod.runs.all()
    assert run.signals == []
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
    assert run.signals == ["SIGTERM"]


FLOOD = r"""
import os, socket, sys, time
trigger = sys.argv[1]
a = os.environ["NOTIFY_SOCKET"].replace("@", "\0", 1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(a)
s.send(b"READY=1")
while not os.path.exists(trigger):
    time.sleep(0.01)  # Polls for the test's go-ahead.
pad = "x" * 4000
for i in range(6000):  # 6,000 distinct STATUS= texts: ~24 MiB of worker events.
    s.send(f"STATUS={i} {pad}".encode())
s.send(b"STATUS=done")
while True:
    time.sleep(1)
"""


def test_a_control_plane_too_far_behind_is_killed_and_restarted(pod, tmp_path):
    """vigil-control stopped while a worker floods STATUS= texts: once more than 16 MiB waits
    for it, the core drops the events it has not read (control_events_dropped: a fresh snapshot
    would follow), and as it reads nothing for 10 s the core logs control_stalled, SIGKILLs it
    and starts a new one, which answers with the worker's latest status; the worker itself
    never notices."""
    trigger = tmp_path / "go"
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", ["/usr/bin/python3", "-c", FLOOD, str(trigger)],
                              replicas=1)]})
    ready = pod.ctl("wait-ready", "--timeout", "10s", timeout=15)
    assert ready.code == 0, ready
    control = pod.control_pid()
    os.kill(control, signal.SIGSTOP)
    try:
        trigger.write_text("")
        pod.log.wait("control_events_dropped", timeout=30)
        pod.log.wait("control_stalled", timeout=30)
        pod.log.wait("control_exited", timeout=5)
        wait_for(lambda: pod.control_pid() not in (None, control), 5.0, "a new vigil-control")
        wait_for(lambda: pod.ctl("status", timeout=5).code == 0, 10.0, "vigilctl status")
        status = wait_for(lambda: (lambda s: s if s["pools"][0]["workers"][0].get(
            "statusText", s["pools"][0]["workers"][0].get("status_text")) == "done" else None)(
            pod.ctl.status()), 30.0, "the worker's last STATUS= text")
        assert status["pools"][0]["workers"][0].get("restarts", 0) == 0
        assert len(pod.events("worker_exited")) == 0
    finally:
        try:
            os.kill(control, signal.SIGCONT)
        except ProcessLookupError:
            pass
    end = Kubelet(pod, GRACE).terminate()
    assert not end.sigkilled and end.code == 0
