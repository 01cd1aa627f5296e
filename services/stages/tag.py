"""Tag: pseudonymize the subject and attach purposes, legal bases and the policy version in force.

The purposes depend only on (items kept, subject type, policy version): the engine answers each combination once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from schemas.events import CollectionKind, SubjectType
from services.policy.engine import PolicyEngine
from services.pseudonymize import PartitionKey, PseudonymKey, pseudonymize
from services.records import (
    DeadLetter,
    DeadLetterReason,
    Minimized,
    Stage,
    StageResult,
    TaggedRecord,
    split_each,
)

DEFAULT_MAX_SKEW = timedelta(days=1)


def _refused(record: Minimized, reason: DeadLetterReason, message: str) -> DeadLetter:
    envelope = record.envelope
    return DeadLetter(record.source, Stage.TAG, reason, message, envelope.event_id, envelope.kind.value)


def tag_one(
    record: Minimized,
    engine: PolicyEngine,
    key: PseudonymKey,
    partition_key: PartitionKey,
    ingested_at: datetime,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> TaggedRecord | DeadLetter:
    """Tag one minimized record; one that occurred after ``ingested_at`` + ``max_skew`` is refused."""
    return _tag(record, engine, key, partition_key, ingested_at, max_skew, (ingested_at + max_skew).timestamp())


def _tag(
    record: Minimized,
    engine: PolicyEngine,
    key: PseudonymKey,
    partition_key: PartitionKey,
    ingested_at: datetime,
    max_skew: timedelta,
    latest: float,
) -> TaggedRecord | DeadLetter:
    envelope = record.envelope
    # Instants as seconds: two aware datetimes of other offsets compare at ~2 timestamp() calls' cost, and the
    # policy's versions are looked up by the same number.
    moment = envelope.occurred_at.timestamp()
    if moment > latest:
        message = f"occurred_at is more than {max_skew.total_seconds():.0f} s after ingestion"
        return _refused(record, DeadLetterReason.OCCURRED_IN_FUTURE, message)
    version = engine.version_at_timestamp(moment)
    if version is None:
        message = f"occurred_at is before the first version of policy '{engine.policy_id}'"
        return _refused(record, DeadLetterReason.NO_POLICY_IN_FORCE, message)
    # Purposes are granted on the items actually kept: a purpose allowed some items of a category gets them.
    subject_type = _VALUE[envelope.subject_type]
    tags = engine.tags_for(record.data_items, subject_type, version)
    tenant_id, subject_id = envelope.tenant_id, envelope.subject_id
    return TaggedRecord(  # positional, in the field order of TaggedRecord: built once per event
        record.source,
        envelope.event_id,
        _VALUE[envelope.kind],
        envelope.kind_version,
        envelope.occurred_at,
        ingested_at,
        tenant_id,
        envelope.source_service,
        subject_type,
        pseudonymize(key, tenant_id, subject_id),
        key.key_id,
        partition_key.of(tenant_id, subject_id),
        record.payload,
        record.data_categories,
        record.data_items,
        tags.purposes,
        tags.legal_bases,
        engine.policy_id,
        version.version,
        record.removed,
        record.flagged,
    )


_VALUE: dict[StrEnum, str] = {member: member.value for enum in (CollectionKind, SubjectType) for member in enum}
"""Each kind and subject type -> its text: a dict lookup, cheaper per event than an enum's ``.value``."""


def tag(
    batch: Sequence[Minimized],
    engine: PolicyEngine,
    key: PseudonymKey,
    partition_key: PartitionKey,
    ingested_at: datetime,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> StageResult[TaggedRecord]:
    """Tag a batch; ``ingested_at`` is passed in so the stage stays pure."""
    latest = (ingested_at + max_skew).timestamp()
    return split_each(
        batch, lambda record: _tag(record, engine, key, partition_key, ingested_at, max_skew, latest), Stage.TAG
    )
