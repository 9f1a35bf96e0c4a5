"""Stragglers: when CMD exits, what it left behind gets SIGTERM, then SIGKILL after --kill-grace."""

import os
import shlex
import signal
import time

import pytest

from vigiltest import Record, is_running, proc_stat, wait_for

TERM, CONT, USR1 = signal.SIGTERM, signal.SIGCONT, signal.SIGUSR1
# A straggler that records SIGTERM (and the SIGCONT that follows it) and does not exit.
STUBBORN = [TERM, CONT]


class Family:
    """vigil running a shell that starts stragglers in the background, then execs CMD, a
    sigrecord that exits 138 on SIGUSR1. Every process records what it receives."""

    def __init__(self, start, helpers, tmp_path, vigil_args=(), env=None, **stragglers):
        """stragglers: name -> (keep signals, whether daemonized with setsid)."""
        self.cmd = Record(tmp_path / "cmd")
        self.stragglers = {name: Record(tmp_path / name) for name in stragglers}
        lines = []
        for name, (keep, daemon) in stragglers.items():
            argv = ["setsid"] * daemon + ['"$0"']
            argv += [f"-k {int(s)}" for s in keep] + [shlex.quote(str(self.stragglers[name].path))]
            lines.append(" ".join(argv) + " &")
        lines.append(f'exec "$0" {shlex.quote(str(self.cmd.path))}')
        self.vigil = start([*vigil_args, "--", "sh", "-c", "\n".join(lines), helpers.sigrecord],
                           env=env)
        for record in [self.cmd, *self.stragglers.values()]:
            record.wait_ready()

    def __getitem__(self, name):
        return self.stragglers[name]

    def end_cmd(self, timeout=20.0):
        """Makes CMD exit; returns (vigil's exit code, seconds until vigil exited)."""
        started = time.monotonic()
        self.vigil.signal(USR1)
        code = self.vigil.wait(timeout)
        assert self.cmd.signals == [USR1]
        return code, time.monotonic() - started


def test_stragglers_exiting_on_term_end_vigil_promptly(start, helpers, tmp_path):
    """Leftovers (own group and setsid) get TERM; exiting on it ends vigil long before the grace."""
    family = Family(start, helpers, tmp_path, ["--kill-grace", "10s"],
                    group=((), False), daemon=((), True))
    code, elapsed = family.end_cmd()
    assert code == 128 + USR1
    assert elapsed < 5.0
    assert family["group"].signals == [TERM]
    assert family["daemon"].signals == [TERM]


@pytest.mark.parametrize("daemon", [False, True], ids=["in-group", "daemonized"])
def test_straggler_ignoring_term_is_killed_after_grace(start, helpers, tmp_path, daemon):
    """A leftover surviving TERM is SIGKILLed after --kill-grace, no sooner and not much later."""
    family = Family(start, helpers, tmp_path, ["--kill-grace", "1s"],
                    stubborn=(STUBBORN, daemon), polite=((), True))
    stubborn_pid = family.vigil.host_pid(family["stubborn"].pid)
    code, elapsed = family.end_cmd()
    assert code == 128 + USR1
    assert 1.0 <= elapsed < 2.0
    assert family["stubborn"].signals == [TERM, CONT]
    assert family["polite"].signals == [TERM]
    assert not is_running(stubborn_pid)


def test_signals_during_the_grace_are_not_forwarded(start, helpers, tmp_path):
    """Signals after CMD exited reach no leftover and neither shorten nor extend the grace."""
    family = Family(start, helpers, tmp_path, ["--kill-grace", "1s"], stubborn=(STUBBORN, False))
    started = time.monotonic()
    family.vigil.signal(USR1)
    assert family["stubborn"].wait_signals(2) == [TERM, CONT]
    for signo in (TERM, signal.SIGINT, signal.SIGHUP):
        family.vigil.signal(signo)
    assert family.vigil.wait() == 128 + USR1
    assert 1.0 <= time.monotonic() - started < 2.0
    assert family["stubborn"].signals == [TERM, CONT]


def test_stopped_straggler_is_continued_to_get_its_term(start, helpers, tmp_path):
    """A stopped leftover gets SIGCONT after SIGTERM, so it can exit on it before the grace."""
    family = Family(start, helpers, tmp_path, ["--kill-grace", "10s"], stopped=((), False))
    stopped = family.vigil.host_pid(family["stopped"].pid)
    os.kill(stopped, signal.SIGSTOP)
    wait_for(lambda: proc_stat(stopped).state == "T", what="the straggler to stop")
    code, elapsed = family.end_cmd()
    assert code == 128 + USR1
    assert elapsed < 5.0
    assert family["stopped"].signals == [TERM]


def test_subreaper_spares_unrelated_processes(launcher, helpers, tmp_path):
    """A subreaper vigil signals only its own descendants, never an unrelated process."""
    unrelated = Record(tmp_path / "unrelated")
    launcher.popen(helpers.recorder(unrelated.path))
    unrelated.wait_ready()
    family = Family(launcher.start_subreaper, helpers, tmp_path, ["--kill-grace", "500ms"],
                    stubborn=(STUBBORN, True))
    code, _ = family.end_cmd()
    assert code == 128 + USR1
    assert family["stubborn"].signals == [TERM, CONT]
    assert unrelated.signals == []
    assert is_running(unrelated.pid)


# name -> (vigil arguments, environment, expected grace in seconds)
GRACE_SETTINGS = {
    "default 5s": ([], {}, 5.0),
    "VIGIL_KILL_GRACE=1500ms": ([], {"VIGIL_KILL_GRACE": "1500ms"}, 1.5),
    "flag beats env": (["--kill-grace", "1s"], {"VIGIL_KILL_GRACE": "30s"}, 1.0),
    "--kill-grace=0 kills at once": (["--kill-grace=0"], {}, 0.0),
}


@pytest.mark.parametrize("args,env,grace", GRACE_SETTINGS.values(), ids=GRACE_SETTINGS.keys())
def test_kill_grace_setting(launcher, helpers, tmp_path, args, env, grace):
    """Grace is 5s by default, VIGIL_KILL_GRACE sets it, the flag wins; 0 means SIGKILL at once."""
    family = Family(launcher.start_pid1, helpers, tmp_path, args, env, stubborn=(STUBBORN, False))
    code, elapsed = family.end_cmd()
    """Grace is 5s by default, VIGIL_KILL_GRACE sets it, the flag wins; 0 means SIGKILL at once."""
    assert family["stubborn"].signals == ([TERM, CONT] if grace else [])
