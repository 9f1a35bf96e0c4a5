"""Vigil's exit code is CMD's: N for `exit N`, 128+N for a kill by signal N, 0 for -e codes."""

import signal

import pytest

ALL_CODES = range(256)


def test_every_exit_code_is_passed_through(launcher, mode):
    """vigil exits N when CMD exits N, for every N in 0..255."""
    codes = {n: launcher.run(["--", "sh", "-c", f"exit {n}"], pid1=mode == "pid1").code
             for n in ALL_CODES}
    assert codes == {n: n for n in ALL_CODES}


def test_acceptance_command(launcher):
    """`unshare --pid --fork --mount-proc vigil -- sh -c 'kill -TERM $$'` exits 143."""
    assert launcher.run(["--", "sh", "-c", "kill -TERM $$"], pid1=True).code == 143


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGKILL,
                                   signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGSEGV,
                                   signal.SIGABRT, signal.SIGRTMAX],
                         ids=lambda s: signal.Signals(s).name)
def test_killed_by_signal_exits_128_plus_n(run, signo):
    """vigil exits 128+N when CMD is killed by signal N."""
    result = run(["--", "sh", "-c", f"kill -{int(signo)} $$"])
    assert result.code == 128 + signo
    assert result.stderr == ""


@pytest.mark.parametrize("flag", ["-e", "--success-exit", "--remap-exit", "--success-exit="])
def test_success_exit_maps_only_that_code_to_zero(run, flag):
    """-e 3 (and its long forms) reports CMD's 3 as 0 and leaves every other code alone."""
    option = [flag + "3"] if flag.endswith("=") else [flag, "3"]
    codes = {n: run([*option, "--", "sh", "-c", f"exit {n}"]).code for n in (0, 1, 2, 3, 4, 255)}
    assert codes == {0: 0, 1: 1, 2: 2, 3: 0, 4: 4, 255: 255}


def test_success_exit_is_repeatable(run):
    """Several -e codes are each mapped to 0."""
    codes = {n: run(["-e", "3", "-e", "5", "--", "sh", "-c", f"exit {n}"]).code for n in (3, 4, 5)}
    assert codes == {3: 0, 4: 4, 5: 0}


def test_success_exit_applies_to_a_kill_by_signal(run):
    """-e 143 reports CMD killed by SIGTERM as 0, while a kill by SIGHUP stays 129."""
    assert run(["-e", "143", "--", "sh", "-c", "kill -TERM $$"]).code == 0
    assert run(["-e", "143", "--", "sh", "-c", "kill -HUP $$"]).code == 129


def test_last_words_are_out_before_the_exit(run, tmp_path):
    """The core ends with _exit(), skipping static destructors (agent/main.cc, ExitNow): its
    last log line, the termination message and stdio's text must all be out before that, and
    the exit status be CMD's."""
    message = tmp_path / "termination-log"
    message.write_text("")  # written only where it already exists, as the kubelet makes it
    result = run(["--log-format", "json", "--log-level", "info", "--", "sh", "-c", "exit 3"],
                 env={"VIGIL_TERMINATION_MESSAGE_PATH": str(message)})
    assert result.code == 3
    assert "exit status 3" in result.stderr.splitlines()[-1]
    assert message.read_text() == "vigil exited 3: main process 'sh -c exit 3' ended with status 3\n"
    # stdout is a pipe here, so stdio holds the text in its buffer until it is flushed.
    version = run(["--check", "--", "true"])
    assert (version.code, version.stdout) == (0, "single-command mode: true\n")
