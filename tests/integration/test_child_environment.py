"""What CMD inherits: no blocked or ignored signal, only fds 0-2, its own process group."""

import os
import signal

import pytest

from vigiltest import open_fds, parse_report, proc_stat, status_field, wait_for

ZERO_MASK = "0" * 16
# Ignored by vigil's parent. SIGTRAP is a fault signal vigil leaves alone, so it stays ignored
# in vigil itself: proof the setting really reached vigil.
IGNORED = [signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGTERM, signal.SIGCHLD,
           signal.SIGTRAP]
BLOCKED = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGSEGV]


def mask_bit(signo):
    return 1 << (signo - 1)


@pytest.fixture
def report_of(start, helpers):
    """report_of(**popen_kwargs) -> (vigil, report): selfreport as CMD, while it still runs."""
    def report_of(**kwargs):
        vigil = start(["--", helpers.selfreport, "-p"], **kwargs)
        line = wait_for(lambda: vigil.stdout.splitlines()[:1], what="selfreport's line")[0]
        return vigil, parse_report(line)
    return report_of


def assert_clean(report):
    assert report["sigblk"] == ZERO_MASK
    assert report["sigign"] == ZERO_MASK
    assert report["fds"] == "0,1,2"
    assert report["pgid"] == report["pid"]


def test_child_has_clean_signals_fds_and_own_group(report_of, mode):
    """CMD has no blocked or ignored signal, only fds 0-2, and leads a group in vigil's session."""
    vigil, report = report_of()
    assert_clean(report)
    assert int(report["ppid"]) == (1 if mode == "pid1" else vigil.pid)
    cmd = vigil.cmd_pid()
    assert cmd == vigil.host_pid(int(report["pid"]))
    assert proc_stat(cmd).sid == proc_stat(vigil.pid).sid
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 128 + signal.SIGTERM


def test_child_is_clean_when_vigil_inherited_ignored_and_blocked_signals(report_of):
    """Signals ignored or blocked by whoever started vigil are not passed on to CMD."""
    vigil, report = report_of(ignore=IGNORED, block=BLOCKED)
    assert int(status_field(vigil.pid, "SigIgn"), 16) & mask_bit(signal.SIGTRAP), \
        "precondition: vigil inherited SIGTRAP ignored"
    assert_clean(report)
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 128 + signal.SIGTERM


def test_child_is_clean_when_vigil_inherited_extra_fds(report_of, tmp_path):
    """Descriptors vigil inherited beyond 0-2 are not passed on to CMD."""
    read_end, write_end = os.pipe()
    file_fd = os.open(tmp_path / "file", os.O_CREAT | os.O_RDWR)
    extra = [read_end, write_end, file_fd]
    try:
        vigil, report = report_of(pass_fds=extra)
    finally:
        for fd in extra:
            os.close(fd)
    assert set(extra) <= set(open_fds(vigil.pid)), "precondition: vigil inherited the fds"
    assert_clean(report)
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 128 + signal.SIGTERM


def test_ignored_sigchld_does_not_lose_the_exit_code(run):
    """vigil started with SIGCHLD ignored still waits for CMD and reports its exit code."""
    result = run(["--", "sh", "-c", "exit 42"], ignore=[signal.SIGCHLD])
    assert result.code == 42


def test_child_output_passes_through(run):
    """CMD writes straight to vigil's stdout and stderr, and vigil adds nothing."""
    result = run(["--", "sh", "-c", "echo out; echo err >&2"])
    assert (result.code, result.stdout, result.stderr) == (0, "out\n", "err\n")


def test_child_gets_vigil_environment_and_arguments(run):
    """CMD gets vigil's environment and its arguments verbatim."""
    result = run(["--", "sh", "-c", 'printf "%s|" "$FOO" "$@"', "sh", "a b", "", "--x"],
                 env={"FOO": "bar baz"})
    assert (result.code, result.stdout) == (0, "bar baz|a b||--x|")


def test_closed_stdio_is_not_filled_with_vigil_descriptors(run, helpers, tmp_path):
    """With fds 0-2 closed vigil still works and none of its own fds lands in CMD's 0-2."""
    out = tmp_path / "report"
    result = run(["--", "sh", "-c", f'"$0" > {out}; exit 3', helpers.selfreport], close=[0, 1, 2])
    assert result.code == 3
    assert parse_report(out.read_text())["fds"] == "1"
