"""The termination message: on exit Vigil writes how it ended and how each pool's workers ended
(at most 4 KiB) to the termination message path, /dev/termination-log by default, only when the
file exists (the kubelet creates it), as Kubernetes' terminationMessagePath."""

from kubesim import Kubelet, pool, worker


def test_summary_after_a_drain_with_a_straggler(pod, tmp_path):
    """preStop drain, SIGTERM, exit 4: a first line with the exit status, the trigger and the
    kill; one line per pool with its workers' ends."""
    path = tmp_path / "termination-log"
    path.write_text("")
    config = {"termination_message_path": str(path),
              "drain": {"grace_period": "4s", "safety_margin": "1s"},
              "pools": [pool("web", worker(), replicas=2),
                        pool("jobs", worker("--ignore", "TERM,INT"), replicas=1)]}
    pod.start(config)
    pod.wait_ready(3)
    kubelet = Kubelet(pod, 10)
    hook = kubelet.prestop()
    hook.wait(15)
    end = kubelet.terminate()
    assert end.code == 4 and not end.sigkilled
    lines = path.read_text().splitlines()
    assert lines[0].startswith("vigil exited 4: drain complete (trigger prestop, "), lines
    assert lines[0].endswith(", 1 straggler(s) signalled or killed at a deadline"), lines
    assert lines[1] == "pool web: 2/2 ended gracefully: exited(0) x2", lines
    assert lines[2] == "pool jobs: 0/1 ended gracefully: stop_timeout_killed(SIGKILL) x1", lines
    assert len(lines) == 3
    assert len(path.read_bytes()) <= 4096


def test_cut_to_4_kib_at_a_line(pod, tmp_path):
    """60 pools with long names: the message is cut at a line boundary and ends with '...'."""
    path = tmp_path / "termination-log"
    path.write_text("previous content that must be replaced " * 200)
    pools = [pool(f"pool-with-a-rather-long-name-number-{i:02d}", ["sleep", "1000"], replicas=1,
                  readiness={"mode": "started"}) for i in range(60)]
    pod.start({"termination_message_path": str(path), "pools": pools})
    pod.log.wait("agent_ready", timeout=20)
    end = Kubelet(pod, 20).terminate()
    assert end.code == 0
    text = path.read_bytes()
    assert len(text) <= 4096
    assert text.endswith(b"\n...\n")
    lines = text.decode().splitlines()
    assert lines[0].startswith("vigil exited 0: drain complete (trigger signal, "), lines[0]
    for line in lines[1:-1]:
        assert line.startswith("pool pool-with-a-rather-long-name-number-"), line
        assert line.endswith(": 1/1 ended gracefully: signaled(SIGTERM) x1"), line
    assert 20 < len(lines) < 60


def test_not_created_when_absent(pod, tmp_path):
    path = tmp_path / "no-such-file"
    pod.start({"termination_message_path": str(path), "pools": [pool("one", worker(), replicas=1)]})
    pod.wait_ready(1)
    end = Kubelet(pod, 10).terminate()
    assert end.code == 0
    assert not path.exists()


def test_single_command_mode(launcher, tmp_path):
    """`vigil -- CMD`: the message names CMD and the status (VIGIL_TERMINATION_MESSAGE_PATH)."""
    path = tmp_path / "termination-log"
    path.write_text("")
    vigil = launcher.start(["--", "sh", "-c", "exit 7"], pid1=True,
                           env={"VIGIL_TERMINATION_MESSAGE_PATH": str(path)})
    assert vigil.wait(10) == 7
    assert path.read_text() == "vigil exited 7: main process 'sh -c exit 7' ended with status 7\n"
