"""-g / --pgroup / VIGIL_PGROUP=1: signals go to CMD's whole process group, else to CMD alone."""

import signal

import pytest

from vigiltest import Record

USR1 = signal.SIGUSR1
TERM = signal.SIGTERM

# name -> (vigil arguments, environment, whether the group gets the signal)
VARIANTS = {
    "-g": (["-g"], {}, True),
    "--pgroup": (["--pgroup"], {}, True),
    "VIGIL_PGROUP=1": ([], {"VIGIL_PGROUP": "1"}, True),
    "VIGIL_PGROUP=true": ([], {"VIGIL_PGROUP": "true"}, True),
    "default": ([], {}, False),
    "VIGIL_PGROUP=0": ([], {"VIGIL_PGROUP": "0"}, False),
}


@pytest.mark.parametrize("args,env,to_group", VARIANTS.values(), ids=VARIANTS.keys())
def test_signal_target(start, helpers, tmp_path, args, env, to_group):
    """With -g all of CMD's group gets USR1; without, only CMD does (the rest: straggler TERM)."""
    a, b = Record(tmp_path / "a"), Record(tmp_path / "b")
    script = f'"$0" {a.path} & "$0" {b.path} & wait'
    vigil = start([*args, "--", "sh", "-c", script, helpers.sigrecord], env=env)
    a.wait_ready()
    b.wait_ready()
    assert a.pgid == b.pgid
    vigil.signal(USR1)
    assert vigil.wait() == 128 + USR1  # The shell is killed by SIGUSR1 either way.
    assert (a.signals, b.signals) == (([USR1], [USR1]) if to_group else ([TERM], [TERM]))
