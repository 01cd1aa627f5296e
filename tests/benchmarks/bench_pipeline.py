"""Throughput of the collection stages alone and of the whole path broker -> stages -> broker -> ClickHouse.

Run with `make bench`. Prints figures; asserts nothing about time (timings belong here, not in tests).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.events import CollectionKind
from services.api.client import ApiLineageReader, LineageReader
from services.broker.admin import ensure_topics
from services.broker.local import LocalBroker, free_port
from services.demo.simulator import demo_stream
from services.emitter.client import Emitter
from services.records import SourceRecord
from services.roles import Pipeline
from services.runtime import settle_heap
from services.settings import Settings
from services.stages.collection import process_collection_batch
from services.stages.ingest import ingest
from services.stages.minimize import minimize
from services.topics import Topics
from tests.integration.harness import PipelineHarness


def _demo_batch(pipeline: Pipeline, events: int) -> list[SourceRecord]:
    topics = pipeline.topics
    collection = (e for e in demo_stream(1, 200) if isinstance(e.kind, CollectionKind))
    return [
        SourceRecord(topics.collection(e.kind), 0, offset, e.value)
        for offset, e in enumerate(itertools.islice(collection, events))
    ]


def _stage_settings() -> Settings:
    return Settings(
        pseudonym_key="bench-key-0123456789abcdef",
        quarantine_key="00" * 32,
        local_key_file=Path("/nonexistent"),
    )


def bench_minimize(events: int) -> float:
    """Minimization alone, over demo events already ingested (the demo hides content in many of them)."""
    pipeline = Pipeline(_stage_settings())
    context = pipeline.context
    ingested = ingest(_demo_batch(pipeline, events), context.kind_of_topic, context.max_event_bytes).ok
    minimize(ingested[:2000], context.engine)  # warm caches
    settle_heap()  # as a role process does after start-up
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for start in range(0, len(ingested), 2000):
            minimize(ingested[start : start + 2000], context.engine)
        best = min(best, time.perf_counter() - started)
    print(f"minimize only: {len(ingested)} events, best of 3 in {best:.2f} s = {len(ingested) / best:,.0f} events/s")
    return len(ingested) / best


def bench_stages(events: int) -> float:
    pipeline = Pipeline(_stage_settings())
    batch = _demo_batch(pipeline, events)
    process_collection_batch(batch[:2000], pipeline.context, datetime.now(UTC))  # warm caches
    settle_heap()  # as a role process does after start-up
    started = time.perf_counter()
    for start in range(0, len(batch), 2000):
        result = process_collection_batch(batch[start : start + 2000], pipeline.context, datetime.now(UTC))
    elapsed = time.perf_counter() - started
    print(f"stages only: {events} events in {elapsed:.2f} s = {events / elapsed:,.0f} events/s (1 core)")
    print(f"  last batch: {len(result.ok)} tagged, {len(result.dead)} dead letters")
    return events / elapsed


_FAMILY = str.split(
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水"
)
_GIVEN = str.split("大輔 陽菜 翔太 美咲 健太 結衣 拓也 さくら 直樹 愛 誠 真由美 亮 彩 浩 智子 悠斗 葵 蓮 凛")
_TITLE_WORDS = str.split("週次 定例 ミーティング 打ち合わせ 面談 研修 Monthly closing review sync planning budget 会議")


def _fresh_values(batch: list[SourceRecord], seed: int = 11, uuid_ids: bool = False) -> list[SourceRecord]:
    """``batch`` with the values a real company varies drawn fresh for each event: an IP address, a person's name
    (20 × 20 names and a number), a telephone number, a scheduler title, a file and a computer name, terminal,
    cookie and login ids, a mail address. The demo draws them from a few hundred, which the stages' memos of
    recent verdicts hold; here nearly every such value is judged anew. With ``uuid_ids``, terminal and cookie ids
    are random UUIDs (as many services mint them), each read by the identifier check in full."""
    rng = random.Random(seed)
    fresh: dict[str, Callable[[], str]] = {
        "ip_address": lambda: f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "personal_name": lambda: f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}{rng.randrange(1000)}",
        "name": lambda: f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}{rng.randrange(1000)}",
        "telephone_number": lambda: f"0{rng.randrange(10, 99)}-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
        "title": lambda: " ".join(rng.choice(_TITLE_WORDS) for _ in range(rng.randrange(2, 5))),
        "file_name": lambda: f"report-{rng.randrange(10**6)}.pdf",
        "computer_name": lambda: f"KOBE-PC-{rng.randrange(10**4):04d}",
        "terminal_id": lambda: f"pc-{rng.randbytes(4).hex()}",
        "cookie_id": lambda: f"ck-{rng.randbytes(8).hex()}",
        "login_id": lambda: f"u{rng.randrange(10**6)}",
        "email_address": lambda: f"user{rng.randrange(10**6)}@example.co.jp",
    }
    if uuid_ids:
        fresh["terminal_id"] = fresh["cookie_id"] = lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))
    out = []
    for record in batch:
        try:
            event = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            out.append(record)  # the demo's malformed events stay as they are
            continue
        payload = event.get("payload") if isinstance(event, dict) else None
        if isinstance(payload, dict):
            for name in payload.keys() & fresh.keys():
                payload[name] = fresh[name]()
        out.append(SourceRecord(record.topic, record.partition, record.offset, orjson.dumps(event)))
    return out


def bench_stages_fresh(events: int, uuid_ids: bool = False) -> float:
    """The stages alone over demo events whose varying values are fresh (:func:`_fresh_values`)."""
    pipeline = Pipeline(_stage_settings())
    batch = _fresh_values(_demo_batch(pipeline, events), uuid_ids=uuid_ids)
    process_collection_batch(batch[:2000], pipeline.context, datetime.now(UTC))  # warm the caches of the rest
    settle_heap()
    started = time.perf_counter()
    for start in range(2000, len(batch), 2000):
        process_collection_batch(batch[start : start + 2000], pipeline.context, datetime.now(UTC))
    elapsed = time.perf_counter() - started
    rate = (len(batch) - 2000) / elapsed
    what = "fresh values and UUID ids" if uuid_ids else "fresh values"
    print(f"stages only, {what}: {len(batch) - 2000} events in {elapsed:.2f} s = {rate:,.0f} events/s (1 core)")
    return rate


def bench_settings(bootstrap: str, workdir: Path) -> Settings:
    """Settings of one benchmark run: its own database, consumer group and a fixed key."""
    unique = uuid.uuid4().hex[:8]
    return Settings(
        kafka_bootstrap=bootstrap,
        clickhouse_path=workdir / "chdb",
        clickhouse_database=f"bench_{unique}",
        app_id=f"bench-{unique}",
        pseudonym_key="bench-key-0123456789abcdef",
        quarantine_key="00" * 32,
    )


def _drain_rate(
    progress: Callable[[], int], events: int, timeout_s: float = 600.0, poll_s: float = 0.05
) -> tuple[float, float, int]:
    """Steady-state rate of a backlog draining: from the first progress seen to the last, over that time; also the
    progress reached.

    Timed from the first progress seen, not from the start: roles that joined their groups early would otherwise
    drain part of the backlog before the clock starts (earlier figures of this bench were inflated so).
    """
    started = time.perf_counter()
    first: tuple[float, int] | None = None
    count = 0
    while count < events and time.perf_counter() - started < timeout_s:
        time.sleep(poll_s)
        count = progress()
        if first is None and count:
            first = (time.perf_counter(), count)
    if first is None:
        return float("nan"), float("nan"), count
    if count <= first[1]:  # all of it in the first poll (a toy backlog): the rate since the start, a lower bound
        drain_s = first[0] - started
        return count / drain_s, drain_s, count
    drain_s = time.perf_counter() - first[0]
    return (count - first[1]) / drain_s, drain_s, count


def bench_processes(events: int, workdir: Path, up: bool = False) -> dict[str, float]:
    """The full path on two cores: `run collect` and `run store monitor api` as two processes as deployed, or (``up``)
    `purpose-lineage up` as a user starts it, its collect role in a worker process of its own."""
    from tests.chaos.chaos import Stack

    name = "up" if up else "processes"
    (workdir / name).mkdir(parents=True, exist_ok=True)
    stack = Stack(workdir / name)
    for window in ("LINEAGE_BATCH_WINDOW_S", "LINEAGE_SINK_BATCH_WINDOW_S"):
        stack.env.pop(window)  # the chaos scenarios' batch windows: measured here are the defaults a user gets
    latency: dict[str, float] = {}
    try:
        stack.broker.start()
        stack.env["LINEAGE_KAFKA_BOOTSTRAP"] = stack.broker.bootstrap
        settings = bench_settings(stack.broker.bootstrap, workdir).model_copy(update={"topic_prefix": stack.prefix})
        _produce_backlog(settings, events)
        for role in ("up",) if up else ("store", "collect"):
            stack.spawn(role)
        stack.wait_for_api()
        reader = ApiLineageReader(stack.url)
        count_sql = "SELECT (SELECT count() FROM collection_lineage) + (SELECT count() FROM dead_letters)"
        rate, drain_s, _ = _drain_rate(lambda: int(reader.query(count_sql).rows[0][0]), events)
        stack.sample_rss()
        if up:  # at half the rate just measured, on the stack as a user runs it
            latency = _latency(reader, stack.broker.bootstrap, stack.prefix, rate=rate / 2, seconds=10)
    finally:
        stack.stop()
    if up:
        print(
            f"`up` (collect in a worker process): {events} events, steady state {rate:,.0f} events/s "
            f"over {drain_s:.2f} s"
        )
        figures = {"full_path_up_events_s": rate, "up_process_peak_rss_mb": stack.peak_rss_mb.get("up", 0.0)}
        if latency.get("latency_events"):
            _print_latency("`up`", latency)
        return figures | {f"up_{name}": value for name, value in latency.items()}
    print(
        f"pipeline as processes (run collect | run store monitor api): {events} events, steady state "
        f"{rate:,.0f} events/s over {drain_s:.2f} s; peak RSS collect {stack.peak_rss_mb.get('collect', 0):,.0f} MB, "
        f"store process {stack.peak_rss_mb.get('store', 0):,.0f} MB"
    )
    return {
        "full_path_processes_events_s": rate,
        "collect_peak_rss_mb": stack.peak_rss_mb.get("collect", 0.0),
        "store_process_peak_rss_mb": stack.peak_rss_mb.get("store", 0.0),
    }


def _stored(harness: PipelineHarness) -> int:
    rows = harness.query("SELECT (SELECT count() FROM collection_lineage) + (SELECT count() FROM dead_letters)").rows
    return int(rows[0][0])


def _produce_backlog(settings: Settings, events: int) -> None:
    topics = Pipeline(settings).topics
    ensure_topics(settings.bootstrap, [*topics.all, "bench.relay-out"], settings.topic_partitions)
    started = time.perf_counter()
    with Emitter(settings.bootstrap, source_service="bench", topics=topics) as emitter:
        collection = (e for e in demo_stream(2, 500) if isinstance(e.kind, CollectionKind))
        for event in itertools.islice(collection, events):
            emitter.emit_for_subject(event.topic(topics), event.value, *event.subject)
    produce_s = time.perf_counter() - started
    print(f"emitter: {events} events acknowledged in {produce_s:.2f} s = {events / produce_s:,.0f} events/s")


async def _relay(settings: Settings, events: int) -> float:
    """The ceiling: getmany -> send -> await acks -> commit, no processing at all."""
    topics = Pipeline(settings).topics
    consumer = AIOKafkaConsumer(
        *topics.all_collection,
        bootstrap_servers=settings.bootstrap,
        group_id=f"{settings.app_id}-relay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", linger_ms=5, max_batch_size=1_048_576)
    await consumer.start()
    await producer.start()
    moved = 0
    started: float | None = None
    try:
        while moved < events:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            if not batch:
                continue
            started = started or time.perf_counter()
            pending = [await producer.send("bench.relay-out", m.value, key=m.key) for ms in batch.values() for m in ms]
            await asyncio.gather(*pending)
            await consumer.commit({tp: ms[-1].offset + 1 for tp, ms in batch.items()})
            moved += len(pending)
    finally:
        await consumer.stop()
        await producer.stop()
    return time.perf_counter() - (started or time.perf_counter())


async def _faust_pass_through(settings: Settings, events: int) -> float:
    """What the first version paid per event: a faust agent that takes batches and forwards them."""
    topics = Pipeline(settings).topics
    app = faust.App(
        f"{settings.app_id}-faust",
        datadir=str(settings.clickhouse_path.parent / "faust-data"),  # the run's own folder, not the checkout
        broker=f"kafka://{settings.bootstrap}",
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        producer_max_batch_size=1_048_576,
        producer_linger=0.005,
        stream_wait_empty=False,
    )
    source = app.topic(*topics.all_collection, key_type=bytes, value_type=bytes)
    done = asyncio.Event()
    moved = 0
    first: list[float] = []

    async def forward(stream: faust.StreamT[bytes]) -> None:
        nonlocal moved
        async for values in stream.take(2000, within=0.5):  # type: ignore[attr-defined]
            first or first.append(time.perf_counter())
            pending = [await app.producer.send("bench.relay-out", None, v, None, None, None) for v in values]
            await asyncio.gather(*pending)
            moved += len(values)
            if moved >= events:
                done.set()

    app.agent(source, name="forward")(forward)
    await app.start()
    try:
        await asyncio.wait_for(done.wait(), 600)
    finally:
        await app.stop()
    return time.perf_counter() - first[0] if first else float("nan")


def watch(reader: LineageReader, table: str, wanted: set[str], deadline: float, poll_s: float) -> dict[str, float]:
    """When each of ``wanted`` (event ids) became queryable in ``table``: its row's ``stored_at`` (set by the
    insert itself), as a Unix time. ``reader``: the store in this process, or a running stack's API.

    Read from the row rather than from when a poll saw it, so the poll can be rare: a watcher querying every
    few milliseconds would compete with the inserts it times (the embedded engine runs one query at a time).
    Times travel as integer milliseconds, the same through the API's JSON as in process.
    """
    seen: dict[str, float] = {}
    since_ms = int((time.time() - 1) * 1000)
    while len(seen) < len(wanted) and time.perf_counter() < deadline:
        time.sleep(poll_s)
        rows = reader.query(
            f"SELECT toString(event_id), toUnixTimestamp64Milli(min(stored_at)) FROM {table} "
            "WHERE stored_at >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY event_id",
            {"since": since_ms},
        ).rows
        for event_id, stored_ms in rows:
            if event_id in wanted:  # rows of a backlog may still be in the window
                seen.setdefault(event_id, int(stored_ms) / 1000)
        if rows:
            since_ms = max(int(row[1]) for row in rows) - 2000
    return seen


def _produce_timed(
    bootstrap: str, prefix: str, events: list[tuple[str, bytes, tuple[str, str], str]], rate: float, out: str
) -> None:
    """Produce ``events`` at ``rate`` and write when each was sent (wall clock, as the rows' stored_at) to ``out``."""
    sent: dict[str, float] = {}
    started = time.perf_counter()
    with Emitter(bootstrap, source_service="bench", topics=Topics(prefix)) as emitter:
        for number, (topic, value, subject, event_id) in enumerate(events, start=1):
            sent[event_id] = time.time()
            emitter.emit_for_subject(topic, value, *subject)
            if number % 50 == 0:
                ahead = number / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
    Path(out).write_bytes(orjson.dumps(sent))


def _latency(reader: LineageReader, bootstrap: str, prefix: str, rate: float, seconds: float) -> dict[str, float]:
    """Produce at ``rate`` for ``seconds`` and time each event from its send to its row being queryable.

    The producer is a process of its own, as the emitting services are: a thread of the bench process would
    share the pipeline's interpreter lock (kafka-python's producer is pure Python) and time itself.
    """
    topics = Topics(prefix)
    count = int(rate * seconds)
    collection = (e for e in demo_stream(3, 500) if isinstance(e.kind, CollectionKind) and e.malformed is None)
    events = [
        (e.topic(topics), e.value, e.subject, orjson.loads(e.value)["event_id"])
        for e in itertools.islice(collection, count)
    ]
    sent_ids = {event_id for *_, event_id in events}
    with tempfile.TemporaryDirectory() as scratch:
        out = str(Path(scratch) / "sent.json")
        producer = multiprocessing.get_context("spawn").Process(
            target=_produce_timed, args=(bootstrap, prefix, events, rate, out), name="latency-producer"
        )
        producer.start()
        # stored_at is set by the insert itself: unlike ingested_at, it grows with the order rows became
        # queryable, whichever topic's batch the store wrote first (ingested_at could skip a lagging topic).
        seen = watch(reader, "collection_lineage", sent_ids, time.perf_counter() + seconds + 30, 0.5)
        producer.join()
        sent: dict[str, float] = orjson.loads(Path(out).read_bytes()) if Path(out).exists() else {}
    latencies = sorted(seen[e] - sent[e] for e in seen if e in sent)
    if not latencies:
        return {"latency_events": 0}
    return {
        "latency_rate_events_s": rate,
        "latency_events": len(latencies),
        "latency_missing": count - len(latencies),
        "latency_p50_s": latencies[len(latencies) // 2],
        "latency_p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def _baselines(settings: Settings, events: int) -> dict[str, float]:
    """(1) the raw relay and (2) the faust pass-through, each draining the same backlog of ``events``."""
    relay_s = asyncio.run(_relay(settings, events))
    print(f"raw relay (getmany -> send -> commit): {events} events in {relay_s:.2f} s = {events / relay_s:,.0f}/s")
    faust_s = asyncio.run(_faust_pass_through(settings, events))
    print(f"faust pass-through agent: {events} events in {faust_s:.2f} s = {events / faust_s:,.0f}/s")
    return {"raw_relay_events_s": events / relay_s, "faust_pass_through_events_s": events / faust_s}


def bench_baselines(events: int, workdir: Path) -> dict[str, float]:
    """The two baselines on a broker of their own, for a round that compares them with a path run next to them."""
    workdir.mkdir(parents=True, exist_ok=True)
    with LocalBroker(free_port(), log_file=workdir / "tansu-baselines.log") as broker:
        settings = bench_settings(broker.bootstrap, workdir)
        _produce_backlog(settings, events)
        return _baselines(settings, events)


def bench_end_to_end(events: int, workdir: Path) -> dict[str, float]:
    """One backlog on one broker, drained by (1) a raw relay, (2) a faust pass-through, (4) the pipeline."""
    with LocalBroker(free_port(), log_file=workdir / "tansu.log") as broker:
        settings = bench_settings(broker.bootstrap, workdir)
        _produce_backlog(settings, events)
        figures = _baselines(settings, events)
        harness = PipelineHarness(settings)
        harness.start()  # returns once the consumer groups own every topic
        settle_heap()  # as `up` does once its roles have started
        try:
            rate, drain_s, _ = _drain_rate(lambda: _stored(harness), events)
            # Half the rate just measured, as the issue asks: produce -> queryable while the pipeline keeps up.
            settings = harness.settings
            figures |= _latency(harness, settings.bootstrap, settings.topic_prefix, rate=rate / 2, seconds=10)
        finally:
            harness.stop()
    figures["full_path_events_s"] = rate
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"pipeline: backlog of {events} drained into ClickHouse, steady state {rate:,.0f} events/s over "
        f"{drain_s:.2f} s (collect + tag + publish + store, one process)"
    )
    if figures.get("latency_events"):
        _print_latency("one process", figures)
    print(
        f"  full path / raw relay = {figures['full_path_events_s'] / figures['raw_relay_events_s']:.3f}; "
        f"full path / faust pass-through = {figures['full_path_events_s'] / figures['faust_pass_through_events_s']:.2f}"
        f"; peak RSS of the bench process {figures['peak_rss_mb']:,.0f} MB"
    )
    return figures


def _print_latency(path: str, figures: dict[str, float]) -> None:
    print(
        f"latency of {path} at {figures['latency_rate_events_s']:,.0f} events/s (half its drain rate): produce -> "
        f"queryable p50 {figures['latency_p50_s'] * 1000:,.0f} ms, p99 {figures['latency_p99_s'] * 1000:,.0f} ms "
        f"({figures['latency_events']:,.0f} events, {figures['latency_missing']:,.0f} not seen in time)"
    )


def _machine() -> dict[str, object]:
    """What the figures were measured on: they mean little without it."""
    cpuinfo = Path("/proc/cpuinfo")
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
    ]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "note": "broker, store and bench share these cores",
    }


def up_rounds(events: int, workdir: Path, rounds: int, first: dict[str, float]) -> dict[str, Any]:
    """`up` against the baselines measured just before it, ``rounds`` times; ``first`` holds round 1's baselines
    (`bench_end_to_end`'s; the top-level relay and faust figures are round 1's, each round's are in ``up_rounds``).

    The ratios are taken within each round, then their median: this VM's speed drifts by the hour (the same code's
    stages moved from 33,600 to 43,700 events/s between runs), and a baseline measured minutes away from the path
    it is compared with moved the ratio by as much as the code did.
    """
    measured: list[dict[str, float]] = []
    for number in range(rounds):
        baselines = first if number == 0 else bench_baselines(events, workdir / f"round-{number + 1}")
        up = bench_processes(events, workdir / f"round-{number + 1}", up=True)
        rate = up["full_path_up_events_s"]
        measured.append(
            baselines
            | up
            | {
                "full_path_up_over_relay": rate / baselines["raw_relay_events_s"],
                "full_path_up_over_faust": rate / baselines["faust_pass_through_events_s"],
            }
        )
        print(
            f"  round {number + 1}: `up` / raw relay = {measured[-1]['full_path_up_over_relay']:.3f}; "
            f"/ faust pass-through = {measured[-1]['full_path_up_over_faust']:.2f}"
        )
    medians = {name: statistics.median(r[name] for r in measured) for name in measured[0]}
    medians["up_process_peak_rss_mb"] = max(r["up_process_peak_rss_mb"] for r in measured)
    medians["up_latency_p99_s"] = max(r["up_latency_p99_s"] for r in measured)  # the worst round's, not a median
    print(
        f"`up` over {rounds} rounds (medians): {medians['full_path_up_events_s']:,.0f} events/s, "
        f"/ raw relay {medians['full_path_up_over_relay']:.3f}, / faust {medians['full_path_up_over_faust']:.2f}; "
        f"p99 produce -> queryable (worst round) {medians['up_latency_p99_s'] * 1000:,.0f} ms"
    )
    return {name: value for name, value in medians.items() if name.startswith(("full_path_up", "up_"))} | {
        "up_rounds": measured
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage-events", type=int, default=100_000)
    parser.add_argument("--e2e-events", type=int, default=150_000)
    parser.add_argument("--monitor-events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3, help="`up` against its baselines, each measured anew")
    parser.add_argument("--results", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "minimize_events_s_1_core": bench_minimize(args.stage_events),
        "stages_events_s_1_core": bench_stages(args.stage_events),
        "stages_fresh_values_events_s_1_core": bench_stages_fresh(args.stage_events),
        "stages_fresh_uuid_ids_events_s_1_core": bench_stages_fresh(args.stage_events, uuid_ids=True),
    }
    with tempfile.TemporaryDirectory() as workdir:
        figures |= bench_end_to_end(args.e2e_events, Path(workdir))
        figures |= bench_processes(args.e2e_events, Path(workdir))
        rate = figures["full_path_processes_events_s"]  # against round 1's baselines, the nearest in time
        figures["full_path_processes_over_relay"] = rate / figures["raw_relay_events_s"]
        figures["full_path_processes_over_faust"] = rate / figures["faust_pass_through_events_s"]
        print(
            f"  processes: / raw relay = {figures['full_path_processes_over_relay']:.3f}; "
            f"/ faust pass-through = {figures['full_path_processes_over_faust']:.2f}"
        )
        first = {name: figures[name] for name in ("raw_relay_events_s", "faust_pass_through_events_s")}
        figures |= up_rounds(args.e2e_events, Path(workdir), args.rounds, first)
        from tests.benchmarks.bench_monitor import bench_monitor

        figures |= bench_monitor(args.monitor_events, Path(workdir))
    document = {"machine": _machine(), "e2e_events": args.e2e_events, **figures}
    args.results.write_text(json.dumps(document, indent=2) + "\n")
    print(f"figures written to {args.results}")


if __name__ == "__main__":
    main()
