"""Minimize an event that parsed but was refused, before it is dead-lettered.

The dead-letter topic then holds the envelope's metadata, the subject's pseudonym and an inventory of the
payload's fields (path, size, whether the allow-list keeps it) — no payload values, no raw subject id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson

from schemas.events import CollectionKind, SubjectType
from services.policy.engine import PolicyEngine
from services.stages.allowlist import reduce, size_of
from services.stages.errors import safe_name
from services.stages.minimize import allow_list_for
from services.stages.pseudonymize import PseudonymKey, pseudonymize
from services.stages.records import DeadLetter, DeadLetterReason

DEAD_LETTER_SPEC = "purpose-lineage.dead-letter/v1"
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,127}$")
_ENVELOPE_FIELDS = ("spec", "event_id", "kind", "kind_version", "occurred_at", "tenant_id", "source_service")


def _safe(value: Any) -> Any:
    """Envelope metadata is kept only when it looks like metadata (short, no spaces): anything else is dropped."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, int):
        return value
    return value if _SAFE_VALUE.match(value) else None


def _inventory(kept: Mapping[str, Any], prefix: str = "payload") -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for name, value in sorted(kept.items()):
        path = f"{prefix}.{safe_name(name)}"
        if isinstance(value, Mapping):
            fields.extend(_inventory(value, path))
        else:
            fields.append({"path": path, "size": size_of(value), "disposition": "allowed"})
    return fields


def redacted_document(document: Mapping[str, Any], engine: PolicyEngine, key: PseudonymKey) -> dict[str, Any]:
    """The minimized form of a refused event."""
    result: dict[str, Any] = {"spec": DEAD_LETTER_SPEC}
    for name in _ENVELOPE_FIELDS:
        value = _safe(document.get(name))
        if value is not None:
            result[f"original_{name}" if name == "spec" else name] = value
    subject = document.get("subject")
    tenant = result.get("tenant_id")
    if isinstance(subject, Mapping):
        subject_type = subject.get("type")
        subject_id = subject.get("id")
        result["subject"] = {
            "type": subject_type if subject_type in {t.value for t in SubjectType} else None,
            "pseudonym": pseudonymize(key, tenant, subject_id)
            if isinstance(tenant, str) and isinstance(subject_id, str)
            else None,
            "key_id": key.key_id,
        }
    payload = document.get("payload")
    kind = document.get("kind")
    allow = allow_list_for(engine, kind) if isinstance(kind, str) and kind in set(CollectionKind) else None
    if isinstance(payload, Mapping):
        if allow is None:
            result["payload_fields"] = [
                {"path": f"payload.{safe_name(str(name))}", "size": size_of(value), "disposition": "unknown_kind"}
                for name, value in sorted(payload.items())
            ]
        else:
            reduction = reduce(payload, allow)
            result["payload_fields"] = _inventory(reduction.kept) + [
                {"path": r.path, "size": r.size, "disposition": r.reason.value} for r in reduction.removed
            ]
    return result


def redact(letters: Sequence[DeadLetter], engine: PolicyEngine, key: PseudonymKey) -> list[DeadLetter]:
    """Attach the minimized document to every dead letter whose bytes parsed as a JSON object."""
    redacted: list[DeadLetter] = []
    for letter in letters:
        # Oversized input is never parsed (and never published): its headers say all there is to say.
        if letter.unparseable or letter.reason is DeadLetterReason.TOO_LARGE or not letter.source.value:
            redacted.append(letter)
            continue
        try:
            document = orjson.loads(letter.source.value)
        except orjson.JSONDecodeError:  # over-large or odd input the contract parser refused first
            redacted.append(replace(letter, redacted=orjson.dumps({"spec": DEAD_LETTER_SPEC})))
            continue
        value = redacted_document(document, engine, key) if isinstance(document, dict) else {"spec": DEAD_LETTER_SPEC}
        redacted.append(replace(letter, redacted=orjson.dumps(value)))
    return redacted
