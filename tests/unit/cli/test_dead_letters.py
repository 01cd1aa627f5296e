"""`purpose-lineage dead-letters`: header parsing, selection, the read-until-real-end loop, and the commands.

No broker: the commands run against a fake topic (``read_dead_letters``) and a fake producer.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from services.cli import dead_letters
from services.cli.dead_letter_reader import (
    Coordinates,
    DeadLetterView,
    ReadDecision,
    ReadProgress,
    drain,
    matches,
    original_line,
    parse_dead_letter,
    printable,
    read_decision,
    select,
    shown_bytes,
    unmatched,
)
from services.cli.dead_letters import dead_letters_cli
from services.quarantine import QuarantineKey, seal, unseal
from services.topics import Topics

DLQ = Topics().dead_letter
ORIGIN = "collection.user_profile.v1"
KEY = QuarantineKey(bytes(range(32)))
OTHER = QuarantineKey(b"\xee" * 32)
EVENT = b'{"kind": "user_profile", "subject": {"id": "taro.yamada@example.jp"}}'
ORIGINAL_KEY = b"kobe-logistics/taro.yamada@example.jp"


ORIGIN_42 = Coordinates(ORIGIN, 0, 42)


def headers(
    origin: Coordinates | None = ORIGIN_42,
    *,
    reason: str = "schema_invalid",
    stage: str = "ingest",
    **extra: str,
) -> list[tuple[str, bytes | None]]:
    """Dead-letter headers as the collection stages write them."""
    pairs: list[tuple[str, bytes | None]] = [
        ("lineage.errors.stage", stage.encode()),
        ("lineage.errors.exception.class.name", reason.encode()),
        ("lineage.errors.exception.message", b"payload.name: missing"),
    ]
    if origin is not None:
        pairs += [
            ("lineage.errors.topic", origin.topic.encode()),
            ("lineage.errors.partition", str(origin.partition).encode()),
            ("lineage.errors.offset", str(origin.offset).encode()),
        ]
    pairs += [(f"lineage.errors.{name}", value.encode()) for name, value in extra.items()]
    return pairs


def sealed_value(origin: Coordinates, key: QuarantineKey = KEY, value: bytes | None = EVENT, **document: Any) -> bytes:
    return orjson.dumps({**document, "quarantine": seal(key, value, ORIGINAL_KEY, str(origin).encode())})


def view(
    offset: int, origin_offset: int, *, reason: str = "schema_invalid", key: QuarantineKey = KEY
) -> DeadLetterView:
    origin = Coordinates(ORIGIN, 0, origin_offset)
    return parse_dead_letter(
        Coordinates(DLQ, 0, offset), headers(origin, reason=reason), sealed_value(origin, key, payload_fields=[])
    )


# --- coordinates ------------------------------------------------------------------------------------------


def test_coordinates_parse_topic_partition_offset() -> None:
    topic = "t1.collection.user_profile.v1"

    assert Coordinates.parse(f"{topic}:3:42") == Coordinates(topic, 3, 42)
    assert str(Coordinates("x.v1", 0, 7)) == "x.v1[0]@7"


@pytest.mark.parametrize("text", ["", "topic", "topic:1", ":1:2", "topic:a:2", "topic:1:b", "topic:-1:2", "t:1:-2"])
def test_bad_coordinates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"TOPIC:PARTITION:OFFSET|integers|negative"):
        Coordinates.parse(text)


# --- header parsing ---------------------------------------------------------------------------------------


def test_a_dead_letter_is_read_from_its_headers_and_value() -> None:
    origin = Coordinates(ORIGIN, 0, 42)
    letter = parse_dead_letter(
        Coordinates(DLQ, 0, 5),
        [*headers(origin, event_id="e-1", kind="user_profile", original_bytes="70"), ("unrelated", b"x")],
        sealed_value(origin, payload_fields=[{"path": "name", "size": 11}]),
    )

    assert letter.at == Coordinates(DLQ, 0, 5)
    assert letter.origin == origin
    assert letter.aad == b"collection.user_profile.v1[0]@42"
    assert (letter.stage, letter.reason, letter.message) == ("ingest", "schema_invalid", "payload.name: missing")
    assert (letter.event_id, letter.kind, letter.original_bytes) == ("e-1", "user_profile", 70)
    assert letter.sealed is not None
    assert letter.sealed["key_id"] == KEY.key_id
    assert letter.redacted == {"payload_fields": [{"path": "name", "size": 11}]}
    assert letter.value_problem is None


def test_a_summary_holds_nothing_sealed() -> None:
    summary = view(5, 42).summary()

    assert summary["origin"] == "collection.user_profile.v1[0]@42"
    assert summary["origin_offset"] == 42
    assert summary["sealed"] is True
    assert summary["key_id"] == KEY.key_id
    assert "quarantine" not in orjson.dumps(summary).decode()
    assert "taro" not in orjson.dumps(summary).decode()


def test_a_dead_letter_without_headers_or_value_is_read_as_unknown() -> None:
    letter = parse_dead_letter(Coordinates(DLQ, 0, 0), None, None)

    assert letter.origin is None
    assert letter.aad is None
    assert letter.reason is letter.stage is letter.original_bytes is None
    assert letter.sealed is None
    assert letter.value_problem is None


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("lineage.errors.topic", b"t"), ("lineage.errors.partition", b"x"), ("lineage.errors.offset", b"1")], None),
        ([("lineage.errors.topic", b"t"), ("lineage.errors.partition", b"0")], None),
        ([("lineage.errors.topic", None), ("lineage.errors.partition", b"0"), ("lineage.errors.offset", b"1")], None),
        (
            [("lineage.errors.topic", b"t"), ("lineage.errors.partition", b"0"), ("lineage.errors.offset", b"1")],
            Coordinates("t", 0, 1),
        ),
    ],
    ids=["bad-partition", "no-offset", "null-topic", "complete"],
)
def test_the_origin_needs_all_three_headers(
    pairs: list[tuple[str, bytes | None]], expected: Coordinates | None
) -> None:
    assert parse_dead_letter(Coordinates(DLQ, 0, 0), pairs, None).origin == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"\xff not json", "value is not JSON"),
        (b"[1, 2]", "value is not a JSON object"),
        (b'{"quarantine": "sealed?"}', "quarantine field is not an object"),
    ],
)
def test_a_malformed_value_is_described_not_raised(value: bytes, problem: str) -> None:
    letter = parse_dead_letter(Coordinates(DLQ, 0, 0), headers(), value)

    assert letter.value_problem == problem
    assert letter.sealed is None


def test_undecodable_header_bytes_are_replaced() -> None:
    letter = parse_dead_letter(Coordinates(DLQ, 0, 0), [("lineage.errors.exception.message", b"bad \xff")], None)

    assert letter.message == "bad \ufffd"


def test_what_the_stages_write_is_what_show_reads_and_opens() -> None:
    from services.records import DeadLetter, DeadLetterReason, SourceRecord, Stage
    from services.stages.messages import encode_dead_letter

    source = SourceRecord(topic=ORIGIN, partition=2, offset=9, value=b"{not json", key=ORIGINAL_KEY)
    letter = DeadLetter(source=source, stage=Stage.INGEST, reason=DeadLetterReason.MALFORMED_JSON, message="bad")
    message = encode_dead_letter(letter, DLQ, KEY)

    parsed = parse_dead_letter(Coordinates(DLQ, 0, 0), message.headers, message.value)

    assert parsed.origin == Coordinates(ORIGIN, 2, 9)
    assert (parsed.stage, parsed.reason, parsed.original_bytes) == ("ingest", "malformed_json", 9)
    assert parsed.sealed is not None
    assert parsed.aad is not None
    assert unseal(KEY, parsed.sealed, parsed.aad) == (b"{not json", ORIGINAL_KEY)


# --- selection --------------------------------------------------------------------------------------------


def test_selection_by_reason_ignores_case_and_takes_several() -> None:
    letters = [view(0, 10, reason="schema_invalid"), view(1, 11, reason="malformed_json"), view(2, 12, reason="empty")]

    assert [v.at.offset for v in select(letters, ["MALFORMED_JSON"])] == [1]
    assert [v.at.offset for v in select(letters, ["empty", "schema_invalid"])] == [0, 2]
    assert select(letters, ["too_deep"]) == []
    assert select(letters) == letters


def test_selection_by_offset_takes_origin_or_dead_letter_coordinates() -> None:
    letters = [view(0, 10), view(1, 11), view(2, 12)]

    assert [v.at.offset for v in select(letters, refs=[Coordinates(ORIGIN, 0, 11)])] == [1]
    assert [v.at.offset for v in select(letters, refs=[Coordinates(DLQ, 0, 2)])] == [2]
    assert select(letters, refs=[Coordinates(ORIGIN, 1, 11)]) == []


def test_selection_combines_reason_and_offset_and_limits_in_topic_order() -> None:
    letters = [view(0, 10), view(1, 11, reason="empty"), view(2, 12), view(3, 13)]

    assert not matches(letters[1], ["schema_invalid"], [Coordinates(ORIGIN, 0, 11)])
    assert [v.at.offset for v in select(letters, ["schema_invalid"], limit=2)] == [0, 2]


def test_references_not_on_the_topic_are_reported() -> None:
    letters = [view(0, 10), view(1, 11)]
    refs = [Coordinates(ORIGIN, 0, 10), Coordinates(DLQ, 0, 1), Coordinates(ORIGIN, 0, 99)]

    assert unmatched(refs, letters) == [Coordinates(ORIGIN, 0, 99)]


# --- reading until the real end ---------------------------------------------------------------------------


def decide(positions: Mapping[str, int], ends: Mapping[str, int], *, now: float, last: float = 0.0) -> ReadDecision:
    return read_decision(positions, ends, now=now, started_at=0.0, last_message_at=last, quiet_s=1.5, timeout_s=30.0)


def test_before_the_end_offsets_the_read_goes_on() -> None:
    assert decide({"p0": 3, "p1": 10}, {"p0": 3, "p1": 11}, now=10.0) is ReadDecision.CONTINUE


def test_at_the_end_offsets_the_read_waits_for_a_quiet_period() -> None:
    assert decide({"p0": 3}, {"p0": 3}, now=5.0, last=4.0) is ReadDecision.CONTINUE
    assert decide({"p0": 3}, {"p0": 3}, now=5.5, last=4.0) is ReadDecision.DONE


def test_past_lagging_end_offsets_records_still_coming_keep_the_read_going() -> None:
    # Tansu reported end 1, but records up to 40 keep arriving: the offsets alone would stop too early.
    assert decide({"p0": 40}, {"p0": 1}, now=5.0, last=4.9) is ReadDecision.CONTINUE
    assert decide({"p0": 40}, {"p0": 1}, now=6.5, last=4.9) is ReadDecision.DONE


def test_an_empty_topic_is_done_after_one_quiet_period() -> None:
    assert decide({}, {}, now=1.0) is ReadDecision.CONTINUE
    assert decide({"p0": 0}, {"p0": 0}, now=1.5) is ReadDecision.DONE


def test_a_partition_without_a_position_counts_from_zero() -> None:
    assert decide({}, {"p0": 2}, now=5.0) is ReadDecision.CONTINUE


def test_the_read_gives_up_at_the_timeout_but_prefers_done() -> None:
    assert decide({"p0": 1}, {"p0": 5}, now=30.0) is ReadDecision.TIMED_OUT
    assert decide({"p0": 5}, {"p0": 5}, now=31.0, last=30.0) is ReadDecision.TIMED_OUT
    assert decide({"p0": 5}, {"p0": 5}, now=31.0, last=10.0) is ReadDecision.DONE


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes | None]]
    value: bytes | None


@dataclass
class FakeConsumer:
    """Delivers ``script[i]`` at the i-th poll (then nothing), reporting ``end`` as the end offset."""

    script: list[list[Record]]
    end: int
    clock: list[float]
    polls: int = 0
    position_: int = 0

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Any, Sequence[Any]]:
        self.clock[0] += timeout_ms / 1000
        batch = self.script[self.polls] if self.polls < len(self.script) else []
        self.polls += 1
        self.position_ += len(batch)
        return {"p0": batch} if batch else {}

    def position(self, partition: Any) -> int:
        return self.position_

    def end_offsets(self, partitions: Sequence[Any]) -> Mapping[Any, int]:
        return dict.fromkeys(partitions, self.end)


def record(offset: int) -> Record:
    origin = Coordinates(ORIGIN, 0, 100 + offset)
    return Record(DLQ, 0, offset, headers(origin), sealed_value(origin))


def test_drain_reads_past_lagging_end_offsets_until_quiet() -> None:
    clock = [0.0]
    # End offset 1 is reported, but three records come, with empty polls (0.2 s each) in between.
    script = [[record(0)], [], [], [record(1)], [], [], [], [record(2)]]
    consumer = FakeConsumer(script, end=1, clock=clock)
    progress = ReadProgress()

    letters = list(drain(consumer, ["p0"], progress, quiet_s=1.5, timeout_s=30.0, clock=lambda: clock[0]))

    assert [v.at.offset for v in letters] == [0, 1, 2]
    assert [v.origin.offset for v in letters if v.origin] == [100, 101, 102]
    assert progress.complete
    assert progress.read == 3
    assert clock[0] >= 1.6 + 1.5  # the last record came at 1.6 s, then a full quiet period


def test_drain_that_never_goes_quiet_times_out_incomplete() -> None:
    clock = [0.0]
    consumer = FakeConsumer([[record(i)] for i in range(1000)], end=0, clock=clock)
    progress = ReadProgress()

    letters = list(drain(consumer, ["p0"], progress, quiet_s=1.5, timeout_s=3.0, clock=lambda: clock[0]))

    assert not progress.complete
    assert 10 <= len(letters) <= 20


# --- output helpers ---------------------------------------------------------------------------------------


def test_shown_bytes_are_text_or_base64() -> None:
    assert shown_bytes(b"caf\xc3\xa9 \xff", raw_base64=False) == "café \ufffd"
    assert shown_bytes(b"\x00\xff", raw_base64=True) == "AP8="
    assert shown_bytes(None, raw_base64=False) is None


def test_an_original_line_is_one_line() -> None:
    assert original_line(b'{\n  "a": 1\r\n}') == '{   "a": 1  }'


def test_control_characters_are_escaped_for_the_terminal() -> None:
    assert printable("a\x1b[31mb\tc\nd\x9b") == "a\\x1b[31mb\tc\nd\\x9b"


# --- the commands -----------------------------------------------------------------------------------------

runner = CliRunner()


@dataclass
class FakeTopic:
    """Stands in for the dead-letter topic: the views ``read_dead_letters`` yields."""

    letters: list[DeadLetterView]
    complete: bool = True

    def read(
        self, bootstrap: str, topic: str, progress: ReadProgress, *, quiet_s: float, timeout_s: float
    ) -> Iterator[DeadLetterView]:
        assert topic == DLQ
        for letter in self.letters:
            progress.read += 1
            yield letter
        progress.complete = self.complete


@dataclass
class FakeFuture:
    def get(self, timeout: float | None = None) -> None:
        return None


@dataclass
class FakeProducer:
    sent: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    closed: bool = False

    def send(self, topic: str, **kwargs: Any) -> FakeFuture:
        self.sent.append({"topic": topic, **kwargs})
        return FakeFuture()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> FakeTopic:
    fake = FakeTopic([])
    monkeypatch.setattr(dead_letters, "read_dead_letters", fake.read)
    for name in ("LINEAGE_QUARANTINE_KEY_FILE", "LINEAGE_TOPIC_PREFIX", "LINEAGE_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINEAGE_QUARANTINE_KEY", KEY.secret.hex())
    return fake


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    fake = FakeProducer()

    def make(**config: Any) -> FakeProducer:
        fake.config = config
        return fake

    monkeypatch.setattr(dead_letters, "KafkaProducer", make)
    return fake


@pytest.mark.parametrize("command", [[], ["show"], ["replay"]], ids=["group", "show", "replay"])
def test_help_renders(command: list[str]) -> None:
    result = runner.invoke(dead_letters_cli, [*command, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_help_explains_how_to_fix_events_by_hand() -> None:
    result = runner.invoke(dead_letters_cli, ["--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())  # rich wraps the help wherever the terminal width says

    assert "show --reveal --json" in text
    assert "show --reveal --originals > fix.jsonl" in text
    assert "purpose-lineage replay fix.jsonl" in text


def test_show_prints_reasons_and_nothing_personal(topic: FakeTopic) -> None:
    topic.letters = [view(0, 10), view(1, 11, reason="malformed_json")]

    result = runner.invoke(dead_letters_cli, ["show"])

    assert result.exit_code == 0, result.output
    assert "collection.user_profile.v1[0]@10" in result.stdout
    assert "reason=malformed_json" in result.stdout
    assert "taro" not in result.output
    assert "2 dead letter(s) shown" in result.stderr


def test_show_json_is_one_line_per_dead_letter_filtered_and_limited(topic: FakeTopic) -> None:
    topic.letters = [view(0, 10), view(1, 11, reason="empty"), view(2, 12), view(3, 13)]

    result = runner.invoke(dead_letters_cli, ["show", "--json", "--reason", "schema_invalid", "--limit", "2"])

    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [line["origin_offset"] for line in lines] == [10, 12]
    assert "value" not in lines[0]
    assert "taro" not in result.output


def test_show_reveal_prints_the_original_and_warns(topic: FakeTopic) -> None:
    topic.letters = [view(0, 10)]

    result = runner.invoke(dead_letters_cli, ["show", "--reveal"])

    assert result.exit_code == 0, result.output
    assert "taro.yamada@example.jp" in result.stdout
    assert "personal data" in result.stderr


def test_show_reveal_json_carries_value_and_key(topic: FakeTopic) -> None:
    topic.letters = [view(0, 10)]

    result = runner.invoke(dead_letters_cli, ["show", "--reveal", "--json", "--raw-base64"])

    assert result.exit_code == 0, result.output
    (line,) = [orjson.loads(text) for text in result.stdout.splitlines()]
    assert base64.b64decode(line["value"]) == EVENT
    assert base64.b64decode(line["key"]) == ORIGINAL_KEY
    assert line["encoding"] == "base64"
    assert line["reveal_error"] is None


def test_show_reveal_originals_prints_replayable_lines(topic: FakeTopic) -> None:
    topic.letters = [view(0, 10), view(1, 11)]

    result = runner.invoke(dead_letters_cli, ["show", "--reveal", "--originals"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [EVENT.decode(), EVENT.decode()]


def test_show_reveal_with_the_wrong_key_reports_and_exits_1(topic: FakeTopic) -> None:
    topic.letters = [view(0, 10, key=OTHER), view(1, 11)]

    result = runner.invoke(dead_letters_cli, ["show", "--reveal", "--json"])

    assert result.exit_code == 1
    first, second = (orjson.loads(text) for text in result.stdout.splitlines())
    assert first["value"] is None
    assert OTHER.key_id in first["reveal_error"]
    assert second["value"] == EVENT.decode()


def test_show_that_timed_out_says_so_and_exits_1(topic: FakeTopic) -> None:
    topic.letters, topic.complete = [view(0, 10)], False

    result = runner.invoke(dead_letters_cli, ["show", "--timeout", "2"])

    assert result.exit_code == 1
    assert "may be incomplete" in result.stderr


def test_show_options_for_revealed_output_need_reveal(topic: FakeTopic) -> None:
    result = runner.invoke(dead_letters_cli, ["show", "--raw-base64"])

    assert result.exit_code == 2
    assert "need --reveal" in result.stderr


def test_show_reveal_without_a_key_says_so_without_making_one(topic: FakeTopic, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("LINEAGE_QUARANTINE_KEY")
    monkeypatch.setenv("LINEAGE_LOCAL_QUARANTINE_KEY_FILE", str(tmp_path / "q.key"))

    result = runner.invoke(dead_letters_cli, ["show", "--reveal"])

    assert result.exit_code == 2
    assert "cannot load the quarantine key" in result.stderr
    assert not (tmp_path / "q.key").exists()


def test_replay_needs_a_selection(topic: FakeTopic) -> None:
    result = runner.invoke(dead_letters_cli, ["replay"])

    assert result.exit_code == 2
    assert "--all" in result.stderr


def test_replay_refuses_bad_offsets(topic: FakeTopic) -> None:
    result = runner.invoke(dead_letters_cli, ["replay", "--offset", "topic:zero:1"])

    assert result.exit_code == 2
    assert "TOPIC:PARTITION:OFFSET" in result.stderr or "integers" in result.stderr


def test_replay_produces_originals_with_their_keys_to_their_origin(topic: FakeTopic, producer: FakeProducer) -> None:
    topic.letters = [view(0, 10), view(1, 11, reason="empty"), view(2, 12)]

    result = runner.invoke(dead_letters_cli, ["replay", "--reason", "schema_invalid"])

    assert result.exit_code == 0, result.output
    assert "re-submitted 2 of 2" in result.stdout
    assert [(m["topic"], m["value"], m["key"]) for m in producer.sent] == [(ORIGIN, EVENT, ORIGINAL_KEY)] * 2
    assert producer.sent[0]["headers"] == [("lineage.replay.dead_letter", f"{DLQ}[0]@0".encode())]
    assert producer.config["acks"] == "all"
    assert producer.closed


def test_replay_by_offset_and_not_found(topic: FakeTopic, producer: FakeProducer) -> None:
    topic.letters = [view(0, 10), view(1, 11)]

    result = runner.invoke(
        dead_letters_cli, ["replay", "--json", "--offset", f"{ORIGIN}:0:11", "--offset", f"{ORIGIN}:0:99"]
    )

    assert result.exit_code == 1
    summary = orjson.loads(result.stdout)
    assert summary["resubmitted"] == 1
    assert summary["not_found"] == [f"{ORIGIN}[0]@99"]
    assert len(producer.sent) == 1


def test_replay_skips_what_does_not_open_and_exits_1(topic: FakeTopic, producer: FakeProducer) -> None:
    topic.letters = [view(0, 10, key=OTHER), view(1, 11)]

    result = runner.invoke(dead_letters_cli, ["replay", "--all", "--json"])

    assert result.exit_code == 1
    summary = orjson.loads(result.stdout)
    assert (summary["selected"], summary["resubmitted"], summary["failed"]) == (2, 1, 1)
    assert len(producer.sent) == 1
    assert "taro" not in result.stderr


def test_replay_skips_dead_letters_that_kept_nothing(topic: FakeTopic, producer: FakeProducer) -> None:
    too_large = parse_dead_letter(Coordinates(DLQ, 0, 0), headers(reason="too_large"), None)
    topic.letters = [too_large, view(1, 11)]

    result = runner.invoke(dead_letters_cli, ["replay", "--all", "--json"])

    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["not_kept"] == 1
    assert len(producer.sent) == 1


def test_replay_skips_events_with_neither_value_nor_key(topic: FakeTopic, producer: FakeProducer) -> None:
    origin = Coordinates(ORIGIN, 0, 10)
    nothing = orjson.dumps({"quarantine": seal(KEY, None, None, str(origin).encode())})
    topic.letters = [parse_dead_letter(Coordinates(DLQ, 0, 0), headers(origin, reason="empty"), nothing)]

    result = runner.invoke(dead_letters_cli, ["replay", "--all", "--json"])

    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["not_kept"] == 1
    assert producer.sent == []


def test_replay_dry_run_opens_but_sends_nothing(topic: FakeTopic, producer: FakeProducer) -> None:
    topic.letters = [view(0, 10), view(1, 11)]

    result = runner.invoke(dead_letters_cli, ["replay", "--all", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "would re-submit 2 of 2" in result.stdout
    assert producer.sent == []
