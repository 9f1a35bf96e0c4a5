"""CMD that cannot run: 127 when not found, 126 when not executable, with a one-line error."""

import pytest


def not_executable_file(tmp_path):
    path = tmp_path / "script"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o644)
    return str(path)


def on_path_without_x(tmp_path):
    not_executable_file(tmp_path)
    return "script"


# name -> (make CMD in tmp_path, whether PATH is tmp_path, expected exit code)
CASES = {
    "absolute path missing": (lambda tmp: "/nonexistent/vigil-test-cmd", False, 127),
    "bare name not on PATH": (lambda tmp: "vigil-test-no-such-cmd", False, 127),
    "path through a file": (lambda tmp: "/etc/passwd/cmd", False, 127),
    "file without +x": (not_executable_file, False, 126),
    "directory": (str, False, 126),
    "bare name on PATH without +x": (on_path_without_x, True, 126),
}


@pytest.mark.parametrize("make_cmd,path_is_tmp,code", CASES.values(), ids=CASES.keys())
def test_exec_failure_exit_code_and_message(run, tmp_path, make_cmd, path_is_tmp, code):
    """vigil exits 127/126 with exactly one stderr line naming CMD, and nothing on stdout."""
    cmd = make_cmd(tmp_path)
    result = run(["--", cmd, "arg"], env={"PATH": str(tmp_path)} if path_is_tmp else None)
    assert result.code == code
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"'{cmd}'" in lines[0]


def test_exec_failure_is_quick(run):
    """A command that is not found makes vigil exit at once (no straggler grace period)."""
    result = run(["--kill-grace", "30s", "--", "/nonexistent/cmd"])
    assert result.code == 127
    assert result.elapsed < 2.0
