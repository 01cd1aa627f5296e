"""Replay: routing of lines, and accounting for every produced line against an in-memory lineage reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from schemas.events import CollectionKind
from services.replay import Produced, account, produce_lines, route
from services.sink.rows import Origin
from services.store.lineage_store import Accounting, Delivery, QueryResult
from services.topics import Topics


class ProgressiveReader:
    """A :class:`services.api.client.LineageReader` whose store gains one of ``eventually`` per poll.

    That is how a running pipeline looks from the outside: results arrive while replay waits.
    """

    def __init__(self, eventually: Sequence[tuple[str, Origin]]) -> None:
        self._eventually = list(eventually)  # ("stored" | "dead", coordinates)
        self._held: list[tuple[str, Origin]] = []
        self.asked: list[list[Delivery]] = []

    def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        self.asked.append(list(deliveries))
        if self._eventually:
            self._held.append(self._eventually.pop(0))
        asked = {(d.topic, d.partition, d.offset) for d in deliveries}
        return Accounting(
            stored={where for table, where in self._held if table == "stored" and where in asked},
            dead_lettered={where for table, where in self._held if table == "dead" and where in asked},
        )

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return QueryResult(columns=[], rows=[])

    def summary(self) -> dict[str, Any]:
        return {}


TOPIC = "collection.access_log.v1"
E1, E3 = ("stored", (TOPIC, 0, 10)), ("stored", (TOPIC, 0, 11))
BAD, E4_DEAD = ("dead", (TOPIC, 1, 4)), ("dead", (TOPIC, 1, 5))
PRODUCED = [
    Produced(line_number=1, event_id="e-1", topic=TOPIC, partition=0, offset=10),
    Produced(line_number=2, event_id=None, topic=TOPIC, partition=1, offset=4),  # a line that was not JSON
    Produced(line_number=4, event_id="e-3", topic=TOPIC, partition=0, offset=11),  # line 3 was blank
    Produced(line_number=5, event_id="e-4", topic=TOPIC, partition=1, offset=5),
]


def test_account_waits_until_every_line_is_in_lineage_or_dead_lettered():
    reader = ProgressiveReader([E1, BAD, E4_DEAD, E3])
    progress: list[tuple[int, int]] = []

    report = account(
        reader, PRODUCED, timeout_s=30, poll_s=0.01, on_progress=lambda done, total: progress.append((done, total))
    )

    assert report.complete
    assert (report.produced, report.in_lineage, report.dead_lettered, report.unaccounted) == (4, 2, 2, [])
    assert len(reader.asked) == 4  # one poll per newly stored item: it kept waiting, and stopped once all were in
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_account_asks_only_about_lines_not_yet_accounted():
    reader = ProgressiveReader([E1, BAD, E4_DEAD, E3])

    account(reader, PRODUCED, timeout_s=30, poll_s=0.01)

    assert [d.event_id for d in reader.asked[0]] == ["e-1", None, "e-3", "e-4"]  # every line, with its id if any
    assert reader.asked[-1] == [Delivery(TOPIC, 0, 11, "e-3")]


def test_account_reports_the_line_numbers_still_unaccounted_at_timeout():
    reader = ProgressiveReader([E1, BAD, E4_DEAD])  # line 4 (event e-3) never arrives

    report = account(reader, PRODUCED, timeout_s=0.3, poll_s=0.01)

    assert not report.complete
    assert report.unaccounted == [4]
    assert (report.in_lineage, report.dead_lettered) == (1, 2)


def test_account_of_nothing_is_complete_without_asking_the_store():
    reader = ProgressiveReader([])

    report = account(reader, [], timeout_s=30, poll_s=0.01)

    assert report.complete
    assert reader.asked == []


def test_dead_letter_by_coordinates_counts_even_when_the_event_id_is_known():
    reader = ProgressiveReader([("dead", (TOPIC, 0, 10))])

    report = account(reader, PRODUCED[:1], timeout_s=30, poll_s=0.01)

    assert (report.in_lineage, report.dead_lettered, report.unaccounted) == (0, 1, [])


def event_line(kind: str, event_id: Any = "0b7d5a3e-8a51-4a8e-9a7e-3f1c2d4b5a6c") -> bytes:
    return orjson.dumps({"spec": "rakuro.collection/v1", "kind": kind, "event_id": event_id, "payload": {}})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (event_line("terminal"), (CollectionKind.TERMINAL, "0b7d5a3e-8a51-4a8e-9a7e-3f1c2d4b5a6c")),
        (event_line("access_log", "any-text"), (CollectionKind.ACCESS_LOG, "any-text")),
        (event_line("email"), (CollectionKind.ACCESS_LOG, "0b7d5a3e-8a51-4a8e-9a7e-3f1c2d4b5a6c")),
        (event_line("terminal", 42), (CollectionKind.TERMINAL, None)),
        (b'{"kind": "terminal"}', (CollectionKind.TERMINAL, None)),
        (b'{"kind": ["terminal"], "event_id": "e-1"}', (CollectionKind.ACCESS_LOG, "e-1")),
        (b'{"kind": "terminal", "event_id": "e-1"', (CollectionKind.ACCESS_LOG, None)),
        (b'["terminal"]', (CollectionKind.ACCESS_LOG, None)),
        (b'"terminal"', (CollectionKind.ACCESS_LOG, None)),
        (b"\xff\xfe", (CollectionKind.ACCESS_LOG, None)),
    ],
    ids=[
        "terminal",
        "access-log",
        "unknown-kind",
        "numeric-event-id",
        "no-event-id",
        "list-as-kind",
        "truncated",
        "array",
        "string",
        "not-utf8",
    ],
)
def test_route_uses_the_lines_kind_and_falls_back_to_the_default(line, expected):
    assert route(line, CollectionKind.ACCESS_LOG) == expected


@dataclass
class _Metadata:
    topic: str
    partition: int
    offset: int


@dataclass
class _Future:
    metadata: _Metadata

    def get(self, timeout: float) -> _Metadata:
        return self.metadata


@dataclass
class FakeEmitter:
    """The two calls produce_lines makes of an Emitter, recorded in memory."""

    topics: Topics = field(default_factory=Topics)
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    flushed: bool = False

    def emit_raw(self, topic: str, value: bytes, key: bytes | None = None) -> _Future:
        self.sent.append((topic, value))
        return _Future(_Metadata(topic, 0, len(self.sent) - 1))

    def flush(self, timeout: float | None = None) -> None:
        self.flushed = True


def test_produce_lines_skips_blank_lines_and_keeps_file_line_numbers():
    emitter = FakeEmitter()
    lines = [event_line("terminal", "t-1") + b"\r\n", b"\n", b"   \n", b"not json\n", event_line("access_log", "a-1")]

    produced = produce_lines(emitter, lines, CollectionKind.TERMINAL)  # type: ignore[arg-type]

    assert emitter.flushed
    assert [(p.line_number, p.event_id, p.topic, p.offset) for p in produced] == [
        (1, "t-1", "collection.terminal.v1", 0),
        (4, None, "collection.terminal.v1", 1),
        (5, "a-1", "collection.access_log.v1", 2),
    ]
    sent = [value for _, value in emitter.sent]
    assert sent == [event_line("terminal", "t-1"), b"not json", event_line("access_log", "a-1")]


class EverythingStored:
    """A reader that holds every event asked about, and refuses more than the API accepts at once."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        assert len(deliveries) <= 100_000, "the API takes at most 100,000 deliveries per call"
        self.sizes.append(len(deliveries))
        return Accounting(stored={(d.topic, d.partition, d.offset) for d in deliveries}, dead_lettered=set())

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return QueryResult(columns=[], rows=[])

    def summary(self) -> dict[str, Any]:
        return {}


def test_account_of_a_large_replay_asks_in_chunks_the_api_accepts():
    produced = [Produced(n, f"e-{n}", TOPIC, 0, n) for n in range(120_001)]
    reader = EverythingStored()

    report = account(reader, produced, timeout_s=5, poll_s=0.01)

    assert report.complete
    assert reader.sizes == [50_000, 50_000, 20_001]
