"""Pure conversion of consumed messages into lineage-store rows."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import orjson

from services.errors import LineageError
from services.records import SourceRecord
from services.stages.messages import (
    DEAD_LETTER_HEADER_PREFIX,
    DIGEST_HEADER,
    TAGGED_SPEC,
    content_digest,
    read_tagged,
)

LINEAGE_COLUMNS = (
    "event_id",
    "kind",
    "kind_version",
    "tenant_id",
    "source_service",
    "subject_type",
    "subject_pseudonym",
    "pseudonym_key_id",
    "data_categories",
    "data_items",
    "fields_kept",
    "purposes",
    "legal_bases",
    "policy_id",
    "policy_version",
    "removed_paths",
    "removed_sizes",
    "removed_reasons",
    "occurred_at",
    "ingested_at",
    "source_topic",
    "source_partition",
    "source_offset",
    "content_digest",
    "flagged_paths",
    "flagged_identifiers",
)
LINEAGE_EVENT_ID, LINEAGE_KIND, LINEAGE_TENANT, LINEAGE_PSEUDONYM, LINEAGE_KEY_ID = 0, 1, 3, 6, 7
LINEAGE_SOURCE = slice(20, 23)
LINEAGE_DIGEST = 23

DEAD_LETTER_COLUMNS = (
    "source_topic",
    "source_partition",
    "source_offset",
    "stage",
    "reason",
    "message",
    "event_id",
    "kind",
    "payload_bytes",
    "dead_lettered_at",
)

IDENTITY_COLUMNS = ("event_id", "tenant_id", "content_digest")
"""event_identity: the identities claimed before their lineage rows are inserted (migration 0013)."""

REDELIVERY_COLUMNS = ("tenant_id", "event_id", "source_topic", "source_partition", "source_offset", "redelivered_at")

Row = tuple[Any, ...]


Origin = tuple[str, int, int]
"""Where a row's message was consumed (topic, partition, offset): always valid, whatever the message says."""

PARTITION_TIMES: Mapping[str, str] = {
    "collection_lineage": "occurred_at",
    "dead_letters": "dead_lettered_at",
    "redeliveries": "redelivered_at",
    "activity_decisions": "occurred_at",
    "violations": "occurred_at",
    "provision_records": "provided_at",
    "alerts": "published_at",
}
"""table -> the time column its ``PARTITION BY`` takes the month (``toYYYYMM``) or year (``toYear``) of, as the
migrations create them (tests/integration/test_partitioned_inserts.py checks the two agree). Tables not named
here are not partitioned."""

Block = tuple[Sequence[Row], Sequence[Origin] | None]


def partition_blocks(
    rows: Sequence[Row], origins: Sequence[Origin] | None, time_at: int | None, max_partitions: int
) -> list[Block]:
    """``rows`` (and their ``origins``) in blocks that each fall into at most ``max_partitions`` partitions.

    A month is read as the value has it, without converting it to UTC (a value before year 1 or after 9999 in UTC
    is still a Python datetime as written): a month in any offset overlaps at most two UTC months, so a block
    holds at most half the limit in such months. The common batch (fewer rows, or fewer months, than that) is one
    block, as given; a split is deterministic (months in order of first appearance), so a retried batch makes
    the same blocks, with the same deduplication tokens.
    """
    per_block = max(max_partitions // 2, 1)
    if time_at is None or len(rows) <= per_block:
        return [(rows, origins)]
    try:  # times, as a valid batch has them: read in one pass
        months: list[Hashable] = [row[time_at].year * 12 + row[time_at].month for row in rows]
    except (AttributeError, TypeError):
        months = [_month(row[time_at]) for row in rows]
    if len(set(months)) <= per_block:
        return [(rows, origins)]
    block_of: dict[Hashable, int] = {}
    blocks: list[tuple[list[Row], list[Origin]]] = []
    in_last = per_block  # months of the last block: full, so the first month opens one
    for index, month in enumerate(months):
        block = block_of.get(month)
        if block is None:
            if in_last == per_block:
                blocks.append(([], []))
                in_last = 0
            in_last += 1
            block = block_of[month] = len(blocks) - 1
        blocks[block][0].append(rows[index])
        if origins is not None:
            blocks[block][1].append(origins[index])
    return [(block_rows, block_origins if origins is not None else None) for block_rows, block_origins in blocks]


def _month(value: Any) -> Hashable:
    """The month of a time as written (year * 12 + month); anything else (a value the store refuses) is a key of
    its type's name."""
    try:
        month: int = value.year * 12 + value.month
    except (AttributeError, TypeError):
        return type(value).__name__
    return month


@dataclass
class SinkRows:
    """Rows per table, each with the coordinates of the message it came from (parallel lists)."""

    lineage: list[Row] = field(default_factory=list)
    dead_letters: list[Row] = field(default_factory=list)
    lineage_origins: list[Origin] = field(default_factory=list)
    dead_letter_origins: list[Origin] = field(default_factory=list)

    def add_lineage(self, row: Row, origin: Origin) -> None:
        self.lineage.append(row)
        self.lineage_origins.append(origin)

    def add_dead_letter(self, row: Row, origin: Origin) -> None:
        self.dead_letters.append(row)
        self.dead_letter_origins.append(origin)


def refused_row(origin: Origin, reason: str, now: datetime) -> Row:
    """The dead_letters row of a row the store refused: only where its message is, and ClickHouse's reason."""
    topic, partition, offset = origin
    return (topic, partition, offset, "store", "store_refused", reason, None, None, 0, now)


class UnreadableMessage(LineageError, ValueError):
    """A message on a store topic that is not what the collection stages publish."""


def lineage_row(value: bytes, digest: str | None = None) -> Row:
    """One collection_lineage row from a tagged record message's value; raises on anything malformed.

    ``digest`` is the record's content digest as its message's header carries it; without one (a message made
    before the header existed), it is computed from the document.
    """
    document = read_tagged(value)
    if document.spec != TAGGED_SPEC:
        raise UnreadableMessage("not a tagged record")
    lineage, subject, source = document.lineage, document.subject, document.lineage.source
    removed, flagged = lineage.removed, lineage.flagged
    return (
        document.event_id,
        document.kind,
        document.kind_version,
        document.tenant_id,
        document.source_service,
        subject.type,
        subject.pseudonym,
        subject.key_id,
        lineage.data_categories,
        lineage.data_items,
        sorted(document.payload),
        lineage.purposes,
        lineage.legal_bases,
        lineage.policy_id,
        lineage.policy_version,
        [r.path for r in removed],
        [r.size for r in removed],
        [r.reason for r in removed],
        document.occurred_at,
        lineage.ingested_at,
        source.topic,
        source.partition,
        source.offset,
        digest if digest is not None else content_digest(orjson.loads(value)),
        [f.path for f in flagged],
        [",".join(f.identifiers) for f in flagged],
    )


Identity = tuple[str, UUID]


@dataclass
class Resolved:
    """A batch's lineage rows after identity resolution against the batch itself and the store."""

    rows: SinkRows
    redelivered: list[Row] = field(default_factory=list)  # redeliveries rows: identity and coordinates only
    redelivered_origins: list[Origin] = field(default_factory=list)  # where each re-delivered message was read
    conflicts: int = 0
    refused: int = 0  # rows the store then refused as such (set by the writer)

    @property
    def redeliveries(self) -> int:
        return len(self.redelivered)


Seal = Callable[[str, str], str]
"""(pseudonym key id, content digest) -> the digest as the store keeps it (PseudonymKeyring.seal_digest)."""


def sealed(rows: SinkRows, seal: Seal) -> tuple[SinkRows, dict[str, str]]:
    """``rows`` with each lineage row's content digest sealed by its pseudonym key; and raw -> sealed digest.

    The raw digest of a row's content is what a claim made before digests were sealed holds: see
    :func:`as_sealed`.
    """
    raw_to_sealed: dict[str, str] = {}
    lineage: list[Row] = []
    for row in rows.lineage:
        raw = row[LINEAGE_DIGEST]
        raw_to_sealed[raw] = digest = seal(row[LINEAGE_KEY_ID], raw)
        lineage.append((*row[:LINEAGE_DIGEST], digest, *row[LINEAGE_DIGEST + 1 :]))
    return (
        SinkRows(lineage, rows.dead_letters, list(rows.lineage_origins), rows.dead_letter_origins),
        raw_to_sealed,
    )


def as_sealed(
    claimed: Mapping[Identity, frozenset[str]], raw_to_sealed: Mapping[str, str]
) -> dict[Identity, frozenset[str]]:
    """Claims read as sealed digests: one made before digests were sealed holds the raw digest of its content,
    which is the same content as the row whose raw digest it equals."""
    return {
        identity: frozenset(raw_to_sealed.get(digest, digest) for digest in digests)
        for identity, digests in claimed.items()
    }


def identity_rows(lineage: Sequence[Row]) -> list[Row]:
    """The event_identity rows that claim the identities of ``lineage`` rows (each with its content digest)."""
    return [(row[LINEAGE_EVENT_ID], row[LINEAGE_TENANT], row[LINEAGE_DIGEST]) for row in lineage]


def claims_to_confirm(rows: SinkRows, claimed: Mapping[Identity, frozenset[str]]) -> list[Row]:
    """The lineage rows whose content is already claimed for their identity: stored, or claimed by a write that
    stopped before its row landed. Only these are looked up in collection_lineage itself (by primary key).

    '' claims (rows stored before content digests) were copied from collection_lineage: landed by definition.
    """
    return [
        row
        for row in rows.lineage
        if row[LINEAGE_DIGEST] in claimed.get((row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID]), ())
    ]


def unlanded_claims(confirmed: Sequence[Row], landed: AbstractSet[Identity]) -> set[Identity]:
    """The claimed identities of ``confirmed`` rows that have no row in collection_lineage.

    Such a claim is the trace of a write that stopped between claiming and inserting; its event, which was not
    committed, comes again and is stored then. The claim still holds against other content: the first claim
    wins, landed or not yet.
    """
    return {(row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID]) for row in confirmed} - landed


def resolve_identities(
    rows: SinkRows,
    stored: Mapping[Identity, frozenset[str]],
    now: datetime,
    unlanded: AbstractSet[Identity] = frozenset(),
) -> Resolved:
    """Keep one row per identity; a second one with other content becomes an ``event_id_conflict`` dead letter.

    A second one with the same content is a re-delivery: not stored again, but recorded (``redelivered``) at
    its collection coordinates, so that every message can be accounted for by where it was read.

    ``stored`` holds the digests the store already has for the batch's identities ('' for rows older than
    digests: taken as the same content). The first row of an identity in the batch wins over later ones.
    ``unlanded`` identities are claimed with content whose row was never stored: the first row with that
    content is stored now (:func:`unlanded_claims`).
    """
    seen: dict[Identity, frozenset[str]] = dict(stored)
    awaited = set(unlanded)
    resolved = Resolved(
        SinkRows(dead_letters=list(rows.dead_letters), dead_letter_origins=list(rows.dead_letter_origins))
    )
    for row, origin in zip(rows.lineage, rows.lineage_origins, strict=True):
        identity: Identity = (row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID])
        digests = seen.get(identity)
        if digests is None:
            seen[identity] = frozenset({row[LINEAGE_DIGEST]})
            resolved.rows.add_lineage(row, origin)
        elif identity in awaited and row[LINEAGE_DIGEST] in digests:
            awaited.discard(identity)
            resolved.rows.add_lineage(row, origin)
        elif row[LINEAGE_DIGEST] in digests or "" in digests:
            resolved.redelivered.append((*identity, *row[LINEAGE_SOURCE], now))
            resolved.redelivered_origins.append(origin)
        else:
            resolved.conflicts += 1
            topic, partition, offset = row[LINEAGE_SOURCE]
            resolved.rows.add_dead_letter(
                (
                    topic,
                    partition,
                    offset,
                    "store",
                    "event_id_conflict",
                    "an event with this id and other content is already recorded for this tenant",
                    str(row[LINEAGE_EVENT_ID]),
                    row[LINEAGE_KIND],
                    0,
                    now,
                ),
                origin,
            )
    return resolved


_LATEST_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z: what a Python datetime and DateTime64 can hold


def _timestamp(message: SourceRecord) -> datetime:
    """The message's broker timestamp, clamped to 1970-9999: any 64-bit value is a valid Kafka timestamp, and one
    out of range must not make the whole batch fail (it was retried for ever)."""
    if message.timestamp_ms is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(min(max(message.timestamp_ms, 0), _LATEST_MS) / 1000, UTC)


def _origin(headers: dict[str, str], message: SourceRecord) -> tuple[str, int, int]:
    """Where the dead letter came from; its own coordinates when the origin headers are missing or broken."""
    partition, offset = headers.get("partition", ""), headers.get("offset", "")
    if "topic" in headers and partition.isdigit() and offset.isdigit():
        return headers["topic"], int(partition), int(offset)
    return message.topic, message.partition, message.offset


def dead_letter_row(message: SourceRecord) -> Row:
    """One dead_letters row from a dead-letter message's headers; the payload itself is not stored."""
    headers = {k.removeprefix(DEAD_LETTER_HEADER_PREFIX): v.decode("utf-8", "replace") for k, v in message.headers}
    return (
        *_origin(headers, message),
        headers.get("stage", "unknown"),
        headers.get("exception.class.name", "unknown"),
        headers.get("exception.message", "dead letter without reason headers"),
        headers.get("event_id"),
        headers.get("kind"),
        _original_bytes(headers, message),
        _timestamp(message),
    )


def _original_bytes(headers: dict[str, str], message: SourceRecord) -> int:
    """Size of the refused event as it arrived (the dead letter itself may hold less, or nothing)."""
    original = headers.get("original_bytes", "")
    return int(original) if original.isdigit() else len(message.value or b"")


def _digest(headers: Sequence[tuple[str, bytes]]) -> str | None:
    """The content digest a tagged message's header carries, if it is one (64 hex digits); else None."""
    for name, value in headers:
        if name == DIGEST_HEADER:
            is_hex = len(value) == 64 and not value.translate(None, _HEX)  # nothing left once hex digits go
            return value.decode() if is_hex else None
    return None


_HEX = b"0123456789abcdef"


def sink_rows(messages: Sequence[SourceRecord], dead_letter_topic: str) -> SinkRows:
    """Rows for a consumed batch. A tagged message that cannot be read becomes a dead-letter row itself."""
    rows = SinkRows()
    for message in messages:
        origin = (message.topic, message.partition, message.offset)
        if message.topic == dead_letter_topic:
            rows.add_dead_letter(dead_letter_row(message), origin)
            continue
        try:
            rows.add_lineage(lineage_row(message.value or b"", _digest(message.headers)), origin)
        except (msgspec.DecodeError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            rows.add_dead_letter(
                (
                    message.topic,
                    message.partition,
                    message.offset,
                    "sink",
                    "unreadable_tagged_record",
                    f"tagged record could not be read ({type(exc).__name__})",
                    None,
                    None,
                    len(message.value or b""),
                    _timestamp(message),
                ),
                origin,
            )
    return rows
