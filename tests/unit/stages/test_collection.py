"""The whole collection pipeline over one batch, and the wire format of what it publishes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from schemas.events import CollectionKind
from services.quarantine import unseal
from services.records import DeadLetter, DeadLetterReason, SourceRecord, Stage
from services.stages.collection import process_collection_batch
from services.stages.messages import (
    DEAD_LETTER_HEADER_PREFIX,
    DIGEST_HEADER,
    TAGGED_SPEC,
    content_digest,
    encode_dead_letter,
    encode_tagged,
)

INGESTED_AT = datetime(2024, 1, 15, 3, 0, tzinfo=UTC)
RAW_ID = "taro.yamada@example.jp"
EMAIL_SUBJECT = "Re: 残業申請について"


@pytest.fixture
def mixed_batch(make_event, make_record, topics) -> list[SourceRecord]:
    values = [
        make_event(CollectionKind.TERMINAL),
        make_event(CollectionKind.TERMINAL, payload_extra={"os": "Windows 11", "user_agent": "Mozilla/5.0"}),
        make_event(CollectionKind.ACCESS_LOG),
        make_event(CollectionKind.ACCESS_LOG, payload_extra={"email_subject": EMAIL_SUBJECT}),
        orjson.dumps(make_event(CollectionKind.ACCESS_LOG))[:-7],
        None,
        make_event(CollectionKind.ACCESS_LOG, kind_version=2),
        make_event(CollectionKind.TERMINAL, occurred_at="2017-12-31T23:00:00+00:00"),
    ]
    batch = [make_record(v, partition=2, offset=100 + i) for i, v in enumerate(values)]
    access_log_topic = topics.collection(CollectionKind.ACCESS_LOG)
    mismatched = make_event(CollectionKind.TERMINAL)
    return [*batch, make_record(mismatched, access_log_topic, partition=2, offset=100 + len(batch))]


def test_every_record_of_a_mixed_batch_ends_tagged_or_dead_lettered_once(mixed_batch, context):
    result = process_collection_batch(mixed_batch, context, INGESTED_AT)

    outputs = [r.source for r in result.ok] + [d.source for d in result.dead]
    assert len(outputs) == len(mixed_batch)
    assert set(outputs) == set(mixed_batch)
    assert [r.source.offset for r in result.ok] == [100, 101, 102, 103]
    assert Counter((d.stage, d.reason) for d in result.dead) == Counter(
        {
            (Stage.INGEST, DeadLetterReason.MALFORMED_JSON): 1,
            (Stage.INGEST, DeadLetterReason.EMPTY): 1,
            (Stage.INGEST, DeadLetterReason.UNSUPPORTED_VERSION): 1,
            (Stage.INGEST, DeadLetterReason.KIND_TOPIC_MISMATCH): 1,
            (Stage.TAG, DeadLetterReason.NO_POLICY_IN_FORCE): 1,
        }
    )


def test_removed_fields_are_recorded_as_evidence_through_the_pipeline(mixed_batch, context):
    result = process_collection_batch(mixed_batch, context, INGESTED_AT)

    removed = {r.source.offset: [e.path for e in r.removed] for r in result.ok}
    assert removed == {100: [], 101: ["payload.os", "payload.user_agent"], 102: [], 103: ["payload.email_subject"]}


def test_raw_subject_id_and_removed_content_appear_nowhere_in_encoded_tagged_messages(mixed_batch, context, topics):
    result = process_collection_batch(mixed_batch, context, INGESTED_AT)
    assert result.ok

    for record in result.ok:
        message = encode_tagged(record, topics.tagged_for(record.kind))
        wire = b"".join([message.key or b"", message.value or b"", *(k.encode() + v for k, v in message.headers)])
        assert RAW_ID.encode() not in wire
        assert EMAIL_SUBJECT.encode() not in wire  # its name may appear as evidence, its content never
        assert "email_subject" not in orjson.loads(message.value)["payload"]


def test_encoded_tagged_message_is_keyed_as_its_subjects_activity_and_carries_its_lineage(mixed_batch, context, topics):
    record = process_collection_batch(mixed_batch, context, INGESTED_AT).ok[1]

    message = encode_tagged(record, topics.tagged(CollectionKind.TERMINAL))
    document = orjson.loads(message.value)

    assert message.topic == "tagged.terminal.v1"
    # The key the emitters give the subject's uses and consents: one subject, one key on every topic.
    assert message.key == context.partition_key.of("kobe-logistics", "taro.yamada@example.jp")
    assert b"taro" not in message.key
    assert dict(message.headers) == {
        "lineage.purposes": b"service_provision",
        "lineage.policy_version": b"2022-06-01",
        "lineage.data_categories": b"terminal_information",
        DIGEST_HEADER: content_digest(document).encode(),
    }
    assert document["spec"] == TAGGED_SPEC
    assert document["subject"] == {
        "type": "analyzed_account_holder",
        "pseudonym": record.subject_pseudonym,
        "key_id": context.key.key_id,
    }
    assert document["payload"] == {"terminal_id": "pc-0a1b2c3d", "terminal_type": "pc"}
    assert document["lineage"]["removed"] == [
        {"path": "payload.os", "size": len(b'"Windows 11"'), "reason": "not_allowed"},
        {"path": "payload.user_agent", "size": len(b'"Mozilla/5.0"'), "reason": "not_allowed"},
    ]
    assert document["lineage"]["source"] == {"topic": "collection.terminal.v1", "partition": 2, "offset": 101}


def test_dead_letter_headers_carry_stage_reason_and_origin(make_event, make_record, topics, quarantine):
    event = make_event(CollectionKind.ACCESS_LOG, kind_version=2)
    source = make_record(event, partition=3, offset=12345)
    source = SourceRecord(source.topic, source.partition, source.offset, source.value, key=b"subject-key")
    letter = DeadLetter(
        source=source,
        stage=Stage.INGEST,
        reason=DeadLetterReason.UNSUPPORTED_VERSION,
        message="kind 'access_log' has no contract version 2",
        event_id=event["event_id"],
        kind="access_log",
    )

    message = encode_dead_letter(letter, topics.dead_letter, quarantine)

    p = DEAD_LETTER_HEADER_PREFIX
    assert message.topic == "lineage.dlq.v1"
    assert dict(message.headers) == {
        f"{p}stage": b"ingest",
        f"{p}exception.class.name": b"unsupported_version",
        f"{p}exception.message": b"kind 'access_log' has no contract version 2",
        f"{p}topic": b"collection.access_log.v1",
        f"{p}partition": b"3",
        f"{p}offset": b"12345",
        f"{p}event_id": event["event_id"].encode(),
        f"{p}kind": b"access_log",
        f"{p}original_bytes": str(len(source.value)).encode(),
    }
    # The input's key may be the raw subject id: it is never copied, only sealed with the event.
    assert message.key is None
    assert message.value is not None
    document = orjson.loads(message.value)
    assert set(document) == {"spec", "quarantine"}
    assert unseal(quarantine, document["quarantine"], source.coordinates.encode()) == (source.value, b"subject-key")


def test_refused_event_that_parsed_is_minimized_before_it_is_dead_lettered(make_event, make_record, context, topics):
    event = make_event(
        CollectionKind.ACCESS_LOG,
        kind_version=2,
        payload_extra={"email_body": "本文: 来週の残業について", "nested": {"subject": "Re: 残業"}},
    )

    result = process_collection_batch([make_record(event)], context, INGESTED_AT)

    (letter,) = result.dead
    message = encode_dead_letter(letter, topics.dead_letter, context.quarantine)
    value = message.value
    assert value is not None
    expected = context.partition_key.of("kobe-logistics", "taro.yamada@example.jp")
    assert message.key == expected, "keyed as the subject's activity, never by the input's key"
    document = orjson.loads(value)
    assert document["spec"] == "purpose-lineage.dead-letter/v1"
    assert document["kind"] == "access_log"
    assert document["subject"]["type"] == "analyzed_account_holder"
    assert len(document["subject"]["pseudonym"]) == 64
    dispositions = {f["path"]: f["disposition"] for f in document["payload_fields"]}
    assert dispositions["payload.ip_address"] == "allowed"
    assert dispositions["payload.email_body"] == "excluded_content"
    assert dispositions["payload.?"] == "excluded_content"  # "nested": no word of the contract or the policy
    for secret in (b"taro.yamada@example.jp", "残業".encode(), b"10.1.2.3", b"clock_in"):
        assert secret not in value


def test_unparseable_bytes_travel_only_sealed_and_oversized_events_are_not_kept(make_record, context, topics):
    too_large = b'{"x": "' + b"a" * (70 * 1024) + b'"}'
    broken = make_record(b'{"body": "secret text of an e-mail", broken')
    result = process_collection_batch([broken, make_record(too_large)], context, INGESTED_AT)

    sealed, oversized = (encode_dead_letter(letter, topics.dead_letter, context.quarantine) for letter in result.dead)
    # Not kept, but still a message the broker accepts: a message without key and value is refused.
    assert orjson.loads(oversized.value) == {
        "spec": "purpose-lineage.dead-letter/v1",
        "not_kept": "over the size limit",
    }
    assert oversized.key is None
    assert sealed.value is not None
    assert b"secret" not in sealed.value
    document = orjson.loads(sealed.value)
    assert set(document) == {"spec", "quarantine"}
    assert unseal(context.quarantine, document["quarantine"], broken.coordinates.encode()) == (broken.value, None)


def test_dead_letter_without_a_known_event_has_no_event_id_or_kind_header(make_record, topics, quarantine):
    letter = DeadLetter(make_record(b"{"), Stage.INGEST, DeadLetterReason.MALFORMED_JSON, "not JSON: error at char 1")

    headers = dict(encode_dead_letter(letter, topics.dead_letter, quarantine).headers)

    assert f"{DEAD_LETTER_HEADER_PREFIX}event_id" not in headers
    assert f"{DEAD_LETTER_HEADER_PREFIX}kind" not in headers
    assert headers[f"{DEAD_LETTER_HEADER_PREFIX}exception.class.name"] == b"malformed_json"
