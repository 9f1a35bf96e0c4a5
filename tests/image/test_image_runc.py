"""The Vigil image, built from the Dockerfile as written and run the way Kubernetes runs it.

No container engine daemon runs here, so:
- the base image `debian:12-slim` is a Debian 12 minbase root file system made by debootstrap
  with the runtime stage's packages already in (debian_rootfs.py; cached), imported into a
  private buildah storage (vfs) under that name;
- the Dockerfile's stages after `build` are built as written (`buildah build --pull=never
  --isolation chroot`), with the `build` stage replaced by a directory holding what it leaves
  (`--build-context build=DIR`: /out/usr/bin from this build tree, /out/opt/vigil made by
  scripts/make-bundle.sh): the build stage itself needs the network and a full compile;
- the `example-gunicorn` image's root file system is exported and run with runc as the chart's
  pod runs: read-only root, uid/gid 65532, no capabilities, no new privileges, a tmpfs (an
  emptyDir) at /run/vigil, VIGIL_GRACE_PERIOD set; `runc exec` plays kubectl exec and the
  preStop hook, `runc kill TERM` the kubelet.
The same without the tmpfs must stop at start-up with a message naming /run/vigil.

Environment: VIGIL_BIN (its directory holds vigil-control; CTest sets it), VIGILCTL_BIN,
VIGIL_MAKE_BUNDLE (default scripts/make-bundle.sh), VIGIL_CACHE_DIR (the rootfs tarball).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "integration"))

from debian_rootfs import cached_rootfs  # noqa: E402
from vigiltest import wait_for  # noqa: E402

UID = 65532
GRACE = "20s"
TIMINGS: dict[str, float] = {}


def log(message: str) -> None:
    print(message, flush=True)


def run(argv, check_ok: bool = True, **kw) -> subprocess.CompletedProcess:
    """argv (str() of each) with its output captured; a failure raises unless check_ok is
    False."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    result = subprocess.run([str(a) for a in argv], **kw)
    if check_ok and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def timed(name: str):
    class Timer:
        def __enter__(self):
            self.start = time.monotonic()

        def __exit__(self, *exc):
            TIMINGS[name] = time.monotonic() - self.start
            log(f"timing: {name}: {TIMINGS[name]:.1f} s")
    return Timer()


def binaries() -> dict[str, Path]:
    vigil = Path(os.environ.get("VIGIL_BIN", REPO / "build" / "agent" / "vigil")).resolve()
    ctl = Path(os.environ.get("VIGILCTL_BIN", vigil.parent / "vigilctl")).resolve()
    found = {"vigil": vigil, "vigil-control": vigil.parent / "vigil-control", "vigilctl": ctl}
    for name, path in found.items():
        if not os.access(path, os.X_OK):
            pytest.fail(f"{name} not found at {path}: build it (or set VIGIL_BIN, VIGILCTL_BIN)")
    return found


def packages(mode: str) -> list[str]:
    out = run(["bash", REPO / "scripts" / "install-deps.sh", "--list", mode]).stdout
    return out.split()


class Buildah:
    """buildah on a private vfs storage under `work`: nothing outside it is touched."""

    def __init__(self, work: Path):
        self.base = ["buildah", "--root", work / "storage", "--runroot", work / "runroot",
                     "--storage-driver", "vfs"]

    def __call__(self, *args, **kw) -> subprocess.CompletedProcess:
        return run([*self.base, *args], **kw)

    def image_config(self, image: str) -> dict:
        info = json.loads(self("inspect", "--type", "image", image).stdout)
        return info["OCIv1"]["config"]

    def rootfs(self, image: str) -> Path:
        """The root file system of a new working container of `image` (removed with the
        storage at the end): what `buildah push` would export, without the copy."""
        container = self("from", "--pull=never", image).stdout.strip().splitlines()[-1]
        return Path(self("mount", container).stdout.strip())


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """The runtime and example-gunicorn images, built from the Dockerfile."""
    work = tmp_path_factory.mktemp("image")
    buildah = Buildah(work)
    try:
        with timed("debian rootfs (debootstrap, or the cached tarball)"):
            tarball = cached_rootfs(packages("runtime") + packages("example-gunicorn"), log=log)
        with timed("import as debian:12-slim"):
            container = buildah("from", "scratch").stdout.strip().splitlines()[-1]
            buildah("add", container, tarball, "/")
            buildah("commit", "--rm", container, "docker.io/library/debian:12-slim")
        # What the build stage leaves, made the way it makes it from this build tree: the
        # binaries stripped, installed in /out/usr/bin, and the bundle made from them.
        stage = work / "build-stage"
        tree = work / "build-tree" / "agent"
        (stage / "out" / "usr" / "bin").mkdir(parents=True)
        tree.mkdir(parents=True)
        for name, path in binaries().items():
            shutil.copy2(path, tree / name)
            run(["strip", tree / name])
            shutil.copy2(tree / name, stage / "out" / "usr" / "bin" / name)
        make_bundle = Path(os.environ.get("VIGIL_MAKE_BUNDLE",
                                          REPO / "scripts" / "make-bundle.sh"))
        if not make_bundle.is_file():
            pytest.fail(f"{make_bundle} not found: the bundle stage needs it")
        with timed("make-bundle"):
            run(["bash", make_bundle, stage / "out" / "opt" / "vigil", tree.parent])
        # One commit per stage (no --layers: with vfs each layer is a full copy). The example
        # stage is built on the runtime image just built (its FROM runtime, overridden).
        built = {"runtime": "localhost/vigil:test",
                 "example-gunicorn": "localhost/vigil-example:test"}
        contexts = {"runtime": [f"build={stage}"],
                    "example-gunicorn": [f"build={stage}",
                                         f"runtime=container-image://{built['runtime']}"]}
        for target, tag in built.items():
            with timed(f"buildah build --target {target}"):
                flags = [f for c in contexts[target] for f in ("--build-context", c)]
                buildah("build", "--pull=never", "--isolation", "chroot", *flags, "--target",
                        target, "-t", tag, "-f", REPO / "Dockerfile", REPO)
        yield buildah, built, work
    finally:
        for what in (["rm", "--all"], ["rmi", "--all", "--force"]):
            buildah(*what, check_ok=False)
        shutil.rmtree(work / "storage", ignore_errors=True)


def test_runtime_image_as_specified(images):
    """Non-root numeric user, the socket directory its own, binaries and bundle, OCI labels."""
    buildah, built, work = images
    config = buildah.image_config(built["runtime"])
    assert config["User"] == f"{UID}:{UID}", config
    assert config["Entrypoint"] == ["/usr/bin/vigil"], config
    labels = config.get("Labels", {})
    for key in ("title", "description", "version", "revision", "created", "source",
                "base.name"):
        assert f"org.opencontainers.image.{key}" in labels, labels
    assert labels["org.opencontainers.image.base.name"] == "debian:12-slim"
    rootfs = buildah.rootfs(built["runtime"])
    st = os.stat(rootfs / "run" / "vigil")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (UID, UID, 0o1777)
    for name in ("vigil", "vigil-control", "vigilctl"):
        assert os.access(rootfs / "usr" / "bin" / name, os.X_OK), name
        assert os.access(rootfs / "opt" / "vigil" / "bin" / name, os.X_OK), name
    # No build or test tooling in the runtime image, nor the script that installed its packages.
    for absent in ("usr/bin/cmake", "usr/bin/g++", "usr/bin/pytest-3"):
        assert not (rootfs / absent).exists(), absent
    assert not (rootfs / "tmp" / "install-deps.sh").exists()


class Container:
    """One runc container of an exported image, configured as the chart's pod."""

    def __init__(self, work: Path, name: str, config: dict, rootfs: Path, volume: str):
        """volume at /run/vigil: "emptydir" (what the kubelet does: a bind mount of a host
        directory of mode 0777), "tmpfs" (`docker run --read-only --tmpfs /run/vigil`: runc
        gives the tmpfs the mode of the image's directory) or "none"."""
        self.work = work
        self.id = f"vigil-image-{name}-{os.getpid()}"
        self.state_root = work / "runc-state"
        self.bundle = work / f"bundle-{name}"
        self.bundle.mkdir()
        run(["runc", "spec", "--bundle", self.bundle])
        spec = json.loads((self.bundle / "config.json").read_text())
        process = spec["process"]
        process["terminal"] = False
        user = config["User"].split(":")
        process["user"] = {"uid": int(user[0]), "gid": int(user[1])}
        process["args"] = config["Entrypoint"] + config.get("Cmd", [])
        process["env"] = config.get("Env", []) + [f"VIGIL_GRACE_PERIOD={GRACE}"]
        process["cwd"] = config.get("WorkingDir") or "/"
        # securityContext: drop ALL capabilities, no privilege escalation.
        process["capabilities"] = {k: [] for k in process["capabilities"]}
        process["noNewPrivileges"] = True
        spec["root"] = {"path": str(rootfs), "readonly": True}  # readOnlyRootFilesystem
        spec["hostname"] = name
        if volume == "emptydir":
            host_dir = work / f"emptydir-{name}"
            host_dir.mkdir()
            host_dir.chmod(0o777)
            spec["mounts"].append({"destination": "/run/vigil", "type": "bind",
                                   "source": str(host_dir),
                                   "options": ["rbind", "rw", "nosuid", "nodev"]})
        elif volume == "tmpfs":
            spec["mounts"].append({"destination": "/run/vigil", "type": "tmpfs",
                                   "source": "tmpfs", "options": ["nosuid", "nodev"]})
        else:
            assert volume == "none"
        (self.bundle / "config.json").write_text(json.dumps(spec, indent=1))
        self.out = work / f"{name}.out"
        self.popen = None

    def runc(self, *args, **kw) -> subprocess.CompletedProcess:
        return run(["runc", "--root", self.state_root, *args], **kw)

    def start(self) -> "Container":
        with open(self.out, "wb") as out:
            self.popen = subprocess.Popen(["runc", "--root", str(self.state_root), "run",
                                           "--bundle", str(self.bundle), self.id],
                                          stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT)
        return self

    def state(self) -> dict:
        result = self.runc("state", self.id, check_ok=False)
        return json.loads(result.stdout) if result.returncode == 0 else {}

    def exec(self, *args, timeout=60) -> subprocess.CompletedProcess:
        return self.runc("exec", "--user", f"{UID}:{UID}", "--env",
                         f"VIGIL_GRACE_PERIOD={GRACE}", self.id, *args, check_ok=False,
                         timeout=timeout)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def destroy(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.runc("kill", self.id, "KILL", check_ok=False)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self.runc("delete", "--force", self.id, check_ok=False)


@pytest.fixture(scope="module")
def example_rootfs(images):
    buildah, built, work = images
    image = built["example-gunicorn"]
    return buildah.image_config(image), buildah.rootfs(image)


@pytest.fixture
def container(images, example_rootfs):
    made = []

    def make(name: str, volume: str) -> Container:
        c = Container(images[2], name, example_rootfs[0], example_rootfs[1], volume)
        made.append(c)
        return c
    yield make
    for c in made:
        c.destroy()


@pytest.mark.parametrize("volume", ["emptydir", "tmpfs"])
def test_example_pool_read_only_root_non_root(container, volume):
    """Start, ready, serve, status, the preStop drain, SIGTERM: exit 0."""
    started = time.monotonic()
    pod = container(volume, volume).start()
    wait_for(lambda: pod.state().get("status") == "running" or pod.popen.poll() is not None,
             timeout=30, what="the container to run")
    init_pid = pod.state().get("pid")
    assert pod.popen.poll() is None and init_pid, pod.output()
    uid_line = next(line for line in Path(f"/proc/{init_pid}/status").read_text().splitlines()
                    if line.startswith("Uid:"))
    assert uid_line.split()[1:] == [str(UID)] * 4, uid_line
    ready = pod.exec("/usr/bin/vigilctl", "wait-ready", "--timeout", "60s", timeout=90)
    assert ready.returncode == 0, (ready.stderr, pod.output()[-3000:])
    TIMINGS[f"{volume}: container start -> ready"] = time.monotonic() - started

    # The pod's loopback up (what a CNI does), then the app answers inside the pod.
    run(["nsenter", f"--net=/proc/{init_pid}/ns/net", "ip", "link", "set", "lo", "up"])
    get = pod.exec("/usr/bin/python3", "-c",
                   "import urllib.request;"
                   "print(urllib.request.urlopen('http://127.0.0.1:8000/').read().decode())")
    assert get.returncode == 0 and get.stdout.startswith("hello from web/0 pid "), get

    status = pod.exec("/usr/bin/vigilctl", "status")
    assert status.returncode == 0 and "pool web: 1/1 ready" in status.stdout, status
    # The bundle's vigilctl (inject mode's) works against the same agent.
    bundled = pod.exec("/opt/vigil/bin/vigilctl", "health")
    assert bundled.returncode == 0 and "SERVING" in bundled.stdout, bundled
    # Nothing can be written outside the emptyDir.
    wrote = pod.exec("/bin/sh", "-c", "touch /etc/x")
    assert wrote.returncode != 0 and "Read-only file system" in wrote.stderr, wrote

    drain = pod.exec("/usr/bin/vigilctl", "drain", "--wait", timeout=60)
    assert drain.returncode == 0, (drain, pod.output()[-3000:])
    assert "every worker ended gracefully" in drain.stdout, drain
    pod.runc("kill", pod.id, "TERM")
    assert pod.popen.wait(30) == 0, pod.output()[-3000:]
    events = [json.loads(line).get("event") for line in pod.output().splitlines()
              if line.startswith("{")]
    assert events.count("control_started") == 1, "vigil-control restarted: " + pod.output()
    assert "control_listen_failed" not in events


def test_without_emptydir_it_fails_at_start_naming_run_vigil(container):
    """The same pod without the emptyDir: Vigil exits 2 at once with the path and the fix,
    not a control plane restarting in a loop."""
    pod = container("no-volume", "none").start()
    try:
        code = pod.popen.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail("still running: " + pod.output()[-3000:])
    output = pod.output()
    assert code == 2, output
    assert "/run/vigil" in output and "emptyDir at /run/vigil" in output, output
    assert "Read-only file system" in output, output
    assert "worker_started" not in output, output


def teardown_module(module):
    for name, seconds in TIMINGS.items():
        log(f"timing: {name}: {seconds:.1f} s")
