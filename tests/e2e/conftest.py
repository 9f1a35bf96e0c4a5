"""Fixtures of the kubelet-simulation tests (see kubesim.py).

VIGIL_BIN and VIGILCTL_BIN name the binaries (CTest sets them; default: build/agent/ in the
repository). vigil-control is found next to vigil. Run one file by hand with
  /usr/bin/python3 -m pytest tests/e2e/test_kubelet_prestop.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubesim import Launcher, Pod

REPO = Path(__file__).resolve().parents[2]


def _binary(variable: str, name: str) -> str:
    path = Path(os.environ.get(variable, REPO / "build" / "agent" / name)).resolve()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{name} not found at {path}: build it or set {variable}")
    return str(path)


@pytest.fixture(scope="session")
def vigil_bin() -> str:
    path = _binary("VIGIL_BIN", "vigil")
    control = Path(path).parent / "vigil-control"
    if not os.access(control, os.X_OK):
        pytest.fail(f"vigil-control not found next to vigil ({control}): build it")
    return path


@pytest.fixture(scope="session")
def vigilctl_bin() -> str:
    return _binary("VIGILCTL_BIN", "vigilctl")


@pytest.fixture
def launcher(vigil_bin, tmp_path) -> Launcher:
    """Starts vigil, vigilctl and the like for this test; kills every leftover afterwards."""
    launcher = Launcher(vigil_bin, tmp_path)
    yield launcher
    launcher.cleanup()


@pytest.fixture
def pod(launcher, vigilctl_bin, tmp_path) -> Pod:
    """A pod to start (Pod.start) with Vigil as its PID 1."""
    return Pod(launcher, vigilctl_bin, tmp_path)
