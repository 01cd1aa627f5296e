"""Minimize: keep only what the policy allows for the record's kind and record type, with evidence of the rest.

Excluded content (message subjects and texts, attachment contents) is never in an allow-list, so it is
removed wherever it hides; its evidence says so. See :mod:`services.stages.allowlist`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from services.policy.engine import PolicyEngine
from services.records import (
    DeadLetter,
    DeadLetterReason,
    Ingested,
    Minimized,
    Stage,
    StageResult,
    split_each,
)
from services.stages.allowlist import AllowList, markers_of, reduce


@lru_cache(maxsize=64)
def allow_list_for(engine: PolicyEngine, kind: str) -> AllowList | None:
    """The allow-list of ``kind`` under ``engine``'s policy, or None when the policy does not know the kind."""
    rule = engine.kind_rule(kind)
    if rule is None:
        return None
    return AllowList.of(rule, markers_of(engine), tuple(engine.policy.evidence_names))


@lru_cache(maxsize=4096)
def categories_of(items: tuple[str, ...]) -> tuple[str, ...]:
    """The sorted data categories of ``items`` (``category.item``); few distinct item sets exist, so cached."""
    return tuple(sorted({item.partition(".")[0] for item in items}))


def minimize_one(record: Ingested, engine: PolicyEngine) -> Minimized | DeadLetter:
    """Reduce one record's payload to its kind's allow-list."""
    # A StrEnum member is the same key of the cache as its text, without the call .value costs.
    allow = allow_list_for(engine, record.envelope.kind)
    if allow is None:
        kind = record.envelope.kind.value
        return DeadLetter(
            source=record.source,
            stage=Stage.MINIMIZE,
            reason=DeadLetterReason.UNKNOWN_TO_POLICY,
            message=f"the policy '{engine.policy_id}' has no allow-list for kind '{kind}'",
            event_id=record.envelope.event_id,
            kind=kind,
        )
    # The payload ingest validated: its record type's model says what exists.
    reduction = reduce(record.payload, record.record_model, allow)
    items = reduction.items
    return Minimized(  # positional, in the field order of Minimized: built once per event
        record.source,
        record.envelope,
        reduction.kept,
        categories_of(items),
        items,
        reduction.removed,
        reduction.flagged,
    )


def minimize(batch: Sequence[Ingested], engine: PolicyEngine) -> StageResult[Minimized]:
    """Minimize a batch."""
    return split_each(batch, lambda record: minimize_one(record, engine), Stage.MINIMIZE)
