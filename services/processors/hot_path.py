"""The collect and store roles: what each does with one consumed batch (see :mod:`batch_consumer`).

A handler returns only when its output is acknowledged (the producer's acks, ClickHouse's insert), so the
consumer commits the batch right after it; it raises when the output failed, and the consumer retries.
Metrics are counted once per batch, never per event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from schemas.events import CollectionKind
from services.metrics import PipelineMetrics
from services.openlineage.observer import LineageObserver
from services.policy.gaps import GapFinder
from services.processors.batch_consumer import Handler
from services.processors.batches import batch_token
from services.processors.publisher import publish_batch
from services.records import SourceRecord, StageResult, TaggedRecord
from services.sink.rows import Seal, sink_rows
from services.sink.writer import LineageWriter
from services.stages.collection import CollectionContext, process_collection_batch
from services.stages.messages import encode_dead_letter, encode_tagged
from services.tenants import TenantRegister
from services.topics import Topics


def count_collection(
    metrics: PipelineMetrics,
    batch: Sequence[SourceRecord],
    result: StageResult[TaggedRecord],
    topics: Topics,
    gaps: GapFinder,
) -> None:
    """The collect role's counters for one batch: one ``inc`` per label set, not per event."""
    consumed = Counter(topics.kind_of_collection_topic(record.topic) for record in batch)
    for kind, n in consumed.items():
        metrics.events_consumed.labels(kind.value if kind else "unknown").inc(n)
    tagged = Counter(record.kind for record in result.ok)
    removed = Counter((record.kind, item.reason.value) for record in result.ok for item in record.removed)
    policy_gaps = Counter(
        (gap.stream, gap.kind.value)
        for record in result.ok
        for gap in gaps.in_collection(record.source_service, record.removed)
    )
    dead = Counter((letter.stage.value, letter.reason.value) for letter in result.dead)
    for kind_name, n in tagged.items():
        metrics.records_tagged.labels(kind_name).inc(n)
    for (kind_name, reason), n in removed.items():
        metrics.fields_removed.labels(kind_name, reason).inc(n)
    for (stream, gap_kind), n in policy_gaps.items():
        metrics.policy_gaps.labels(stream, gap_kind).inc(n)
    for (stage, reason), n in dead.items():
        metrics.dead_letters.labels(stage, reason).inc(n)


def collect_handler(
    context: CollectionContext,
    producer: AIOKafkaProducer,
    topics: Topics,
    metrics: PipelineMetrics,
    observer: LineageObserver | None = None,
    tenant_register: TenantRegister | None = None,
) -> Handler:
    """Collection topics -> stages -> tagged topics and dead letters, acknowledged before the commit. With a
    ``tenant_register``, each batch is decided with the register as its file says when the batch begins."""
    gaps = GapFinder(context.engine)
    tagged_topic = {kind.value: topics.tagged(kind) for kind in CollectionKind}

    async def handle(batch: Sequence[SourceRecord]) -> None:
        nonlocal context
        if tenant_register is not None and (tenants := tenant_register.current()) is not context.tenants:
            context = replace(context, tenants=tenants)
        result = process_collection_batch(batch, context, datetime.now(UTC))
        outgoing = [encode_tagged(r, tagged_topic[r.kind]) for r in result.ok]
        outgoing += [encode_dead_letter(d, topics.dead_letter, context.quarantine) for d in result.dead]
        await publish_batch(producer, outgoing)
        count_collection(metrics, batch, result, topics, gaps)
        if observer is not None:
            observer.observe_collection(result.ok, result.dead)
        metrics.last_batch.labels("collect").set_to_current_time()

    return handle


def store_handler(
    writer: LineageWriter,
    topics: Topics,
    metrics: PipelineMetrics,
    seal: Seal,
    observer: LineageObserver | None = None,
) -> Handler:
    """Tagged topics and dead letters -> ClickHouse rows, acknowledged by the insert before the commit.

    One row per event identity (tenant, event id): a re-delivery is stored once, a conflict is dead-lettered.
    """

    async def handle(batch: Sequence[SourceRecord]) -> None:
        # Returns once stored: re-deliveries skipped, conflicts and rows the store refused dead-lettered.
        resolved = await writer.write(sink_rows(batch, topics.dead_letter), batch_token(batch), seal)
        rows = resolved.rows
        if observer is not None:
            observer.observe_store(len(rows.lineage), len(rows.dead_letters))
        metrics.last_batch.labels("store").set_to_current_time()

    return handle
