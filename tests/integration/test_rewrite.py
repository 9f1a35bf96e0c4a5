"""--rewrite FROM:TO: signals are rewritten before forwarding, and TO=0 drops them."""

import signal

import pytest

from vigiltest import start_recorded

S = signal.Signals


@pytest.mark.parametrize("rule", [["--rewrite", "TERM:QUIT"], ["-r", "15:3"],
                                  ["--rewrite=SIGTERM:quit"], ["-r", "sigterm:3"]], ids=" ".join)
def test_rewrite_term_to_quit(start, helpers, tmp_path, rule):
    """TERM:QUIT in any spelling (names, numbers, SIG prefix, any case) makes CMD see QUIT."""
    vigil, record = start_recorded(start, helpers, tmp_path, rule)
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGQUIT
    assert record.signals == [S.SIGQUIT]


@pytest.mark.parametrize("rule", ["USR1:0", "10:0", "SIGUSR1:0"])
def test_rewrite_to_zero_drops_the_signal(start, helpers, tmp_path, rule):
    """USR1:0 drops USR1: CMD never sees it, only the USR2 sent after it."""
    vigil, record = start_recorded(start, helpers, tmp_path, ["-r", rule])
    vigil.signal(S.SIGUSR1)
    vigil.signal(S.SIGUSR2)
    assert vigil.wait() == 128 + S.SIGUSR2
    assert record.signals == [S.SIGUSR2]


def test_rewrite_rules_are_repeatable(start, helpers, tmp_path):
    """Several rules apply together, real-time names included; unmatched signals pass as is."""
    rules = ["-r", "TERM:QUIT", "-r", "USR1:USR2", "--rewrite", "RTMIN+1:HUP",
             "-r", "RTMAX:RTMAX-2"]
    vigil, record = start_recorded(start, helpers, tmp_path, rules,
                                   keep=[S.SIGQUIT, S.SIGUSR2, signal.SIGRTMAX - 2, S.SIGWINCH])
    expected = []
    for sent, seen in [(S.SIGTERM, S.SIGQUIT), (S.SIGUSR1, S.SIGUSR2),
                       (signal.SIGRTMAX, signal.SIGRTMAX - 2), (S.SIGWINCH, S.SIGWINCH)]:
        vigil.signal(sent)
        expected.append(seen)
        assert record.wait_signals(len(expected)) == expected
    vigil.signal(signal.SIGRTMIN + 1)
    assert vigil.wait() == 128 + S.SIGHUP
    assert record.signals == expected + [S.SIGHUP]


def test_later_rule_for_the_same_signal_wins(start, helpers, tmp_path):
    """-r TERM:QUIT -r TERM:USR2: the last rule for TERM is the one applied."""
    vigil, record = start_recorded(start, helpers, tmp_path, ["-r", "TERM:QUIT", "-r", "TERM:USR2"])
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGUSR2
    assert record.signals == [S.SIGUSR2]


def test_rewrite_applies_to_the_process_group(start, helpers, tmp_path):
    """With -g the rewritten signal, not the original, is what the group receives."""
    vigil, record = start_recorded(start, helpers, tmp_path, ["-g", "-r", "TERM:WINCH"])
    vigil.signal(S.SIGTERM)
    assert vigil.wait() == 128 + S.SIGWINCH
    assert record.signals == [S.SIGWINCH]
