"""Signal forwarding: what vigil receives reaches CMD, once, and CMD's fate is vigil's exit code."""

import os
import signal

import pytest

from vigiltest import is_running, proc_stat, start_recorded, wait_for

S = signal.Signals
RTMIN = signal.SIGRTMIN
RTMAX = signal.SIGRTMAX

# Every signal vigil catches and forwards: 1..31 but KILL, STOP and CHLD (vigil's own) and the
# fault signals (not blocked by vigil), plus real-time signals.
FORWARDED = [S.SIGHUP, S.SIGINT, S.SIGQUIT, S.SIGUSR1, S.SIGUSR2, S.SIGPIPE, S.SIGALRM,
             S.SIGTERM, S.SIGSTKFLT, S.SIGCONT, S.SIGTSTP, S.SIGTTIN, S.SIGTTOU, S.SIGURG,
             S.SIGXCPU, S.SIGXFSZ, S.SIGVTALRM, S.SIGPROF, S.SIGWINCH, S.SIGIO, S.SIGPWR,
             RTMIN, RTMIN + 1, RTMIN + 3, RTMAX - 1, RTMAX]
FAULT = [S.SIGSEGV, S.SIGFPE, S.SIGILL, S.SIGBUS, S.SIGABRT, S.SIGTRAP, S.SIGSYS]
JOB_CONTROL_STOPS = [S.SIGTSTP, S.SIGTTIN, S.SIGTTOU]


def signal_id(signo):
    if signo >= RTMIN:
        return f"SIGRTMIN+{signo - RTMIN}"
    return S(signo).name


@pytest.mark.parametrize("signo", FORWARDED, ids=signal_id)
def test_signal_is_forwarded(start, helpers, tmp_path, signo):
    """A signal sent to vigil reaches CMD exactly once; CMD exits 128+N and so does vigil."""
    vigil, record = start_recorded(start, helpers, tmp_path)
    vigil.signal(signo)
    assert vigil.wait() == 128 + signo
    assert record.signals == [signo]


@pytest.mark.parametrize("signo", FAULT, ids=signal_id)
def test_fault_signal_is_not_forwarded_to_pid1(launcher, helpers, tmp_path, signo):
    """A fault signal sent from outside to PID-1 vigil is dropped; CMD never sees it."""
    vigil, record = start_recorded(launcher.start, helpers, tmp_path, pid1=True)
    vigil.signal(signo)
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 128 + signal.SIGTERM
    assert record.signals == [signal.SIGTERM]


@pytest.mark.parametrize("signo", FAULT, ids=signal_id)
def test_fault_signal_is_not_forwarded_by_subreaper(launcher, helpers, tmp_path, signo):
    """A fault signal is not blocked by a subreaper vigil: it kills vigil and never reaches CMD."""
    vigil, record = start_recorded(launcher.start, helpers, tmp_path, pid1=False)
    vigil.signal(signo)
    assert vigil.wait() == -signo
    assert record.signals == []
    assert is_running(record.pid)


def test_realtime_signals_are_forwarded_once_per_send(start, helpers, tmp_path):
    """Real-time signals queue: five SIGRTMIN sent to vigil are five SIGRTMIN for CMD."""
    vigil, record = start_recorded(start, helpers, tmp_path, keep=[RTMIN])
    for _ in range(5):
        vigil.signal(RTMIN)
    assert record.wait_signals(5) == [RTMIN] * 5
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 128 + signal.SIGTERM
    assert record.signals == [RTMIN] * 5 + [signal.SIGTERM]


def test_signals_are_forwarded_in_sequence(start, helpers, tmp_path):
    """CMD that survives signals gets each one it is sent, in order, and vigil stays up."""
    keep = [S.SIGHUP, S.SIGUSR2, S.SIGWINCH, S.SIGUSR1]
    vigil, record = start_recorded(start, helpers, tmp_path, keep=keep)
    for n, signo in enumerate(keep, 1):
        vigil.signal(signo)
        assert record.wait_signals(n) == keep[:n]
    assert vigil.running()
    vigil.signal(signal.SIGQUIT)
    assert vigil.wait() == 128 + signal.SIGQUIT
    assert record.signals == keep + [signal.SIGQUIT]


@pytest.mark.parametrize("stop_signal", JOB_CONTROL_STOPS, ids=signal_id)
def test_stop_signal_stops_cmd_and_cont_resumes_it(start, helpers, tmp_path, stop_signal):
    """TSTP/TTIN/TTOU sent to vigil stop CMD (not vigil); SIGCONT sent to vigil resumes CMD."""
    vigil, record = start_recorded(start, helpers, tmp_path, keep=[signal.SIGCONT],
                                   default=[stop_signal])
    cmd = vigil.host_pid(record.pid)
    vigil.signal(stop_signal)
    wait_for(lambda: proc_stat(cmd).state == "T", what="CMD to stop")
    assert proc_stat(vigil.pid).state in "SR"
    vigil.signal(signal.SIGCONT)
    assert record.wait_signals(1) == [signal.SIGCONT]
    wait_for(lambda: proc_stat(cmd).state != "T", what="CMD to continue")
    vigil.signal(signal.SIGUSR1)
    assert vigil.wait() == 128 + signal.SIGUSR1
    assert record.signals == [signal.SIGCONT, signal.SIGUSR1]


def test_signal_sent_to_pid1_from_inside_is_forwarded(launcher):
    """A process inside the namespace that signals PID 1 reaches CMD (here: itself)."""
    result = launcher.run(["--", "sh", "-c", "kill -USR1 1; exec sleep 30"], pid1=True)
    assert result.code == 128 + signal.SIGUSR1


@pytest.mark.parametrize("signo", [S.SIGINT, S.SIGQUIT, S.SIGHUP, S.SIGTERM], ids=signal_id)
def test_signal_ignored_by_vigils_parent_is_still_forwarded(start, helpers, tmp_path, signo):
    """Signals ignored by vigil's parent (nohup, a shell's `&`) are still forwarded."""
    vigil, record = start_recorded(start, helpers, tmp_path,
                                   ignore=[S.SIGINT, S.SIGQUIT, S.SIGHUP, S.SIGTERM])
    vigil.signal(signo)
    assert vigil.wait() == 128 + signo
    assert record.signals == [signo]


def test_sigpipe_from_vigils_own_output_is_not_forwarded(start, helpers, tmp_path):
    """The SIGPIPE vigil raises by logging to a broken stderr is not forwarded to CMD."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        vigil, record = start_recorded(start, helpers, tmp_path, ["-vv"], stderr=write_end)
    finally:
        os.close(write_end)
    vigil.signal(S.SIGUSR1)
    assert vigil.wait() == 128 + S.SIGUSR1
    assert record.signals == [S.SIGUSR1]
