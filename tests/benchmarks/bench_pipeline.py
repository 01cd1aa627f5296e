"""Throughput of the collection stages alone and of the whole path broker -> stages -> broker -> ClickHouse.

Run with `make bench`. Prints figures; asserts nothing about time (timings belong here, not in tests).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from schemas.events import CollectionKind
from services.broker.admin import ensure_topics
from services.broker.local import LocalBroker, free_port
from services.demo.simulator import demo_stream
from services.emitter.client import Emitter
from services.pipeline import Pipeline
from services.settings import Settings
from services.stages.ingest import ingest
from services.stages.minimize import minimize
from services.stages.pipeline import process_collection_batch
from services.stages.records import SourceRecord
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


def bench_minimize(events: int) -> None:
    """Minimization alone, over demo events already ingested (the demo hides content in many of them)."""
    pipeline = Pipeline(_stage_settings())
    context = pipeline.context
    ingested = ingest(_demo_batch(pipeline, events), context.kind_of_topic, context.max_event_bytes).ok
    minimize(ingested[:2000], context.engine)  # warm caches
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for start in range(0, len(ingested), 2000):
            minimize(ingested[start : start + 2000], context.engine)
        best = min(best, time.perf_counter() - started)
    print(f"minimize only: {len(ingested)} events, best of 3 in {best:.2f} s = {len(ingested) / best:,.0f} events/s")


def bench_stages(events: int) -> None:
    pipeline = Pipeline(_stage_settings())
    batch = _demo_batch(pipeline, events)
    process_collection_batch(batch[:2000], pipeline.context, datetime.now(UTC))  # warm caches
    started = time.perf_counter()
    for start in range(0, len(batch), 2000):
        result = process_collection_batch(batch[start : start + 2000], pipeline.context, datetime.now(UTC))
    elapsed = time.perf_counter() - started
    print(f"stages only: {events} events in {elapsed:.2f} s = {events / elapsed:,.0f} events/s (1 core)")
    print(f"  last batch: {len(result.ok)} tagged, {len(result.dead)} dead letters")


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


def _stored(harness: PipelineHarness) -> int:
    rows = harness.query("SELECT (SELECT count() FROM collection_lineage) + (SELECT count() FROM dead_letters)").rows
    return int(rows[0][0])


def bench_end_to_end(events: int, workdir: Path) -> None:
    """Produce a backlog first, then time how fast the pipeline drains it into ClickHouse."""
    with LocalBroker(free_port(), log_file=workdir / "tansu.log") as broker:
        settings = bench_settings(broker.bootstrap, workdir)
        topics = Pipeline(settings).topics
        ensure_topics(settings.bootstrap, topics.all, settings.topic_partitions)
        started = time.perf_counter()
        with Emitter(settings.bootstrap, source_service="bench", topics=topics) as emitter:
            collection = (e for e in demo_stream(2, 500) if isinstance(e.kind, CollectionKind))
            for event in itertools.islice(collection, events):
                emitter.emit_raw(event.topic(topics), event.value, event.key)
        produce_s = time.perf_counter() - started
        print(f"emitter: {events} events acknowledged in {produce_s:.2f} s = {events / produce_s:,.0f} events/s")
        harness = PipelineHarness(settings)
        harness.start()  # returns once the consumer group owns every topic
        try:
            started = time.perf_counter()
            stored = 0
            while stored < events and time.perf_counter() - started < 600:
                time.sleep(0.2)
                stored = _stored(harness)
            drain_s = time.perf_counter() - started
        finally:
            harness.stop()
    print(
        f"pipeline: backlog of {events} drained into ClickHouse ({stored} rows) in {drain_s:.2f} s "
        f"= {events / drain_s:,.0f} events/s (collect + tag + publish + store, one process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage-events", type=int, default=100_000)
    parser.add_argument("--e2e-events", type=int, default=50_000)
    args = parser.parse_args()
    bench_minimize(args.stage_events)
    bench_stages(args.stage_events)
    with tempfile.TemporaryDirectory() as workdir:
        bench_end_to_end(args.e2e_events, Path(workdir))


if __name__ == "__main__":
    main()
