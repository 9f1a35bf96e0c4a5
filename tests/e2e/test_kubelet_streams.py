"""The streaming calls, as a sidecar or an operator's tool would use them: Lifecycle.Watch (a
snapshot, then worker exits and states, readiness and drain progress), grpc.health.v1 Watch
(readiness turns NOT_SERVING at the first instant of a drain, liveness stays SERVING) and
DrainStream (progress until the drain is complete)."""

from kubesim import Kubelet, pb_string, pool, worker
from streaming import GrpcStream, pb_decode, pb_first

GRACE = 8.0
LINGER = 0.5

# vigil.v1.Event.Kind
SNAPSHOT, WORKER_STATE, WORKER_EXITED, READINESS, DRAIN = 1, 2, 3, 4, 5
PHASE_READY = 2
WORKER_STATE_READY = 3
SERVING, NOT_SERVING = 1, 2


def event(message: bytes) -> dict:
    """The fields of a vigil.v1.Event the tests look at."""
    f = pb_decode(message)
    out = {"kind": pb_first(f, 1, 0), "pool": pb_first(f, 3, b"").decode(),
           "slot": pb_first(f, 4, 0)}
    if 5 in f:
        w = pb_decode(pb_first(f, 5))
        exit_info = pb_decode(pb_first(w, 6, b""))
        out["state"] = pb_first(w, 3, 0)
        out["reason"] = pb_first(exit_info, 1, b"").decode()
        out["signal"] = pb_first(exit_info, 3, 0)
    if out["kind"] in (READINESS, DRAIN):  # DRAIN events carry the agent's readiness too.
        out["ready"] = bool(pb_first(f, 6, 0))
    if 7 in f:
        out["drain"] = progress(pb_first(f, 7))
    if 8 in f:
        s = pb_decode(pb_first(f, 8))
        out["phase"] = pb_first(s, 1, 0)
        out["agent_ready"] = bool(pb_first(s, 2, 0))
        out["pools"] = [(pb_first(p, 1).decode(), len(p.get(8, [])))
                        for p in map(pb_decode, s.get(3, []))]
    return out


def progress(message: bytes) -> dict:
    """The fields of a vigil.v1.DrainProgress."""
    f = pb_decode(message)
    return {"trigger": pb_first(f, 1, b"").decode(), "remaining": pb_first(f, 4, 0),
            "complete": bool(pb_first(f, 5, 0)), "graceful": bool(pb_first(f, 6, 0))}


def serving(message: bytes) -> int:
    """grpc.health.v1.HealthCheckResponse.status."""
    return pb_first(pb_decode(message), 1, 0)


def statuses(messages):
    return [serving(m) for m in messages]


def test_watch_health_watch_and_drain_stream(pod, launcher):
    """Watch starts with a snapshot and reports a killed worker's exit (reason, signal), its restart, readiness off and on; health Watch follows readiness and turns NOT_SERVING at the drain while liveness stays SERVING; DrainStream reports progress until complete and graceful; then SIGTERM exits 0."""
    pod.start({"drain": {"grace_period": f"{GRACE:g}s"},
               "pools": [pool("web", worker("--linger", LINGER))]})
    pod.wait_ready(2)
    target = f"unix:{pod.socket}"
    watch = GrpcStream(launcher, target, "/vigil.v1.Lifecycle/Watch")
    ready = GrpcStream(launcher, target, "/grpc.health.v1.Health/Watch", pb_string(1, "readiness"))
    live = GrpcStream(launcher, target, "/grpc.health.v1.Health/Watch", pb_string(1, "liveness"))

    first = event(watch.wait_for(lambda m: m and m[0], 10.0, "the first Watch event"))
    assert first["kind"] == SNAPSHOT, first
    assert (first["phase"], first["agent_ready"], first["pools"]) == \
        (PHASE_READY, True, [("web", 2)]), first
    assert ready.wait_for(lambda m: statuses(m), 10.0, "readiness") == [SERVING]
    assert live.wait_for(lambda m: statuses(m), 10.0, "liveness") == [SERVING]

    # A worker killed from outside: its exit, readiness off (min_ready 2), its restart, on again.
    (victim,) = pod.runs.all("web", slot=1)
    r = pod.ctl("signal", "web/1", "KILL")
    assert r.code == 0, r

    def events(m):
        return [event(x) for x in m[1:]]

    def restarted(m):
        evs = events(m)
        exits = [i for i, e in enumerate(evs) if e["kind"] == WORKER_EXITED]
        back = [i for i, e in enumerate(evs) if e["kind"] == READINESS and e["ready"]]
        up = [i for i, e in enumerate(evs) if e["kind"] == WORKER_STATE and e["slot"] == 1
              and e["state"] == WORKER_STATE_READY]
        return evs if exits and back and up and back[-1] > exits[0] and up[-1] > exits[0] \
            else None

    evs = watch.wait_for(restarted, 10.0, "web/1's exit and restart on the Watch stream")
    (exited,) = [e for e in evs if e["kind"] == WORKER_EXITED]
    assert (exited["pool"], exited["slot"], exited["reason"], exited["signal"]) == \
        ("web", 1, "signaled", 9), exited
    kinds = [(e["kind"], e.get("ready")) for e in evs if e["kind"] in (WORKER_EXITED, READINESS)]
    assert kinds[:3] == [(READINESS, False), (WORKER_EXITED, None), (READINESS, True)] or \
        kinds[:3] == [(WORKER_EXITED, None), (READINESS, False), (READINESS, True)], kinds
    assert any(e["kind"] == WORKER_STATE and e["slot"] == 1 and e["state"] == WORKER_STATE_READY
               for e in evs), "\n".join(map(repr, evs))
    assert ready.wait_for(lambda m: statuses(m)[-1:] == [SERVING] and len(m) >= 3 and statuses(m),
                          10.0, "readiness off and on again") == [SERVING, NOT_SERVING, SERVING]
    pod.runs.wait_ready(3, "web")  # web/0, the killed web/1 and its replacement.
    assert [r.pid for r in pod.runs.all("web", slot=1)][0] == victim.pid
    assert len(pod.runs.all("web", slot=1)) == 2

    # The drain, streamed.
    kubelet = Kubelet(pod, GRACE)
    kubelet.begin()
    drain = GrpcStream(launcher, target, "/vigil.v1.Lifecycle/DrainStream", pb_string(1, "test"))
    assert drain.wait_end(GRACE) == {"code": "OK", "details": ""}
    steps = [progress(m) for m in drain.messages]
    assert steps, "DrainStream sent no progress"
    assert all(s["trigger"] == "api" for s in steps), steps
    assert [s["complete"] for s in steps].count(True) == 1 and steps[-1]["complete"], steps
    assert steps[-1]["graceful"] and steps[-1]["remaining"] == 0, steps
    assert ready.wait_for(lambda m: statuses(m)[3:], 5.0, "readiness NOT_SERVING") == \
        [NOT_SERVING]
    drained = watch.wait_for(lambda m: [e for e in events(m) if e["kind"] == DRAIN and
                                        e["drain"]["complete"]], 5.0, "the drain's end on Watch")
    assert drained[-1]["drain"]["graceful"]
    # Readiness is off from the first DRAIN event on, and never comes back.
    evs = events(watch.messages)
    first_drain = next(i for i, e in enumerate(evs) if e["kind"] == DRAIN)
    assert [e["ready"] for e in evs[first_drain:] if "ready" in e] == \
        [False] * sum(1 for e in evs[first_drain:] if "ready" in e), evs[first_drain:]
    assert statuses(live.messages) == [SERVING], "liveness changed during the drain"

    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0
    for run in pod.runs.all():
        assert run.signals == ([] if run.pid == victim.pid else ["SIGTERM"]), run
    # Nothing more than the one drain.
    assert len(pod.events("drain_started")) == 1
