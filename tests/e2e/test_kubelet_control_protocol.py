"""The core <-> control protocol under attack (issue 10, adversarial tests): a vigil-control that
sends a frame over the limit, or one that is no command, is named in the core's log
(control_protocol_error), killed and started again; the workers never notice, and the real
vigil-control that follows serves the API. The misbehaving binary is workers/bad_control.py,
given as control.binary."""

from pathlib import Path

from kubesim import pool, wait_for, worker

BAD_CONTROL = Path(__file__).resolve().parent / "workers" / "bad_control.py"


def test_garbage_from_the_control_plane_restarts_it_cleanly(pod, vigil_bin, tmp_path):
    real = str(Path(vigil_bin).parent / "vigil-control")
    pod.start({"control": {"binary": str(BAD_CONTROL)},
               "pools": [pool("web", worker(), replicas=2)]},
              env={"BAD_CONTROL_PLAN": "over_limit garbage", "BAD_CONTROL_REAL": real,
                   "BAD_CONTROL_RUNS": str(tmp_path / "control-runs")})
    runs = pod.runs.wait_ready(2)
    pod.log.wait("control_protocol_error", count=2, timeout=15)
    messages = [e["msg"] for e in pod.events("control_protocol_error")]
    assert messages == [
        "vigil-control sent a frame of 4294967295 bytes, over the limit of 16777216; restarting it",
        "vigil-control sent a frame that is not a command (19 bytes); restarting it"], messages
    # The third run is the real vigil-control: the API works, with both workers as they were.
    pod.wait_ready(2)
    status = pod.ctl.status()
    pids = sorted(w["pid"] for w in status["pools"][0]["workers"])
    assert pids == sorted(r.pid for r in runs)
    assert len(pod.events("control_started")) == 3
    for run in pod.runs.all():
        assert run.signals == [] and run.exit_t is None, run
    assert len(pod.runs.all()) == 2  # No worker restarted.
