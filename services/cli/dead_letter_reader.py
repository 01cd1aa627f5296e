"""Reading the dead-letter topic: each dead letter as a view of its headers and sealed event, selection, and a
read that ends at the topic's real end.

Pure parts (header parsing, selection, when a read is complete) are plain functions, tested without a broker;
:func:`read_dead_letters` is the one place that talks to Kafka.
"""

from __future__ import annotations

import base64
import enum
import time
from collections.abc import Callable, Collection, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from kafka import KafkaConsumer, TopicPartition

from services.stages.messages import DEAD_LETTER_HEADER_PREFIX as HEADER_PREFIX

DEFAULT_QUIET_S = 1.5
DEFAULT_TIMEOUT_S = 60.0
_POLL_MS = 200

# --- pure parts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coordinates:
    """A record's place: ``topic[partition]@offset``."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Coordinates:
        """``TOPIC:PARTITION:OFFSET`` (Kafka topic names cannot hold a colon, so the last two colons split)."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0]:
            raise ValueError(f"{text!r} is not TOPIC:PARTITION:OFFSET")
        try:
            partition, offset = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"{text!r}: partition and offset must be integers") from None
        if partition < 0 or offset < 0:
            raise ValueError(f"{text!r}: partition and offset must not be negative")
        return cls(parts[0], partition, offset)


@dataclass(frozen=True)
class DeadLetterView:
    """One dead letter as read from the topic: where it is, where it came from, why, and its sealed event.

    Every field but ``sealed`` is content-free by construction of the stages; ``sealed`` opens only with the
    quarantine key.
    """

    at: Coordinates
    origin: Coordinates | None
    stage: str | None
    reason: str | None
    message: str | None
    event_id: str | None
    kind: str | None
    original_bytes: int | None
    sealed: Mapping[str, Any] | None
    redacted: Mapping[str, Any]
    value_problem: str | None = None

    @property
    def aad(self) -> bytes | None:
        """The associated data the event was sealed with: its origin coordinates."""
        return str(self.origin).encode() if self.origin is not None else None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description without the sealed event."""
        return {
            "dead_letter": str(self.at),
            "origin": str(self.origin) if self.origin is not None else None,
            "origin_topic": self.origin.topic if self.origin is not None else None,
            "origin_partition": self.origin.partition if self.origin is not None else None,
            "origin_offset": self.origin.offset if self.origin is not None else None,
            "stage": self.stage,
            "reason": self.reason,
            "message": self.message,
            "event_id": self.event_id,
            "kind": self.kind,
            "original_bytes": self.original_bytes,
            "sealed": self.sealed is not None,
            "key_id": self.sealed.get("key_id") if self.sealed is not None else None,
            "value_problem": self.value_problem,
            "redacted": dict(self.redacted),
        }


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_dead_letter(
    at: Coordinates, headers: Iterable[tuple[str, bytes | None]] | None, value: bytes | None
) -> DeadLetterView:
    """The view of one dead-letter record from its headers and value; never raises on malformed input."""
    fields: dict[str, str | None] = {}
    for name, raw in headers or ():
        if name.startswith(HEADER_PREFIX):
            fields[name.removeprefix(HEADER_PREFIX)] = _text(raw)
    origin_topic, partition, offset = fields.get("topic"), _int(fields.get("partition")), _int(fields.get("offset"))
    origin = (
        Coordinates(origin_topic, partition, offset)
        if origin_topic and partition is not None and offset is not None
        else None
    )
    sealed: Mapping[str, Any] | None = None
    redacted: dict[str, Any] = {}
    problem = None
    if value:
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            document, problem = None, "value is not JSON"
        if isinstance(document, dict):
            quarantine = document.pop("quarantine", None)
            if isinstance(quarantine, Mapping):
                sealed = quarantine
            elif quarantine is not None:
                problem = "quarantine field is not an object"
            redacted = document
        elif problem is None:
            problem = "value is not a JSON object"
    return DeadLetterView(
        at=at,
        origin=origin,
        stage=fields.get("stage"),
        reason=fields.get("exception.class.name"),
        message=fields.get("exception.message"),
        event_id=fields.get("event_id"),
        kind=fields.get("kind"),
        original_bytes=_int(fields.get("original_bytes")),
        sealed=sealed,
        redacted=redacted,
        value_problem=problem,
    )


def matches(view: DeadLetterView, reasons: Collection[str] = (), refs: Collection[Coordinates] = ()) -> bool:
    """True when ``view`` has one of ``reasons`` (any, if none) and is one of ``refs`` (any, if none).

    A reference names either the dead letter itself (its topic is the dead-letter topic) or its origin.
    """
    if reasons and (view.reason or "").lower() not in {r.lower() for r in reasons}:
        return False
    return not refs or view.at in refs or view.origin in refs


def select(
    views: Iterable[DeadLetterView],
    reasons: Collection[str] = (),
    refs: Collection[Coordinates] = (),
    limit: int | None = None,
) -> list[DeadLetterView]:
    """The first ``limit`` (all, if None) views that :func:`matches` selects, in topic order."""
    selected: list[DeadLetterView] = []
    for view in views:
        if limit is not None and len(selected) >= limit:
            break
        if matches(view, reasons, refs):
            selected.append(view)
    return selected


def unmatched(refs: Iterable[Coordinates], views: Iterable[DeadLetterView]) -> list[Coordinates]:
    """The references no view answers to (asked for, but not on the topic)."""
    found = {c for view in views for c in (view.at, view.origin) if c is not None}
    return [ref for ref in refs if ref not in found]


class ReadDecision(enum.Enum):
    CONTINUE = "continue"
    DONE = "done"
    TIMED_OUT = "timed_out"


def read_decision(
    positions: Mapping[Any, int],
    end_offsets: Mapping[Any, int],
    *,
    now: float,
    started_at: float,
    last_message_at: float,
    quiet_s: float,
    timeout_s: float,
) -> ReadDecision:
    """Whether a read from the beginning has reached the real end of the topic.

    Done when every partition is at or past its reported end offset *and* nothing arrived for ``quiet_s``:
    Tansu reports end offsets that can lag far behind the records it still delivers, so the offsets alone
    would stop early. ``last_message_at`` starts as ``started_at``, so an empty topic is done after one quiet
    period. Past ``timeout_s`` the read gives up, even while records keep coming.
    """
    at_end = all(positions.get(partition, 0) >= end for partition, end in end_offsets.items())
    if at_end and now - last_message_at >= quiet_s:
        return ReadDecision.DONE
    if now - started_at >= timeout_s:
        return ReadDecision.TIMED_OUT
    return ReadDecision.CONTINUE


def printable(text: str) -> str:
    """``text`` with control characters escaped, so that a refused event cannot drive the operator's terminal."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text)


def shown_bytes(data: bytes | None, *, raw_base64: bool) -> str | None:
    """Original bytes as shown: UTF-8 (undecodable bytes replaced) or base64."""
    if data is None:
        return None
    return base64.b64encode(data).decode("ascii") if raw_base64 else data.decode("utf-8", errors="replace")


def original_line(value: bytes) -> str:
    """An original value on one line for `purpose-lineage replay FILE`.

    Line breaks become spaces: outside JSON strings they are whitespace, and inside one they were invalid JSON
    anyway (which is one of the things an operator fixes).
    """
    return value.decode("utf-8", errors="replace").replace("\r", " ").replace("\n", " ")


# --- the broker -------------------------------------------------------------------------------------------


class Consumer(Protocol):
    """What the read loop needs of kafka-python's ``KafkaConsumer`` (assigned, positioned at the beginning)."""

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Any, Sequence[Any]]: ...

    def position(self, partition: Any) -> int: ...

    def end_offsets(self, partitions: Sequence[Any]) -> Mapping[Any, int]: ...


@dataclass
class ReadProgress:
    """How a read went: ``complete`` once the real end was reached (false after a timeout)."""

    read: int = 0
    complete: bool = False


def drain(
    consumer: Consumer,
    partitions: Sequence[Any],
    progress: ReadProgress,
    *,
    quiet_s: float = DEFAULT_QUIET_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[DeadLetterView, None, None]:
    """Every dead letter from the consumer's positions to the real end (see :func:`read_decision`)."""
    ends = dict(consumer.end_offsets(list(partitions)))
    started = last = clock()
    while True:
        batch = consumer.poll(timeout_ms=_POLL_MS, max_records=500)
        now = clock()
        for records in batch.values():
            for record in records:
                last = now
                progress.read += 1
                at = Coordinates(record.topic, record.partition, record.offset)
                yield parse_dead_letter(at, record.headers, record.value)
        decision = read_decision(
            {partition: consumer.position(partition) for partition in partitions},
            ends,
            now=clock(),
            started_at=started,
            last_message_at=last,
            quiet_s=quiet_s,
            timeout_s=timeout_s,
        )
        if decision is not ReadDecision.CONTINUE:
            progress.complete = decision is ReadDecision.DONE
            return


def read_dead_letters(
    bootstrap: str, topic: str, progress: ReadProgress, *, quiet_s: float, timeout_s: float
) -> Generator[DeadLetterView, None, None]:
    """Read ``topic`` from the beginning: no consumer group, every partition assigned, nothing committed."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="purpose-lineage-dead-letters",
    )
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:  # no such topic yet: nothing was ever refused
            progress.complete = True
            return
        partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        yield from drain(consumer, partitions, progress, quiet_s=quiet_s, timeout_s=timeout_s)
    finally:
        consumer.close()
