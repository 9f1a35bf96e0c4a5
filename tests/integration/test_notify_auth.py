"""Who may speak for a worker (issue 10, defect 2: a non-root process of the pod could stop it).

Notify sockets are filesystem sockets in a directory only the worker's uid can reach, and every
datagram's sender is checked at receipt against the worker's process group (SCM_PIDFD, or
SCM_CREDENTIALS with `notify.credentials: ucred`, both tested). A sender that cannot be
attributed (gone, outside the namespace, another group) is refused and counted by cause; the
worker itself and its children are heard as before."""

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from notifytest import (NOBODY, credential_env, frozen, listed_unix_sockets, send_once,
                        shared_dir, waiting_pool)
from vigiltest import PYTHON3, WORKERS, VigilLog, WorkerRecords

SCRIPT = WORKERS / "notify_script.py"


@pytest.fixture(params=["pidfd", "ucred"])
def creds(request) -> str:
    """How Vigil reads a sender's credentials: SCM_PIDFD, or the SCM_CREDENTIALS fallback."""
    return request.param


def script(*steps) -> list[str]:
    return [PYTHON3, str(SCRIPT), json.dumps(list(steps))]


def test_another_uid_cannot_reach_the_notify_socket(pools, launcher, mode):
    """The socket of a root worker is listed in /proc/net/unix for anyone to read, but a process
    of another uid (nobody) cannot send to it: EACCES, and nothing reaches Vigil. (The old
    abstract sockets took X_VIGIL_STOP=1 from anyone in the network namespace.)"""
    go = pools.workdir / "go"
    vigil = pools.start(config=waiting_pool(pools, go), pid1=mode == "pid1")
    (run,) = vigil.records.wait_runs(1)
    address = run.env["NOTIFY_SOCKET"]
    assert address in listed_unix_sockets(), address
    for message in ("X_VIGIL_STOP=1", "READY=1"):
        assert send_once(launcher, vigil, address, message, uid=NOBODY) == "error EACCES"
    assert vigil.log.events("notify_rejected") == []
    assert vigil.log.events("drain_started") == [] and vigil.running()
    go.touch()
    vigil.log.wait("worker_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="pool users need root")
def test_a_pool_users_socket_is_reachable_by_that_user_only(pools, launcher):
    """user: nobody: the worker reaches its own socket (it becomes ready through it); another
    uid gets EACCES; a process of nobody's outside the worker's group reaches it and is refused
    by its credentials."""
    shared = shared_dir("vigil-notify-user-")
    records = WorkerRecords(shared / "records")
    records.directory.chmod(0o777)
    go = shared / "go"
    config = pools.config([{"name": "app", "command": pools.worker("--wait-file", str(go)),
                            "user": "nobody", "working_dir": "/",
                            "readiness": {"mode": "notify"}, "stop_timeout": "5s"}])
    vigil = pools.start(config=config, env={"WORKER_RECORDS": str(records.directory),
                                            "VIGIL_NOTIFY_DIR": str(shared / "notify")})
    (run,) = records.wait_runs(1)
    address = run.env["NOTIFY_SOCKET"]
    assert address.startswith(str(shared / "notify") + "/"), address
    run_dir = Path(address).parent
    assert (run_dir.stat().st_uid, run_dir.stat().st_mode & 0o777) == (NOBODY, 0o700)
    assert send_once(launcher, vigil, address, "X_VIGIL_STOP=1", uid=NOBODY - 1) == \
        "error EACCES"
    report = send_once(launcher, vigil, address, "X_VIGIL_STOP=1", uid=NOBODY)
    assert report.startswith("sent "), report
    rejected = vigil.log.wait("notify_rejected")
    assert rejected["cause"] in ("sender_gone", "sender_not_in_group"), rejected
    go.touch()
    vigil.log.wait("worker_ready")
    assert vigil.log.events("drain_started") == []
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0
    assert not run_dir.exists(), "the run's directory outlived its run"


def test_a_sender_reaped_before_its_datagram_is_read_is_refused(pools, launcher, mode, creds):
    """X_VIGIL_STOP=1 from a short-lived process that has exited and been reaped by the time
    Vigil reads it (Vigil is frozen meanwhile, so this is certain): refused as sender_gone, the
    pod keeps running. The old code believed such senders."""
    go = pools.workdir / "go"
    vigil = pools.start(config=waiting_pool(pools, go), pid1=mode == "pid1",
                        env=credential_env(creds))
    (run,) = vigil.records.wait_runs(1)
    with frozen(vigil):
        report = send_once(launcher, vigil, run.env["NOTIFY_SOCKET"], "X_VIGIL_STOP=1")
        assert report.startswith("sent "), report
    rejected = vigil.log.wait("notify_rejected")
    assert (rejected["cause"], rejected["pool"], rejected["slot"]) == ("sender_gone", "app", 0)
    assert rejected["sender_pid"] in (-1, int(report.split()[1])), rejected
    assert vigil.log.events("drain_started") == [] and vigil.running()
    go.touch()
    vigil.log.wait("worker_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_short_lived_senders_never_stop_the_pod(pools, launcher, mode):
    """20 short-lived processes of Vigil's namespace (same uid) each send X_VIGIL_STOP=1 50 times
    and exit at once, so that the last ones are read while they exit or after they are gone:
    every datagram is refused (gone, or alive outside the group), none stops the pod. The old
    code believed a sender it could no longer find, and stopped the pod."""
    go = pools.workdir / "go"
    vigil = pools.start(config=waiting_pool(pools, go), pid1=mode == "pid1")
    (run,) = vigil.records.wait_runs(1)
    senders, repeat = 20, 50
    for _ in range(senders):
        report = send_once(launcher, vigil, run.env["NOTIFY_SOCKET"], "X_VIGIL_STOP=1",
                           repeat=repeat)
        assert report.startswith("sent "), report
        assert vigil.log.events("drain_started") == [], vigil.log.summary()
    vigil.log.wait("notify_rejected", count=senders * repeat)
    rejected = vigil.log.events("notify_rejected")
    causes = {e["cause"] for e in rejected}
    assert causes <= {"sender_gone", "sender_not_in_group"}, causes
    assert len(rejected) == senders * repeat
    assert vigil.log.events("drain_started") == [] and vigil.running()
    go.touch()
    vigil.log.wait("worker_ready")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 0


def test_the_worker_and_its_children_are_heard(pools, mode, creds):
    """Everything a worker says for itself still works: READY=1 from a child of its group,
    EXTEND_TIMEOUT_USEC past the boot timeout, WATCHDOG=1 pings, STATUS=, MAINPID= of its own
    child, and X_VIGIL_STOP=1 from the worker itself, which drains the pod."""
    steps = [{"send": "STATUS=booting\nEXTEND_TIMEOUT_USEC=5000000"},
             {"sleep": 1.5},  # Longer than boot_timeout: only the extension keeps it.
             {"child_send": "READY=1\nSTATUS=child says ready"},
             {"pings": 8, "every": 0.2},  # 1.6 s of pings against a 1 s watchdog.
             {"fork_main": True},
             {"send": "STATUS=stopping the pod"},
             {"send": "X_VIGIL_STOP=1"}]
    config = pools.config([{"name": "app", "command": script(*steps), "watchdog": "1s",
                            "boot_timeout": "1s", "readiness": {"mode": "notify"},
                            "stop_timeout": "5s"}])
    vigil = pools.start(["--log-level", "debug"], config=config, pid1=mode == "pid1",
                        env=credential_env(creds))
    ready = vigil.log.wait("worker_ready")
    main = vigil.log.wait("worker_main_pid")
    vigil.log.wait("drain_started")
    assert vigil.wait(15) == 0
    log = vigil.log
    assert log.events("notify_rejected") == [], log.summary()
    (run,) = vigil.records.runs()
    assert ready["pid"] == run.pid
    assert main["main_pid"] == run.of("step")[4]["main"]
    statuses = [e["msg"] for e in log.events("worker_status")]
    assert statuses == ["booting", "child says ready", "stopping the pod"], statuses
    assert log.events("worker_exited", reason="watchdog") == []
    assert log.events("worker_exited", reason="boot_timeout") == []
    assert len(log.events("worker_started")) == 1


def unusable(pools, path: Path, **pool_extra) -> str:
    """Vigil's stderr when it refuses to start on notify directory `path`: exit 2, no worker."""
    config = pools.config([{"name": "app", "command": pools.worker(), **pool_extra}])
    vigil, code = pools.run(config=config, env={"VIGIL_NOTIFY_DIR": str(path)})
    assert code == 2, vigil.stderr
    assert vigil.records.runs() == [] and vigil.log.events("worker_started") == []
    return vigil.stderr


def test_an_unsafe_or_impossible_notify_directory_stops_start_up(pools):
    """Exit 2 before any worker, naming the path, what is wrong and the fix: a directory others
    can write, a file in the way, a symbolic link, a parent that is not a directory. Vigil
    changes and removes none of them."""
    open_dir = pools.workdir / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    err = unusable(pools, open_dir)
    assert f"the notify directory {open_dir} is not safe: group or others can write it " \
           "(mode 0777)" in err, err
    assert "notify.directory (--notify-dir, VIGIL_NOTIFY_DIR)" in err
    assert open_dir.stat().st_mode & 0o777 == 0o777
    a_file = pools.workdir / "a-file"
    a_file.write_text("mine")
    assert "is not safe: it is not a directory" in unusable(pools, a_file)
    assert a_file.read_text() == "mine"
    link = pools.workdir / "link"
    link.symlink_to(open_dir)
    assert "is not safe: it is a symbolic link" in unusable(pools, link)
    err = unusable(pools, a_file / "notify")
    assert f"cannot create the notify directory {a_file}/notify" in err, err
    assert f"an emptyDir at {a_file}" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="pool users need root")
def test_a_notify_directory_out_of_a_pool_users_reach_stops_start_up(pools):
    """user: nobody, but the notify directory lies under tmp_path, whose parents are 0700: exit 2,
    naming the pool, the user and the directory in the way."""
    err = unusable(pools, pools.workdir / "notify", user="nobody")
    assert f"is out of reach of pool app's user nobody (uid {NOBODY})" in err, err
    assert "chmod o+x" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_a_read_only_root_needs_a_writable_directory_mounted_there(pools, launcher, request):
    """As in Kubernetes with readOnlyRootFilesystem: a read-only filesystem where the notify
    directory belongs stops start-up (exit 2, the fix named: an emptyDir); with a writable
    directory mounted there (the emptyDir at /run/vigil, a tmpfs here), Vigil runs."""
    root = Path(tempfile.mkdtemp(prefix="vigil-ro-"))  # tmp_path is too deep for socket paths
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    (root / "run" / "vigil").mkdir(parents=True)
    config = pools.config([{"name": "app", "command": pools.worker(),
                            "readiness": {"mode": "notify"}}])
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && {} && exec "$2" ' \
             '--log-format json --log-level info --config "$3" --socket "$1/run/vigil/control.sock"'

    def run(setup: str, out: Path):
        with open(out, "wb") as err:
            proc = launcher.popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                   script.format(setup), "sh", str(root), launcher.vigil_bin,
                                   str(config)],
                                  env={"WORKER_RECORDS": str(pools.records.directory),
                                       "VIGIL_CONTROL": "false"},
                                  stderr=err)
        return proc

    proc = run("true", pools.workdir / "ro.err")
    assert proc.wait(10) == 2
    err = (pools.workdir / "ro.err").read_text()
    assert f"cannot create the notify directory {root}/run/vigil/notify" in err, err
    assert "Read-only file system" in err and f"an emptyDir at {root}/run/vigil" in err
    proc = run('mount -t tmpfs -o mode=0777 emptydir "$1/run/vigil"', pools.workdir / "rw.err")
    log = VigilLog(pools.workdir / "rw.err")
    log.wait("worker_ready")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0, log.summary()
