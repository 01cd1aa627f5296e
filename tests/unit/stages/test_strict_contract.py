"""One strict input contract: what the parser refuses the exported JSON Schema refuses, each with its own reason.

Harmless oddities (a byte-order mark, a lone surrogate escape) are tolerated so that such events are minimized
like any other instead of being quarantined.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from schemas.events import CollectionKind
from schemas.jsonschema_export import export_schemas
from services.records import DeadLetter, DeadLetterReason, Ingested
from services.stages.collection import process_collection_batch
from services.stages.ingest import ingest_one, repair_lone_surrogates
from services.topics import Topics

KIND_OF_TOPIC = Topics().kind_of_collection_topic
MAX_BYTES = 64 * 1024


def outcome_of(make_record, value: bytes, kind: CollectionKind = CollectionKind.ALLIED) -> Ingested | DeadLetter:
    record = make_record(value, topic=Topics().collection(kind))
    return ingest_one(record, KIND_OF_TOPIC, MAX_BYTES)


def reason_of(make_record, value: bytes, kind: CollectionKind = CollectionKind.ALLIED) -> DeadLetterReason:
    outcome = outcome_of(make_record, value, kind)
    assert isinstance(outcome, DeadLetter), "expected a refusal"
    return outcome.reason


@pytest.fixture(scope="module")
def allied_schema() -> Draft202012Validator:
    document = export_schemas()["collection.allied.v1.schema.json"]
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def email_event(make_event, **payload: Any) -> dict[str, Any]:
    event = make_event(CollectionKind.ALLIED)
    event["payload"] = {
        "record_type": "email_transmission",
        "occurred_at": "2023-05-01T09:00:00+09:00",
        "recipient_count": 3,
        "has_attachments": False,
        **payload,
    }
    return event


def test_a_valid_email_record_passes_parser_and_schema(make_event, make_record, allied_schema):
    event = email_event(make_event)

    assert isinstance(outcome_of(make_record, orjson.dumps(event)), Ingested)
    assert list(allied_schema.iter_errors(event)) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda e: e.update(kind_version="1"),
        lambda e: e["payload"].update(recipient_count="3"),
        lambda e: e["payload"].update(has_attachments="false"),
        lambda e: e.update(occurred_at=1_682_899_200),
        lambda e: e["payload"].update(record_type="chat_message"),
        lambda e: e["payload"].pop("record_type"),
        lambda e: e.update(subject={"type": "analyzed_account_holder", "id": 42}),
    ],
    ids=[
        "version-as-string",
        "count-as-string",
        "bool-as-string",
        "time-as-number",
        "unknown-record-type",
        "no-record-type",
        "subject-id-as-number",
    ],
)
def test_the_parser_and_the_schema_refuse_the_same_coercions(make_event, make_record, allied_schema, edit):
    event = email_event(make_event)
    edit(event)

    assert reason_of(make_record, orjson.dumps(event)) is DeadLetterReason.SCHEMA_INVALID
    assert list(allied_schema.iter_errors(event)), "the exported schema must refuse it too"


def test_a_version_that_names_no_contract_is_unsupported_not_invalid(make_event, make_record):
    event = email_event(make_event, kind_version=7)
    event["kind_version"] = 7

    outcome = outcome_of(make_record, orjson.dumps(event))

    assert isinstance(outcome, DeadLetter)
    assert outcome.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert outcome.event_id == event["event_id"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_refused_with_their_own_reason(make_event, make_record, literal):
    raw = orjson.dumps(email_event(make_event)).replace(b'"recipient_count":3', b'"recipient_count":' + literal)

    assert reason_of(make_record, raw) is DeadLetterReason.NON_FINITE_NUMBER


def test_nan_inside_a_string_is_just_text(make_event, make_record):
    event = email_event(make_event, application="NaN Infinity")

    assert isinstance(outcome_of(make_record, orjson.dumps(event)), Ingested)


@pytest.mark.parametrize("duplicated", ["event_id", "tenant_id", "record_type"])
def test_a_repeated_key_is_refused_and_its_name_is_not_repeated(make_event, make_record, duplicated):
    event = email_event(make_event)
    raw = orjson.dumps(event)
    if duplicated == "record_type":
        raw = raw.replace(
            b'"record_type":"email_transmission"', b'"record_type":"email_transmission","record_type":"x"'
        )
    else:
        raw = raw[:-1] + b',"' + duplicated.encode() + b'":"a11ed000-1111-4222-8333-444455556666"}'

    outcome = outcome_of(make_record, raw)

    assert isinstance(outcome, DeadLetter)
    assert outcome.reason is DeadLetterReason.DUPLICATE_KEY
    assert duplicated not in outcome.message


def test_nesting_deeper_than_the_parser_allows_is_refused_as_too_deep(make_event, make_record):
    event = email_event(make_event)
    raw = orjson.dumps(event)[:-1] + b',"x":' + b"[" * 5000 + b"]" * 5000 + b"}"

    assert reason_of(make_record, raw) is DeadLetterReason.TOO_DEEP


def test_a_byte_order_mark_is_harmless(make_event, make_record):
    event = email_event(make_event)

    outcome = outcome_of(make_record, b"\xef\xbb\xbf" + orjson.dumps(event))

    assert isinstance(outcome, Ingested)
    assert str(outcome.envelope.event_id) == event["event_id"]


def test_a_lone_surrogate_escape_reads_as_the_replacement_character(make_event, make_record):
    raw = orjson.dumps(email_event(make_event, application="Outlook")).replace(b"Outlook", b"Out\\ud83dlook")

    outcome = outcome_of(make_record, raw)

    assert isinstance(outcome, Ingested)
    assert outcome.payload["application"] == "Out\ufffdlook"


@pytest.mark.parametrize(
    ("raw", "repaired"),
    [
        (rb'"\ud83d"', rb'"\ufffd"'),
        (rb'"\ude00"', rb'"\ufffd"'),
        (rb'"\ud83d\ude00"', rb'"\ud83d\ude00"'),  # a proper pair stays
        (rb'"\\ud83d"', rb'"\\ud83d"'),  # an escaped backslash followed by text, not an escape
        (rb'"\\\ud83d"', rb'"\\\ufffd"'),
    ],
)
def test_surrogate_repair_touches_only_unpaired_escapes(raw, repaired):
    assert repair_lone_surrogates(raw) == repaired


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_an_instant_outside_the_years_1970_to_9999_in_utc_is_refused(make_event, make_record, moment):
    event = email_event(make_event)
    event["occurred_at"] = moment

    assert reason_of(make_record, orjson.dumps(event)) is DeadLetterReason.SCHEMA_INVALID


def test_an_event_from_the_future_is_refused_at_tagging(make_event, make_record, context):
    ingested_at = datetime(2024, 1, 1, tzinfo=UTC)
    event = email_event(make_event)
    event["occurred_at"] = (ingested_at + timedelta(days=3)).isoformat()

    result = process_collection_batch([make_record(event)], context, ingested_at)

    assert [d.reason for d in result.dead] == [DeadLetterReason.OCCURRED_IN_FUTURE]


@pytest.mark.parametrize(("beyond", "refused"), [(timedelta(0), False), (timedelta(microseconds=1), True)])
def test_the_clock_skew_bound_is_exact_to_the_microsecond_in_any_offset(
    make_event, make_record, context, beyond, refused
):
    """The stage compares instants as seconds since the epoch (floats): one microsecond still tells them apart."""
    ingested_at = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
    latest = ingested_at + context.max_clock_skew + beyond
    event = email_event(make_event)
    event["occurred_at"] = latest.astimezone(timezone(timedelta(hours=9))).isoformat()

    result = process_collection_batch([make_record(event)], context, ingested_at)

    assert [d.reason for d in result.dead] == ([DeadLetterReason.OCCURRED_IN_FUTURE] if refused else [])


def test_an_event_before_the_first_policy_version_is_refused_at_tagging(make_event, make_record, context):
    event = email_event(make_event)
    event["occurred_at"] = "2018-06-30T09:00:00+09:00"

    result = process_collection_batch([make_record(event)], context, datetime(2024, 1, 1, tzinfo=UTC))

    assert [d.reason for d in result.dead] == [DeadLetterReason.NO_POLICY_IN_FORCE]
