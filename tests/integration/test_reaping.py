"""Reaping: orphans reparented to vigil are reaped, however many exit at once."""

import signal

from vigiltest import all_procs, children_of, wait_for

ORPHANS = 1000


def zombies_of(pid):
    return [p.pid for p in all_procs() if p.ppid == pid and p.state == "Z"]


def start_orphans(start, helpers, tmp_path, *orphans_args):
    """vigil running `orphans`, once its ORPHANS orphans are vigil's: (vigil, status file)."""
    status = tmp_path / "orphans"
    vigil = start(["--", helpers.orphans, *orphans_args, str(ORPHANS), str(status)])
    wait_for(lambda: status.exists() and status.read_text() == f"ready {ORPHANS}\n",
             timeout=60, what="the orphans to be made")
    return vigil, status


def test_orphans_exiting_at_once_are_all_reaped(start, helpers, tmp_path):
    """1,000 orphans reparented to vigil and exiting together leave no zombie behind."""
    vigil, status = start_orphans(start, helpers, tmp_path)
    main = vigil.cmd_pid()
    assert len(children_of(vigil.pid)) == ORPHANS + 1, "the orphans were not reparented to vigil"
    vigil.signal(signal.SIGUSR1)  # Forwarded to `orphans`, which releases them all at once.
    wait_for(lambda: children_of(vigil.pid) == [main], timeout=30,
             what="vigil to reap every orphan")
    assert zombies_of(vigil.pid) == []
    assert status.read_text().endswith("released\n")
    vigil.signal(signal.SIGTERM)
    assert vigil.wait() == 128 + signal.SIGTERM


def test_main_exiting_among_exiting_orphans(start, helpers, tmp_path):
    """CMD exiting 3 while its 1,000 orphans exit too: vigil reaps them all and exits 3 promptly."""
    vigil, _ = start_orphans(start, helpers, tmp_path, "-x", "3")
    vigil.signal(signal.SIGUSR1)
    assert vigil.wait(timeout=30) == 3
    assert vigil.stderr == ""
