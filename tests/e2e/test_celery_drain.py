"""Celery under Vigil, end to end: the example (examples/celery: vigil.yaml and tasks.py, run as
they are but for the broker's address, the replicas and the grace period) drained by the
kubelet's sequence while a producer keeps enqueueing tasks, then the rollout's new pod consumes
what is left. Each test starts its own redis-server on a free loopback port.

What is asserted, from redis (the queue, the `unacked` hash of delivered but unacknowledged
messages) and from the tasks' own record (JOBS_RECORD: one line per start and per end of a run):
every task acknowledged exactly once or still queued; none lost, none run twice, none left
unacknowledged; Vigil's exit status, drain report, termination message and /metrics agree.

The graceful rollout runs with Vigil's default drain settings (only the grace period is told,
as it must be); the stragglers' tests with the example's (a 6 s safety margin). Celery
workers listen on no TCP port, so `drain.propagation_delay: auto` (the default) ends at once
(no_listener, min_delay 0 s), as a fixed 0 s would.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Optional

import pytest
import redis
import yaml
from celery import Celery

from kubesim import Kubelet, Pod, free_port, wait_for
from metrics import scrape, try_scrape

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "celery"
QUEUE = "celery"
SHORT, LONG = 0.2, 1.5  # seconds: most tasks, and every fifth one


# ---------------------------------------------------------------------------------------------
# The broker, the producer, the record


@pytest.fixture
def broker(launcher, tmp_path):
    """redis-server on a free loopback port, no persistence; yields its URL."""
    port = free_port()
    log = open(tmp_path / "redis.log", "wb")
    server = launcher.popen(["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"], stdout=log, stderr=log)
    client = redis.Redis(port=port)

    def answers():
        try:
            return client.ping()
        except redis.ConnectionError:
            assert server.poll() is None, (tmp_path / "redis.log").read_text()
            return False
    wait_for(answers, 10, "redis-server to answer")
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)
    log.close()


class Producer:
    """Enqueues tasks.process(job, seconds) from a thread, job = 0, 1, 2, ... every `period`,
    until stopped. `paused()` holds it, for a consistent look at the broker."""

    def __init__(self, url: str, period: float = 0.3, long_every: int = 5):
        self.app = Celery("producer", broker=url)
        self.period = period
        self.long_every = long_every
        self.sent: list[int] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: Optional[BaseException] = None
        self.next_job = 0

    def send(self, job: int, seconds: float) -> None:
        self.app.send_task("tasks.process", args=[job, seconds])
        self.sent.append(job)
        self.next_job = job + 1

    def seconds(self, job: int) -> float:
        return LONG if job % self.long_every == 0 else SHORT

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self.lock:
                    self.send(self.next_job, self.seconds(self.next_job))
                self._stop.wait(self.period)
        except BaseException as e:  # Seen by stop().
            self.error = e

    def start(self) -> "Producer":
        self._thread.start()
        return self

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(10)
        assert self.error is None, f"the producer failed: {self.error!r}"
        return list(self.sent)

    @contextlib.contextmanager
    def paused(self):
        with self.lock:
            yield


def queued_jobs(client: redis.Redis) -> list[int]:
    """The jobs of the messages waiting in the queue (kombu's redis message: base64 JSON body
    [args, kwargs, embed])."""
    jobs = []
    for raw in client.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        jobs.append(body[0][0])
    return jobs


def unacked_jobs(client: redis.Redis) -> list[int]:
    """Jobs delivered to a worker and not acknowledged (kombu's `unacked` hash)."""
    jobs = []
    for raw in client.hvals("unacked"):
        message = json.loads(raw)[0]
        jobs.append(json.loads(base64.b64decode(message["body"]))[0][0])
    return jobs


class Record:
    """The tasks' JSON lines (JOBS_RECORD), one file per pod."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self, event: Optional[str] = None) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            with contextlib.suppress(ValueError):  # A line being written right now.
                out.append(json.loads(line))
        return [r for r in out if event is None or r["ev"] == event]

    def jobs(self, event: str) -> Counter:
        return Counter(r["job"] for r in self.lines(event))

    def running(self) -> set[int]:
        return set(self.jobs("start") - self.jobs("done"))


# ---------------------------------------------------------------------------------------------
# The pods


def example_config(broker_url: str, replicas: int, grace: float, record: Path,
                   termination: Path, default_drain: bool = False, **pool_changes) -> dict:
    """examples/celery/vigil.yaml with the test's broker, replicas and grace period; with
    default_drain, Vigil's default drain settings instead of the example's."""
    config = yaml.safe_load((EXAMPLE / "vigil.yaml").read_text())
    if default_drain:
        config["drain"] = {}
    config["drain"]["grace_period"] = f"{grace:g}s"
    config["termination_message_path"] = str(termination)
    (celery_pool,) = config["pools"]
    celery_pool["working_dir"] = str(EXAMPLE)
    celery_pool["replicas"] = replicas
    celery_pool["env"].update({"CELERY_BROKER_URL": broker_url, "JOBS_RECORD": str(record)})
    celery_pool.update(pool_changes)
    return config


class CeleryPod:
    """A pod running the example's pool, its record, its termination message, its /metrics."""

    def __init__(self, pod: Pod, broker_url: str, replicas: int, grace: float,
                 default_drain: bool = False, **pool_changes):
        self.pod = pod
        self.replicas = replicas
        self.grace = grace
        self.record = Record(pod.workdir / "jobs.jsonl")
        self.termination = pod.workdir / "termination-log"
        self.termination.write_text("")
        self.metrics = f"127.0.0.1:{free_port()}"
        config = example_config(broker_url, replicas, grace, self.record.path, self.termination,
                                default_drain, **pool_changes)
        pod.start(config, ["--metrics-address", self.metrics])

    def wait_ready(self, timeout: float = 30.0) -> None:
        r = self.pod.ctl("wait-ready", "--timeout", f"{timeout:g}s", timeout=timeout + 5)
        assert r.code == 0, f"vigilctl wait-ready: {r}\n{self.pod.log.summary()}"
        wait_for(lambda: len(self.pod.events("worker_ready")) >= self.replicas, timeout,
                 f"{self.replicas} workers ready")
        wait_for(lambda: try_scrape(self.metrics), 10, "/metrics to answer")

    def exits(self) -> dict:
        """vigil_worker_exits_total of the pool, {(reason, code, signal): count}."""
        m = scrape(self.metrics)
        return {(s["reason"], s.get("code", ""), s.get("signal", "")): s["_value"]
                for s in m.series("vigil_worker_exits_total") if s["pool"] == "celery"}

    def termination_lines(self) -> list[str]:
        return self.termination.read_text().splitlines()

    def slot_of(self, job: int) -> int:
        (start,) = [r for r in self.record.lines("start") if r["job"] == job]
        return int(start["slot"])


def new_pod(launcher, vigilctl_bin, tmp_path, name: str) -> Pod:
    workdir = tmp_path / name
    workdir.mkdir()
    return Pod(launcher, vigilctl_bin, workdir)


def check_between_pods(client: redis.Redis, producer: Producer, old: CeleryPod) -> None:
    """With the old pod gone and the new one not there yet: nothing unacknowledged, every job
    sent either done exactly once or still queued (not both), nothing running."""
    with producer.paused():
        sent = list(producer.sent)
        queued = queued_jobs(client)
        unacked = unacked_jobs(client)
    done = old.record.jobs("done")
    assert unacked == [], f"left unacknowledged: {unacked}"
    assert old.record.running() == set(), "a task started and never ended"
    assert [j for j, n in done.items() if n > 1] == [], f"run twice: {done}"
    assert len(queued) == len(set(queued)), f"queued twice: {sorted(queued)}"
    assert set(done) & set(queued) == set(), "done and still queued"
    assert sorted(set(done) | set(queued)) == sorted(sent), "lost"


# ---------------------------------------------------------------------------------------------
# The tests


def test_rollout_drains_celery_without_losing_or_repeating_a_task(launcher, vigilctl_bin,
                                                                   tmp_path, broker):
    """3 workers busy with short and long tasks; preStop drain --wait, SIGTERM: every worker
    finishes its task (warm shutdown) and exits 0; nothing unacknowledged, every job done once
    or queued; the new pod runs the rest, each once."""
    client = redis.Redis.from_url(broker)
    grace = 15.0  # Longer than the longest task (1.5 s) and a worker's shutdown (~2-3 s).
    old = CeleryPod(new_pod(launcher, vigilctl_bin, tmp_path, "old"), broker, 3, grace,
                    default_drain=True)
    old.wait_ready()
    # About what 3 workers take: each takes its next task ~1 s after its last one ended
    # (docs/celery.md, "Throughput"), so the backlog the new pod finds stays short.
    producer = Producer(broker, period=0.6).start()
    # The pod has been at work (a few tasks done), workers busy, one with a long task.
    def busy():
        running = old.record.running()
        return running if (len(running) >= 2 and len(old.record.jobs("done")) >= 3
                           and any(producer.seconds(j) == LONG for j in running)) else None
    running = wait_for(busy, 20, f"workers busy, a long task running: {old.record.lines()}")

    kubelet = Kubelet(old.pod, grace)
    hook = kubelet.prestop()
    result = hook.wait(grace + 5)
    assert result.code == 0, f"preStop hook: {result}\n{old.pod.log.summary()}"
    assert "every worker ended gracefully" in result.stdout, result
    # The tasks running at the drain were finished by the pod, not redelivered.
    assert running <= set(old.record.jobs("done")), old.record.lines()
    drain_took = result.elapsed
    # `drain.propagation_delay: auto`, the default: Celery workers listen on no TCP port, so the
    # stop signals go at once (min_delay, 0 s by default).
    (over,) = old.pod.events("propagation_over")
    assert over["reason"] == "no_listener" and over["duration_ms"] < 500, over

    assert old.exits() == {("exited", "0", ""): 3.0}
    m = scrape(old.metrics)
    assert m.value("vigil_drains_total", trigger="prestop") == 1
    assert m.total("vigil_drain_workers_killed_total") == 0
    assert m.total("vigil_worker_restarts_total") == 0
    assert m.value("vigil_drain_propagation_ends_total", reason="no_listener") == 1
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 0, old.pod.log.summary()
    lines = old.termination_lines()
    assert lines[0].startswith("vigil exited 0: drain complete (trigger prestop, "), lines
    assert lines[1:] == ["pool celery: 3/3 ended gracefully: exited(0) x3"], lines
    for exited in old.pod.events("worker_exited"):
        assert exited["reason"] == "exited" and exited["code"] == 0, exited

    check_between_pods(client, producer, old)
    sent = producer.stop()

    # The rollout's new pod takes what is left.
    new = CeleryPod(new_pod(launcher, vigilctl_bin, tmp_path, "new"), broker, 3, grace)
    new.wait_ready()
    t_new = time.monotonic()

    def all_done():
        done = old.record.jobs("done") + new.record.jobs("done")
        return done if set(done) == set(sent) else None
    done = wait_for(all_done, 20, f"every job of {sorted(sent)} done")
    started = old.record.jobs("start") + new.record.jobs("start")
    assert [j for j, n in started.items() if n != 1] == [], f"run twice: {started}"
    assert [j for j, n in done.items() if n != 1] == [], f"done twice: {done}"
    # A task acknowledges its message just after it recorded its end.
    wait_for(lambda: client.llen(QUEUE) == 0 and client.hlen("unacked") == 0, 5,
             f"an empty queue, nothing unacknowledged: {unacked_jobs(client)}")
    # Messages a worker had received but not started when it stopped were given back at its
    # warm shutdown (`redelivered`): the new pod ran them, for the first time.
    given_back = {r["job"] for r in new.record.lines("start") if r["redelivered"]}
    assert given_back.isdisjoint(old.record.jobs("start")), given_back

    print(f"\nold pod drained in {drain_took:.2f}s with {len(running)} tasks running; "
          f"backlog run in {time.monotonic() - t_new:.2f}s; {len(given_back)} given back; "
          f"{len(sent)} jobs sent, {sum(old.record.jobs('done').values())} run by the old pod, "
          f"{sum(new.record.jobs('done').values())} by the new one")


def test_task_longer_than_the_grace_period_is_redelivered(launcher, vigilctl_bin, tmp_path,
                                                          broker):
    """A task longer than the grace period: its worker gets SIGTERM (warm: it keeps working),
    SIGQUIT at the drain's deadline (cold: Celery aborts the task and gives its message back),
    and is named a straggler. Nothing is left unacknowledged: the new pod runs the task again,
    redelivered, once; the other tasks ran once."""
    client = redis.Redis.from_url(broker)
    # The example's safety margin (6 s): deadline at 5 s, SIGKILL 3 s later, time enough for
    # the cold shutdown to give the message back (~1 s). The other worker needs its short task
    # and a worker's shutdown (~2-3 s, more on a loaded machine) before the deadline.
    grace = 11.0
    straggler_job, straggler_seconds = 0, 12.0  # Longer than the grace period.
    old = CeleryPod(new_pod(launcher, vigilctl_bin, tmp_path, "old"), broker, 2, grace)
    old.wait_ready()
    producer = Producer(broker, period=0.5, long_every=10**9)
    producer.send(straggler_job, straggler_seconds)
    producer.start()
    wait_for(lambda: straggler_job in old.record.running() and len(old.record.jobs("start")) > 1,
             15, f"the long task and a short one running: {old.record.lines()}")
    slot = old.slot_of(straggler_job)

    kubelet = Kubelet(old.pod, grace)
    hook = kubelet.prestop()
    # The backlog stays small: the new pod has the long task to run again, after it.
    sent = producer.stop()
    result = hook.wait(grace + 5)
    assert result.code == 1, f"preStop hook: {result}\n{old.pod.log.summary()}"
    assert "stragglers" in result.stdout and f"celery/{slot}" in result.stdout, result
    assert f"celery/{1 - slot}" not in result.stdout, result
    assert result.elapsed < grace, result

    (deadline,) = old.pod.events("drain_deadline")
    assert deadline["workers"] == 1, deadline
    # The fast signal, SIGQUIT, reached the straggler: Celery says so on its stderr (Vigil's).
    output = old.pod.vigil.stderr
    assert f"[celery/{slot}] worker: Cold shutdown (MainProcess)" in output, output[-3000:]
    assert f"[celery/{1 - slot}] worker: Cold shutdown" not in output
    exits = old.exits()
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 4, old.pod.log.summary()
    lines = old.termination_lines()
    assert lines[0].startswith("vigil exited 4: drain complete (trigger prestop, "), lines
    assert lines[0].endswith(", 1 straggler(s) signalled or killed at a deadline"), lines
    (straggler_exit,) = [e for e in old.pod.events("worker_exited") if e["slot"] == slot]
    (other_exit,) = [e for e in old.pod.events("worker_exited") if e["slot"] != slot]
    assert other_exit["reason"] == "exited" and other_exit["code"] == 0, other_exit
    # The cold shutdown's exit status is 0 when Celery's event loop carries it out (as the
    # example's second thread makes it do), 1 when the signal handler raises it; on a slow
    # machine the SIGKILL may come first. Either way the message went back (checked below).
    if straggler_exit["reason"] == "exited":
        code = straggler_exit["code"]
        assert code in (0, 1), straggler_exit
        assert exits == dict(Counter([("exited", "0", ""), ("exited", str(code), "")])), exits
        ends = "exited(0) x2" if code == 0 else "exited(0) x1, exited(1) x1"
        assert lines[1:] == [f"pool celery: 1/2 ended gracefully: {ends}"], lines
    else:
        assert straggler_exit["reason"] == "stop_timeout_killed", straggler_exit
        assert exits[("exited", "0", "")] == 1.0, exits

    assert straggler_job not in old.record.jobs("done")
    assert straggler_job in queued_jobs(client), "the straggler's task was not given back"
    # The rest as in a graceful drain; the straggler's one start has no end.
    with producer.paused():
        assert unacked_jobs(client) == []
    assert old.record.running() == {straggler_job}

    new = CeleryPod(new_pod(launcher, vigilctl_bin, tmp_path, "new"), broker, 2, grace)
    new.wait_ready()

    def all_done():
        done = old.record.jobs("done") + new.record.jobs("done")
        return done if set(done) == set(sent) else None
    done = wait_for(all_done, straggler_seconds + 10,
                    f"every job of {sorted(sent)} done")
    assert [j for j, n in done.items() if n != 1] == [], f"done twice: {done}"
    started = old.record.jobs("start") + new.record.jobs("start")
    assert started[straggler_job] == 2
    assert [j for j, n in started.items() if n != 1 and j != straggler_job] == [], started
    (rerun,) = [r for r in new.record.lines("start") if r["job"] == straggler_job]
    assert rerun["redelivered"], rerun
    # A task acknowledges its message just after it recorded its end.
    wait_for(lambda: client.llen(QUEUE) == 0 and client.hlen("unacked") == 0, 5,
             f"an empty queue, nothing unacknowledged: {unacked_jobs(client)}")


def test_sigint_as_fast_signal_strands_the_task(launcher, vigilctl_bin, tmp_path, broker):
    """Why the example's fast_stop_signal is SIGQUIT: with Vigil's default SIGINT, which Celery
    takes as one more warm shutdown, the straggler keeps working until Vigil SIGKILLs it, and its
    message stays in redis's `unacked` hash: no pod gets it before visibility_timeout (1 h)."""
    client = redis.Redis.from_url(broker)
    grace = 7.0  # The example's 6 s safety margin: deadline at 1 s, SIGKILL at 4 s.
    old = CeleryPod(new_pod(launcher, vigilctl_bin, tmp_path, "old"), broker, 1, grace,
                    fast_stop_signal="SIGINT")
    old.wait_ready()
    producer = Producer(broker)
    producer.send(0, 8.0)  # Longer than the grace period.
    wait_for(lambda: old.record.running() == {0}, 15,
             f"the long task running: {old.record.lines()}")

    kubelet = Kubelet(old.pod, grace)
    result = kubelet.prestop().wait(grace + 5)
    assert result.code == 1 and "celery/0" in result.stdout, result
    output = old.pod.vigil.stderr
    assert "[celery/0] worker: Hitting Ctrl+C again will terminate all running tasks!" in output
    assert "Cold shutdown" not in output
    (killed,) = old.pod.events("worker_exited")
    assert killed["reason"] == "stop_timeout_killed" and killed["signal"] == "SIGKILL", killed
    assert old.exits() == {("stop_timeout_killed", "", "SIGKILL"): 1.0}
    end = kubelet.terminate()
    assert not end.sigkilled and end.code == 4
    assert old.termination_lines()[1:] == [
        "pool celery: 0/1 ended gracefully: stop_timeout_killed(SIGKILL) x1"]
    # Stranded: neither done nor queued, held as unacknowledged.
    assert 0 not in old.record.jobs("done")
    assert queued_jobs(client) == [] and unacked_jobs(client) == [0]
