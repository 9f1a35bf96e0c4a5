"""Command-line handling: usage errors exit 2 naming the bad input; --help and --version exit 0."""

import re

import pytest

from vigiltest import REPO

FLAGS_IN_HELP = ["-g", "--pgroup", "-r", "--rewrite", "-e", "--success-exit", "--kill-grace",
                 "--log-level", "--log-format", "-v", "-s", "--subreaper", "-h", "--help", "-V",
                 "--version", "VIGIL_PGROUP", "VIGIL_KILL_GRACE", "VIGIL_LOG_LEVEL",
                 "VIGIL_LOG_FORMAT"]

USAGE_ERRORS = {
    "no command": ([], "no command"),
    "only --": (["--"], "no command"),
    "options but no command": (["-g", "--kill-grace", "1s"], "no command"),
    "unknown long flag": (["--bogus", "--", "true"], "'--bogus'"),
    "unknown short flag": (["-x", "--", "true"], "'-x'"),
    "bad duration": (["--kill-grace", "soon", "--", "true"], "'soon'"),
    "negative duration": (["--kill-grace=-1s", "--", "true"], "'-1s'"),
    "bad duration unit": (["--kill-grace", "5parsecs", "--", "true"], "'5parsecs'"),
    "missing value": (["--kill-grace"], "--kill-grace needs a value"),
    "rewrite without colon": (["--rewrite", "TERM", "--", "true"], "'TERM'"),
    "rewrite unknown name": (["-r", "TERM:BOGUS", "--", "true"], "'BOGUS'"),
    "rewrite out of range": (["-r", "TERM:65", "--", "true"], "'65'"),
    "rewrite from zero": (["-r", "0:TERM", "--", "true"], "'0'"),
    "exit code too big": (["-e", "256", "--", "true"], "'256'"),
    "exit code not a number": (["-e", "ok", "--", "true"], "'ok'"),
    "exit code negative": (["--success-exit=-1", "--", "true"], "'-1'"),
    "bad log level": (["--log-level", "loud", "--", "true"], "'loud'"),
    "bad log format": (["--log-format", "xml", "--", "true"], "'xml'"),
    "value for a switch": (["--pgroup=1", "--", "true"], "--pgroup takes no value"),
}

ENV_ERRORS = {
    "VIGIL_KILL_GRACE": "forever",
    "VIGIL_PGROUP": "maybe",
    "VIGIL_LOG_LEVEL": "loud",
    "VIGIL_LOG_FORMAT": "xml",
}


@pytest.mark.parametrize("args,named", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_usage_error_exits_2_naming_the_problem(launcher, tmp_path, args, named):
    """A usage error exits 2 with one 'vigil: ...' line on stderr naming what is wrong."""
    result = launcher.run(args, pid1=False)
    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vigil: ")
    assert named in lines[0]


@pytest.mark.parametrize("name,value", ENV_ERRORS.items(), ids=ENV_ERRORS.keys())
def test_bad_environment_exits_2_naming_the_variable(launcher, name, value):
    """An invalid VIGIL_* variable is a usage error naming the variable and its value."""
    result = launcher.run(["--", "true"], pid1=False, env={name: value})
    assert result.code == 2
    assert name in result.stderr and f"'{value}'" in result.stderr


def test_usage_error_does_not_run_the_command(launcher, tmp_path):
    """CMD is not started when the command line is invalid."""
    marker = tmp_path / "ran"
    assert launcher.run(["--bogus", "--", "touch", str(marker)], pid1=False).code == 2
    assert not marker.exists()


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_flag(launcher, flag):
    """--help exits 0 and prints the usage with every flag and environment variable."""
    result = launcher.run([flag], pid1=False)
    assert result.code == 0
    assert result.stdout.startswith("Usage: vigil ")
    assert [f for f in FLAGS_IN_HELP if f not in result.stdout] == []
    assert result.stderr == ""


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_project_version(launcher, flag):
    """--version exits 0 and prints 'vigil X.Y.Z', the version of the CMake project."""
    version = re.search(r"project\(vigil VERSION ([0-9.]+)",
                        (REPO / "CMakeLists.txt").read_text()).group(1)
    result = launcher.run([flag], pid1=False)
    assert (result.code, result.stdout, result.stderr) == (0, f"vigil {version}\n", "")


def test_command_may_follow_options_without_double_dash(launcher):
    """The first non-option argument starts CMD; its own options are not vigil's."""
    result = launcher.run(["-g", "sh", "-c", "echo $0 $1; exit 4", "--bogus", "-e"], pid1=False)
    assert (result.code, result.stdout, result.stderr) == (4, "--bogus -e\n", "")


def test_subreaper_flag_is_accepted(launcher):
    """-s / --subreaper are accepted (tini compatibility) and change nothing."""
    assert launcher.run(["-s", "--subreaper", "--", "sh", "-c", "exit 9"], pid1=False).code == 9


@pytest.mark.parametrize("name", ["RTMAX-40", "RTMAX-31", "RTMAX-64"])
def test_rewrite_rejects_realtime_offsets_outside_the_realtime_range(launcher, name):
    """A real-time signal name whose offset leaves SIGRTMIN..SIGRTMAX is a usage error."""
    result = launcher.run(["-r", f"TERM:{name}", "--", "true"], pid1=False)
    assert result.code == 2
    assert f"'{name}'" in result.stderr
