"""Minimize: keep only the fields the policy allows for the record's kind, with evidence of the rest.

Evidence is the removed field's path and its size in bytes as JSON — never its content, never a hash of
it (a hash of a short value can be reversed by guessing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from services.policy.engine import PolicyEngine
from services.stages.records import (
    DeadLetter,
    DeadLetterReason,
    Ingested,
    Minimized,
    RemovedField,
    Stage,
    StageResult,
    split,
)


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


def minimize_one(record: Ingested, engine: PolicyEngine) -> Minimized | DeadLetter:
    """Reduce one record's payload to its kind's allow-list."""
    kind = record.envelope.kind.value
    allowed = engine.allowed_fields(kind)
    if not allowed:
        return DeadLetter(
            source=record.source,
            stage=Stage.MINIMIZE,
            reason=DeadLetterReason.UNKNOWN_TO_POLICY,
            message=f"the policy '{engine.policy_id}' has no allow-list for kind '{kind}'",
            event_id=str(record.envelope.event_id),
            kind=kind,
        )
    # The payload as sent (JSON-native and already validated against its contract); explicit nulls carry nothing.
    document = {name: value for name, value in record.envelope.payload.items() if value is not None}
    kept = {name: value for name, value in document.items() if name in allowed}
    removed = tuple(
        RemovedField(path=f"payload.{name}", size=_size(value))
        for name, value in sorted(document.items())
        if name not in allowed
    )
    categories = tuple(sorted({allowed[name] for name in kept}))
    return Minimized(
        source=record.source,
        envelope=record.envelope,
        payload=kept,
        data_categories=categories,
        removed=removed,
    )


def minimize(batch: Sequence[Ingested], engine: PolicyEngine) -> StageResult[Minimized]:
    """Minimize a batch."""
    return split(minimize_one(record, engine) for record in batch)
