"""Minimize: keep only the fields the policy allows for the record's kind, with evidence of the rest.

Evidence is the removed field's path and its size in bytes as JSON — never its content, never a hash of
it (a hash of a short value can be reversed by guessing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson

from services.policy.engine import PolicyEngine
from services.stages.errors import safe_name
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
    try:
        return len(orjson.dumps(value))
    except TypeError:  # integers beyond 64 bits: orjson refuses them, the standard library does not
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


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
    # The payload as sent: JSON-native and already validated against its contract.
    document = record.envelope.payload
    kept = {name: value for name, value in document.items() if name in allowed and value is not None}
    # Every removed field is evidenced, a null too; a key name that is not schema-like could itself be
    # personal data, so it is shown as '?'.
    removed = tuple(
        RemovedField(path=f"payload.{safe_name(name)}", size=_size(value))
        for name, value in sorted(document.items())
        if name not in allowed
    )
    items = engine.field_items(kind)
    data_items = tuple(sorted({items[name] for name in kept}))
    categories = tuple(sorted({allowed[name] for name in kept}))
    return Minimized(
        source=record.source,
        envelope=record.envelope,
        payload=kept,
        data_categories=categories,
        data_items=data_items,
        removed=removed,
    )


def minimize(batch: Sequence[Ingested], engine: PolicyEngine) -> StageResult[Minimized]:
    """Minimize a batch."""
    return split(minimize_one(record, engine) for record in batch)
