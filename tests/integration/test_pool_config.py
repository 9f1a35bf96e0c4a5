"""Configuration: every error exits 2 before anything starts, naming file:line and the field, or
the flag or variable; user/group drop privileges when Vigil is root."""

import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from vigiltest import WorkerRecords, status_field

NOTHING_STARTED = "marker"  # The file the pools' command would create.


def touch_pool(marker, extra=""):
    return ("pools:\n"
            "  - name: web\n"
            f'    command: ["/usr/bin/touch", "{marker}"]\n'
            + extra)


# (config text with {cmd} for the command line, the line the error is on, what the message says)
BAD_FILES = {
    "unknown key": (
        '{pool}    replica: 2\n', 4, r"pools\[0\] \(web\): unknown key 'replica'"),
    "wrong type": (
        '{pool}    replicas: [1, 2]\n', 4,
        r"pools\[0\] \(web\)\.replicas: expected a single value, got a list"),
    "list expected": (
        'pools:\n  - name: web\n    command: "/usr/bin/touch {marker}"\n', 3,
        r"pools\[0\] \(web\)\.command: expected a list"),
    "bad duration": (
        '{pool}    stop_timeout: soon\n', 4,
        r"pools\[0\] \(web\)\.stop_timeout: invalid duration 'soon'"),
    "bad nested duration": (
        '{pool}    backoff:\n      initial: 1s\n      max: forever\n', 6,
        r"pools\[0\] \(web\)\.backoff\.max: invalid duration 'forever'"),
    "negative replicas": (
        '{pool}    replicas: -1\n', 4,
        r"pools\[0\] \(web\)\.replicas: must be between 0 and 100000, got -1"),
    "duplicate pool names": (
        '{pool}  - name: web\n    command: ["/usr/bin/touch", "{marker}"]\n', 4,
        r"pools\[1\]\.name: duplicate pool name 'web'"),
    "empty command": (
        'pools:\n  - name: web\n    command: []\n', 3,
        r"pools\[0\] \(web\)\.command: must not be empty"),
    "bad signal": (
        '{pool}    stop_signal: SIGNOPE\n', 4, r"pools\[0\] \(web\)\.stop_signal: .*SIGNOPE"),
    "bad readiness mode": (
        '{pool}    readiness:\n      mode: psychic\n', 5,
        r"pools\[0\] \(web\)\.readiness\.mode: expected started, notify, exec, tcp or http"),
    "section not a mapping": (
        '{pool}    crash_loop: 5\n', 4,
        r"pools\[0\] \(web\)\.crash_loop: expected a mapping"),
    "unknown top-level key": (
        'on_pool_failur: keep\n{pool}', 1, r"top level: unknown key 'on_pool_failur'"),
    "bad on_pool_failure": (
        'on_pool_failure: sometimes\n{pool}', 1, r"on_pool_failure: expected exit or keep"),
    "invalid YAML": (
        'pools:\n  - name: web\n    command: ["/usr/bin/touch", "{marker}"\n    replicas: 1\n',
        None, r"invalid YAML"),
}

# Regression: errors found after parsing (ValidateConfig) used to lack the line.
BAD_FILES_NO_LINE = {
    "nonexistent user": ('{pool}    user: no-such-user-here\n', 4,
                         r"pools\[0\] \(web\)\.user: no such user 'no-such-user-here'"),
    "nonexistent group": ('{pool}    group: no-such-group-here\n', 4,
                          r"pools\[0\] \(web\)\.group: no such group 'no-such-group-here'"),
    "http readiness without port": ('{pool}    readiness:\n      mode: http\n', 5,
                                    r"pools\[0\] \(web\)\.readiness.*port"),
    "backoff max below initial": ('{pool}    backoff:\n      initial: 10s\n      max: 1s\n', 6,
                                  r"pools\[0\] \(web\)\.backoff.*max"),
    # Regression: agent-wide options checked together named the file but no line.
    "grace period within the margin": ('drain:\n  grace_period: 2s\n{pool}', 2,
                                       r"drain\.grace_period: drain\.grace_period \(2s\) must be "
                                       r"longer than drain\.safety_margin \(3s\)"),
    "api port without a token": ('control:\n  api_port: 9000\n{pool}', 2,
                                 r"control\.api_port: needs control\.token_file"),
    "http drain without its port": ('control:\n  http_drain: true\n{pool}', 2,
                                    r"control\.http_drain: needs control\.http_port"),
}


def check_nothing_started(pools, result_vigil, code):
    assert code == 2, result_vigil.stderr
    assert result_vigil.stdout == ""
    assert not (pools.workdir / NOTHING_STARTED).exists(), "a worker was started"
    lines = result_vigil.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def run_file(pools, text):
    marker = pools.workdir / NOTHING_STARTED
    config = pools.config_text(text.format(pool=touch_pool(marker), marker=marker))
    vigil, code = pools.run(config=config, pid1=False)
    return config, check_nothing_started(pools, vigil, code)


def check_file_error(config, message, line, pattern):
    where = re.escape(str(config)) + (f":{line}: " if line else r":\d+: ")
    assert re.match(r"^vigil: " + where + pattern, message), message


@pytest.mark.parametrize("text,line,pattern", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_config_file(pools, text, line, pattern):
    """A bad file exits 2, names file:line and the field, and starts nothing."""
    config, message = run_file(pools, text)
    check_file_error(config, message, line, pattern)


@pytest.mark.parametrize("text,line,pattern", BAD_FILES_NO_LINE.values(),
                         ids=BAD_FILES_NO_LINE.keys())
def test_bad_config_file_found_by_validation(pools, text, line, pattern):
    """Errors of meaning (no such user, mode without its port, ...) name file:line too."""
    config, message = run_file(pools, text)
    check_file_error(config, message, line, pattern)


def test_bad_config_file_found_by_validation_still_exits_2(pools):
    """No such user: exit 2, the file, the pool and the field named, nothing started."""
    config, message = run_file(pools, BAD_FILES_NO_LINE["nonexistent user"][0])
    assert message.startswith(f"vigil: {config}"), message
    assert "web" in message and "user" in message and "no-such-user-here" in message


TOUCH = ["--", "/usr/bin/touch", NOTHING_STARTED]  # Relative: vigil runs in the test's directory.
BAD_FLAGS = {
    "VIGIL_STOP_TIMEOUT=soon": (["--replicas", "1", *TOUCH], {"VIGIL_STOP_TIMEOUT": "soon"},
                                r"VIGIL_STOP_TIMEOUT: invalid duration 'soon'"),
    "VIGIL_REPLICAS=x": ([*TOUCH], {"VIGIL_REPLICAS": "x"},
                         r"VIGIL_REPLICAS: expected a whole number, got 'x'"),
    "VIGIL_BACKOFF_MULTIPLIER=0.5": (["--replicas", "1", *TOUCH],
                                     {"VIGIL_BACKOFF_MULTIPLIER": "0.5"},
                                     r"VIGIL_BACKOFF_MULTIPLIER: must be between 1"),
    "--replicas -1": (["--replicas", "-1", *TOUCH], {},
                      r"--replicas: must be between 0 and 100000, got -1"),
    "--restart sometimes": (["--replicas", "1", "--restart", "sometimes", *TOUCH], {},
                            r"--restart: expected always, on-failure or never, got 'sometimes'"),
    "--readiness psychic": (["--replicas", "1", "--readiness", "psychic", *TOUCH], {},
                            r"--readiness(-mode)?: expected started, notify"),
    "--on-pool-failure maybe": (["--replicas", "1", "--on-pool-failure", "maybe", *TOUCH], {},
                                r"--on-pool-failure: expected exit or keep, got 'maybe'"),
    "pool flag without --replicas": (["--stop-timeout", "5s", *TOUCH], {},
                                     r"--stop-timeout is a pool option: give --replicas N or "
                                     r"--config FILE"),
    "pool variable over a file": (["--config", "{config}"], {"VIGIL_REPLICAS": "-1"},
                                  r"VIGIL_REPLICAS: must be between 0 and 100000, got -1"),
    "missing config file": (["--config", "/nonexistent/vigil.yaml"], {},
                            r"cannot read config file '/nonexistent/vigil.yaml'"),
    "command with --config": (["--config", "{config}", *TOUCH], {},
                              r"a command after the options is not allowed with --config"),
    # Regression (issue 10, defect 9): accepted, and their sum wrapped past int64 nanoseconds:
    # workers were SIGKILLed 9 ms into a drain, or recycled 7 times in 3 s.
    "--drain-safety-margin 1500000h": (
        ["--config", "{config}", "--drain-safety-margin", "1500000h",
         "--drain-propagation-delay", "1500000h"], {},
        r"--drain-safety-margin: invalid duration '1500000h': too large: at most 87600h"),
    "--max-lifetime 2500000h": (
        ["--replicas", "1", "--max-lifetime", "2500000h", "--max-lifetime-jitter", "2499999h",
         *TOUCH], {},
        r"--max-lifetime: invalid duration '2500000h': too large: at most 87600h"),
    "VIGIL_GRACE_PERIOD=9999999h": (["--config", "{config}"], {"VIGIL_GRACE_PERIOD": "9999999h"},
                                    r"VIGIL_GRACE_PERIOD: invalid duration '9999999h': too large"),
    # Regression (issue 10, defect 11): only vigil-control noticed, and restarted forever with
    # the workers running, taking the unix socket and health with it.
    "--token-file missing": (["--config", "{config}", "--token-file", "/nonexistent/token"], {},
                             r"--token-file: control\.token_file: cannot read token file "
                             r"'/nonexistent/token': No such file or directory"),
    "VIGIL_TOKEN_FILE empty": (["--config", "{config}"], {"VIGIL_TOKEN_FILE": "/dev/null"},
                               r"VIGIL_TOKEN_FILE: control\.token_file: token file '/dev/null' "
                               r"is empty"),
    # Regression: named the file although the value that made it wrong came from a flag.
    "--grace-period within the margin": (["--config", "{config}", "--grace-period", "1s"], {},
                                         r"--grace-period: drain\.grace_period: .*must be longer"),
}


# Regression (issue 10, defect 15): a 1 MB value was echoed in a 1 MB error line.
@pytest.mark.parametrize("where", ["file", "flag", "variable"])
def test_a_huge_bad_value_is_cut_in_the_message(pools, where):
    huge = "x" * 100_000  # a single argument or variable holds at most 128 KiB
    marker = pools.workdir / NOTHING_STARTED
    args, env = [], {}
    if where == "file":
        config = pools.config_text(touch_pool(marker, f"    stop_timeout: {huge}\n"))
        args = ["--config", str(config)]
    else:
        config = pools.config_text(touch_pool(marker))
        args = ["--config", str(config)]
        if where == "flag":
            args += ["--stop-timeout", huge]
        else:
            env = {"VIGIL_STOP_TIMEOUT": huge}
    vigil, code = pools.run(args, env=env, pid1=False, json_log=False)
    message = check_nothing_started(pools, vigil, code)
    assert len(message) < 400, len(message)
    assert "invalid duration 'xxxx" in message and "...' (100000 bytes)" in message, message[:400]


@pytest.mark.parametrize("args,env,pattern", BAD_FLAGS.values(), ids=BAD_FLAGS.keys())
def test_bad_flag_or_variable(pools, args, env, pattern):
    """A bad VIGIL_* variable or flag exits 2 naming it, and starts nothing."""
    good = pools.config_text(touch_pool(pools.workdir / NOTHING_STARTED))
    args = [a.replace("{config}", str(good)) for a in args]
    vigil, code = pools.run(args, env=env, pid1=False, json_log=False)
    message = check_nothing_started(pools, vigil, code)
    assert re.match(r"^vigil: " + pattern, message), message


# Regression: the flag used to be reported as "command line: pool 'main': user: ...".
def test_bad_user_flag_names_the_flag(pools):
    """--user no-such-user names the flag, like every other bad flag."""
    vigil, code = pools.run(["--replicas", "1", "--user", "no-such-user-here", *TOUCH],
                            pid1=False, json_log=False)
    message = check_nothing_started(pools, vigil, code)
    assert message.startswith("vigil: --user: "), message


@pytest.fixture
def shared_records(pools):
    """A records directory the unprivileged worker can write (tmp_path's parents are 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="vigil-pool-user-"))
    directory.chmod(0o777)
    yield WorkerRecords(directory)
    shutil.rmtree(directory)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_user_runs_the_worker_unprivileged(pools, shared_records):
    """user: nobody (Vigil root): the worker runs with nobody's uid, gid and groups."""
    nobody = __import__("pwd").getpwnam("nobody")
    config = pools.config([{"name": "app", "command": pools.worker(), "user": "nobody",
                            "working_dir": "/", "readiness": {"mode": "notify"}}])
    # The notify directory too must be reachable by nobody (tmp_path's parents are 0700).
    vigil = pools.start(config=config, env={"WORKER_RECORDS": str(shared_records.directory),
                                            "VIGIL_NOTIFY_DIR": str(shared_records.directory /
                                                                    "notify")})
    vigil.log.wait("worker_ready")
    (run,) = shared_records.runs()
    host = vigil.host_pid(run.pid)
    uids = status_field(host, "Uid").split()
    gids = status_field(host, "Gid").split()
    assert uids == [str(nobody.pw_uid)] * 4
    assert gids == [str(nobody.pw_gid)] * 4
    assert status_field(host, "Groups").split() == [str(g) for g in sorted(set(
        [nobody.pw_gid] + os.getgrouplist("nobody", nobody.pw_gid)))]
    assert (run.start["uid"], run.start["gid"]) == (nobody.pw_uid, nobody.pw_gid)
    vigil.signal(signal.SIGTERM)  # Vigil (root) can still signal it.
    assert vigil.wait() == 0
    assert run.signals() == ["SIGTERM"]
