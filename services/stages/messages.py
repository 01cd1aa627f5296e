"""Wire format of what the collection stages publish: tagged records and dead letters.

Both are pure functions from stage outputs to (topic, key, value, headers), so the faust agent
only sends and the sink only reads, and both sides share one definition of the format.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

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


DIGEST_HEADER = "lineage.content_digest"
"""The header that carries a tagged record's :func:`content_digest`, so that the store need not recompute it."""


def content_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of what a tagged record says, without when it was ingested or where it was read.

    Two records of one identity (tenant, event id) with the same digest are one event delivered twice; with
    different digests, two different events under one id. The same for the document as made (``datetime``
    objects) and as read back from its message (their text): orjson writes one as the other. It covers the
    kept payload values, which the store does not keep: the store keeps the digest sealed (an HMAC under the
    record's pseudonym key, :meth:`services.pseudonymize.PseudonymKeyring.seal_digest`), never as it is.
    """
    lineage = {k: v for k, v in document["lineage"].items() if k not in {"ingested_at", "source"}}
    stable = {**document, "lineage": lineage}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()


def encode_tagged(record: TaggedRecord, topic: str) -> OutgoingMessage:
    """Key by the subject's partition key, as the emitters key its activity: per-subject order survives, one
    subject has one key on every topic, and the raw id is never a key.

    The content digest is computed here, where the document is made, and travels in a header: collect workers
    scale out, while the store is one process per database and reads it instead of re-serializing every record.
    """
    document = tagged_document(record)
    headers: Headers = [
        ("lineage.purposes", ",".join(record.purposes).encode()),
        ("lineage.policy_version", record.policy_version.encode()),
        ("lineage.data_categories", ",".join(record.data_categories).encode()),
        (DIGEST_HEADER, content_digest(document).encode()),
    ]
    return OutgoingMessage(topic=topic, key=record.subject_key, value=orjson.dumps(document), headers=headers)


class _Source(msgspec.Struct, frozen=True, gc=False):
    topic: str
    partition: int
    offset: int


class _Removed(msgspec.Struct, frozen=True, gc=False):
    path: str
    size: int
    reason: str = "not_allowed"  # records made before removals had reasons


class _Flagged(msgspec.Struct, frozen=True, gc=False):
    path: str
    identifiers: list[str]


class _Lineage(msgspec.Struct, frozen=True, gc=False):
    data_categories: list[str]
    purposes: list[str]
    legal_bases: list[str]
    policy_id: str
    policy_version: str
    removed: list[_Removed]
    ingested_at: datetime
    source: _Source
    data_items: list[str] = []  # records made before data items were tagged
    flagged: list[_Flagged] = []


class _Subject(msgspec.Struct, frozen=True, gc=False):
    type: str
    pseudonym: str
    key_id: str


class TaggedDocument(msgspec.Struct, frozen=True, gc=False):
    """A tagged record's document as the store reads it (the reading side of :func:`tagged_document`).

    Typed and read in one pass: a message that is not such a document fails to decode. The payload's values
    stay undecoded (the store keeps only which fields were kept).
    """

    spec: str
    event_id: UUID
    kind: str
    kind_version: int
    occurred_at: datetime
    tenant_id: str
    source_service: str
    subject: _Subject
    payload: dict[str, msgspec.Raw]
    lineage: _Lineage


read_tagged = msgspec.json.Decoder(TaggedDocument).decode
"""bytes -> :class:`TaggedDocument`; raises ``msgspec.DecodeError`` (or ``ValidationError``) on anything else."""


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
