"""Scale-out of the collect role: how fast 1 and 2 `purpose-lineage run collect` processes drain one backlog.

One broker, one run. For each worker count: a topic set of its own (4 partitions each, 24 collection
partitions) and a consumer group of its own. The workers start, join the group (two members: DescribeGroups,
then one warm-up message on every partition committed), and are stopped (SIGSTOP) while the backlog of demo
collection events is produced; then they are resumed together, so every worker is already a member when the
drain starts, and the producer does not compete with it. Two rounds by default (1, 2, 1, 2 workers): the
ratio is taken within each round, next to each other in time, and averaged.

Throughput is collect only: events/s from the collection topics to the tagged and dead-letter topics. It is
counted from the group's committed offsets, polled: a worker commits a batch only after the broker
acknowledged its output (acks=all), so a committed offset is output that exists, and the count is exact. The
end offsets the local broker reports can lag behind what it holds, so they are not used; afterwards the output
topics are read to their last message and counted, to check the committed figure. The rate is the steady state
from the first committed progress to the last event (as bench_pipeline's drain rate).

Beside it, the CPU each process used while the backlog drained (utime + stime from /proc, in cores): the
broker, each worker, this process (which polls), and the whole machine, whose remainder is everybody else's
(the machine is shared). No store runs: collect alone is measured.

Run with `make bench` (after bench_pipeline); figures go into bench-results.json under "scale_out", merged
with what is there. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from schemas.events import CollectionKind
from services.broker.admin import ensure_topics
from services.broker.local import LocalBroker, free_port
from services.demo.simulator import demo_stream
from services.pseudonymize import PartitionKey
from services.roles import Role, consumer_group
from services.settings import Settings
from services.topics import Topics
from tests.benchmarks.bench_pipeline import _drain_rate, bench_settings
from tests.integration.harness import consumer_group_members, wait_for

PARTITIONS = 4
SESSION_TIMEOUT_S = 20.0
"""The workers' session timeout: longer than the backlog takes to send while they are stopped (a longer one
slows the group join on the local broker: ~34 s at 60 s)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) ``pid`` has used so far; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of stat


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy so far (all processes, everybody's)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def broker_pid(port: int) -> int:
    """The pid of the Tansu process listening on ``port`` (found by its command line)."""
    wanted = f"tcp://127.0.0.1:{port}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"--listener-url" in cmdline and wanted in cmdline.split(b"\0"):
            return int(entry.name)
    raise RuntimeError(f"no broker process listens on port {port}")


@dataclass
class CpuWindow:
    """CPU seconds of the processes of interest and of the whole machine, between two snapshots."""

    pids: dict[str, int]
    started: float = 0.0
    first: dict[str, float] | None = None
    machine: float = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()
        self.first = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        self.machine = machine_busy_s()

    def cores(self) -> dict[str, float]:
        """Cores each process used on average since ``start`` (CPU seconds over wall seconds)."""
        assert self.first is not None
        wall = time.perf_counter() - self.started
        used = {name: (process_cpu_s(pid) - self.first[name]) / wall for name, pid in self.pids.items()}
        used["machine"] = (machine_busy_s() - self.machine) / wall
        used["others"] = max(used["machine"] - sum(v for k, v in used.items() if k != "machine"), 0.0)
        return {name: round(value, 2) for name, value in used.items()}


def _worker_environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    assert settings.pseudonym_key is not None
    assert settings.quarantine_key is not None
    env.update(
        LINEAGE_KAFKA_BOOTSTRAP=settings.bootstrap,
        LINEAGE_TOPIC_PREFIX=settings.topic_prefix,
        LINEAGE_TOPIC_PARTITIONS=str(PARTITIONS),
        LINEAGE_APP_ID=settings.app_id,
        LINEAGE_PSEUDONYM_KEY=settings.pseudonym_key.get_secret_value(),
        LINEAGE_QUARANTINE_KEY=settings.quarantine_key.get_secret_value(),
        LINEAGE_CONSUMER_SESSION_TIMEOUT_S=str(SESSION_TIMEOUT_S),
    )
    return env


Message = tuple[str, bytes, bytes]


def backlog(settings: Settings, events: int) -> list[Message]:
    """Demo collection events as (topic, key, value), keyed by subject as the emitter keys them; built before
    the workers are stopped, so that only sending happens while they are."""
    topics = Topics(settings.topic_prefix)
    key = PartitionKey(b"bench-partition-key-0123456789")
    collection = (e for e in demo_stream(2, 500) if isinstance(e.kind, CollectionKind))
    return [(e.topic(topics), key.of(*e.subject), e.value) for e in itertools.islice(collection, events)]


async def _send(bootstrap: str, messages: list[Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1_048_576)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for topic, key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def send_backlog(bootstrap: str, messages: list[Message]) -> None:
    """Send every message and wait for each acknowledgement (acks=all)."""
    started = time.perf_counter()
    asyncio.run(_send(bootstrap, messages))
    elapsed = time.perf_counter() - started
    print(f"backlog: {len(messages):,} events acknowledged in {elapsed:.2f} s = {len(messages) / elapsed:,.0f}/s")


def _committed(admin: KafkaAdminClient, group: str, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    return {tp: meta.offset for tp, meta in offsets.items() if tp in partitions and meta.offset >= 0}


def _warm_up(settings: Settings, partitions: set[TopicPartition]) -> None:
    """One message on every collection partition (each is dead-lettered: not JSON), so every owner commits."""
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    try:
        futures = [producer.send(tp.topic, value=b"warm-up", partition=tp.partition) for tp in partitions]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()


def _count_output(settings: Settings, expected: int, quiet_s: float = 5.0) -> int:
    """Messages on the tagged and dead-letter topics, read to the last one (not the reported end offsets)."""
    topics = Topics(settings.topic_prefix)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", group_id=None
    )
    consumer.assign([TopicPartition(t, p) for t in [*topics.all_tagged, topics.dead_letter] for p in range(PARTITIONS)])
    counted, last = 0, time.monotonic()
    try:
        while counted < expected or time.monotonic() - last < 1.0:  # a little past: a surplus shows too
            batch = consumer.poll(timeout_ms=500, max_records=50_000)
            if batch:
                counted += sum(len(messages) for messages in batch.values())
                last = time.monotonic()
            elif time.monotonic() - last > quiet_s:
                break
    finally:
        consumer.close()
    return counted


def drain(bootstrap: str, broker: int, workers: int, events: int, workdir: Path) -> dict[str, Any]:
    """Drain a backlog of ``events`` with ``workers`` collect processes; its rate and the CPU beside it."""
    unique = uuid.uuid4().hex[:6]
    settings = bench_settings(bootstrap, workdir).model_copy(
        update={"topic_prefix": f"s{unique}.", "app_id": f"scale-{unique}-{workers}w", "topic_partitions": PARTITIONS}
    )
    topics = Topics(settings.topic_prefix)
    ensure_topics(bootstrap, topics.all, PARTITIONS)
    partitions = {TopicPartition(t, p) for t in topics.all_collection for p in range(PARTITIONS)}
    group = consumer_group(settings, Role.COLLECT)
    env = _worker_environment(settings)
    processes: list[subprocess.Popen[bytes]] = []
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        for number in range(1, workers + 1):
            folder = workdir / f"{settings.app_id}-{number}"
            folder.mkdir(parents=True)
            log = (folder / "collect.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "services.cli", "run", "collect"],
                    cwd=folder,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

        def members() -> int:
            state, ids = consumer_group_members(bootstrap, group)
            return len(ids) if state == "Stable" else 0

        joining = time.perf_counter()
        wait_for(lambda: members() == workers, f"{workers} worker(s) in {group} (logs in {workdir})", 180, 1.0)
        joined_s = time.perf_counter() - joining
        _warm_up(settings, partitions)
        wait_for(
            lambda: len(_committed(admin, group, partitions)) == len(partitions),
            f"every collection partition committed by {group}",
            120,
            0.5,
        )
        baseline = sum(_committed(admin, group, partitions).values())
        print(
            f"{workers} worker(s): members of {group} after {joined_s:.1f} s, every partition owned after "
            f"{time.perf_counter() - joining:.1f} s"
        )
        messages = backlog(settings, events)
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        try:
            send_backlog(bootstrap, messages)
        finally:
            pids = {f"worker_{n}": process.pid for n, process in enumerate(processes, start=1)}
            cpu = CpuWindow({"broker": broker, **pids, "bench_process": os.getpid()})
            cpu.start()
            for process in processes:
                process.send_signal(signal.SIGCONT)
        rate, drain_s, done = _drain_rate(
            lambda: sum(_committed(admin, group, partitions).values()) - baseline, events, poll_s=0.25
        )
        cores = cpu.cores()
    finally:
        admin.close()
        for process in processes:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    counted = _count_output(settings, events + len(partitions)) - len(partitions)
    worker_cores = sum(v for k, v in cores.items() if k.startswith("worker_"))
    print(
        f"{workers} collect worker(s): {done:,} of {events:,} events drained, steady state {rate:,.0f} events/s over "
        f"{drain_s:.2f} s; output read back: {counted:,}; cores used: broker {cores['broker']:.2f}, "
        f"worker(s) {worker_cores:.2f} ({', '.join(f'{v:.2f}' for k, v in cores.items() if k.startswith('worker_'))})"
        f", bench process {cores['bench_process']:.2f}, machine {cores['machine']:.2f} of {os.cpu_count()} "
        f"(others {cores['others']:.2f})"
    )
    return {
        "events_s": round(rate, 1),
        "events_per_worker_core_s": round(rate / worker_cores, 1) if worker_cores else float("nan"),
        "drain_s": round(drain_s, 2),
        "events_committed": done,
        "events_read_back": counted,
        "cores": cores,
        "workers_cores": round(worker_cores, 2),
    }


def bench_scale_out(events: int, workdir: Path, rounds: int = 1) -> dict[str, Any]:
    """1 worker, then 2, ``rounds`` times on one broker: their drain rates, the ratio, and the CPU beside each.

    Each round pairs the two drains minutes apart at most: on a shared machine others' load drifts, so the
    ratio is taken per round and averaged, rather than from averages of all the 1s and all the 2s.
    """
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with LocalBroker(free_port(), log_file=workdir / "tansu.log") as broker:
        pid = broker_pid(broker.port)
        for _ in range(rounds):
            one = drain(broker.bootstrap, pid, 1, events, workdir)
            two = drain(broker.bootstrap, pid, 2, events, workdir)
            pairs.append((one, two))
    ratios = [two["events_s"] / one["events_s"] for one, two in pairs]
    ratio = sum(ratios) / len(ratios)
    one_s = sum(one["events_s"] for one, _ in pairs) / len(pairs)
    two_s = sum(two["events_s"] for _, two in pairs) / len(pairs)
    others = ", ".join(f"{one['cores']['others']:.2f}/{two['cores']['others']:.2f}" for one, two in pairs)
    print(
        f"scale-out: 1 worker {one_s:,.0f} events/s, 2 workers {two_s:,.0f} events/s; 2 / 1 = {ratio:.2f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; target 1.6) on {os.cpu_count()} cores shared with "
        f"others, who used {others} cores during the 1/2-worker drains"
    )
    return {
        "events": events,
        "partitions_per_topic": PARTITIONS,
        "collection_partitions": PARTITIONS * len(Topics().all_collection),
        "one_worker_events_s": round(one_s, 1),
        "two_workers_events_s": round(two_s, 1),
        "two_over_one": round(ratio, 3),
        "rounds": [
            {"one_worker": one, "two_workers": two, "two_over_one": round(r, 3)}
            for (one, two), r in zip(pairs, ratios, strict=True)
        ],
        "cpu_count": os.cpu_count(),
        "counted_by": "the collect group's committed offsets (output acknowledged), checked by reading the output "
        "topics back",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def merge_results(path: Path, key: str, figures: dict[str, Any]) -> None:
    """Write ``figures`` under ``key`` of the JSON file at ``path``, keeping every other key."""
    results = json.loads(path.read_text()) if path.exists() else {}
    results[key] = figures
    path.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--smoke", action="store_true", help="a toy backlog (2,000 events): checks the bench runs")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of drains (1 worker, then 2)")
    parser.add_argument("--results", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    events = 2_000 if args.smoke else args.events
    with tempfile.TemporaryDirectory() as workdir:
        figures = bench_scale_out(events, Path(workdir), 1 if args.smoke else args.rounds)
    if args.smoke:
        return
    merge_results(args.results, "scale_out", figures)
    print(f"figures written to {args.results} under scale_out")


if __name__ == "__main__":
    main()
