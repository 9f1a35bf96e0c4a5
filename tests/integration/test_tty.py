"""Terminal job control through a pseudo-terminal: foreground, ^C, ^Z, fg and bg."""

import shlex
import signal

import pytest

from vigiltest import UNSHARE, Terminal, children_of, parse_report, proc_stat, wait_for

PROMPT = "PROMPT> "
REPORT = r"pid=\S+ ppid=\S+ pgid=\S+ sid=\S+ tpgid=\S+ sigblk=\S+ sigign=\S+ fds=\S+"


@pytest.fixture
def terminal_of(launcher):
    """terminal_of(argv) -> Terminal running argv; everything in its session is killed after."""
    terminals = []

    def terminal_of(argv):
        env = launcher.env({"PS1": PROMPT, "TERM": "dumb", "HISTFILE": "/dev/null"})
        terminals.append(Terminal(argv, env))
        return terminals[-1]

    yield terminal_of
    for terminal in terminals:
        terminal.close()


@pytest.fixture
def shell(terminal_of):
    """An interactive bash with job control on its own terminal, echo off, at its prompt."""
    bash = terminal_of(["bash", "--norc", "--noprofile", "--noediting", "-i"])
    bash.expect(PROMPT)
    bash.write("stty -echo\n")
    bash.expect(PROMPT)
    assert "job control" not in bash.output, bash.output
    assert bash.foreground() == bash.pid
    return bash


def state(pid):
    """pid's state letter, or None once it is gone."""
    stat = proc_stat(pid)
    return stat and stat.state


def run_in(shell, command):
    shell.write(command + "\n")


def last_status(shell):
    """$? of the shell's last foreground job."""
    shell.write("echo RC=$?\n")
    return int(shell.expect(r"RC=(\d+)").group(1))


def the_job(shell):
    """(vigil, CMD): the shell's one child and vigil's one child, host pids."""
    (vigil,) = wait_for(lambda: children_of(shell.pid), what="the job to start")
    (cmd,) = wait_for(lambda: children_of(vigil), what="CMD to start")
    return vigil, cmd


def vigil_cmd(vigil_bin, *cmd):
    return " ".join(shlex.quote(arg) for arg in [vigil_bin, "--", *cmd])


def test_cmd_gets_the_foreground_and_ctrl_c_gives_130(shell, vigil_bin, helpers):
    """Under an interactive shell CMD owns the terminal's foreground and ^C makes vigil exit 130."""
    run_in(shell, vigil_cmd(vigil_bin, helpers.selfreport, "-p"))
    report = parse_report(shell.expect(REPORT).group(0))
    vigil, cmd = the_job(shell)
    assert int(report["pid"]) == cmd
    assert int(report["pgid"]) == cmd
    assert int(report["tpgid"]) == cmd
    assert shell.foreground() == cmd
    assert proc_stat(vigil).pgid == vigil
    shell.write(b"\x03")
    shell.expect(PROMPT)
    assert last_status(shell) == 128 + signal.SIGINT
    assert shell.foreground() == shell.pid


READ_A_LINE = 'echo READY; read x; echo "got $x"; exit 5'
SLEEP = "echo READY; exec sleep 60"


def suspend(shell, vigil_bin, script):
    """Runs `sh -c SCRIPT` as CMD and suspends it with ^Z once it is READY: (vigil, CMD)."""
    run_in(shell, vigil_cmd(vigil_bin, "sh", "-c", script))
    shell.expect("READY")
    vigil, cmd = the_job(shell)
    shell.write(b"\x1a")
    shell.expect(r"Stopped")
    shell.expect(PROMPT)
    assert (state(vigil), state(cmd)) == ("T", "T")
    assert shell.foreground() == shell.pid
    return vigil, cmd


def test_ctrl_z_suspends_and_fg_resumes(shell, vigil_bin):
    """^Z stops the job as the shell sees it; `fg` gives CMD the terminal back and it finishes."""
    vigil, cmd = suspend(shell, vigil_bin, READ_A_LINE)
    run_in(shell, "fg")
    wait_for(lambda: shell.foreground() == cmd, what="CMD to get the terminal back")
    shell.write("hello\n")
    shell.expect("got hello")
    shell.expect(PROMPT)
    assert last_status(shell) == 5


def test_bg_continues_in_the_background(shell, vigil_bin):
    """`bg` after ^Z continues CMD but leaves the terminal with the shell."""
    vigil, cmd = suspend(shell, vigil_bin, SLEEP)
    run_in(shell, "bg")
    shell.expect(PROMPT)
    wait_for(lambda: state(cmd) != "T", what="CMD to be continued")
    assert shell.foreground() == shell.pid
    # Each may still be running ('R') for a moment on a loaded machine before it sleeps again.
    wait_for(lambda: (state(shell.pid), state(vigil), state(cmd)) == ("S", "S", "S"),
             what="the shell, vigil and CMD all to sleep")


def test_background_job_does_not_take_the_terminal(shell, vigil_bin, helpers):
    """vigil started in the background (`&`) leaves the terminal's foreground to the shell."""
    run_in(shell, vigil_cmd(vigil_bin, helpers.selfreport, "-p") + " &")
    report = parse_report(shell.expect(REPORT).group(0))
    assert int(report["tpgid"]) == shell.pid
    assert shell.foreground() == shell.pid


# Regression: getpgrp() and tcgetpgrp() are both 0 for groups outside the namespace, so Vigil
# used to think it was in the foreground and gave the terminal to CMD.
def test_background_pid1_does_not_take_the_terminal(shell, vigil_bin, helpers):
    """vigil as PID 1 of a namespace, started in the background, leaves the foreground alone."""
    run_in(shell, " ".join([UNSHARE, "--pid", "--fork", "--mount-proc",
                            vigil_cmd(vigil_bin, helpers.selfreport, "-p"), "&"]))
    shell.expect(REPORT)
    assert shell.foreground() == shell.pid


def test_pid1_cmd_gets_the_foreground_and_ctrl_c_gives_130(terminal_of, vigil_bin, helpers):
    """PID-1 vigil with a terminal as stdin gives CMD the foreground; ^C makes it exit 130."""
    term = terminal_of([UNSHARE, "--pid", "--fork", "--mount-proc", vigil_bin, "--",
                        helpers.selfreport, "-p"])
    report = parse_report(term.expect(REPORT).group(0))
    assert (report["pid"], report["pgid"], report["tpgid"]) == ("2", "2", "2")
    (vigil,) = children_of(term.pid)
    (cmd,) = children_of(vigil)
    assert term.foreground() == cmd
    term.write(b"\x03")
    assert term.wait() == 128 + signal.SIGINT
