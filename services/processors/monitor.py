"""faust wiring of the purpose monitor: activity topics -> decisions -> violations topic, ClickHouse, metrics.

Consent and suspension state are faust tables with changelog topics, so a restarted worker recovers them.
The tables are keyed per tenant and subject pseudonym and written through the partitioner; the activity topics
must be co-partitioned (same partition count, keyed by subject: the emitter does this).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.types import TP

from services.metrics import PipelineMetrics
from services.monitor.alerts import Alert, AlertAggregator
from services.monitor.evaluate import Evaluated, MonitorResult, activity_of, monitor_batch
from services.monitor.rows import (
    ACTIVITY_COLUMNS,
    PROVISION_COLUMNS,
    VIOLATION_COLUMNS,
    activity_rows,
    provision_rows,
    violation_rows,
)
from services.openlineage.observer import LineageObserver
from services.policy.decide import Decider
from services.policy.gaps import GapFinder
from services.processors.batches import batch_token, batches, source_record, span
from services.processors.publisher import publish
from services.processors.state_progress import StateProgress, state_targets
from services.pseudonymize import PseudonymKey
from services.quarantine import QuarantineKey
from services.settings import Settings
from services.sink.writer import LineageWriter
from services.stages.messages import OutgoingMessage, encode_dead_letter
from services.topics import Topics

log = logging.getLogger(__name__)

TABLES = ("subjects", "consents")


def changelog_topics(settings: Settings) -> list[str]:
    """The changelog topics of the monitor's tables (created by the stack: faust may not declare topics)."""
    return [f"{settings.app_id}-{name}-changelog" for name in TABLES]


def _count(metrics: PipelineMetrics, evaluated: list[Evaluated], gaps: GapFinder) -> None:
    for item in evaluated:
        event, activity = item.event, activity_of(item.event)
        metrics.decisions.labels(activity, str(item.decision.allowed).lower()).inc()
        # Only the policy's own purposes become label values: input text must not make labels unbounded.
        purpose = event.purpose if event.purpose in gaps.purposes else "unknown"
        for violation in item.decision.violations:
            metrics.violations.labels(violation.code, violation.severity.value, purpose).inc()
        for gap in gaps.in_activity(activity, event.source_service, event.purpose, event.data):
            metrics.policy_gaps.labels(gap.stream, gap.kind.value).inc()


def _committed_offset(app: faust.App, tp: TP) -> int | None:
    """The offset faust last committed for ``tp`` in this process (faust keeps no public accessor for it)."""
    committed: Mapping[TP, int | None] = getattr(app.consumer, "_committed_offset", {})
    return committed.get(tp)


def _alert_messages(alerts: list[Alert], topic: str, metrics: PipelineMetrics) -> list[OutgoingMessage]:
    for alert in alerts:
        metrics.violation_alerts.labels(alert.key.code, alert.severity, alert.status.value).inc()
    return [OutgoingMessage(topic, alert.key.message_key(), alert.document(), []) for alert in alerts]


def add_monitor_agent(
    app: faust.App,
    settings: Settings,
    decider: Decider,
    key: PseudonymKey,
    quarantine: QuarantineKey,
    writer: LineageWriter,
    metrics: PipelineMetrics,
    observer: LineageObserver | None = None,
) -> None:
    """Register the monitor agent and its tables on ``app``."""
    topics = Topics(settings.topic_prefix)
    schema: faust.Schema[Any, Any] = faust.Schema(key_serializer="json", value_serializer="json")
    subjects = app.Table("subjects", default=None, partitions=settings.topic_partitions, schema=schema,
                         use_partitioner=True)  # fmt: skip
    consents = app.Table("consents", default=None, partitions=settings.topic_partitions, schema=schema,
                         use_partitioner=True)  # fmt: skip
    decision_topic = app.topic(topics.use, topics.disclosure, key_type=bytes, value_type=bytes)
    state_topic = app.topic(topics.consent, topics.rights, key_type=bytes, value_type=bytes)
    state_topics = frozenset((topics.consent, topics.rights))
    progress = StateProgress(committed=lambda tp: _committed_offset(app, tp))
    gaps = GapFinder(decider.engine)
    aggregator = AlertAggregator(timedelta(seconds=settings.alert_window_s))

    def dead_letters(result: MonitorResult) -> list[OutgoingMessage]:
        """The batch's dead letters as messages, counted."""
        for letter in result.dead:
            metrics.dead_letters.labels(letter.stage.value, letter.reason.value).inc()
        return [encode_dead_letter(d, topics.dead_letter, quarantine) for d in result.dead]

    async def monitor_state(stream: faust.StreamT[bytes]) -> None:
        """Consents and rights requests into the tables; the decision agent waits for them."""
        async for events in batches(stream).take_events(settings.batch_size, within=settings.batch_window_s):
            progress.working(True)
            try:
                result = monitor_batch([source_record(e) for e in events], subjects, consents, decider, key)
                await publish(app.producer, dead_letters(result))
            finally:
                progress.working(False)
            for event in events:
                progress.applied(event.message.tp, event.message.offset, event.message.timestamp)

    async def settle(produced_at: float) -> dict[TP, int]:
        """Wait for the state sent before a batch produced at ``produced_at``; return what is still missing.

        First every state message below the consumer's high-water marks; then, while a state partition's
        latest applied message is not later than the batch, for as long as state messages keep coming (up to a
        quiet spell of ``monitor_state_quiet_s``): a broker's high-water mark can lag behind (Tansu's does).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.monitor_state_wait_s
        while True:
            targets = await state_targets(app.consumer, state_topics)
            missing = await progress.wait_for(targets, max(deadline - loop.time(), 0.0))
            remaining = deadline - loop.time()
            if missing or remaining <= 0 or not progress.not_after(produced_at, targets):
                return missing
            if await progress.quiet_for(min(settings.monitor_state_quiet_s, remaining)):
                return {}

    async def monitor(stream: faust.StreamT[bytes]) -> None:
        """Uses and disclosures decided against the policy and the state, once the state has caught up."""
        async for events in batches(stream).take_events(settings.batch_size, within=settings.batch_window_s):
            missing = await settle(max(e.message.timestamp for e in events))
            if missing:
                metrics.monitor_state_timeouts.inc()
                log.warning(
                    "deciding without %d consent/rights messages not yet applied (waited %.1f s)",
                    sum(missing.values()),
                    settings.monitor_state_wait_s,
                )
            batch = [source_record(e) for e in events]
            result = monitor_batch(batch, subjects, consents, decider, key)
            decided_at = datetime.now(UTC)
            # Counted and alerted before the insert: a store that is down holds the insert (and the offsets),
            # but must not hide the violations from the alert rules meanwhile.
            _count(metrics, result.evaluated, gaps)
            alerts = _alert_messages(aggregator.add(result.evaluated, decided_at), topics.violations, metrics)
            await publish(app.producer, [*alerts, *dead_letters(result)])
            await writer.write_rows(
                {
                    "activity_decisions": (ACTIVITY_COLUMNS, activity_rows(result.evaluated, decided_at)),
                    "violations": (VIOLATION_COLUMNS, violation_rows(result.evaluated, decided_at)),
                    "provision_records": (PROVISION_COLUMNS, provision_rows(result.evaluated, decided_at)),
                },
                span(batch),
                batch_token(batch),
            )
            if observer is not None:
                observer.observe_monitor(result.evaluated, result.dead)
            metrics.last_batch.labels("monitor").set_to_current_time()

    async def close_alert_windows() -> None:
        """Publish the summaries of windows that closed while no violation came in."""
        alerts = aggregator.due(datetime.now(UTC))
        if alerts:
            await publish(app.producer, _alert_messages(alerts, topics.violations, metrics))

    app.agent(state_topic, name="monitor-state")(monitor_state)
    app.agent(decision_topic, name="monitor")(monitor)
    app.timer(interval=min(settings.alert_window_s, 5.0), name="close-alert-windows")(close_alert_windows)
