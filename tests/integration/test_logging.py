"""Logging: quiet by default, text or JSON lines on stderr, verbosity by flag or environment."""

import json
import re
import signal

import pytest

from vigiltest import start_recorded

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"trace", "debug", "info", "warning", "error", "critical"}


def json_lines(text):
    """Every stderr line parsed as JSON (fails on the first line that is not)."""
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        assert {"time", "level", "msg"} <= record.keys(), record
        assert ISO_TIME.match(record["time"]), record
        assert record["level"] in LEVELS, record
    return records


@pytest.mark.parametrize("cmd", [["true"], ["sh", "-c", "exit 3"], ["sh", "-c", "kill -TERM $$"]],
                         ids=" ".join)
def test_default_is_quiet(run, cmd):
    """A run that goes as expected, whatever CMD's status, prints nothing of vigil's own."""
    result = run(["--", *cmd])
    assert (result.stdout, result.stderr) == ("", "")


JSON_SETTINGS = {
    "flags": (["--log-format", "json", "-v"], {}),
    "long flags": (["--log-format=json", "--log-level=info"], {}),
    "environment": ([], {"VIGIL_LOG_FORMAT": "json", "VIGIL_LOG_LEVEL": "info"}),
}


@pytest.mark.parametrize("args,env", JSON_SETTINGS.values(), ids=JSON_SETTINGS.keys())
def test_json_lines(run, args, env):
    """JSON logging gives one valid object a line with time, level and msg, via flags or env."""
    result = run([*args, "--", "sh", "-c", "exit 3"], env=env)
    assert result.code == 3
    records = json_lines(result.stderr)
    assert len(records) >= 2
    assert {r["level"] for r in records} == {"info"}
    assert "'sh'" in records[0]["msg"]
    assert "exit status 3" in records[-1]["msg"]


def test_json_escapes_the_message(run):
    """Quotes, backslashes and control characters in a message still make valid JSON."""
    cmd = '/nonexistent/a "quoted"\\name\twith\ncontrol'
    result = run(["--log-format", "json", "--", cmd])
    assert result.code == 127
    (record,) = json_lines(result.stderr)
    assert record["level"] == "error"
    assert f"'{cmd}'" in record["msg"]


@pytest.mark.parametrize("verbosity,debug", [("-v", False), ("-vv", True), ("-vvv", True)])
def test_verbosity(start, helpers, tmp_path, verbosity, debug):
    """-v logs at info, -vv and -vvv add debug lines such as the forwarding of a signal."""
    vigil, _ = start_recorded(start, helpers, tmp_path, ["--log-format", "json", verbosity])
    vigil.signal(signal.SIGUSR1)
    assert vigil.wait() == 128 + signal.SIGUSR1
    records = json_lines(vigil.stderr)
    forwarded = [r for r in records if r["level"] == "debug" and "SIGUSR1" in r["msg"]]
    assert bool(forwarded) == debug, records
    assert "info" in {r["level"] for r in records}


def test_text_format(run):
    """The default text format prefixes each line with 'vigil: LEVEL: '."""
    result = run(["-v", "--", "true"])
    lines = result.stderr.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("vigil: info: ") for line in lines), lines


def test_flag_beats_environment(run):
    """--log-level off silences the info level asked for by VIGIL_LOG_LEVEL."""
    result = run(["--log-level", "off", "--", "/nonexistent/cmd"], env={"VIGIL_LOG_LEVEL": "info"})
    assert (result.code, result.stderr) == (127, "")
