"""Vigil as a drop-in tini: invoked as `tini` (or `vigil --compat tini`), it takes tini's flags,
variables, defaults and exit codes. One test for each behaviour tini's own test suite checks
(exit-code remapping, reaping and -w, signals and 128+N, -g and TINI_KILL_PROCESS_GROUP, the
child's inherited signal mask and ignored signals, -p, the command-line exit codes), plus tini's
exit as soon as its child exits."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from compattest import tool_links
from vigiltest import (UNSHARE, Record, children_of, is_running, parse_report, status_field,
                       wait_for)

S = signal.Signals


@pytest.fixture
def links(vigil_bin, tmp_path):
    return tool_links(vigil_bin, tmp_path / "bin")


@pytest.fixture
def tini(links, start):
    """tini(ARGS, **kw) -> VigilProcess: vigil started as `tini ARGS` in this test's mode."""
    return lambda args, **kw: start(list(args), program=links["tini"], **kw)


@pytest.fixture
def run_tini(links, run):
    return lambda args, **kw: run(list(args), program=links["tini"], **kw)


def test_build_links_tini_and_dumb_init_next_to_vigil(vigil_bin):
    """The build leaves tini and dumb-init symlinks beside vigil, as an image would ship them."""
    for name in ("tini", "dumb-init"):
        link = Path(vigil_bin).parent / name
        assert link.is_symlink(), f"{link} missing"
        assert link.resolve() == Path(vigil_bin).resolve()


# ---- Exit codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 2, 3, 126, 127, 128, 143, 254, 255])
def test_remapped_exit_code_becomes_zero(run_tini, code):
    """-e CODE: the child's exit code CODE is reported as 0."""
    assert run_tini(["-e", str(code), "--", "sh", "-c", f"exit {code}"]).code == 0


@pytest.mark.parametrize("code", [0, 1, 77, 255])
def test_other_exit_codes_pass_through_with_posixly_correct(run_tini, code):
    """Every other code remapped, CODE itself is not; with POSIXLY_CORRECT no -- is needed."""
    remap = [arg for other in range(256) if other != code for arg in ("-e", str(other))]
    result = run_tini([*remap, "sh", "-c", f"exit {code}"], env={"POSIXLY_CORRECT": "1"})
    assert result.code == code, result.stderr


def test_killed_child_gives_128_plus_signal_and_can_be_remapped(run_tini):
    assert run_tini(["--", "sh", "-c", "kill -USR1 $$"]).code == 128 + S.SIGUSR1
    assert run_tini(["-e", "143", "--", "sh", "-c", "kill -TERM $$"]).code == 0


def test_command_options_need_the_double_dash_as_with_tini(run_tini):
    """GNU getopt permutes: an option after the command is tini's own, an unknown one an error."""
    result = run_tini(["sh", "-c", "exit 3"])
    assert result.code == 1
    assert "invalid option -- 'c'" in result.stderr
    assert run_tini(["sh", "-c", "exit 3"], env={"POSIXLY_CORRECT": "y"}).code == 3


# ---- Signals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("signo", [S.SIGTERM, S.SIGUSR1, S.SIGUSR2])
def test_signal_reaches_the_child_and_sets_the_exit_code(tini, signo):
    """A signal to tini is forwarded; the child dies of it and tini exits 128+N."""
    vigil = tini(["--", "sleep", "100"])
    wait_for(lambda: children_of(vigil.pid), what="sleep to start")
    vigil.signal(signo)
    assert vigil.wait() == 128 + signo


def test_terminal_stop_signals_are_neither_forwarded_nor_obeyed(tini, helpers, tmp_path):
    """tini ignores SIGTTIN and SIGTTOU itself: they are not forwarded; the next signal is."""
    record = Record(tmp_path / "record")
    vigil = tini(["--", *helpers.recorder(record.path, keep=[S.SIGTTIN, S.SIGTTOU, S.SIGHUP])])
    record.wait_ready()
    vigil.signal(S.SIGTTIN)
    vigil.signal(S.SIGTTOU)
    vigil.signal(S.SIGHUP)
    assert record.wait_signals(1) == [S.SIGHUP]
    assert vigil.running()
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGTERM
    assert record.signals == [S.SIGHUP, S.SIGTERM]


GROUP_VARIANTS = {
    "-g": (["-g"], {}, True),
    "TINI_KILL_PROCESS_GROUP=1": ([], {"TINI_KILL_PROCESS_GROUP": "1"}, True),
    "TINI_KILL_PROCESS_GROUP=": ([], {"TINI_KILL_PROCESS_GROUP": ""}, True),
    "default": ([], {}, False),
    "VIGIL_PGROUP=1 is not tini's": ([], {"VIGIL_PGROUP": "1"}, False),
}


@pytest.mark.parametrize("args,env,to_group", GROUP_VARIANTS.values(), ids=GROUP_VARIANTS.keys())
def test_signal_target(tini, helpers, tmp_path, mode, args, env, to_group):
    """With -g (or TINI_KILL_PROCESS_GROUP set to anything) the child's whole group gets the
    signal; without, the child alone, and the rest gets nothing from tini when it exits."""
    a, b = Record(tmp_path / "a"), Record(tmp_path / "b")
    keep = "-k 1"  # SIGHUP, sent below to show the grandchildren still run and heard nothing.
    script = f'"$0" {keep} {a.path} & "$0" {keep} {b.path} & wait'
    vigil = tini([*args, "--", "sh", "-c", script, helpers.sigrecord], env=env)
    a.wait_ready()
    b.wait_ready()
    vigil.signal(S.SIGUSR1)
    assert vigil.wait() == 128 + S.SIGUSR1  # The shell dies of SIGUSR1 either way.
    if to_group and mode == "subreaper":
        assert (a.wait_signals(1), b.wait_signals(1)) == ([S.SIGUSR1], [S.SIGUSR1])
    elif to_group:
        # tini exits as soon as the shell is gone: as PID 1 that may SIGKILL the others
        # before they wrote down the SIGUSR1 they got.
        assert set(a.signals + b.signals) <= {S.SIGUSR1}
    elif mode == "subreaper":
        # tini exits with its child and signals no one: the grandchildren live on, untouched.
        for record in (a, b):
            os.kill(record.pid, S.SIGHUP)
            assert record.wait_signals(1) == [S.SIGHUP]
    else:
        # As PID 1 its exit ends the namespace (the kernel's SIGKILL, before unshare sees it
        # exit): the grandchildren heard nothing from tini first.
        assert (a.signals, b.signals) == ([], [])


def test_exits_as_soon_as_the_child_does(launcher, links, helpers, tmp_path):
    """tini does not wait for the processes its child left: it exits with the child's code at
    once, leaving them running (as a subreaper) without a signal."""
    left = Record(tmp_path / "left")
    script = f'"$0" -k 15 {left.path} & until [ -s {left.path} ]; do :; done; exit 5'
    result = launcher.run(["--", "sh", "-c", script, helpers.sigrecord], pid1=False,
                          program=links["tini"])
    assert result.code == 5
    assert is_running(left.pid)
    os.kill(left.pid, S.SIGTERM)
    assert left.wait_signals(1) == [S.SIGTERM]  # The first TERM it saw is ours.


def test_vigil_kill_grace_opts_into_stopping_leftovers(launcher, links, helpers, tmp_path):
    """VIGIL_KILL_GRACE (Vigil's own) asks for Vigil's way: leftovers get SIGTERM first."""
    left = Record(tmp_path / "left")
    script = f'"$0" {left.path} & until [ -s {left.path} ]; do :; done; exit 5'
    result = launcher.run(["--", "sh", "-c", script, helpers.sigrecord], pid1=False,
                          program=links["tini"], env={"VIGIL_KILL_GRACE": "20s"})
    assert result.code == 5
    assert left.signals == [S.SIGTERM]
    assert result.elapsed < 15


# ---- Reaping ------------------------------------------------------------------------------------

ORPHANS = 20


@pytest.mark.parametrize("warn", [False, True], ids=["quiet", "-w"])
def test_orphans_are_reaped_and_w_reports_each(tini, helpers, tmp_path, warn):
    """Orphans reparented to tini are reaped (TINI_SUBREAPER or not: Vigil always is a
    subreaper); with -w each is reported as tini does, without -w nothing is said."""
    status = tmp_path / "orphans"
    args = (["-w"] if warn else []) + ["--", helpers.orphans, str(ORPHANS), str(status)]
    vigil = tini(args, env={"TINI_SUBREAPER": ""})
    wait_for(lambda: status.exists() and status.read_text() == f"ready {ORPHANS}\n",
             what="the orphans to be made")
    main = vigil.cmd_pid()
    vigil.signal(S.SIGUSR1)  # Forwarded to `orphans`, which releases them.
    wait_for(lambda: children_of(vigil.pid) == [main], what="tini to reap every orphan")
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGTERM
    warnings = vigil.stderr.count("Reaped zombie process with pid=")
    assert warnings == (ORPHANS if warn else 0), vigil.stderr
    assert "zombie reaping won't work" not in vigil.stderr


# ---- What the child inherits ----------------------------------------------------------------------

IGNORED = [S.SIGTTOU, S.SIGSEGV, S.SIGINT, S.SIGHUP]
BLOCKED = [S.SIGTTIN, S.SIGILL, S.SIGTERM]


def bit(signo):
    return 1 << (signo - 1)


def test_child_gets_the_signal_mask_and_ignored_signals_tini_was_started_with(tini, helpers):
    """tini hands its child the mask and ignored signals it was started with (so `nohup tini --
    CMD` still ignores SIGHUP), unlike Vigil's own clean slate."""
    vigil = tini(["--", helpers.selfreport, "-p"], ignore=IGNORED, block=BLOCKED)
    line = wait_for(lambda: vigil.stdout.splitlines()[:1], what="selfreport's line")[0]
    report = parse_report(line)
    ignored, blocked = int(report["sigign"], 16), int(report["sigblk"], 16)
    for signo in IGNORED:
        assert ignored & bit(signo), f"{signo.name} not ignored in the child"
    for signo in BLOCKED:
        assert blocked & bit(signo), f"{signo.name} not blocked in the child"
    assert not ignored & bit(S.SIGUSR1) and not blocked & bit(S.SIGUSR1)
    assert report["fds"] == "0,1,2"


def test_vigils_own_mode_still_gives_a_clean_slate(launcher, helpers):
    vigil = launcher.start(["--", helpers.selfreport], pid1=False, ignore=IGNORED, block=BLOCKED)
    assert vigil.wait() == 0
    report = parse_report(vigil.stdout.splitlines()[0])
    assert int(report["sigign"], 16) == 0 and int(report["sigblk"], 16) == 0


# ---- Parent death signal --------------------------------------------------------------------------

def test_p_forwards_the_parent_death_signal(launcher, links, helpers, tmp_path, mode):
    """-p SIGUSR1: when tini's parent dies, tini receives SIGUSR1 and forwards it."""
    record = Record(tmp_path / "record")
    argv = [links["tini"], "-vvv", "-p", "SIGUSR1", "--",
            *helpers.recorder(record.path, keep=[S.SIGUSR1])]
    if mode == "pid1":
        argv = [UNSHARE, "--pid", "--fork", "--mount-proc", *argv]  # unshare is the parent.
    else:
        argv = ["sh", "-c", '"$@" & wait', "sh", *argv]  # The shell is the parent.
    parent = launcher.popen(argv, stderr=subprocess.DEVNULL)
    record.wait_ready()
    parent.kill()
    parent.wait()
    assert record.wait_signals(1) == [S.SIGUSR1]


def test_p_with_an_unknown_signal_is_an_error(run_tini):
    for bad in ["USR1", "10", "SIGRTMIN"]:
        result = run_tini(["-p", bad, "--", "true"])
        assert result.code == 1
        assert "-p" in result.stderr and bad in result.stderr


# ---- Command line -------------------------------------------------------------------------------

def test_command_line_exit_codes(run_tini):
    """As tini's own tests: a bad option 1, -h 0, a command not found 127, no command 1."""
    bad = run_tini(["-z"])
    assert bad.code == 1
    assert "invalid option -- 'z'" in bad.stderr and "Usage:" in bad.stderr
    helped = run_tini(["-h"])
    assert helped.code == 0 and "Usage:" in helped.stdout and helped.stderr == ""
    assert run_tini(["zzzz"]).code == 127
    no_command = run_tini(["-w"])
    assert no_command.code == 1 and "Usage:" in no_command.stderr


def test_version_and_license(run_tini):
    version = run_tini(["--version"])
    assert version.code == 0
    assert version.stdout.startswith("tini version 0.19.0 - vigil ")
    lic = run_tini(["-l"])
    assert lic.code == 0 and lic.stdout


def test_verbosity(run_tini):
    """tini's default verbosity shows warnings only; -vv shows the child's start; TINI_VERBOSITY
    wins over -v, as in tini."""
    assert "started" not in run_tini(["--", "true"]).stderr
    assert "started" in run_tini(["-vv", "--", "true"]).stderr
    assert "started" not in run_tini(["-vv", "--", "true"], env={"TINI_VERBOSITY": "1"}).stderr
    assert "started" in run_tini(["--", "true"], env={"TINI_VERBOSITY": "3"}).stderr


def test_static_name_and_compat_flag_select_tini_too(launcher, links, vigil_bin):
    for program, prefix in [(links["tini-static"], []), (vigil_bin, ["--compat", "tini"])]:
        result = launcher.run([*prefix, "-e", "9", "-g", "--", "sh", "-c", "exit 9"], pid1=False,
                              program=program)
        assert result.code == 0, result.stderr
    unknown = launcher.run(["--compat", "runit", "--", "true"], pid1=False)
    assert unknown.code == 2 and "--compat: unknown tool 'runit'" in unknown.stderr


def test_vigils_own_command_line_is_unchanged(launcher):
    """`vigil -c FILE` stays --config; tini's -p is not vigil's."""
    result = launcher.run(["-c", "/nonexistent/vigil.yaml"], pid1=False)
    assert result.code == 2 and "/nonexistent/vigil.yaml" in result.stderr
    result = launcher.run(["-p", "SIGTERM", "--", "true"], pid1=False)
    assert result.code == 2 and "unknown option '-p'" in result.stderr
