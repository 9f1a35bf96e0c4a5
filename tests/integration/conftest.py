"""Fixtures of Vigil's integration tests.

VIGIL_BIN names the binary (CTest sets it; default: build/agent/vigil in the repository) and
VIGIL_TEST_HELPERS the directory of the compiled workloads of tests/helpers/ (default:
build/tests/helpers, or compiled into a temporary directory when that does not exist, so that
`/usr/bin/python3 -m pytest tests/integration` works on its own after building vigil).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vigiltest import REPO, Helpers, Launcher, PoolLauncher

HELPER_NAMES = ("sigrecord", "selfreport", "orphans", "forkstorm", "notifystatus")


@pytest.fixture(scope="session")
def vigil_bin() -> str:
    """Absolute path of the vigil binary under test."""
    path = Path(os.environ.get("VIGIL_BIN", REPO / "build" / "agent" / "vigil")).resolve()
    if not os.access(path, os.X_OK):
        pytest.fail(f"vigil binary not found at {path}: build it or set VIGIL_BIN")
    return str(path)


@pytest.fixture(scope="session")
def helpers(tmp_path_factory) -> Helpers:
    """The compiled workloads of tests/helpers/."""
    configured = os.environ.get("VIGIL_TEST_HELPERS")
    directory = Path(configured) if configured else REPO / "build" / "tests" / "helpers"
    if all((directory / name).is_file() for name in HELPER_NAMES):
        return Helpers(directory.resolve())
    if configured:
        pytest.fail(f"VIGIL_TEST_HELPERS={configured} does not hold {HELPER_NAMES}")
    directory = tmp_path_factory.mktemp("helpers")
    compiler = shutil.which("cc") or "gcc"
    for name in HELPER_NAMES:
        subprocess.run([compiler, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(directory / name),
                        str(REPO / "tests" / "helpers" / f"{name}.c")], check=True)
    return Helpers(directory)


@pytest.fixture
def launcher(vigil_bin, tmp_path) -> Launcher:
    """Starts vigil and other processes for this test; kills every leftover afterwards."""
    launcher = Launcher(vigil_bin, tmp_path)
    yield launcher
    launcher.cleanup()


@pytest.fixture(params=["pid1", "subreaper"])
def mode(request) -> str:
    """Runs the test with vigil as PID 1 of a new PID namespace, then as a subreaper."""
    return request.param


@pytest.fixture
def start(launcher, mode):
    """start(ARGS, **kw) -> VigilProcess: vigil started in this test's mode."""
    return functools.partial(launcher.start, pid1=mode == "pid1")


@pytest.fixture
def run(launcher, mode):
    """run(ARGS, **kw) -> Completed: vigil run to completion in this test's mode."""
    return functools.partial(launcher.run, pid1=mode == "pid1")


@pytest.fixture
def pools(launcher, tmp_path) -> PoolLauncher:
    """Starts vigil in pool mode (JSON logs, workers' records in tmp_path/records)."""
    return PoolLauncher(launcher, tmp_path)
