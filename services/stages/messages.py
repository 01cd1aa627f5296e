"""Wire format of what the collection stages publish: tagged records and dead letters.

Both are pure functions from stage outputs to (topic, key, value, headers), so the faust agent
only sends and the sink only reads, and both sides share one definition of the format.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from services.quarantine import QuarantineKey, seal
from services.records import DeadLetter, DeadLetterReason, TaggedRecord

TAGGED_SPEC = "purpose-lineage.tagged/v1"
DEAD_LETTER_SPEC = "purpose-lineage.dead-letter/v1"
DEAD_LETTER_HEADER_PREFIX = "lineage.errors."

Headers = list[tuple[str, bytes]]


class OutgoingMessage(msgspec.Struct, frozen=True, gc=False):
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers


def tagged_document(record: TaggedRecord) -> dict[str, Any]:
    """The document of a tagged record: minimized payload plus its lineage.

    Its times are ``datetime`` objects: orjson writes them as ``isoformat`` would, in C (``encode_tagged``).
    """
    return {
        "spec": TAGGED_SPEC,
        "event_id": record.event_id,
        "kind": record.kind,
        "kind_version": record.kind_version,
        "occurred_at": record.occurred_at,
        "tenant_id": record.tenant_id,
        "source_service": record.source_service,
        "subject": {
            "type": record.subject_type,
            "pseudonym": record.subject_pseudonym,
            "key_id": record.pseudonym_key_id,
        },
        "payload": record.payload,
        "lineage": {
            "data_categories": list(record.data_categories),
            "data_items": list(record.data_items),
            "purposes": list(record.purposes),
            "legal_bases": list(record.legal_bases),
            "policy_id": record.policy_id,
            "policy_version": record.policy_version,
            "removed": [{"path": r.path, "size": r.size, "reason": r.reason.value} for r in record.removed],
            "flagged": [{"path": f.path, "identifiers": list(f.identifiers)} for f in record.flagged],
            "ingested_at": record.ingested_at,
            "source": {
                "topic": record.source.topic,
                "partition": record.source.partition,
                "offset": record.source.offset,
            },
        },
    }


def encode_tagged(record: TaggedRecord, topic: str) -> OutgoingMessage:
    """Key by the subject's partition key, as the emitters key its activity: per-subject order survives, one
    subject has one key on every topic, and the raw id is never a key."""
    headers: Headers = [
        ("lineage.purposes", ",".join(record.purposes).encode()),
        ("lineage.policy_version", record.policy_version.encode()),
        ("lineage.data_categories", ",".join(record.data_categories).encode()),
    ]
    return OutgoingMessage(
        topic=topic,
        key=record.subject_key,
        value=orjson.dumps(tagged_document(record)),
        headers=headers,
    )


def dead_letter_value(letter: DeadLetter, quarantine: QuarantineKey) -> bytes:
    """What the dead-letter topic holds for ``letter``: never a byte of the input in the clear.

    The content-free inventory of an event that parsed (see :mod:`services.stages.redact`), and the input's
    value and key sealed with the quarantine key, bound to the input's coordinates. An event over the size limit
    is never read nor kept (sealed, it would not fit in a message either): its document says only that. Every
    dead letter has a value, so that each is a message the broker accepts (a message needs a key or a value).
    """
    document: dict[str, Any] = dict(letter.redacted) if letter.redacted is not None else {"spec": DEAD_LETTER_SPEC}
    source = letter.source
    if letter.reason is DeadLetterReason.TOO_LARGE:
        document["not_kept"] = "over the size limit"
    else:
        document["quarantine"] = seal(quarantine, source.value, source.key, source.coordinates.encode())
    return orjson.dumps(document)


def encode_dead_letter(letter: DeadLetter, topic: str, quarantine: QuarantineKey) -> OutgoingMessage:
    """The dead letter's value with Kafka-Connect-style reason headers (stage, class, message, origin).

    Keyed by the subject's partition key where the event named a subject, else unkeyed: the input's own key may
    be the raw subject id, so it is never copied (it travels sealed).
    """
    source = letter.source
    headers: Headers = [
        (DEAD_LETTER_HEADER_PREFIX + "stage", letter.stage.value.encode()),
        (DEAD_LETTER_HEADER_PREFIX + "exception.class.name", letter.reason.value.encode()),
        (DEAD_LETTER_HEADER_PREFIX + "exception.message", letter.message.encode()),
        (DEAD_LETTER_HEADER_PREFIX + "topic", source.topic.encode()),
        (DEAD_LETTER_HEADER_PREFIX + "partition", str(source.partition).encode()),
        (DEAD_LETTER_HEADER_PREFIX + "offset", str(source.offset).encode()),
    ]
    if letter.event_id:
        headers.append((DEAD_LETTER_HEADER_PREFIX + "event_id", letter.event_id.encode()))
    if letter.kind:
        headers.append((DEAD_LETTER_HEADER_PREFIX + "kind", letter.kind.encode()))
    headers.append((DEAD_LETTER_HEADER_PREFIX + "original_bytes", str(len(source.value or b"")).encode()))
    key = letter.subject_key
    return OutgoingMessage(topic=topic, key=key, value=dead_letter_value(letter, quarantine), headers=headers)
