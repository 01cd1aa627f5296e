"""Consumed faust events as the stages see them: batches with their Kafka coordinates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from faust.streams import Stream
from faust.types import EventT, StreamT

from services.stages.records import SourceRecord


def _headers(headers: Mapping[str, bytes] | Sequence[tuple[str, bytes]] | None) -> tuple[tuple[str, bytes], ...]:
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return tuple((key, value if isinstance(value, bytes) else str(value).encode()) for key, value in pairs)


def source_record(event: EventT[Any]) -> SourceRecord:
    """The consumed message as the stages see it."""
    message = event.message
    timestamp = message.timestamp
    return SourceRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        value=message.value,
        key=message.key,
        headers=_headers(message.headers),
        timestamp_ms=int(timestamp * 1000) if timestamp else None,
    )


def batches(stream: StreamT[bytes]) -> Stream[bytes]:
    # take_events (batches with their Kafka coordinates) exists on the concrete Stream, not on StreamT.
    return cast(Stream[bytes], stream)


def span(batch: Sequence[SourceRecord]) -> str:
    """``topic[partition]@first..last`` of a batch, for logs."""
    if not batch:
        return "(empty batch)"
    return f"{batch[0].coordinates}..{batch[-1].offset} ({len(batch)} records)"
