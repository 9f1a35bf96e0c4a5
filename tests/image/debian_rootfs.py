"""A Debian 12 root file system made with debootstrap, cached as a tarball.

`debootstrap --variant=minbase --include=PACKAGES bookworm DIR MIRROR` (about 100 s), the mirror
taken from /etc/apt/sources.list*; apt's lists and downloaded packages removed (what
debian:12-slim leaves out too); packed as a tarball under
${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}, named by a hash of the suite, variant and packages, so
that the next run takes a few seconds. Written to a temporary name and renamed: an interrupted
run never leaves a half tarball behind.

Warm the cache by hand (or in CI before the tests) with
  /usr/bin/python3 tests/image/debian_rootfs.py PACKAGE...
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = "bookworm"
VARIANT = "minbase"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def cache_dir() -> Path:
    configured = os.environ.get("VIGIL_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "vigil"


def apt_mirror() -> str:
    """The Debian archive this machine's apt uses (not the security one), in either the
    one-line or the deb822 format."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*")) + ["/etc/apt/sources.list"]
    for name in files:
        try:
            text = Path(name).read_text()
        except OSError:
            continue
        # One-line format: deb [options] URI SUITE COMPONENTS...
        for line in text.splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and m.group(2) == SUITE:
                return m.group(1)
        # deb822: stanzas with Types, URIs and Suites.
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            if ("deb" in fields.get("Types", "").split()
                    and SUITE in fields.get("Suites", "").split() and fields.get("URIs")):
                return fields["URIs"].split()[0]
    return DEFAULT_MIRROR


def tarball_for(packages: list[str]) -> Path:
    key = hashlib.sha256(" ".join([SUITE, VARIANT, *sorted(packages)]).encode()).hexdigest()[:16]
    return cache_dir() / f"debian-{SUITE}-{VARIANT}-{key}.tar"


def cached_rootfs(packages: list[str], log=print) -> Path:
    """The tarball of a Debian 12 minbase root file system holding `packages`; made (and
    cached) when missing."""
    tarball = tarball_for(packages)
    if tarball.is_file():
        log(f"debian rootfs: cached {tarball}")
        return tarball
    tarball.parent.mkdir(parents=True, exist_ok=True)
    mirror = apt_mirror()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="vigil-debootstrap-", dir=tarball.parent))
    try:
        rootfs = work / "rootfs"
        argv = ["debootstrap", f"--variant={VARIANT}"]
        if packages:
            argv.append("--include=" + ",".join(packages))
        argv += [SUITE, str(rootfs), mirror]
        log("debian rootfs: " + " ".join(argv))
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed ({result.returncode}):\n"
                               + result.stdout[-4000:])
        # What an image leaves out: apt's lists and the downloaded packages.
        for pattern in ("var/lib/apt/lists/*", "var/cache/apt/archives/*.deb",
                        "var/cache/apt/*.bin", "var/log/*.log", "var/log/apt/*"):
            for path in glob.glob(str(rootfs / pattern)):
                if os.path.isfile(path) and not os.path.islink(path):
                    os.unlink(path)
        partial = work / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf",
                        str(partial), "."], check=True)
        os.replace(partial, tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"debian rootfs: made {tarball} in {time.monotonic() - started:.0f} s")
    return tarball


if __name__ == "__main__":
    print(cached_rootfs(sys.argv[1:]))
