"""Ingest: bytes -> envelope + typed payload; anything else becomes a dead letter with a clear reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
from pydantic import ValidationError

from schemas.events import CollectionEnvelope, CollectionKind, payload_model
from services.stages.errors import describe_validation_error
from services.stages.records import (
    DeadLetter,
    DeadLetterReason,
    Ingested,
    SourceRecord,
    Stage,
    StageResult,
    split,
)

KindOfTopic = Callable[[str], CollectionKind | None]


def _dead(
    source: SourceRecord, reason: DeadLetterReason, message: str, envelope: CollectionEnvelope | None = None
) -> DeadLetter:
    return DeadLetter(
        source=source,
        stage=Stage.INGEST,
        reason=reason,
        message=message,
        event_id=str(envelope.event_id) if envelope else None,
        kind=envelope.kind.value if envelope else None,
    )


def _unreadable(exc: ValidationError) -> bool:
    """True when pydantic could not read the bytes as a JSON object at all (rather than a contract breach)."""
    errors = exc.errors(include_url=False, include_input=False)
    return len(errors) == 1 and not errors[0]["loc"] and errors[0]["type"] in {"json_invalid", "model_type"}


def _why_unreadable(source: SourceRecord, raw: bytes) -> DeadLetter:
    """Name the reason bytes are not a JSON object (bad input only, so speed does not matter here)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _dead(source, DeadLetterReason.INVALID_UTF8, f"invalid UTF-8 at byte {exc.start}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _dead(source, DeadLetterReason.MALFORMED_JSON, f"not JSON: error at char {exc.pos}")
    if isinstance(document, dict):
        return _dead(source, DeadLetterReason.MALFORMED_JSON, "JSON that the contract parser cannot read")
    return _dead(source, DeadLetterReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(document).__name__}")


def ingest_one(source: SourceRecord, kind_of_topic: KindOfTopic, max_bytes: int) -> Ingested | DeadLetter:
    """Parse and validate one record."""
    raw = source.value
    if not raw:
        return _dead(source, DeadLetterReason.EMPTY, "message has no value")
    if len(raw) > max_bytes:
        return _dead(source, DeadLetterReason.TOO_LARGE, f"{len(raw)} bytes exceeds the limit of {max_bytes}")
    try:
        envelope = CollectionEnvelope.model_validate_json(raw)  # one pass in pydantic-core: the fast path
    except ValidationError as exc:
        if _unreadable(exc):
            return _why_unreadable(source, raw)
        return _dead(source, DeadLetterReason.SCHEMA_INVALID, describe_validation_error(exc))
    expected_kind = kind_of_topic(source.topic)
    if expected_kind is not None and expected_kind is not envelope.kind:
        message = f"kind '{envelope.kind.value}' does not belong on the '{expected_kind.value}' topic"
        return _dead(source, DeadLetterReason.KIND_TOPIC_MISMATCH, message, envelope)
    model = payload_model(envelope.kind, envelope.kind_version)
    if model is None:
        message = f"kind '{envelope.kind.value}' has no contract version {envelope.kind_version}"
        return _dead(source, DeadLetterReason.UNSUPPORTED_VERSION, message, envelope)
    try:
        payload = model.model_validate(envelope.payload)
    except ValidationError as exc:
        return _dead(source, DeadLetterReason.SCHEMA_INVALID, describe_validation_error(exc, "payload."), envelope)
    return Ingested(source=source, envelope=envelope, payload=payload)


def ingest(batch: Sequence[SourceRecord], kind_of_topic: KindOfTopic, max_bytes: int) -> StageResult[Ingested]:
    """Ingest a batch; every record ends up in exactly one of the two outputs."""
    return split(ingest_one(source, kind_of_topic, max_bytes) for source in batch)
