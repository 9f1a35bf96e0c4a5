"""Vigil as a drop-in dumb-init: invoked as `dumb-init` (or `vigil --compat dumb-init`), it takes
dumb-init's flags, variables and defaults. One test for each behaviour dumb-init's own test
suite checks: signals proxied (to the whole session by default, to the child alone with -c or
DUMB_INIT_SETSID=0), rewrites and drops, job-control signals that suspend dumb-init too, exit
statuses, SIGTERM to the session when the child exits, exec failures, the command line, the
working directory, the terminal handed to the child, and reaping."""

import os
import signal
import sys

import pytest

from compattest import tool_links
from vigiltest import Record, Terminal, children_of, is_running, proc_stat, wait_for

S = signal.Signals
SUSPEND = [S.SIGTSTP, S.SIGTTOU, S.SIGTTIN]
# Every standard signal a process can catch, but SIGCHLD and the job-control stops.
NORMAL = [s for s in range(1, 32)
          if s not in (S.SIGKILL, S.SIGSTOP, S.SIGCHLD, *SUSPEND)]


@pytest.fixture
def links(vigil_bin, tmp_path):
    return tool_links(vigil_bin, tmp_path / "bin")


@pytest.fixture(params=["setsid", "single-child"])
def setsid(request):
    """dumb-init's two modes, chosen by DUMB_INIT_SETSID as its own tests do."""
    return request.param == "setsid"


@pytest.fixture
def dumb(links, start, setsid):
    """dumb(ARGS, **kw) -> VigilProcess: `dumb-init ARGS` in this test's vigil and setsid mode."""
    def dumb(args, env=None, **kw):
        env = {"DUMB_INIT_SETSID": "1" if setsid else "0", **(env or {})}
        return start(list(args), program=links["dumb-init"], env=env, **kw)
    return dumb


@pytest.fixture
def run_dumb(links, run, setsid):
    def run_dumb(args, env=None, **kw):
        env = {"DUMB_INIT_SETSID": "1" if setsid else "0", **(env or {})}
        return run(list(args), program=links["dumb-init"], env=env, **kw)
    return run_dumb


def recorded(dumb, helpers, tmp_path, args=(), keep=NORMAL):
    record = Record(tmp_path / "record")
    vigil = dumb([*args, *helpers.recorder(record.path, keep=keep)])
    record.wait_ready()
    return vigil, record


def state(pid):
    stat = proc_stat(pid)
    return stat and stat.state


# ---- Signals ------------------------------------------------------------------------------------

def test_proxies_every_normal_signal(dumb, helpers, tmp_path):
    """Each of signals 1-31 but KILL, STOP, CHLD and the job-control stops reaches the child, the
    fault signals (SEGV, FPE, ...) included, in either vigil mode."""
    vigil, record = recorded(dumb, helpers, tmp_path)
    for count, signo in enumerate(NORMAL, start=1):
        vigil.signal(signo)
        assert record.wait_signals(count)[-1] == signo
    assert vigil.running()


REWRITES = {
    "none": ({}, [S.SIGTERM, S.SIGQUIT, S.SIGCONT, S.SIGINT],
             [S.SIGTERM, S.SIGQUIT, S.SIGCONT, S.SIGINT]),
    "one": ({S.SIGTERM: S.SIGINT}, [S.SIGTERM, S.SIGQUIT, S.SIGINT],
            [S.SIGINT, S.SIGQUIT, S.SIGINT]),
    "swap": ({S.SIGTERM: S.SIGUSR1, S.SIGUSR1: S.SIGTERM, S.SIGHUP: S.SIGHUP},
             [S.SIGUSR1, S.SIGHUP, S.SIGTERM], [S.SIGTERM, S.SIGHUP, S.SIGUSR1]),
    "bounds": ({1: 31, 31: 1}, [1, 31], [31, 1]),
}


@pytest.mark.parametrize("rules,sent,expected", REWRITES.values(), ids=REWRITES.keys())
def test_rewrites(dumb, helpers, tmp_path, rules, sent, expected):
    args = [arg for src, dst in rules.items() for arg in ("-r", f"{int(src)}:{int(dst)}")]
    vigil, record = recorded(dumb, helpers, tmp_path, args)
    for count, signo in enumerate(sent, start=1):
        vigil.signal(signo)
        record.wait_signals(count)
    assert record.signals == expected


def test_rewrite_to_zero_drops(dumb, helpers, tmp_path):
    rules = ["-r", "15:3", "--rewrite", "2:0", "--rewrite=28:0"]
    vigil, record = recorded(dumb, helpers, tmp_path, rules)
    vigil.signal(S.SIGTERM)
    vigil.signal(S.SIGINT)
    assert record.wait_signals(1) == [S.SIGQUIT]
    vigil.signal(S.SIGWINCH)
    vigil.signal(S.SIGHUP)
    assert record.wait_signals(2) == [S.SIGQUIT, S.SIGHUP]


# ---- Job control --------------------------------------------------------------------------------

@pytest.mark.parametrize("setsid", [True], ids=["setsid"])
@pytest.mark.parametrize("mode", ["subreaper"])
def test_job_control_signals_suspend_the_session_and_dumb_init(dumb, helpers, tmp_path):
    """With a session of its own the child is stopped (SIGSTOP by default) and so is dumb-init;
    SIGCONT wakes dumb-init, which passes it on."""
    vigil, record = recorded(dumb, helpers, tmp_path, keep=[S.SIGCONT])
    child = vigil.cmd_pid()
    for count, signo in enumerate(SUSPEND, start=1):
        vigil.signal(signo)
        wait_for(lambda: state(vigil.pid) == state(child) == "T", what="both to stop")
        vigil.signal(S.SIGCONT)
        assert record.wait_signals(count) == [S.SIGCONT] * count
        wait_for(lambda: state(vigil.pid) in "RS" and state(child) in "RS",
                 what="both to run again")


@pytest.mark.parametrize("setsid", [True], ids=["setsid"])
@pytest.mark.parametrize("mode", ["subreaper"])
def test_job_control_rewrites_can_be_overridden(dumb, helpers, tmp_path):
    """Rules given for TTIN, TTOU and TSTP replace the default SIGSTOP; dumb-init still stops."""
    rules = {S.SIGTTIN: S.SIGTERM, S.SIGTTOU: S.SIGINT, S.SIGTSTP: S.SIGHUP}
    args = [arg for src, dst in rules.items() for arg in ("-r", f"{int(src)}:{int(dst)}")]
    vigil, record = recorded(dumb, helpers, tmp_path, args,
                             keep=[S.SIGTERM, S.SIGINT, S.SIGHUP, S.SIGCONT])
    expected = []
    for sent, forwarded in rules.items():
        vigil.signal(sent)
        expected.append(forwarded)
        assert record.wait_signals(len(expected)) == expected
        wait_for(lambda: state(vigil.pid) == "T", what="dumb-init to stop itself")
        vigil.signal(S.SIGCONT)
        expected.append(S.SIGCONT)
        assert record.wait_signals(len(expected)) == expected
        wait_for(lambda: state(vigil.pid) in "RS", what="dumb-init to run again")


@pytest.mark.parametrize("setsid", [False], ids=["single-child"])
@pytest.mark.parametrize("mode", ["subreaper"])
def test_job_control_signals_without_setsid_are_forwarded_as_they_are(dumb, helpers, tmp_path):
    vigil, record = recorded(dumb, helpers, tmp_path, keep=[*SUSPEND, S.SIGCONT])
    expected = []
    for signo in SUSPEND:
        vigil.signal(signo)
        expected.append(signo)
        assert record.wait_signals(len(expected)) == expected
        wait_for(lambda: state(vigil.pid) == "T", what="dumb-init to stop itself")
        vigil.signal(S.SIGCONT)
        expected.append(S.SIGCONT)
        assert record.wait_signals(len(expected)) == expected
        wait_for(lambda: state(vigil.pid) in "RS", what="dumb-init to run again")


@pytest.mark.parametrize("mode", ["pid1"])
def test_job_control_signal_to_pid1_is_forwarded_and_pid1_runs_on(dumb, helpers, tmp_path,
                                                                  setsid):
    vigil, record = recorded(dumb, helpers, tmp_path, ["-r", "20:10"], keep=[S.SIGUSR1, S.SIGHUP])
    vigil.signal(S.SIGTSTP)
    assert record.wait_signals(1) == [S.SIGUSR1]
    vigil.signal(S.SIGHUP)
    assert record.wait_signals(2) == [S.SIGUSR1, S.SIGHUP]
    assert state(vigil.pid) in "RS"


# ---- The child's process group, and its exit -----------------------------------------------------

def test_signals_reach_the_session_only_with_setsid(dumb, helpers, tmp_path, setsid, mode):
    """setsid: SIGTERM reaches every process of the child's session; -c: the child alone, and
    the processes it leaves get nothing from dumb-init when it exits."""
    a, b = Record(tmp_path / "a"), Record(tmp_path / "b")
    script = f'"$0" -k 1 {a.path} & "$0" -k 1 {b.path} & wait'
    vigil = dumb(["sh", "-c", script, helpers.sigrecord])
    a.wait_ready()
    b.wait_ready()
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGTERM
    if setsid and mode == "subreaper":
        assert (a.wait_signals(1), b.wait_signals(1)) == ([S.SIGTERM], [S.SIGTERM])
    elif setsid:
        # dumb-init (and so Vigil) exits as soon as the shell is gone: as PID 1 that may
        # SIGKILL the others before they wrote down the SIGTERM they got.
        assert set(a.signals + b.signals) <= {S.SIGTERM}
    elif mode == "subreaper":
        for record in (a, b):  # Still running, and the first signal they see is this one.
            os.kill(record.pid, S.SIGHUP)
            assert record.wait_signals(1) == [S.SIGHUP]
    else:
        assert (a.signals, b.signals) == ([], [])


@pytest.mark.parametrize("mode", ["subreaper"])
def test_child_exit_sends_sigterm_to_the_session_only_with_setsid(dumb, helpers, tmp_path,
                                                                  setsid):
    """When the child exits, dumb-init sends SIGTERM to its session (setsid) and exits at once
    with the child's status; with -c it sends nothing."""
    left = Record(tmp_path / "left")
    script = f'"$0" -k 15 -k 1 {left.path} & until [ -s {left.path} ]; do :; done; exit 0'
    vigil = dumb(["sh", "-c", script, helpers.sigrecord])
    assert vigil.wait() == 0
    assert is_running(left.pid)  # It keeps running on SIGTERM; dumb-init did not wait.
    if setsid:
        assert left.wait_signals(1) == [S.SIGTERM]
    else:
        os.kill(left.pid, S.SIGHUP)
        assert left.wait_signals(1) == [S.SIGHUP]


@pytest.mark.parametrize("setsid", [True], ids=["setsid"])
@pytest.mark.parametrize("mode", ["subreaper"])
def test_exit_sigterm_follows_the_rewrite(dumb, helpers, tmp_path):
    left = Record(tmp_path / "left")
    script = f'"$0" -k 3 {left.path} & until [ -s {left.path} ]; do :; done; exit 0'
    vigil = dumb(["-r", "15:3", "sh", "-c", script, helpers.sigrecord])
    assert vigil.wait() == 0
    assert left.wait_signals(1) == [S.SIGQUIT]


# ---- Exit status --------------------------------------------------------------------------------

def test_exit_status_is_the_childs(run_dumb):
    for code in [0, 1, 2, 32, 64, 127, 254, 255]:
        assert run_dumb(["sh", "-c", f"exit {code}"]).code == code


@pytest.mark.parametrize("signo", [S.SIGTERM, S.SIGHUP, S.SIGQUIT, S.SIGKILL])
def test_exit_status_of_a_child_killed_by_a_signal(run_dumb, signo):
    script = f"import os; os.kill(os.getpid(), {int(signo)})"
    assert run_dumb([sys.executable, "-c", script]).code == 128 + signo


@pytest.mark.parametrize("args", [["/doesnotexist"], ["--", "/doesnotexist"],
                                  ["-c", "/doesnotexist"],
                                  ["--single-child", "--", "/doesnotexist"]])
def test_bad_exec_fails_and_says_why(run_dumb, args):
    result = run_dumb(args)
    assert result.code != 0
    assert "/doesnotexist" in result.stderr
    assert "No such file or directory" in result.stderr


# ---- Command line -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["subreaper"])
def test_command_line(run_dumb):
    no_args = run_dumb([])
    assert no_args.code == 1
    assert no_args.stderr.startswith("Usage: ")
    assert " [option] program [args]\nTry " in no_args.stderr
    assert no_args.stderr.endswith(" --help for full usage.\n")
    yolo = run_dumb(["--yolo", "/bin/true"])
    assert yolo.code == 1 and yolo.stderr.endswith("dumb-init: unrecognized option '--yolo'\n")
    for flag in ["-h", "--help"]:
        helped = run_dumb([flag])
        assert helped.code == 0 and helped.stdout == ""
        assert "Usage: " in helped.stderr and "--single-child" in helped.stderr
    for flag in ["-V", "--version"]:
        version = run_dumb([flag])
        assert version.code == 0 and version.stdout == ""
        assert version.stderr.startswith("dumb-init v1.2.5")
    for rule in ["", "herp", "15", "15::12", "15:derp", "1:32", "0:1"]:
        bad = run_dumb(["-r", rule, "echo", "hi"])
        assert bad.code == 1 and bad.stdout == ""
        assert bad.stderr.startswith("Usage: -r option takes <signum>:<signum>")


@pytest.mark.parametrize("mode", ["subreaper"])
@pytest.mark.parametrize("verbose", [["-v"], ["--verbose"], ["DUMB_INIT_DEBUG=1"]])
def test_verbose(run_dumb, verbose, setsid):
    env = {"DUMB_INIT_DEBUG": "1"} if verbose == ["DUMB_INIT_DEBUG=1"] else {}
    args = [] if env else verbose
    result = run_dumb([*args, "echo", "oh,", "hi"], env=env)
    assert result.code == 0
    assert result.stdout == "oh, hi\n"
    assert "started 'echo'" in result.stderr  # Vigil's own words, not dumb-init's.
    quiet = run_dumb(["echo", "oh,", "hi"])
    assert quiet.stdout == "oh, hi\n" and quiet.stderr == ""


def test_working_directories(run_dumb, tmp_path):
    """The child starts where dumb-init was started; dumb-init itself moves to /."""
    # dumb-init moves after the fork, as Vigil does: the child waits (at most ~5 s) for the move
    # instead of racing it, and prints where its parent is either way.
    result = run_dumb(["sh", "-c", 'i=0; while [ "$(readlink /proc/$PPID/cwd)" != / ] && '
                       '[ $i -lt 500 ]; do i=$((i+1)); sleep 0.01; done; '
                       'readlink /proc/$PPID/cwd && readlink /proc/$$/cwd'])
    assert result.code == 0
    assert result.stdout == f"/\n{tmp_path}\n"


def test_orphans_are_reaped(dumb, helpers, tmp_path):
    status = tmp_path / "orphans"
    vigil = dumb([helpers.orphans, "20", str(status)])
    wait_for(lambda: status.exists() and status.read_text() == "ready 20\n",
             what="the orphans to be made")
    main = vigil.cmd_pid()
    vigil.signal(S.SIGUSR1)
    wait_for(lambda: children_of(vigil.pid) == [main], what="every orphan to be reaped")
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGTERM


# ---- Terminals (dumb-init as a session leader on a pseudo-terminal, as `docker run -it`) ---------

@pytest.fixture
def terminal(launcher, links):
    terminals = []

    def terminal(args, env):
        full_env = launcher.env({"TERM": "dumb", "PS1": "$ ", **env})
        terminals.append(Terminal([links["dumb-init"], *args], full_env))
        return terminals[-1]

    yield terminal
    for t in terminals:
        t.close()


def setsid_env(setsid):
    return {"DUMB_INIT_SETSID": "1" if setsid else "0"}


def test_tty_io_passes_through(terminal, setsid):
    t = terminal(["sh", "-c", "stty -echo; echo ready; read a; read b; echo \"$b $a\""],
                 setsid_env(setsid))
    t.expect("ready")
    t.write("1\n2\n")
    t.expect("2 1")
    assert t.wait() == 0


def test_child_gets_the_terminal_with_job_control(terminal, setsid):
    t = terminal(["bash", "--norc", "--noprofile", "-m", "-i"], setsid_env(setsid))
    t.expect(r"\$ ")
    t.write('stty -echo; echo "flags are: [[$-]]"\n')
    flags = t.expect(r"flags are: \[\[([a-zA-Z]+)\]\]").group(1)
    assert "m" in flags
    assert "job control" not in t.output
    t.write("exit 0\n")
    assert t.wait() == 0


def test_terminal_hand_off_signals_are_not_forwarded(terminal, helpers, tmp_path):
    """Giving the terminal up as a session leader makes the kernel send dumb-init SIGHUP and
    SIGCONT: the child never sees those, but does see a SIGHUP sent afterwards."""
    record = Record(tmp_path / "record")
    t = terminal(helpers.recorder(record.path, keep=[S.SIGHUP, S.SIGCONT]), setsid_env(True))
    record.wait_ready()
    child = wait_for(lambda: children_of(t.pid), what="the child")[0]
    assert proc_stat(child).sid == child  # Its own session, on the terminal dumb-init gave up.
    os.kill(t.pid, S.SIGHUP)
    assert record.wait_signals(1) == [S.SIGHUP]
    os.kill(t.pid, S.SIGTERM)
    assert t.wait() == 128 + S.SIGTERM
    assert record.signals == [S.SIGHUP, S.SIGTERM]
