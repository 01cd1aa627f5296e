"""faust wiring of the purpose monitor: activity topics -> decisions -> violations topic, ClickHouse, metrics.

Consent and suspension state are faust tables with changelog topics, so a restarted worker recovers them.
The tables are keyed per tenant and subject pseudonym and written through the partitioner; the activity topics
must be co-partitioned (same partition count, keyed by subject: the emitter does this).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust

from services.metrics import PipelineMetrics
from services.monitor.evaluate import Evaluated, activity_of, decision_document, monitor_batch
from services.monitor.rows import (
    ACTIVITY_COLUMNS,
    PROVISION_COLUMNS,
    VIOLATION_COLUMNS,
    activity_rows,
    provision_rows,
    violation_rows,
)
from services.policy.decide import Decider
from services.processors.batches import batches, source_record, span
from services.processors.publisher import publish
from services.settings import Settings
from services.sink.writer import LineageWriter
from services.stages.messages import OutgoingMessage, encode_dead_letter
from services.stages.pseudonymize import PseudonymKey
from services.topics import Topics

log = logging.getLogger(__name__)

TABLES = ("subjects", "consents")


def changelog_topics(settings: Settings) -> list[str]:
    """The changelog topics of the monitor's tables (created by the stack: faust may not declare topics)."""
    return [f"{settings.app_id}-{name}-changelog" for name in TABLES]


def _count(metrics: PipelineMetrics, evaluated: list[Evaluated], purposes: frozenset[str]) -> None:
    for item in evaluated:
        metrics.decisions.labels(activity_of(item.event), str(item.decision.allowed).lower()).inc()
        # Only the policy's own purposes become label values: input text must not make labels unbounded.
        purpose = item.event.purpose if item.event.purpose in purposes else "unknown"
        for violation in item.decision.violations:
            metrics.violations.labels(violation.code, violation.severity.value, purpose).inc()


def add_monitor_agent(
    app: faust.App,
    settings: Settings,
    decider: Decider,
    key: PseudonymKey,
    writer: LineageWriter,
    metrics: PipelineMetrics,
) -> None:
    """Register the monitor agent and its tables on ``app``."""
    topics = Topics(settings.topic_prefix)
    schema: faust.Schema[Any, Any] = faust.Schema(key_serializer="json", value_serializer="json")
    subjects = app.Table("subjects", default=None, partitions=settings.topic_partitions, schema=schema,
                         use_partitioner=True)  # fmt: skip
    consents = app.Table("consents", default=None, partitions=settings.topic_partitions, schema=schema,
                         use_partitioner=True)  # fmt: skip
    activity_topic = app.topic(*topics.all_activity, key_type=bytes, value_type=bytes)
    purposes = frozenset(decider.engine.policy.purposes)

    async def monitor(stream: faust.StreamT[bytes]) -> None:
        async for events in batches(stream).take_events(settings.batch_size, within=settings.batch_window_s):
            batch = [source_record(e) for e in events]
            result = monitor_batch(batch, subjects, consents, decider, key)
            decided_at = datetime.now(UTC)
            outgoing = [
                OutgoingMessage(topics.violations, e.subject_pseudonym.encode(), decision_document(e), [])
                for e in result.evaluated
                if not e.decision.allowed
            ]
            outgoing += [encode_dead_letter(d, topics.dead_letter) for d in result.dead]
            await publish(app.producer, outgoing)
            await writer.write_rows(
                {
                    "activity_decisions": (ACTIVITY_COLUMNS, activity_rows(result.evaluated, decided_at)),
                    "violations": (VIOLATION_COLUMNS, violation_rows(result.evaluated, decided_at)),
                    "provision_records": (PROVISION_COLUMNS, provision_rows(result.evaluated, decided_at)),
                },
                span(batch),
            )
            _count(metrics, result.evaluated, purposes)
            for letter in result.dead:
                metrics.dead_letters.labels(letter.stage.value, letter.reason.value).inc()

    app.agent(activity_topic, name="monitor")(monitor)
