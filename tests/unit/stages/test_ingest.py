"""Ingest: every record ends as one typed event or one dead letter whose message names no input value."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import AccessLogPayloadV1, CollectionKind, TerminalPayloadV1
from services.records import DeadLetter, DeadLetterReason, Ingested, SourceRecord, Stage
from services.stages.ingest import ingest, ingest_one
from services.topics import Topics

SECRET = "taro.yamada@example.jp"
MAX_BYTES = 64 * 1024
KIND_OF_TOPIC = Topics().kind_of_collection_topic


def ingest_single(record: SourceRecord, max_bytes: int = MAX_BYTES) -> Ingested | DeadLetter:
    result = ingest([record], KIND_OF_TOPIC, max_bytes)
    assert len(result.ok) + len(result.dead) == 1
    return result.ok[0] if result.ok else result.dead[0]


def dead_letter_of(record: SourceRecord, max_bytes: int = MAX_BYTES) -> DeadLetter:
    outcome = ingest_single(record, max_bytes)
    assert isinstance(outcome, DeadLetter), f"expected a dead letter, got {outcome!r}"
    assert outcome.stage is Stage.INGEST
    assert outcome.source is record
    return outcome


@pytest.mark.parametrize(
    ("kind", "payload_type"),
    [(CollectionKind.TERMINAL, TerminalPayloadV1), (CollectionKind.ACCESS_LOG, AccessLogPayloadV1)],
)
def test_valid_event_is_ingested_with_its_payload_and_record_model(make_event, make_record, kind, payload_type):
    event = make_event(kind)
    record = make_record(event)

    outcome = ingest_single(record)

    assert isinstance(outcome, Ingested)
    assert outcome.source is record
    assert str(outcome.envelope.event_id) == event["event_id"]
    assert outcome.envelope.kind is kind
    assert outcome.record_model is payload_type
    assert outcome.payload == event["payload"]


def test_event_on_a_topic_outside_the_layout_is_accepted_for_any_kind(make_event, make_record):
    record = make_record(make_event(CollectionKind.TERMINAL), topic="legacy.events")

    assert isinstance(ingest_single(record), Ingested)


@pytest.mark.parametrize("value", [None, b""], ids=["no-value", "zero-bytes"])
def test_message_without_value_is_dead_lettered_as_empty(make_record, value):
    letter = dead_letter_of(make_record(value))

    assert letter.reason is DeadLetterReason.EMPTY
    assert letter.event_id is None
    assert letter.kind is None


def test_message_over_the_size_limit_is_dead_lettered_as_too_large_without_content(make_event, make_record):
    raw = orjson.dumps(make_event())
    letter = dead_letter_of(make_record(raw), max_bytes=len(raw) - 1)

    assert letter.reason is DeadLetterReason.TOO_LARGE
    assert letter.message == f"{len(raw)} bytes exceeds the limit of {len(raw) - 1}"
    assert SECRET not in letter.message


def test_message_exactly_at_the_size_limit_is_accepted(make_event, make_record):
    raw = orjson.dumps(make_event())

    assert isinstance(ingest_single(make_record(raw), max_bytes=len(raw)), Ingested)


def test_invalid_utf8_is_dead_lettered_with_its_byte_position_only(make_record):
    raw = b'{"subject": "' + SECRET.encode() + b'\xff"}'
    bad_byte_at = raw.index(b"\xff")
    letter = dead_letter_of(make_record(raw))

    assert letter.reason is DeadLetterReason.INVALID_UTF8
    assert letter.message == f"invalid UTF-8 at byte {bad_byte_at}"
    assert SECRET not in letter.message


def test_truncated_json_is_dead_lettered_as_malformed_without_content(make_event, make_record):
    letter = dead_letter_of(make_record(orjson.dumps(make_event())[:-7]))

    assert letter.reason is DeadLetterReason.MALFORMED_JSON
    assert letter.message.startswith("not JSON at line 1 column ")
    assert SECRET not in letter.message


@pytest.mark.parametrize(
    ("raw", "type_name"),
    [(b"[1, 2]", "array"), (orjson.dumps(SECRET), "string"), (b"42", "number"), (b"null", "null")],
)
def test_json_that_is_not_an_object_is_dead_lettered_naming_only_its_type(make_record, raw, type_name):
    letter = dead_letter_of(make_record(raw))

    assert letter.reason is DeadLetterReason.NOT_AN_OBJECT
    assert letter.message == f"expected a JSON object, got {type_name}"
    assert SECRET not in letter.message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"event_id": SECRET}, "event_id: uuid_parsing"),
        ({"spec": SECRET}, "spec: literal_error (expected='rakuro.collection/v1')"),
        (
            {"kind": SECRET},
            "kind: enum (expected='user_profile', 'terminal', 'access_log', 'cookie', 'allied' or 'transmission')",
        ),
        ({"kind_version": 0}, "kind_version: greater_than_equal (ge=1)"),
        ({"occurred_at": SECRET}, "occurred_at: datetime_parsing"),
        ({"occurred_at": "2023-05-01T09:00:00"}, "occurred_at: timezone_aware"),
        ({"tenant_id": f"{SECRET}/hr"}, "tenant_id: string_pattern_mismatch (pattern="),
        ({"subject": {"type": SECRET, "id": "emp-1"}}, "subject.type: enum"),
        ({"subject": {"type": "person_in_charge", "id": SECRET * 20}}, "subject.id: string_too_long (max_length=256)"),
        ({SECRET: "smuggled"}, "?: extra_forbidden"),
    ],
    ids=[
        "event_id",
        "spec",
        "kind",
        "kind_version",
        "occurred_at",
        "naive_time",
        "tenant_id",
        "subject.type",
        "subject.id",
        "extra_key",
    ],
)
def test_invalid_envelope_is_dead_lettered_naming_path_and_rule_not_value(make_event, make_record, overrides, expected):
    letter = dead_letter_of(make_record(make_event(**overrides), topic=Topics().collection(CollectionKind.ACCESS_LOG)))

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID
    assert expected in letter.message
    assert SECRET not in letter.message
    assert letter.event_id is None  # the envelope did not validate, so nothing of it is trusted


@pytest.mark.parametrize(
    ("kind", "field", "value", "expected"),
    [
        (CollectionKind.ACCESS_LOG, "ip_address", SECRET, "payload.ip_address"),
        (CollectionKind.ACCESS_LOG, "requested_at", SECRET, "payload.requested_at: datetime_parsing"),
        (CollectionKind.ACCESS_LOG, "operation", 42, "payload.operation: string_type"),
        (CollectionKind.TERMINAL, "terminal_id", f"{SECRET} laptop", "payload.terminal_id: string_pattern_mismatch"),
        (CollectionKind.TERMINAL, "terminal_type", SECRET, "payload.terminal_type: literal_error"),
    ],
    ids=["ip_address", "requested_at", "operation", "terminal_id", "terminal_type"],
)
def test_invalid_payload_is_dead_lettered_naming_path_and_rule_not_value(
    make_event, make_record, kind, field, value, expected
):
    event = make_event(kind)
    event["payload"][field] = value
    letter = dead_letter_of(make_record(event))

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID
    assert expected in letter.message
    assert SECRET not in letter.message
    assert letter.event_id == event["event_id"]
    assert letter.kind == kind.value


def test_missing_payload_field_is_dead_lettered_as_schema_invalid(make_event, make_record):
    event = make_event(CollectionKind.TERMINAL)
    del event["payload"]["terminal_type"]

    letter = dead_letter_of(make_record(event))

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID
    assert letter.message == "payload.terminal_type: missing"


def test_unknown_kind_version_is_dead_lettered_as_unsupported_version(make_event, make_record):
    event = make_event(CollectionKind.ACCESS_LOG, kind_version=2)

    letter = dead_letter_of(make_record(event))

    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert letter.message == "kind 'access_log' has no contract version 2"
    assert letter.event_id == event["event_id"]
    assert letter.kind == "access_log"


def test_a_version_number_spelling_text_is_not_copied_into_the_dead_letter(make_event, make_record, engine, key):
    """Seventh red-team pass: any integer was accepted as kind_version and copied into the message (header and
    dead_letters.message) and the sealed letter's envelope: 366 digits spelled a message subject and body."""
    from services.stages.redact import redacted_document

    spelled = int.from_bytes(b"Subject: pay cut for Sato from next month", "big")
    event = make_event(CollectionKind.ACCESS_LOG, kind_version=spelled)

    letter = dead_letter_of(make_record(json.dumps(event).encode(), Topics().collection(CollectionKind.ACCESS_LOG)))

    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert letter.message == "kind 'access_log' has no contract version given"
    assert str(spelled) not in str(redacted_document(event, engine, key))
    assert redacted_document(make_event(CollectionKind.ACCESS_LOG, kind_version=2), engine, key)["kind_version"] == 2


def test_event_on_the_topic_of_another_kind_is_dead_lettered_as_kind_topic_mismatch(make_event, make_record):
    event = make_event(CollectionKind.TERMINAL)

    letter = dead_letter_of(make_record(event, topic=Topics().collection(CollectionKind.ACCESS_LOG)))

    assert letter.reason is DeadLetterReason.KIND_TOPIC_MISMATCH
    assert letter.message == "kind 'terminal' does not belong on the 'access_log' topic"
    assert letter.event_id == event["event_id"]
    assert letter.kind == "terminal"


def test_mixed_batch_ends_in_exactly_one_output_per_record_in_order(make_event, make_record):
    access_log_topic = Topics().collection(CollectionKind.ACCESS_LOG)
    values: list[Any] = [
        make_event(CollectionKind.TERMINAL),
        None,
        b"[]",
        make_event(CollectionKind.ACCESS_LOG),
        b"{",
        make_event(CollectionKind.ACCESS_LOG, kind_version=9),
        b"\xff",
        make_event(CollectionKind.TERMINAL, payload_extra={"os": "Windows 11"}),
    ]
    batch = [make_record(value, offset=offset) for offset, value in enumerate(values)]
    batch.append(make_record(make_event(CollectionKind.TERMINAL), topic=access_log_topic, offset=len(batch)))

    result = ingest(batch, KIND_OF_TOPIC, MAX_BYTES)

    assert len(result.ok) + len(result.dead) == len(batch)
    assert [i.source.offset for i in result.ok] == [0, 3, 7]
    assert [(d.source.offset, d.reason) for d in result.dead] == [
        (1, DeadLetterReason.EMPTY),
        (2, DeadLetterReason.NOT_AN_OBJECT),
        (4, DeadLetterReason.MALFORMED_JSON),
        (5, DeadLetterReason.UNSUPPORTED_VERSION),
        (6, DeadLetterReason.INVALID_UTF8),
        (8, DeadLetterReason.KIND_TOPIC_MISMATCH),
    ]


@given(values=st.lists(st.one_of(st.none(), st.binary(max_size=200)), max_size=20))
def test_arbitrary_bytes_never_raise_and_each_record_ends_in_exactly_one_output(values):
    batch = [SourceRecord(topic="collection.terminal.v1", partition=0, offset=i, value=v) for i, v in enumerate(values)]

    result = ingest(batch, KIND_OF_TOPIC, max_bytes=100)

    outputs = [i.source for i in result.ok] + [d.source for d in result.dead]
    assert sorted(outputs, key=lambda s: s.offset) == batch
    assert all(d.message and d.stage is Stage.INGEST for d in result.dead)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_ENVELOPE_FIELDS = [
    "spec",
    "event_id",
    "kind",
    "kind_version",
    "occurred_at",
    "tenant_id",
    "source_service",
    "subject",
    "payload",
]


@given(field=st.sampled_from(_ENVELOPE_FIELDS), value=_JSON, kind=st.sampled_from(CollectionKind))
def test_any_json_in_any_envelope_field_never_raises(make_event, make_record, field, value, kind):
    event = make_event(kind)
    event[field] = value

    result = ingest([make_record(event)], KIND_OF_TOPIC, MAX_BYTES)

    assert len(result.ok) + len(result.dead) == 1


_MARKED_TEXT = st.text(max_size=40).map(lambda text: f"\u00a7{text}\u00a7")
_VALUE_PATHS = [
    ("event_id",),
    ("spec",),
    ("kind",),
    ("occurred_at",),
    ("tenant_id",),
    ("source_service",),
    ("subject", "type"),
    ("subject", "id"),
    ("payload", "ip_address"),
    ("payload", "requested_at"),
    ("payload", "operation"),
    ("payload", "screen"),
]


@given(path=st.sampled_from(_VALUE_PATHS), secret=_MARKED_TEXT, as_key=st.booleans())
def test_dead_letter_message_never_contains_an_input_string(make_event, make_record, path, secret, as_key):
    event = make_event(CollectionKind.ACCESS_LOG)
    target = event
    for part in path[:-1]:
        target = target[part]
    if as_key:  # a key name can carry personal data as well as a value
        target[secret] = target.pop(path[-1])
    else:
        target[path[-1]] = secret

    outcome = ingest_single(make_record(event))

    if isinstance(outcome, DeadLetter):
        assert "\u00a7" not in outcome.message


def test_ingest_one_agrees_with_the_batch_stage(make_event, make_record):
    record = make_record(make_event(kind_version=3))

    single = ingest_one(record, KIND_OF_TOPIC, MAX_BYTES)

    assert single == ingest_single(record)


def test_a_batch_is_ingested_as_each_record_alone_would_be(make_event, make_record):
    """The batch stage runs in passes (parse all, read all by the compiled contract, check each): its outcome per
    record, and their order, are ingest_one's on each record alone."""
    values: list[Any] = [
        make_event(CollectionKind.TERMINAL),
        b"{",
        make_event(CollectionKind.COOKIE),
        make_event(CollectionKind.ACCESS_LOG, kind_version=9),
        b'{"a": 1, "a": 2}',
        make_event(CollectionKind.TERMINAL, payload_extra={"os": "Windows 11", "note": "x" * 40}),
        None,
    ]
    batch = [make_record(value, offset=offset) for offset, value in enumerate(values)]

    result = ingest(batch, KIND_OF_TOPIC, MAX_BYTES)

    alone = [ingest_one(record, KIND_OF_TOPIC, MAX_BYTES) for record in batch]
    assert result.ok == [outcome for outcome in alone if not isinstance(outcome, DeadLetter)]
    assert result.dead == [outcome for outcome in alone if isinstance(outcome, DeadLetter)]


def test_a_fault_reading_one_record_dead_letters_that_record_and_the_batch_goes_on(
    make_event, make_record, monkeypatch
):
    from services.stages import ingest as ingest_module

    real = ingest_module._from_json
    batch = [make_record(make_event(CollectionKind.TERMINAL), offset=n) for n in range(3)]

    def failing(raw):
        if raw == batch[1].value:
            raise RuntimeError("parser fault")
        return real(raw)

    monkeypatch.setattr(ingest_module, "_from_json", failing)

    result = ingest(batch, KIND_OF_TOPIC, MAX_BYTES)

    assert [record.source.offset for record in result.ok] == [0, 2]
    (letter,) = result.dead
    assert (letter.source.offset, letter.stage, letter.reason) == (1, Stage.INGEST, DeadLetterReason.STAGE_FAILED)
    assert letter.message == "the ingest stage failed on this event (RuntimeError)"


def test_a_fault_of_the_compiled_contract_leaves_the_verdict_to_pydantic(make_event, make_record):
    def faulty(document):
        raise RuntimeError("compiled contract fault")

    batch = [
        make_record(make_event(CollectionKind.TERMINAL), offset=0),
        make_record(make_event(CollectionKind.TERMINAL, kind_version=9), offset=1),
    ]

    result = ingest(batch, KIND_OF_TOPIC, MAX_BYTES, decoder=faulty)

    assert [record.source.offset for record in result.ok] == [0]
    assert result.ok == ingest(batch[:1], KIND_OF_TOPIC, MAX_BYTES).ok
    (letter,) = result.dead
    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION
