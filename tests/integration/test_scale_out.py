"""Scale-out of the collect role: two `purpose-lineage run collect` processes share the collection topics'
partitions, and when one is killed (-9) mid-run its partitions move to the other, nothing lost or duplicated.

The store runs in this process. Which worker owns which partition is observed by what it processes: Tansu's
DescribeGroups answer names the members but leaves their assignments empty, and the workers log no
assignment. One worker is stopped (SIGSTOP, for less than its session timeout, so the group does not notice)
while one probe event goes to every collection partition: the probes stored meanwhile were processed by the
other worker. Done for each worker in turn, the two sets must split the partitions between them exactly (a
probe the running worker is slow to store shows as a partition nobody processed: a failure, never a false pass).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from schemas.events import CollectionKind
from services.demo.simulator import demo_stream
from services.keys import load_partition_key
from services.replay import account
from services.roles import Role, consumer_group
from services.settings import Settings
from services.store.lineage_store import Delivery
from services.topics import Topics
from tests.benchmarks.bench_scale_out import bench_scale_out
from tests.chaos.chaos import Producer
from tests.integration.harness import PipelineHarness, consumer_group_members, wait_for
from tests.integration.test_roles_as_processes import _role_environment

PARTITIONS = 4
SESSION_TIMEOUT_S = 10.0
"""The workers' consumer session timeout (the default): a killed worker leaves the group after it."""
FREEZE_MAX_S = 6.0
"""Longest a worker is kept stopped during the ownership census: well inside its session timeout."""
QUIET_S = 2.0
"""The census stops waiting for the running worker's probes once none arrived for this long."""
TRAFFIC = 1_500
"""Events produced at 150/s across the kill."""

Partition = tuple[str, int]


class CollectWorker:
    """One `purpose-lineage run collect` process, with its own working directory and log."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.workdir = workdir / name
        self.workdir.mkdir()
        self.log_path = self.workdir / "collect.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", "collect"],
            cwd=self.workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log_tail(self) -> str:
        return f"--- {self.name} log ---\n" + self.log_path.read_text(errors="replace")[-2000:]

    def signal(self, how: signal.Signals) -> None:
        self.process.send_signal(how)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log.close()


class Probes:
    """One valid event sent to an explicit partition of a collection topic, to see who processes that partition."""

    def __init__(self, settings: Settings, topics: Topics) -> None:
        self.topics = topics
        self._producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", linger_ms=0)
        templates: dict[CollectionKind, dict[str, object]] = {}
        for event in demo_stream(5, 50):
            if isinstance(event.kind, CollectionKind) and event.malformed is None:
                templates.setdefault(event.kind, orjson.loads(event.value))
            if len(templates) == len(CollectionKind):
                break
        self._templates = templates

    @property
    def partitions(self) -> set[Partition]:
        return {(self.topics.collection(kind), p) for kind in CollectionKind for p in range(PARTITIONS)}

    def send(self) -> dict[Partition, Delivery]:
        """One probe to every collection partition, acknowledged; where each landed."""
        futures = []
        for kind in CollectionKind:
            for partition in range(PARTITIONS):
                event_id = str(uuid.uuid4())
                value = orjson.dumps({**self._templates[kind], "event_id": event_id})
                future = self._producer.send(self.topics.collection(kind), value=value, partition=partition)
                futures.append((event_id, future))
        self._producer.flush()
        deliveries = {}
        for event_id, future in futures:
            metadata = future.get(timeout=30)
            deliveries[(metadata.topic, metadata.partition)] = Delivery(
                metadata.topic, metadata.partition, metadata.offset, event_id
            )
        return deliveries

    def close(self) -> None:
        self._producer.close()


def _accounted(store: PipelineHarness, probes: dict[Partition, Delivery]) -> set[Partition]:
    """The partitions whose probe is in the store (a lineage row or a dead letter at its coordinates)."""
    found = store.accounting(list(probes.values()))
    return {
        where for where, d in probes.items() if (d.topic, d.partition, d.offset) in found.stored | found.dead_lettered
    }


def _owned_by_the_others(
    store: PipelineHarness, probes: Probes, frozen: CollectWorker, workers: list[CollectWorker]
) -> set[Partition]:
    """Stop ``frozen``, probe every partition, and return those processed meanwhile: the other workers' own.

    Then ``frozen`` resumes, and every probe left must be processed by it: nothing waits for a third owner.
    """
    frozen.signal(signal.SIGSTOP)
    try:
        sent = probes.send()
        stopped_at = time.monotonic()
        seen: set[Partition] = set()
        last_new = stopped_at
        while time.monotonic() - stopped_at < FREEZE_MAX_S and len(seen) < len(sent):
            time.sleep(0.2)
            now_seen = _accounted(store, sent)
            if now_seen - seen:
                seen, last_new = now_seen, time.monotonic()
            elif seen and time.monotonic() - last_new >= QUIET_S:
                break
    finally:
        frozen.signal(signal.SIGCONT)
    wait_for(
        lambda: _accounted(store, sent) == set(sent),
        f"every probe processed once {frozen.name} resumed " + "\n".join(worker.log_tail() for worker in workers),
        timeout_s=120,
    )
    return seen


def _rows_from(store: PipelineHarness, partitions: set[Partition]) -> int:
    """Lineage rows collected from ``partitions``."""
    where = " OR ".join(f"(source_topic = '{topic}' AND source_partition = {p})" for topic, p in sorted(partitions))
    rows = store.query(f"SELECT count() FROM collection_lineage WHERE {where}").rows
    return int(rows[0][0])


def _members(settings: Settings, group: str) -> int:
    """Members of ``group`` once it is stable (0 while it rebalances), as the broker describes it."""
    state, members = consumer_group_members(settings.bootstrap, group)
    return len(members) if state == "Stable" else 0


@pytest.fixture
def scale_out_settings(settings: Settings, tmp_path: Path) -> Settings:
    key_file = tmp_path / "partition.key"
    key_file.write_text(uuid.uuid4().hex * 2)
    return settings.model_copy(
        update={
            "topic_partitions": PARTITIONS,
            "partition_key_file": key_file,
            "consumer_session_timeout_s": SESSION_TIMEOUT_S,
        }
    )


@pytest.fixture
def store(scale_out_settings: Settings) -> Iterator[PipelineHarness]:
    """The store role in this process; it creates the topics with ``PARTITIONS`` partitions each."""
    harness = PipelineHarness(scale_out_settings, roles=frozenset({Role.STORE}))
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


def test_collect_workers_split_the_partitions_and_a_killed_ones_move_to_the_survivor_with_nothing_lost(
    scale_out_settings: Settings, store: PipelineHarness, tmp_path: Path
) -> None:
    settings = scale_out_settings
    topics = store.pipeline.topics
    env = _role_environment(settings) | {
        "LINEAGE_TOPIC_PARTITIONS": str(PARTITIONS),
        "LINEAGE_PARTITION_KEY_FILE": str(settings.partition_key_file),
        "LINEAGE_CONSUMER_SESSION_TIMEOUT_S": str(SESSION_TIMEOUT_S),
    }
    group = consumer_group(settings, Role.COLLECT)
    workers = [CollectWorker(name, env, tmp_path) for name in ("worker-a", "worker-b")]
    survivor, victim = workers[1], workers[0]
    probes = Probes(settings, topics)

    def logs() -> str:
        return "\n".join(worker.log_tail() for worker in workers)

    try:
        wait_for(lambda: _members(settings, group) == 2, f"both workers in {group}, stable\n{logs()}", 120, 1.0)
        # Every partition has an owner that processes it (the first probes also wait out the last rebalance).
        warm = probes.send()
        wait_for(lambda: _accounted(store, warm) == set(warm), f"a probe on every partition processed\n{logs()}", 120)

        # (a) Each partition is owned by exactly one worker.
        owned_by_b = _owned_by_the_others(store, probes, victim, workers)
        owned_by_a = _owned_by_the_others(store, probes, survivor, workers)
        every = probes.partitions
        assert owned_by_a, f"worker-a processed nothing while worker-b was stopped; b owns {sorted(owned_by_b)}"
        assert owned_by_b, f"worker-b processed nothing while worker-a was stopped; a owns {sorted(owned_by_a)}"
        assert not owned_by_a & owned_by_b, f"partitions processed by both workers: {sorted(owned_by_a & owned_by_b)}"
        assert owned_by_a | owned_by_b == every, (
            f"partitions nobody processed: {sorted(every - owned_by_a - owned_by_b)}"
        )

        # (b) kill -9 of a worker while events are produced: its partitions move, nothing lost or duplicated.
        before = _rows_from(store, owned_by_a)
        key = load_partition_key(settings)
        traffic = Producer(
            settings.bootstrap,
            topics,
            TRAFFIC,
            rate=150,
            seed=21,
            pace_every=1,
            partition_key=key,
            source_service="scale-out",
        )
        traffic.start()
        wait_for(
            lambda: _rows_from(store, owned_by_a) >= before + 50,
            f"the worker to be killed processing traffic on its partitions\n{logs()}",
            timeout_s=60,
        )
        victim.signal(signal.SIGKILL)
        victim.process.wait(timeout=30)
        wait_for(
            lambda: _members(settings, group) == 1,
            f"the killed worker gone from {group} after its session timeout\n{logs()}",
            timeout_s=SESSION_TIMEOUT_S + 60,
            poll_s=1.0,
        )
        moved = probes.send()
        wait_for(
            lambda: _accounted(store, moved) == set(moved),
            f"the survivor processes every partition, the killed worker's {sorted(owned_by_a)} too\n{logs()}",
            timeout_s=120,
        )
        traffic.join(timeout=120)
        assert traffic.error is None, traffic.error
        report = account(store, traffic.produced, timeout_s=180)
        assert report.unaccounted == [], f"{len(report.unaccounted)} events lost\n{logs()}"
        assert report.in_lineage + report.dead_lettered == TRAFFIC
        duplicates = store.query(
            "SELECT (SELECT count() - uniqExact(tenant_id, event_id) FROM collection_lineage) + "
            "(SELECT count() - uniqExact(source_topic, source_partition, source_offset) FROM dead_letters)"
        ).rows[0][0]
        assert duplicates == 0, f"{duplicates} physical duplicates"
        redelivered = store.query("SELECT count() FROM redeliveries").rows[0][0]
        print(  # shown with -s: what the kill cost
            f"worker-a owned {len(owned_by_a)}, worker-b {len(owned_by_b)} of {len(every)} partitions; after the kill "
            f"{report.in_lineage} stored, {report.dead_lettered} dead-lettered, 0 lost, 0 duplicates, "
            f"{redelivered} re-deliveries recognized by the store"
        )

        survivor.signal(signal.SIGTERM)
        assert survivor.process.wait(timeout=60) == 0, logs()
    finally:
        probes.close()
        for worker in workers:
            worker.close()


def test_the_scale_out_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    """`make bench`'s scale-out at a toy size (no timing asserted): both drains complete and are counted twice."""
    figures = bench_scale_out(400, tmp_path)

    (pair,) = figures["rounds"]
    for run in (pair["one_worker"], pair["two_workers"]):
        assert run["events_committed"] == 400
        assert run["events_read_back"] == 400
        assert run["events_s"] > 0  # nan (nothing committed) fails too
        assert set(run["cores"]) >= {"broker", "worker_1", "bench_process", "machine", "others"}
    assert "worker_2" in pair["two_workers"]["cores"]
    assert figures["two_over_one"] > 0
