"""The collection pipeline as one pure function over a batch: ingest -> minimize -> tag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.policy.engine import PolicyEngine
from services.pseudonymize import PartitionKey, PseudonymKey
from services.quarantine import QuarantineKey
from services.records import SourceRecord, StageResult, TaggedRecord
from services.stages.ingest import KindOfTopic, ingest
from services.stages.minimize import minimize
from services.stages.redact import redact
from services.stages.tag import DEFAULT_MAX_SKEW, tag


@dataclass(frozen=True)
class CollectionContext:
    """Everything the collection stages decide with."""

    engine: PolicyEngine
    key: PseudonymKey
    partition_key: PartitionKey
    """Keys each subject's messages as the emitters key its activity: one subject, one key on every topic."""
    kind_of_topic: KindOfTopic
    max_event_bytes: int
    quarantine: QuarantineKey
    """Seals refused events on the dead-letter topic."""
    max_clock_skew: timedelta = DEFAULT_MAX_SKEW
    """How far past ingestion an event's occurred_at may lie."""
    tenants: frozenset[str] | None = None
    """The tenant register's ids (services/tenants.py): an event of another tenant is refused. None: any tenant."""


def process_collection_batch(
    batch: Sequence[SourceRecord], context: CollectionContext, ingested_at: datetime
) -> StageResult[TaggedRecord]:
    """Run a batch through every collection stage; each input ends as one tagged record or one dead letter."""
    ingested = ingest(batch, context.kind_of_topic, context.max_event_bytes, tenants=context.tenants)
    minimized = minimize(ingested.ok, context.engine)
    tagged = tag(minimized.ok, context.engine, context.key, context.partition_key, ingested_at, context.max_clock_skew)
    dead = redact([*ingested.dead, *minimized.dead, *tagged.dead], context.engine, context.key, context.partition_key)
    return StageResult(ok=tagged.ok, dead=dead)
