"""Sink rows: tagged documents and dead-letter headers become store rows; unreadable input becomes a dead-letter row."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import orjson
import pytest

from schemas.events import CollectionKind
from services.records import DeadLetter, DeadLetterReason, SourceRecord, Stage, TaggedRecord
from services.sink.rows import (
    DEAD_LETTER_COLUMNS,
    LINEAGE_COLUMNS,
    LINEAGE_DIGEST,
    content_digest,
    dead_letter_row,
    lineage_row,
    sink_rows,
)
from services.stages.collection import process_collection_batch
from services.stages.messages import DIGEST_HEADER, encode_dead_letter, encode_tagged, tagged_document

INGESTED_AT = datetime(2024, 1, 15, 3, 0, 0, 250000, tzinfo=UTC)
TIMESTAMP_MS = 1_705_287_600_123


@pytest.fixture
def tagged_record(make_event, make_record, context) -> TaggedRecord:
    event = make_event(CollectionKind.TERMINAL, payload_extra={"os": "Android 15", "user_agent": "Mozilla/5.0"})
    result = process_collection_batch([make_record(event, partition=1, offset=42)], context, INGESTED_AT)
    (record,) = result.ok
    return record


def consumed(topic: str, value: bytes | None, *, headers=(), offset: int = 9) -> SourceRecord:
    return SourceRecord(topic, 0, offset, value, headers=tuple(headers), timestamp_ms=TIMESTAMP_MS)


def test_lineage_row_round_trips_a_tagged_document(tagged_record):
    value = orjson.dumps(tagged_document(tagged_record))
    document = orjson.loads(value)

    row = dict(zip(LINEAGE_COLUMNS, lineage_row(value), strict=True))

    assert row == {
        "event_id": UUID(tagged_record.event_id),
        "kind": "terminal",
        "kind_version": 1,
        "tenant_id": tagged_record.tenant_id,
        "source_service": tagged_record.source_service,
        "subject_type": "analyzed_account_holder",
        "subject_pseudonym": tagged_record.subject_pseudonym,
        "pseudonym_key_id": tagged_record.pseudonym_key_id,
        "data_categories": ["terminal_information"],
        "data_items": ["terminal_information.terminal_id", "terminal_information.terminal_type"],
        "fields_kept": ["terminal_id", "terminal_type"],
        "purposes": ["service_provision"],
        "legal_bases": ["published_purpose_of_use"],
        "policy_id": "rakuro",
        "policy_version": "2022-06-01",
        "removed_paths": ["payload.os", "payload.user_agent"],
        "removed_sizes": [len(b'"Android 15"'), len(b'"Mozilla/5.0"')],
        "removed_reasons": ["not_allowed", "not_allowed"],
        "occurred_at": tagged_record.occurred_at,
        "ingested_at": INGESTED_AT,
        "source_topic": "collection.terminal.v1",
        "source_partition": 1,
        "source_offset": 42,
        "content_digest": content_digest(document),
        "flagged_paths": [],
        "flagged_identifiers": [],
    }


def test_lineage_row_refuses_a_document_of_another_spec(tagged_record):
    document = {**tagged_document(tagged_record), "spec": "rakuro.collection/v1"}

    with pytest.raises(ValueError, match="not a tagged record"):
        lineage_row(orjson.dumps(document))


def test_the_digest_travels_in_a_header_equal_to_the_one_read_back_from_the_document(tagged_record, topics):
    message = encode_tagged(tagged_record, topics.tagged(CollectionKind.TERMINAL))
    (header,) = (value for name, value in message.headers if name == DIGEST_HEADER)
    recomputed = content_digest(orjson.loads(message.value))

    assert header.decode() == recomputed
    (row,) = sink_rows([consumed(message.topic, message.value, headers=message.headers)], topics.dead_letter).lineage
    assert row[LINEAGE_DIGEST] == recomputed


@pytest.mark.parametrize(
    "header", [b"", b"not-a-digest", b"A" * 64, b"0" * 63, b"g" * 64, b"0" * 63 + b"\xff", b"0" * 65]
)
def test_a_digest_header_that_is_no_digest_is_not_trusted(tagged_record, topics, header):
    message = encode_tagged(tagged_record, topics.tagged(CollectionKind.TERMINAL))
    headers = [(name, header if name == DIGEST_HEADER else value) for name, value in message.headers]

    (row,) = sink_rows([consumed(message.topic, message.value, headers=headers)], topics.dead_letter).lineage

    assert row[LINEAGE_DIGEST] == content_digest(orjson.loads(message.value))


def test_dead_letter_row_reads_origin_and_reason_from_the_headers(make_event, make_record, topics, quarantine):
    event = make_event(CollectionKind.ACCESS_LOG, kind_version=2)
    source = make_record(event, partition=4, offset=77)
    letter = DeadLetter(
        source,
        Stage.INGEST,
        DeadLetterReason.UNSUPPORTED_VERSION,
        "kind 'access_log' has no contract version 2",
        event_id=event["event_id"],
        kind="access_log",
    )
    message = encode_dead_letter(letter, topics.dead_letter, quarantine)

    row = dict(
        zip(
            DEAD_LETTER_COLUMNS,
            dead_letter_row(consumed(topics.dead_letter, message.value, headers=message.headers)),
            strict=True,
        )
    )

    assert row == {
        "source_topic": "collection.access_log.v1",
        "source_partition": 4,
        "source_offset": 77,
        "stage": "ingest",
        "reason": "unsupported_version",
        "message": "kind 'access_log' has no contract version 2",
        "event_id": event["event_id"],
        "kind": "access_log",
        "payload_bytes": len(source.value),
        "dead_lettered_at": datetime.fromtimestamp(TIMESTAMP_MS / 1000, UTC),
    }


def test_dead_letter_without_headers_falls_back_to_its_own_coordinates(topics):
    row = dict(zip(DEAD_LETTER_COLUMNS, dead_letter_row(consumed(topics.dead_letter, b"abc", offset=5)), strict=True))

    assert (row["source_topic"], row["source_partition"], row["source_offset"]) == ("lineage.dlq.v1", 0, 5)
    assert (row["stage"], row["reason"], row["event_id"], row["kind"]) == ("unknown", "unknown", None, None)
    assert row["message"] == "dead letter without reason headers"
    assert row["payload_bytes"] == 3


@pytest.mark.parametrize(
    "origin",
    [
        [("lineage.errors.topic", b"collection.terminal.v1")],
        [
            ("lineage.errors.topic", b"collection.terminal.v1"),
            ("lineage.errors.partition", b"x"),
            ("lineage.errors.offset", b"7"),
        ],
        [
            ("lineage.errors.topic", b"collection.terminal.v1"),
            ("lineage.errors.partition", b"0"),
            ("lineage.errors.offset", b"-1"),
        ],
    ],
    ids=["partition-and-offset-missing", "partition-not-a-number", "offset-negative"],
)
def test_dead_letter_with_broken_origin_headers_falls_back_to_its_own_coordinates(origin, topics):
    row = dict(
        zip(
            DEAD_LETTER_COLUMNS,
            dead_letter_row(consumed(topics.dead_letter, b"abc", offset=9, headers=origin)),
            strict=True,
        )
    )

    assert (row["source_topic"], row["source_partition"], row["source_offset"]) == ("lineage.dlq.v1", 0, 9)


def test_dead_letter_row_never_stores_the_payload(make_event, make_record, topics, quarantine):
    source = make_record(make_event())
    letter = DeadLetter(source, Stage.INGEST, DeadLetterReason.SCHEMA_INVALID, "subject.id: string_too_long")
    message = encode_dead_letter(letter, topics.dead_letter, quarantine)

    row = dead_letter_row(consumed(topics.dead_letter, message.value, headers=message.headers))

    assert "taro.yamada@example.jp" not in repr(row)


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"{not json",
        b'{"spec": "purpose-lineage.tagged/v1"}',
        b'{"spec": "other"}',
        b"\xff\xfe",
        b"[1]",
        b"null",
        b'"x"',
        b'{"spec": "purpose-lineage.tagged/v1", "event_id": 123, "lineage": {}}',
    ],
    ids=[
        "no-value",
        "empty",
        "not-json",
        "missing-lineage",
        "other-spec",
        "not-utf8",
        "array",
        "null",
        "string",
        "event-id-not-a-string",
    ],
)
def test_unreadable_tagged_message_becomes_a_sink_dead_letter_row_instead_of_raising(value, topics):
    rows = sink_rows([consumed("tagged.terminal.v1", value, offset=31)], topics.dead_letter)

    assert rows.lineage == []
    (row,) = (dict(zip(DEAD_LETTER_COLUMNS, r, strict=True)) for r in rows.dead_letters)
    assert (row["source_topic"], row["source_partition"], row["source_offset"]) == ("tagged.terminal.v1", 0, 31)
    assert (row["stage"], row["reason"]) == ("sink", "unreadable_tagged_record")
    assert row["message"].startswith("tagged record could not be read (")
    assert row["payload_bytes"] == len(value or b"")
    assert row["dead_lettered_at"] == datetime.fromtimestamp(TIMESTAMP_MS / 1000, UTC)


def test_one_batch_yields_lineage_rows_and_dead_letter_rows_in_order(tagged_record, topics, quarantine):
    tagged = encode_tagged(tagged_record, topics.tagged(CollectionKind.TERMINAL))
    letter = DeadLetter(tagged_record.source, Stage.TAG, DeadLetterReason.NO_POLICY_IN_FORCE, "before the policy")
    dead = encode_dead_letter(letter, topics.dead_letter, quarantine)
    batch = [
        consumed(tagged.topic, tagged.value, offset=1),
        consumed(tagged.topic, b"{", offset=2),
        consumed(dead.topic, dead.value, headers=dead.headers, offset=3),
        consumed(tagged.topic, tagged.value, offset=4),
    ]

    rows = sink_rows(batch, topics.dead_letter)

    assert [r[0] for r in rows.lineage] == [UUID(tagged_record.event_id)] * 2
    assert [(r[0], r[3]) for r in rows.dead_letters] == [
        ("tagged.terminal.v1", "sink"),
        ("collection.terminal.v1", "tag"),
    ]


@pytest.mark.parametrize("timestamp_ms", [253_402_300_800_000, 2**62, 2**63 - 1, -(2**63), -1])
def test_a_broker_timestamp_out_of_any_calendar_fails_no_batch(timestamp_ms: int) -> None:
    """Any 64-bit value is a valid Kafka timestamp; one past year 9999 used to fail its whole batch for ever."""
    unreadable = SourceRecord("tagged.terminal.v1", 0, 2, b"not json", None, (), timestamp_ms)
    letter = SourceRecord("lineage.dlq.v1", 0, 1, b"{}", None, (), timestamp_ms)

    rows = sink_rows([unreadable, letter], "lineage.dlq.v1")

    assert len(rows.dead_letters) == 2
    assert all(datetime(1970, 1, 1, tzinfo=UTC) <= row[-1] <= datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
               for row in rows.dead_letters)  # fmt: skip
