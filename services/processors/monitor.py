"""The monitor role: the activity topic -> decisions in ClickHouse, alerts on the violations topic, metrics.

How it stays right on any number of workers, after any restart (issue 12):

- **Order by construction.** Uses, disclosures, consents and rights requests travel on one topic, keyed by
  the subject's partition key (an HMAC). A subject's events are on one partition, in the order the broker
  accepted them, and one worker owns that partition: a consent sent before a provision is applied before it,
  with no waiting for other topics.
- **State owned with its partition, derived from the store.** Each change of consent or rights state is
  inserted into ``monitor_state`` with the batch's decisions, before the batch's offsets are committed. A
  worker reads the latest value of each key a batch needs from the changes *below* the offset the batch
  starts at, unless it holds it already (:mod:`services.monitor.state`: at most ``LINEAGE_MONITOR_STATE_KEYS``
  keys in memory): exactly what the committed messages built. Nothing depends on a broker's reported end
  offset (the local broker's lags) or on replaying a changelog; a restarted, killed or rebalanced worker
  resumes from the same facts.
- **A batch is applied once.** Decisions are made on an overlay of the partition's state; the overlay is
  merged only after the store acknowledged the batch. A failed insert leaves the state as it was, and the
  consumer retries the same batch (same deduplication token); alerts of a batch whose publication failed are
  kept and re-published, not decided again.
- **Alert grouping from the store.** A group's summary is counted from the violations table when its window
  closes, and every published alert is recorded in the alerts table, from which a (re)started worker and its
  peers read which windows are open (:mod:`services.monitor.alerts`). Each group is summarized on its own: one
  whose stored violations cannot be read never holds back the summaries of the others. The groups held are
  capped, per tenant and in all; violations beyond the caps are alerted in overflow groups, whatever is sent.
- **No event blocks the others.** An event over ``LINEAGE_MAX_EVENT_BYTES`` is dead-lettered as ``too_large``
  (not kept); a row the store refuses is dead-lettered with ClickHouse's reason, and the rest of the batch is
  stored (:class:`services.sink.writer.LineageWriter`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition

from schemas.decisions import Violation
from services.errors import OutputFailed
from services.metrics import PipelineMetrics
from services.monitor.alerts import (
    DEFAULT_MAX_GROUPS,
    DEFAULT_MAX_GROUPS_PER_TENANT,
    Alert,
    AlertAggregator,
    AlertKey,
    OverflowScope,
    ViolationSummary,
)
from services.monitor.evaluate import (
    Evaluated,
    MonitorResult,
    Overlay,
    Received,
    activity_of,
    apply_activity,
    read_activity,
    state_keys,
)
from services.monitor.identity import identity_of, without_conflicts
from services.monitor.rows import (
    ACTIVITY_COLUMNS,
    ALERT_COLUMNS,
    PROVISION_COLUMNS,
    STATE_COLUMNS,
    VIOLATION_COLUMNS,
    activity_rows,
    alert_rows,
    provision_rows,
    state_rows,
    violation_rows,
)
from services.monitor.state import StateCache, StateKey
from services.openlineage.observer import LineageObserver
from services.policy.decide import Decider
from services.policy.gaps import GapFinder
from services.processors.batches import batch_token
from services.processors.publisher import publish_batch
from services.pseudonymize import PseudonymKey
from services.quarantine import QuarantineKey
from services.records import DeadLetter, DeadLetterReason, SourceRecord, Stage
from services.settings import Settings
from services.sink.rows import IDENTITY_COLUMNS, Origin, Row
from services.sink.writer import LineageWriter, TableRows
from services.stages.messages import OutgoingMessage, encode_dead_letter
from services.stages.tag import DEFAULT_MAX_SKEW
from services.store.async_store import AsyncLineageStore
from services.store.client import describe_store_error, refuses_data
from services.tenants import TenantRegister
from services.topics import Topics

log = logging.getLogger(__name__)


def count_decisions(metrics: PipelineMetrics, evaluated: Sequence[Evaluated], gaps: GapFinder) -> None:
    """The monitor's counters for one batch: one ``inc`` per label set, not per event; the labels of each
    distinct kind of decision in the batch (activity, actor, purpose, data, outcome) are worked out once."""
    kinds: Counter[tuple[str, str, str, tuple[str, ...], bool, tuple[Violation, ...]]] = Counter(
        (
            activity_of(item.event),
            item.event.source_service,
            item.event.purpose,
            tuple(item.event.data),
            item.decision.allowed,
            item.decision.violations,
        )
        for item in evaluated
    )
    decisions: Counter[tuple[str, str]] = Counter()
    violations: Counter[tuple[str, str, str]] = Counter()
    policy_gaps: Counter[tuple[str, str]] = Counter()
    for (activity, actor, purpose, data, allowed, found), n in kinds.items():
        decisions[(activity, "true" if allowed else "false")] += n
        # Only the policy's own purposes become label values: input text must not make labels unbounded.
        label = purpose if purpose in gaps.purposes else "unknown"
        for violation in found:
            violations[(violation.code, violation.severity.value, label)] += n
        for gap in gaps.in_activity(activity, actor, purpose, data):
            policy_gaps[(gap.stream, gap.kind.value)] += n
    for labels, n in decisions.items():
        metrics.decisions.labels(*labels).inc(n)
    for labels3, n in violations.items():
        metrics.violations.labels(*labels3).inc(n)
    for labels, n in policy_gaps.items():
        metrics.policy_gaps.labels(*labels).inc(n)


def _as_stored(moment: datetime) -> datetime:
    """``moment`` to the millisecond, as the tables keep it (DateTime64(3)): windows and rows compare exactly."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


DEFAULT_MAX_EVENT_BYTES: int = Settings.model_fields["max_event_bytes"].default
DEFAULT_STATE_KEYS: int = Settings.model_fields["monitor_state_keys"].default
DEFAULT_STATE_BYTES: int = Settings.model_fields["monitor_state_bytes"].default


def _origin(source: SourceRecord) -> Origin:
    return source.topic, source.partition, source.offset


def _too_large(source: SourceRecord, max_bytes: int) -> DeadLetter:
    """An event over the size limit is never parsed nor kept (its dead letter says only that, unsealed)."""
    message = f"{len(source.value or b'')} bytes exceeds the limit of {max_bytes}"
    return DeadLetter(source, Stage.INGEST, DeadLetterReason.TOO_LARGE, message)


def _rows_by_event(
    build: Callable[[Sequence[Evaluated], datetime], list[Row]], evaluated: Sequence[Evaluated], at: datetime
) -> tuple[list[Row], list[Origin]]:
    """The rows ``build`` makes of each decided event, with the coordinates of the event each row came from."""
    rows: list[Row] = []
    origins: list[Origin] = []
    for item in evaluated:
        made = build([item], at)
        rows += made
        origins += [_origin(item.source)] * len(made)
    return rows, origins


def _by_partition(batch: Sequence[SourceRecord]) -> dict[tuple[str, int], list[SourceRecord]]:
    """The batch per partition, each in offset order (the order that counts: one subject, one partition)."""
    parts: dict[tuple[str, int], list[SourceRecord]] = {}
    for record in batch:
        parts.setdefault((record.topic, record.partition), []).append(record)
    return parts


class MonitorWorker:
    """The monitor's batch handler and the state of the partitions its consumer owns."""

    def __init__(
        self,
        decider: Decider,
        key: PseudonymKey,
        quarantine: QuarantineKey,
        store: AsyncLineageStore,
        writer: LineageWriter,
        producer: AIOKafkaProducer,
        topics: Topics,
        metrics: PipelineMetrics,
        alert_window: timedelta,
        observer: LineageObserver | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_clock_skew: timedelta = DEFAULT_MAX_SKEW,
        state_keys_held: int = DEFAULT_STATE_KEYS,
        state_bytes_held: int = DEFAULT_STATE_BYTES,
        alert_groups_per_tenant: int = DEFAULT_MAX_GROUPS_PER_TENANT,
        alert_groups: int = DEFAULT_MAX_GROUPS,
        retired_keys: Sequence[PseudonymKey] = (),
        tenant_register: TenantRegister | None = None,
    ) -> None:
        self._decider = decider
        self._tenant_register = tenant_register  # an activity event of another tenant is refused
        self._key = key
        self._retired_keys = tuple(retired_keys)  # state recorded before a rotation is found under these
        self._quarantine = quarantine
        self._store = store
        self._writer = writer
        self._producer = producer
        self._topics = topics
        self._metrics = metrics
        self._observer = observer
        self._max_event_bytes = max_event_bytes
        self._max_clock_skew = max_clock_skew
        self._gaps = GapFinder(decider.engine)
        self.aggregator = AlertAggregator(
            alert_window, max_groups_per_tenant=alert_groups_per_tenant, max_groups=alert_groups
        )
        self.state = StateCache(state_keys_held, state_bytes_held)
        self._unpublished: dict[str, tuple[list[OutgoingMessage], list[Alert]]] = {}
        self._windows_read = False  # the alerts table's open windows were adopted since the start
        self.unsummarized = 0  # alert windows whose summary could not be read from the store, since the start

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Partitions revoked or newly assigned: their state is reloaded from the store when next needed."""
        for tp in partitions:
            self.state.forget(tp.topic, tp.partition)
        self._unpublished.clear()  # a batch taken away is decided again by whoever reads it next

    async def handle(self, batch: Sequence[SourceRecord]) -> None:
        """Decide, store, then publish alerts and dead letters and record the alerts; raise if any output
        failed (the batch retries)."""
        if not self._windows_read:
            await self._adopt_windows()
        token = batch_token(batch)
        pending = self._unpublished.pop(token, None)
        if pending is None:
            pending = await self._decide_and_store(batch, token)
        outgoing, alerts = pending
        try:
            await publish_batch(self._producer, outgoing)
            await self._record(alerts, token + "-alerts")
        except Exception:
            self._unpublished[token] = pending  # stored and applied already: only the publication is retried
            raise
        self._metrics.last_batch.labels("monitor").set_to_current_time()

    async def _adopt_windows(self) -> None:
        """Adopt the open alert windows the alerts table records (this worker's before a restart, its peers')."""
        now = datetime.now(UTC)
        try:
            windows = await self._store.open_alert_windows(now - self.aggregator.window)
        except Exception as exc:
            raise OutputFailed(f"open alert windows not read: {describe_store_error(exc)}") from exc
        self.aggregator.adopt({AlertKey(*key): start for key, start in windows.items()}, now)
        self._windows_read = True

    async def _record(self, alerts: Sequence[Alert], token: str) -> None:
        """Record published alerts: what tells a restarted worker, and its peers, which windows are open."""
        if alerts:
            await self._writer.write_tables({"alerts": TableRows(ALERT_COLUMNS, alert_rows(alerts))}, token)

    async def _load_state(self, topic: str, partition: int, first_offset: int, keys: list[StateKey]) -> None:
        """Hold the partition's state for messages from ``first_offset``, ``keys`` included (read from the
        changes stored below that offset if not held)."""
        self.state.resume(topic, partition, first_offset)
        missing = self.state.missing(topic, partition, keys)
        if not missing:
            return
        try:
            found = await self._store.monitor_state(topic, partition, first_offset, missing)
        except Exception as exc:
            raise OutputFailed(f"monitor state not loaded: {describe_store_error(exc)}") from exc
        self.state.load(topic, partition, missing, {key: orjson.loads(value) for key, value in found.items()})

    async def _decide_and_store(
        self, batch: Sequence[SourceRecord], token: str
    ) -> tuple[list[OutgoingMessage], list[Alert]]:
        result = MonitorResult()
        parts = _by_partition(batch)
        received: list[Received] = []
        limit = self._max_event_bytes
        tenants = self._tenant_register.current() if self._tenant_register is not None else None
        for records in parts.values():
            fitting = [record for record in records if len(record.value or b"") <= limit]
            if len(fitting) < len(records):
                result.dead += [_too_large(record, limit) for record in records if len(record.value or b"") > limit]
            read, invalid = read_activity(
                fitting,
                self._key,
                None,
                self._max_clock_skew,
                self._retired_keys,
                engine=self._decider.engine,
                tenants=tenants,
            )
            received += read
            result.dead += invalid
        try:  # every event's identity, before any of them touches the state or is decided
            claimed = await self._store.stored_digests(list({identity_of(item) for item in received}))
        except Exception as exc:
            raise OutputFailed(f"activity identity lookup failed: {describe_store_error(exc)}") from exc
        identities = without_conflicts(received, claimed)
        result.dead += identities.dead
        kept: dict[tuple[str, int], list[Received]] = {}
        for item in identities.kept:
            kept.setdefault((item.source.topic, item.source.partition), []).append(item)
        applied: list[tuple[str, int, Overlay, Overlay, int]] = []
        for (topic, partition), records in parts.items():
            mine = kept.get((topic, partition), [])
            await self._load_state(topic, partition, records[0].offset, [k for item in mine for k in state_keys(item)])
            subjects = Overlay(self.state.table(topic, partition, "subjects"))
            consents = Overlay(self.state.table(topic, partition, "consents"))
            part = apply_activity(mine, subjects, consents, self._decider)
            result.evaluated += part.evaluated
            result.changes += part.changes
            result.dead += part.dead
            applied.append((topic, partition, subjects, consents, records[-1].offset + 1))
        decided_at = _as_stored(datetime.now(UTC))
        refused = await self._writer.write_tables(
            {
                "event_identity": TableRows(IDENTITY_COLUMNS, identities.rows, identities.origins),
                "activity_decisions": TableRows(
                    ACTIVITY_COLUMNS,
                    activity_rows(result.evaluated, decided_at, self._decider.engine.known_refs),
                    [_origin(item.source) for item in result.evaluated],
                ),
                "violations": TableRows(
                    VIOLATION_COLUMNS, *_rows_by_event(violation_rows, result.evaluated, decided_at)
                ),
                "provision_records": TableRows(
                    PROVISION_COLUMNS, *_rows_by_event(provision_rows, result.evaluated, decided_at)
                ),
                "monitor_state": TableRows(
                    STATE_COLUMNS,
                    state_rows(result.changes, decided_at),
                    [_origin(change.source) for change in result.changes],
                ),
            },
            token,
        )
        for topic, partition, subjects, consents, next_offset in applied:  # stored: now part of the state
            changes = {"subjects": subjects.changes, "consents": consents.changes}
            self.state.stored(topic, partition, changes, next_offset)
        if refused:  # dead-lettered, not decided: no alert or count of them; state reloads from what was stored
            result.evaluated = [item for item in result.evaluated if _origin(item.source) not in refused]
            for topic, partition, _ in refused:
                self.state.forget(topic, partition)
        count_decisions(self._metrics, result.evaluated, self._gaps)
        alerts = self.aggregator.add(result.evaluated, decided_at)
        for letter in result.dead:
            self._metrics.dead_letters.labels(letter.stage.value, letter.reason.value).inc()
        if self._observer is not None:
            self._observer.observe_monitor(result.evaluated, result.dead)
        dead = [encode_dead_letter(d, self._topics.dead_letter, self._quarantine) for d in result.dead]
        return [*self._alert_messages(alerts), *dead], alerts

    def _alert_messages(self, alerts: list[Alert]) -> list[OutgoingMessage]:
        for alert in alerts:
            self._metrics.violation_alerts.labels(alert.key.code, alert.severity, alert.status.value).inc()
        return [
            OutgoingMessage(self._topics.violations, alert.key.message_key(), alert.document(), []) for alert in alerts
        ]

    async def close_alert_windows(self, interval_s: float) -> None:
        """Forever: adopt the windows peers opened, and publish the summaries of windows that closed."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.summarize_closed_windows(datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 - the timer must outlive a broker or store outage
                log.warning("alert windows not summarized (%s); retrying", type(exc).__name__)

    async def summarize_closed_windows(self, now: datetime) -> list[Alert]:
        """Publish and record a ``repeated`` alert for each window ``now`` closed that had violations, counted
        from the violations table; forget the quiet ones.

        Each group is summarized on its own. One whose summary the store cannot give now (down, busy) stays open
        and is tried again next time; one whose stored violations cannot be read as they are (a value the client
        cannot convert: trying again reads the same rows) is closed without a summary, so that its next violation
        is alerted as ``new`` instead of the group falling silent. Either way the others are published, and the
        failures are logged once per pass, by count and class, and counted (``unsummarized``).
        """
        now = _as_stored(now)
        await self._adopt_windows()
        due = self.aggregator.due(now)
        overflows = self.aggregator.overflow_scopes(due)
        alerts: list[Alert] = []
        failures: Counter[str] = Counter()
        for key, start in due.items():
            try:
                row = await self._violation_summary(key, overflows.get(key), start, now)
            except Exception as exc:  # noqa: BLE001 - one group's failure must not hold back the others
                failures[type(exc).__name__] += 1
                if refuses_data(exc):
                    self.aggregator.close(key, start, None, now)
                continue
            summary = ViolationSummary(*row) if row is not None else None
            if (alert := self.aggregator.close(key, start, summary, now)) is not None:
                alerts.append(alert)
        if failures:
            self.unsummarized += failures.total()
            log.warning(
                "%d of %d alert windows not summarized (%s); windows the store cannot read now stay open, "
                "those whose stored violations cannot be read are closed without a summary",
                failures.total(),
                len(due),
                ", ".join(f"{name} x{count}" for name, count in sorted(failures.items())),
            )
        try:
            await publish_batch(self._producer, self._alert_messages(alerts))
            await self._record(alerts, f"alerts-{now.isoformat()}-{len(alerts)}")
        except Exception:
            for alert in alerts:
                self.aggregator.reopen(alert.key, alert.window_start)
            raise
        return alerts

    async def _violation_summary(
        self, key: AlertKey, overflow: OverflowScope | None, start: datetime, now: datetime
    ) -> tuple[Any, ...] | None:
        """The store's summary of one window: of the group's own violations, or those ``overflow`` scopes."""
        sample_size = self.aggregator.sample_size
        if overflow is None:
            return await self._store.violation_summary(astuple(key), start, now, sample_size)
        return await self._store.overflow_summary(
            overflow.tenant_id, overflow.code, start, now, sample_size, overflow.excluded
        )
