"""The faust app: a collection agent (stages -> tagged/dead-letter topics) and a sink agent (-> ClickHouse)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
from faust.types import StreamT

from services.metrics import PipelineMetrics
from services.openlineage.observer import LineageObserver
from services.policy.decide import Decider
from services.policy.gaps import GapFinder
from services.processors.batches import batches as _batches
from services.processors.batches import source_record, span
from services.processors.monitor import add_monitor_agent
from services.processors.publisher import publish
from services.settings import Settings
from services.sink.rows import sink_rows
from services.sink.writer import LineageWriter
from services.stages.messages import encode_dead_letter, encode_tagged
from services.stages.pipeline import CollectionContext, process_collection_batch
from services.stages.records import SourceRecord, StageResult, TaggedRecord
from services.topics import Topics

log = logging.getLogger(__name__)


def _count(
    metrics: PipelineMetrics,
    batch: Sequence[SourceRecord],
    result: StageResult[TaggedRecord],
    topics: Topics,
    gaps: GapFinder,
) -> None:
    for record in batch:
        kind = topics.kind_of_collection_topic(record.topic)
        metrics.events_consumed.labels(kind.value if kind else "unknown").inc()
    for tagged in result.ok:
        metrics.records_tagged.labels(tagged.kind).inc()
        for removed in tagged.removed:
            metrics.fields_removed.labels(tagged.kind, removed.reason.value).inc()
        for gap in gaps.in_collection(tagged.source_service, tagged.removed):
            metrics.policy_gaps.labels(gap.stream, gap.kind.value).inc()
    for letter in result.dead:
        metrics.dead_letters.labels(letter.stage.value, letter.reason.value).inc()


def create_processor_app(
    settings: Settings,
    context: CollectionContext,
    writer: LineageWriter,
    metrics: PipelineMetrics,
    decider: Decider,
    observer: LineageObserver | None = None,
) -> faust.App:
    """Build (not start) the faust app for ``settings``; nothing runs until ``await app.start()``.

    With an ``observer``, each agent reports what it did and a timer flushes it as OpenLineage events.
    """
    topics = Topics(settings.topic_prefix)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,  # the stack creates its topics explicitly, with the right partition count
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        broker_session_timeout=settings.consumer_session_timeout_s,
        broker_rebalance_timeout=settings.consumer_rebalance_timeout_s,
        broker_heartbeat_interval=settings.consumer_session_timeout_s / 5,
        producer_acks=-1,
        producer_max_batch_size=1_048_576,
        producer_linger=0.005,
        stream_wait_empty=False,
    )
    collection_topic = app.topic(*topics.all_collection, key_type=bytes, value_type=bytes)
    gaps = GapFinder(context.engine)
    store_topic = app.topic(*topics.all_tagged, topics.dead_letter, key_type=bytes, value_type=bytes)

    async def collect(stream: StreamT[bytes]) -> None:
        async for events in _batches(stream).take_events(settings.batch_size, within=settings.batch_window_s):
            batch = [source_record(e) for e in events]
            result = process_collection_batch(batch, context, datetime.now(UTC))
            outgoing = [encode_tagged(r, topics.tagged_for(r.kind)) for r in result.ok]
            outgoing += [encode_dead_letter(d, topics.dead_letter, context.quarantine) for d in result.dead]
            await publish(app.producer, outgoing)
            _count(metrics, batch, result, topics, gaps)
            if observer is not None:
                observer.observe_collection(result.ok, result.dead)
            metrics.last_batch.labels("collect").set_to_current_time()
            log.debug("collected %s: %d tagged, %d dead letters", span(batch), len(result.ok), len(result.dead))

    async def store(stream: StreamT[bytes]) -> None:
        batches = _batches(stream).take_events(settings.sink_batch_size, within=settings.sink_batch_window_s)
        async for events in batches:
            batch = [source_record(e) for e in events]
            rows = sink_rows(batch, topics.dead_letter)
            await writer.write(rows, span(batch))
            if observer is not None:
                observer.observe_store(len(rows.lineage), len(rows.dead_letters))
            metrics.last_batch.labels("store").set_to_current_time()

    app.agent(collection_topic, name="collect")(collect)
    app.agent(store_topic, name="store")(store)
    add_monitor_agent(app, settings, decider, context.key, context.quarantine, writer, metrics, observer)
    if observer is not None:

        async def flush_lineage_events() -> None:
            await asyncio.to_thread(observer.flush)  # file or HTTP I/O: off the event loop

        app.timer(interval=settings.openlineage_interval_s, name="openlineage-flush")(flush_lineage_events)
    return app
