"""The bundle (scripts/make-bundle.sh) and the static core in a root filesystem with no libc.

The root filesystem holds busybox-static, the bundle at /opt/vigil, /etc/passwd and /etc/group
with a user the host does not have, a static sd_notify worker (tests/helpers/notifystatus.c),
and the device nodes a container runtime gives every container (/dev/null, /dev/zero,
/dev/urandom). No libc, no loader anywhere but inside the bundle: the test checks that first.
Vigil runs as PID 1 of new PID, mount and network namespaces rooted there (`unshare --root`);
the bundle's vigilctl runs in the same root filesystem (`chroot`) and talks to it through the
control socket, as `kubectl exec` would. Must run as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VIGIL_BUILD_DIR", REPO / "build"))
NOTIFY_HELPER = Path(os.environ.get("VIGIL_NOTIFY_HELPER",
                                    BUILD / "tests" / "helpers" / "notifystatus-static"))
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
TIMEOUT = 30.0

# Users of the root filesystem only: the host has no such names, so nothing but the rootfs's
# own /etc/passwd and /etc/group can resolve them.
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "vigilbundleapp:x:4242:4242:bundle test user:/home/app:/bin/sh\n")
GROUP = "root:x:0:\nvigilbundleapp:x:4242:\nvigilbundleextra:x:4343:vigilbundleapp\n"


def wait_for(predicate, timeout=TIMEOUT, what=""):
    """Polls predicate until it returns a truthy value; `what` (text, or a function giving it
    at the timeout, such as Vigil's stderr) says what it was waiting for."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {said or predicate}")
        time.sleep(0.01)  # polling interval of the condition, not a settling delay


def is_static(path: Path) -> bool:
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True).stdout
    return "INTERP" not in out


def make_rootfs(root: Path, bundle: bool) -> None:
    """busybox-static, /etc, /dev, /tmp; the bundle at /opt/vigil or the static vigil alone."""
    root.chmod(0o755)  # mkdtemp's 0700 would keep a pool's user out of /run/vigil/notify
    for d in ("bin", "etc", "dev", "tmp", "run", "proc", "usr/local/bin", "home/app"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    assert is_static(root / "bin" / "busybox"), f"{BUSYBOX} is not static: install busybox-static"
    subprocess.run([CHROOT, str(root), "/bin/busybox", "--install", "-s", "/bin"], check=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    os.chown(root / "home" / "app", 4242, 4242)
    for name, minor in (("null", 3), ("zero", 5), ("urandom", 9)):
        os.mknod(root / "dev" / name, 0o20666, os.makedev(1, minor))
        (root / "dev" / name).chmod(0o666)
    shutil.copy2(NOTIFY_HELPER, root / "usr" / "local" / "bin" / "notifystatus")
    if bundle:
        subprocess.run([str(REPO / "scripts" / "make-bundle.sh"), str(root / "opt" / "vigil"),
                        str(BUILD)], check=True)
    else:
        (root / "opt" / "vigil" / "bin").mkdir(parents=True)
        shutil.copy2(BUILD / "agent" / "vigil", root / "opt" / "vigil" / "bin" / "vigil")
    # Nothing that could serve as a libc or a loader outside the bundle's own lib/.
    strays = [str(p.relative_to(root)) for p in root.rglob("*")
              if (".so" in p.name or p.name.startswith("ld-")) and
              not str(p.relative_to(root)).startswith("opt/vigil/lib/")]
    assert not strays, f"the root filesystem holds libraries: {strays}"
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink() and not str(p).startswith(str(root / "opt" / "vigil")):
            head = p.read_bytes()[:4]
            if head == b"\x7fELF":
                assert is_static(p), f"{p} is dynamically linked"


@pytest.fixture(scope="module")
def rootfs():
    root = Path(tempfile.mkdtemp(prefix="vigil-bundle-root-"))
    try:
        make_rootfs(root, bundle=True)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def bare_rootfs():
    root = Path(tempfile.mkdtemp(prefix="vigil-static-root-"))
    try:
        make_rootfs(root, bundle=False)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Pid1:
    """vigil as PID 1 of new PID, mount and network namespaces rooted at `root`."""

    def __init__(self, root: Path, args: list[str], program: str = "/opt/vigil/bin/vigil"):
        self.root = root
        self.err_path = root / "tmp" / f"vigil-stderr-{time.monotonic_ns()}"
        with open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                [UNSHARE, "--pid", "--fork", "--mount", "--net", f"--root={root}",
                 "--mount-proc", "--kill-child", program, *args],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                env={"PATH": "/bin:/usr/local/bin", "HOME": "/"})

    def pid(self) -> int:
        """vigil's pid on the host: unshare's only child."""
        def child():
            try:
                kids = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text()
            except OSError:
                return None
            return int(kids.split()[0]) if kids.split() else None
        return wait_for(child, what="vigil to start under unshare")

    def until(self, predicate):
        """predicate, for wait_for, that fails at once if vigil has exited meanwhile."""
        def check():
            if self.popen.poll() is not None:
                raise AssertionError(f"vigil exited {self.popen.returncode}:\n{self.stderr()}")
            return predicate()
        return check

    def signal(self, signo: int) -> None:
        os.kill(self.pid(), signo)

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vigil did not exit within {timeout}s; stderr:\n{self.stderr()}")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(TIMEOUT)


def vigilctl(root: Path, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """The bundle's vigilctl, inside the root filesystem (its loader is /opt/vigil/lib/...)."""
    return subprocess.run([CHROOT, str(root), "/opt/vigil/bin/vigilctl", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/bin", "HOME": "/"})


def write_config(root: Path, pools: str) -> str:
    (root / "etc" / "vigil.yaml").write_text(
        "drain:\n  grace_period: 20s\n  safety_margin: 3s\n  propagation_delay: 0s\n"
        "control:\n  metrics_address: 127.0.0.1:9180\n"
        "pools:\n" + pools)
    return "/etc/vigil.yaml"


def test_the_bundle_holds_its_loader_and_libraries(rootfs):
    """bin/ and lib/ as the brief fixes them; the dynamic binaries point into /opt/vigil."""
    bundle = rootfs / "opt" / "vigil"
    assert sorted(p.name for p in (bundle / "bin").iterdir()) == \
        ["dumb-init", "tini", "vigil", "vigil-control", "vigilctl"]
    for name in ("tini", "dumb-init"):  # drop-in names for the same binary (docs/compat.md)
        assert os.readlink(bundle / "bin" / name) == "vigil"
    assert is_static(bundle / "bin" / "vigil")
    for name in ("vigil-control", "vigilctl"):
        interp = subprocess.run(["patchelf", "--print-interpreter", str(bundle / "bin" / name)],
                                capture_output=True, text=True, check=True).stdout.strip()
        assert interp.startswith("/opt/vigil/lib/ld-linux"), interp
        assert (rootfs / interp.lstrip("/")).exists()
    libs = {p.name for p in (bundle / "lib").iterdir()}
    assert "libc.so.6" in libs and any(n.startswith("libgrpc++") for n in libs), libs


def test_pool_status_drain_and_sigterm_in_a_busybox_rootfs(rootfs):
    """A pool of 2 (sd_notify READY=1), vigilctl status, drain --wait, SIGTERM: exit 0."""
    config = write_config(rootfs, "  - name: web\n"
                                  "    command: [/usr/local/bin/notifystatus, '5']\n"
                                  "    replicas: 2\n"
                                  "    readiness: {mode: notify}\n")
    vigil = Pid1(rootfs, ["--config", config])
    try:
        sock = rootfs / "run" / "vigil" / "control.sock"
        wait_for(vigil.until(sock.exists), what=lambda: f"{sock}; vigil's stderr:\n{vigil.stderr()}")
        ready = vigilctl(rootfs, "wait-ready", "--timeout", "30s", timeout=40)
        assert ready.returncode == 0, (ready.stdout, ready.stderr, vigil.stderr())
        status = vigilctl(rootfs, "status")
        assert status.returncode == 0, (status.stdout, status.stderr)
        assert "web" in status.stdout and status.stdout.count("ready") >= 2, status.stdout
        drain = vigilctl(rootfs, "drain", "--wait", "--timeout", "30s", timeout=40)
        assert drain.returncode == 0, (drain.stdout, drain.stderr, vigil.stderr())
        assert "drained: every worker ended gracefully" in drain.stdout, drain.stdout
        assert vigil.popen.poll() is None  # drained by the API: stays up for the stop signal
        vigil.signal(signal.SIGTERM)
        assert vigil.wait() == 0, vigil.stderr()
    finally:
        vigil.kill()


def test_a_pool_user_from_the_rootfs_passwd(rootfs):
    """user: a name only the rootfs's /etc/passwd knows: the static core resolves it without
    NSS, with its primary and supplementary groups from the rootfs's /etc/group."""
    out = rootfs / "tmp" / "creds"
    out.unlink(missing_ok=True)
    config = write_config(
        rootfs, "  - name: app\n"
                "    user: vigilbundleapp\n"
                "    command: [/bin/sh, -c, 'grep -E \"^(Uid|Gid|Groups)\" /proc/self/status"
                " > /tmp/creds.part && mv /tmp/creds.part /tmp/creds &&"
                " exec /usr/local/bin/notifystatus 5']\n"
                "    readiness: {mode: notify}\n")
    vigil = Pid1(rootfs, ["--config", config])
    try:
        wait_for(vigil.until(out.exists), what=lambda: f"{out}; vigil's stderr:\n{vigil.stderr()}")
        creds = {line.split(":")[0]: line.split(":")[1].split() for line in
                 out.read_text().splitlines()}
        assert creds["Uid"] == ["4242"] * 4, creds
        assert creds["Gid"] == ["4242"] * 4, creds
        assert sorted(creds["Groups"]) == ["4242", "4343"], creds
        assert out.stat().st_uid == 4242
        ready = vigilctl(rootfs, "wait-ready", "--timeout", "30s", timeout=40)
        assert ready.returncode == 0, (ready.stdout, ready.stderr, vigil.stderr())
        vigil.signal(signal.SIGTERM)
        assert vigil.wait() == 0, vigil.stderr()
    finally:
        vigil.kill()


def test_a_user_missing_from_the_rootfs_passwd_is_a_clear_usage_error(rootfs):
    """A user the host has (root's daemon, say) but the rootfs does not: exit 2 naming the file
    it was looked up in: the rootfs's, not the host's."""
    config = write_config(rootfs, "  - name: app\n"
                                  "    user: daemon\n"
                                  "    command: [/bin/true]\n")
    vigil = Pid1(rootfs, ["--config", config])
    try:
        assert vigil.wait() == 2, vigil.stderr()
        assert "no such user 'daemon' in /etc/passwd" in vigil.stderr(), vigil.stderr()
    finally:
        vigil.kill()


def test_static_vigil_alone_exit_codes(bare_rootfs):
    """Only busybox and the static vigil: CMD's exit status, 127 for a missing command."""
    assert not (bare_rootfs / "opt" / "vigil" / "lib").exists()
    assert Pid1(bare_rootfs, ["--", "/bin/sh", "-c", "exit 3"]).wait() == 3
    missing = Pid1(bare_rootfs, ["--", "/no/such/command"])
    assert missing.wait() == 127, missing.stderr()


def test_static_vigil_alone_forwards_signals(bare_rootfs):
    """SIGUSR1 reaches CMD (its trap exits 42); SIGTERM kills a CMD with no trap: 143."""
    flag = bare_rootfs / "tmp" / "trapped"
    vigil = Pid1(bare_rootfs, ["--", "/bin/sh", "-c",
                               "trap 'exit 42' USR1; touch /tmp/trapped;"
                               " while :; do sleep 0.05; done"])
    try:
        wait_for(vigil.until(flag.exists), what=lambda: f"{flag}; vigil's stderr:\n{vigil.stderr()}")
        vigil.signal(signal.SIGUSR1)
        assert vigil.wait() == 42, vigil.stderr()
    finally:
        vigil.kill()
    flag2 = bare_rootfs / "tmp" / "sleeping"
    vigil = Pid1(bare_rootfs, ["--", "/bin/sh", "-c", "touch /tmp/sleeping; exec sleep 600"])
    try:
        wait_for(vigil.until(flag2.exists), what=lambda: f"{flag2}; vigil's stderr:\n{vigil.stderr()}")
        # sleep is exec'd after the touch: wait until CMD is sleep itself, not the shell.
        pid = vigil.pid()
        wait_for(lambda: any(Path(f"/proc/{k}/comm").read_text().strip() == "sleep"
                             for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()),
                 what="CMD to exec sleep")
        vigil.signal(signal.SIGTERM)
        assert vigil.wait() == 143, vigil.stderr()
    finally:
        vigil.kill()


def test_the_bundle_in_place_of_tini_in_a_busybox_rootfs(rootfs):
    """`tini -g --` from the bundle, in an image with no libc, keeps tini's meaning: the signal
    goes to CMD's whole process group. CMD's background subshell records the SIGTERM it gets;
    CMD itself waits for that subshell in its own trap and exits 7. Without -g the subshell is
    never signalled and CMD waits for ever."""
    ready, got = rootfs / "tmp" / "ready", rootfs / "tmp" / "got-term"
    script = ("trap 'wait; exit 7' TERM;"
              " (trap 'touch /tmp/got-term; exit 0' TERM; touch /tmp/ready;"
              "  while :; do sleep 0.05; done) &"
              " wait")
    tini = Pid1(rootfs, ["-g", "--", "/bin/sh", "-c", script], program="/opt/vigil/bin/tini")
    try:
        wait_for(tini.until(ready.exists), what=lambda: f"{ready}; stderr:\n{tini.stderr()}")
        tini.signal(signal.SIGTERM)
        assert tini.wait() == 7, tini.stderr()
        assert got.exists(), "the subshell in CMD's group never got SIGTERM"
    finally:
        tini.kill()
