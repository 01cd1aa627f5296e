"""Rows and messages of the monitor's decisions: pure conversions, shared by the agent and its tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime

import orjson

from schemas.activity import UseEvent
from services.monitor.alerts import Alert
from services.monitor.evaluate import Evaluated, StateChange, activity_of, recipient_of
from services.sink.rows import Row

ACTIVITY_COLUMNS = (
    "event_id", "activity", "tenant_id", "actor", "subject_pseudonym", "purpose", "data", "recipient_kind",
    "recipient_id", "allowed", "legal_basis", "policy_version", "violation_codes", "occurred_at", "decided_at",
    "source_topic", "source_partition", "source_offset",
)  # fmt: skip

VIOLATION_COLUMNS = (
    "event_id", "code", "article", "severity", "message", "tenant_id", "actor", "subject_pseudonym", "purpose",
    "recipient_id", "occurred_at", "decided_at", "activity", "recipient_kind", "policy_version",
)  # fmt: skip

ALERT_COLUMNS = (
    "alert_id", "status", "tenant_id", "code", "activity", "actor", "purpose", "recipient_kind", "recipient_id",
    "severity", "article", "policy_version", "count", "subjects", "event_ids", "first_occurred_at",
    "last_occurred_at", "window_start", "published_at",
)  # fmt: skip


STATE_COLUMNS = (
    "source_topic", "source_partition", "source_offset", "state_table", "state_key", "value", "changed_at",
)  # fmt: skip


def state_rows(changes: Sequence[StateChange], changed_at: datetime) -> list[Row]:
    """One monitor_state row per state change, at the message that made it."""
    return [
        (
            change.source.topic,
            change.source.partition,
            change.source.offset,
            change.table,
            change.key,
            orjson.dumps(change.value, option=orjson.OPT_SORT_KEYS).decode(),
            changed_at,
        )
        for change in changes
    ]


def activity_rows(batch: Sequence[Evaluated], decided_at: datetime, declared: AbstractSet[str]) -> list[Row]:
    """One activity_decisions row per decided use or disclosure; its data as :func:`stored_data` keeps them."""
    rows: list[Row] = []
    for evaluated in batch:
        event, decision, source = evaluated.event, evaluated.decision, evaluated.source
        kind, recipient_id = recipient_of(evaluated)
        rows.append(
            (
                event.event_id,
                activity_of(event),
                event.tenant_id,
                event.source_service,
                evaluated.subject_pseudonym,
                event.purpose,
                stored_data(event.data, declared),
                kind,
                recipient_id,
                decision.allowed,
                decision.legal_basis,
                decision.policy_version,
                decision.codes,
                event.occurred_at,
                decided_at,
                source.topic,
                source.partition,
                source.offset,
            )
        )
    return rows


def stored_data(data: Sequence[str], declared: AbstractSet[str]) -> list[str]:
    """The data a use or disclosure names, as its activity_decisions row keeps them: a reference the policy
    ``declared`` as it is; any other as ``undeclared:`` and a digest of it (16 hex digits: the same reference, the
    same digest). An undeclared reference is the request's own text and already a violation (``unknown_data``):
    64 of them carried 1,536 kanji as code points, and encodings no reader knows carry text still (seventeenth
    and eighteenth red-team passes)."""
    return [ref if ref in declared else _undeclared(ref) for ref in data]


def _undeclared(ref: str) -> str:
    return "undeclared:" + hashlib.blake2b(ref.encode(), digest_size=8).hexdigest()


def violation_rows(batch: Sequence[Evaluated], decided_at: datetime) -> list[Row]:
    """One violations row per violation found."""
    return [
        (
            evaluated.event.event_id,
            v.code,
            v.article,
            v.severity.value,
            v.message,
            evaluated.event.tenant_id,
            evaluated.event.source_service,
            evaluated.subject_pseudonym,
            evaluated.event.purpose,
            recipient_of(evaluated)[1],
            evaluated.event.occurred_at,
            decided_at,
            activity_of(evaluated.event),
            recipient_of(evaluated)[0],
            evaluated.decision.policy_version,
        )
        for evaluated in batch
        for v in evaluated.decision.violations
    ]


def alert_rows(alerts: Sequence[Alert]) -> list[Row]:
    """One alerts row per alert published."""
    return [
        (
            alert.alert_id,
            alert.status.value,
            alert.key.tenant_id,
            alert.key.code,
            alert.key.activity,
            alert.key.actor,
            alert.key.purpose,
            alert.key.recipient_kind,
            alert.key.recipient_id,
            alert.severity,
            alert.article,
            alert.policy_version,
            alert.count,
            alert.subjects,
            list(alert.event_ids),
            alert.first_occurred_at,
            alert.last_occurred_at,
            alert.window_start,
            alert.published_at,
        )
        for alert in alerts
    ]


PROVISION_COLUMNS = (
    "event_id",
    "tenant_id",
    "provided_at",
    "consent_obtained",
    "consent_reference",
    "recipient_id",
    "recipient_name",
    "recipient_address_or_representative",
    "subject_pseudonym",
    "data_items",
    "purpose",
    "actor",
    "policy_version",
    "recorded_at",
)


def provision_rows(batch: Sequence[Evaluated], recorded_at: datetime) -> list[Row]:
    """The Art. 4.2 record of every allowed provision to a third party on the basis of consent."""
    rows: list[Row] = []
    for evaluated in batch:
        event, decision = evaluated.event, evaluated.decision
        if isinstance(event, UseEvent) or not decision.allowed or decision.legal_basis != "consent":
            continue
        rows.append(
            (
                event.event_id,
                event.tenant_id,
                event.occurred_at,
                True,
                event.consent_reference or "",
                event.recipient.id,
                event.recipient_name or "",
                event.recipient_address_or_representative or "",
                evaluated.subject_pseudonym,
                list(event.data),
                event.purpose,
                event.source_service,
                decision.policy_version,
                recorded_at,
            )
        )
    return rows
