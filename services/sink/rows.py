"""Pure conversion of consumed messages into lineage-store rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from services.stages.messages import DEAD_LETTER_HEADER_PREFIX, TAGGED_SPEC
from services.stages.records import SourceRecord

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
)

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

Row = tuple[Any, ...]


@dataclass
class SinkRows:
    lineage: list[Row] = field(default_factory=list)
    dead_letters: list[Row] = field(default_factory=list)


class UnreadableMessage(ValueError):
    """A message on a store topic that is not what the collection stages publish."""


def lineage_row(document: Any) -> Row:
    """One collection_lineage row from a tagged record document; raises on anything malformed."""
    if not isinstance(document, dict) or document.get("spec") != TAGGED_SPEC:
        raise UnreadableMessage("not a tagged record")
    lineage = document["lineage"]
    source = lineage["source"]
    removed = lineage["removed"]
    return (
        UUID(document["event_id"]),
        document["kind"],
        int(document["kind_version"]),
        document["tenant_id"],
        document["source_service"],
        document["subject"]["type"],
        document["subject"]["pseudonym"],
        document["subject"]["key_id"],
        list(lineage["data_categories"]),
        list(lineage.get("data_items", [])),
        sorted(document["payload"]),
        list(lineage["purposes"]),
        list(lineage["legal_bases"]),
        lineage["policy_id"],
        lineage["policy_version"],
        [r["path"] for r in removed],
        [int(r["size"]) for r in removed],
        [str(r.get("reason", "not_allowed")) for r in removed],
        datetime.fromisoformat(document["occurred_at"]),
        datetime.fromisoformat(lineage["ingested_at"]),
        source["topic"],
        int(source["partition"]),
        int(source["offset"]),
    )


def _timestamp(message: SourceRecord) -> datetime:
    if message.timestamp_ms is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)


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


def sink_rows(messages: Sequence[SourceRecord], dead_letter_topic: str) -> SinkRows:
    """Rows for a consumed batch. A tagged message that cannot be read becomes a dead-letter row itself."""
    rows = SinkRows()
    for message in messages:
        if message.topic == dead_letter_topic:
            rows.dead_letters.append(dead_letter_row(message))
            continue
        try:
            rows.lineage.append(lineage_row(orjson.loads(message.value or b"")))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            rows.dead_letters.append(
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
                )
            )
    return rows
