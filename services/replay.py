"""Replay a JSONL file into the collection topics and account for every line: lineage or dead letter."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

from schemas.events import CollectionKind
from services.api.client import LineageReader
from services.emitter.client import Emitter
from services.store.lineage_store import Accounting, Delivery


@dataclass(frozen=True)
class Produced:
    """One replayed line as the broker acknowledged it."""

    line_number: int
    event_id: str | None
    topic: str
    partition: int
    offset: int


@dataclass
class ReplayReport:
    produced: int = 0
    in_lineage: int = 0
    dead_lettered: int = 0
    unaccounted: list[int] = field(default_factory=list)
    waited_s: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.unaccounted and self.produced == self.in_lineage + self.dead_lettered


def route(line: bytes, default_kind: CollectionKind) -> tuple[CollectionKind, str | None]:
    """The kind (hence topic) of a line and its event id, when the line says; bad lines use ``default_kind``."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return default_kind, None
    if not isinstance(document, dict):
        return default_kind, None
    kind_name = document.get("kind")
    event_id = document.get("event_id")
    kind = default_kind
    if isinstance(kind_name, str) and kind_name in {k.value for k in CollectionKind}:
        kind = CollectionKind(kind_name)
    return kind, event_id if isinstance(event_id, str) else None


def produce_lines(
    emitter: Emitter,
    lines: Iterable[bytes],
    default_kind: CollectionKind,
    on_line: Callable[[], None] | None = None,
) -> list[Produced]:
    """Send every non-blank line and wait for the broker's acknowledgement of each (``on_line`` after each send)."""
    pending = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        kind, event_id = route(line, default_kind)
        pending.append((number, event_id, emitter.emit_raw(emitter.topics.collection(kind), line)))
        if on_line is not None:
            on_line()
    emitter.flush()
    produced = []
    for number, event_id, future in pending:
        metadata = future.get(timeout=30)
        produced.append(Produced(number, event_id, metadata.topic, metadata.partition, metadata.offset))
    return produced


ACCOUNTING_CHUNK = 50_000
"""Events asked about per accounting call (the API takes at most 100,000 of each)."""


def _unaccounted(chunk: list[Produced], found: Accounting, report: ReplayReport) -> list[Produced]:
    """Count what ``found`` accounts for into ``report``; return the rest."""
    still: list[Produced] = []
    for item in chunk:
        where = (item.topic, item.partition, item.offset)
        if where in found.dead_lettered:
            report.dead_lettered += 1
        elif where in found.stored:
            report.in_lineage += 1
        else:
            still.append(item)
    return still


def account(
    reader: LineageReader,
    produced: list[Produced],
    timeout_s: float,
    poll_s: float = 0.5,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Poll the store until every produced line is in lineage or in the dead letters, or ``timeout_s`` passes."""
    started = time.monotonic()
    remaining = list(produced)
    report = ReplayReport(produced=len(produced))
    while True:
        if remaining:
            still: list[Produced] = []
            for start in range(0, len(remaining), ACCOUNTING_CHUNK):
                chunk = remaining[start : start + ACCOUNTING_CHUNK]
                found = reader.accounting([Delivery(p.topic, p.partition, p.offset, p.event_id) for p in chunk])
                still += _unaccounted(chunk, found, report)
            remaining = still
        if on_progress is not None:
            on_progress(report.produced - len(remaining), report.produced)
        if not remaining or time.monotonic() - started > timeout_s:
            break
        time.sleep(poll_s)
    report.unaccounted = [p.line_number for p in remaining]
    report.waited_s = time.monotonic() - started
    return report
