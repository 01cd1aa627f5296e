"""The whole collection pipeline over one batch, and the wire format of what it publishes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import CollectionKind
from services.quarantine import unseal
from services.records import DeadLetter, DeadLetterReason, SourceRecord, Stage
from services.stages.collection import process_collection_batch
from services.stages.messages import (
    DEAD_LETTER_HEADER_PREFIX,
    DEAD_LETTER_SPEC,
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


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
_FIELDS = [
    ("spec",),
    ("event_id",),
    ("kind",),
    ("kind_version",),
    ("occurred_at",),
    ("tenant_id",),
    ("source_service",),
    ("subject",),
    ("subject", "type"),
    ("subject", "id"),
    ("payload",),
    ("payload", "record_type"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(_FIELDS), value=_ANY_JSON, kind=st.sampled_from(CollectionKind))
def test_any_json_anywhere_in_the_envelope_ends_as_one_output_and_never_fails_the_batch(
    make_event, make_record, context, topics, where, value, kind
):
    """Eighth red-team pass: ``subject.type`` sent as an object made the dead letter's redaction raise, which
    failed the whole batch (good events with it) and the consumer retried it forever."""
    event = make_event(kind)
    target = event
    for step in where[:-1]:
        target = target.setdefault(step, {}) if isinstance(target.get(step), dict) else target
    target[where[-1]] = value
    good = make_event(CollectionKind.TERMINAL)
    # json: integers beyond 64 bits are JSON too (orjson refuses to write them)
    batch = [make_record(good, offset=0), make_record(json.dumps(event).encode(), topics.collection(kind), offset=1)]

    result = process_collection_batch(batch, context, INGESTED_AT)

    assert sorted(r.source.offset for r in [*result.ok, *result.dead]) == [0, 1]
    assert 0 in {r.source.offset for r in result.ok}
    for letter in result.dead:  # each one encodes, and names a reason
        assert encode_dead_letter(letter, topics.dead_letter, context.quarantine).value
        assert letter.reason is not DeadLetterReason.STAGE_FAILED


@pytest.mark.parametrize("subject_type", [{}, [], ["person_in_charge"], {"a": 1}])
def test_a_subject_type_of_the_wrong_json_type_is_a_schema_invalid_dead_letter(
    make_event, make_record, context, subject_type
):
    event = make_event(CollectionKind.COOKIE)
    event["subject"] = {"type": subject_type, "id": RAW_ID}

    result = process_collection_batch([make_record(event)], context, INGESTED_AT)

    (letter,) = result.dead
    assert letter.reason is DeadLetterReason.SCHEMA_INVALID
    assert letter.redacted is not None
    assert letter.redacted["subject"]["type"] is None
    assert letter.subject_pseudonym is not None


def test_a_stage_that_raises_on_one_event_dead_letters_that_event_and_the_batch_goes_on(
    make_event, make_record, context, monkeypatch
):
    """A fault of a stage (any exception, on any event) costs that event a ``stage_failed`` dead letter naming
    the exception's class, never its text (which may quote the input); the rest of the batch is tagged."""
    from services.stages import minimize as minimize_module

    real = minimize_module.minimize_one

    def failing(record, engine):
        if record.source.offset == 1:
            raise ValueError(f"cannot handle {RAW_ID}")
        return real(record, engine)

    monkeypatch.setattr(minimize_module, "minimize_one", failing)
    batch = [make_record(make_event(CollectionKind.TERMINAL), offset=n) for n in range(3)]

    result = process_collection_batch(batch, context, INGESTED_AT)

    assert [r.source.offset for r in result.ok] == [0, 2]
    (letter,) = result.dead
    assert (letter.stage, letter.reason) == (Stage.MINIMIZE, DeadLetterReason.STAGE_FAILED)
    assert letter.message == "the minimize stage failed on this event (ValueError)"
    assert letter.redacted is not None  # redacted like any other letter: its inventory, no values
    assert RAW_ID.encode() not in orjson.dumps(letter.redacted)
    assert letter.source.value == batch[1].value  # the event itself, to be sealed on the dead-letter topic


def test_a_redaction_that_raises_keeps_only_the_spec_in_the_clear(make_event, make_record, context, monkeypatch):
    from services.stages import redact as redact_module

    def failing(document, engine, key):
        raise RuntimeError(RAW_ID)

    monkeypatch.setattr(redact_module, "redacted_document", failing)
    event = make_event(CollectionKind.TERMINAL, kind_version=99)

    result = process_collection_batch([make_record(event)], context, INGESTED_AT)

    (letter,) = result.dead
    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert letter.redacted == {"spec": DEAD_LETTER_SPEC}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenant_id", "090-1234-5678"),
        ("tenant_id", "+81-90-1234-5678"),
        ("source_service", "09012345678"),
        ("source_service", "6214-9832-0257"),
        ("tenant_id", "03.1234.5678"),
    ],
)
def test_a_telephone_number_or_my_number_as_tenant_or_service_is_refused_and_not_shown(
    make_event, make_record, context, field, value
):
    """Eighth red-team pass: the contract refused mailboxes as references, not the other personal numbers its
    charset admits; and a refused one was shown in the clear in the dead letter."""
    event = make_event(CollectionKind.TERMINAL, **{field: value})

    (letter,) = process_collection_batch([make_record(event)], context, INGESTED_AT).dead

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID
    assert letter.redacted is not None
    assert field not in letter.redacted
    assert value.encode() not in orjson.dumps(letter.redacted)


PROSE = "Subject:Pay+cut+for+Sato+from+next+month/Body:Dear+Sato+we+are+sorry"


@pytest.mark.parametrize("field", ["spec", "tenant_id", "source_service"])
def test_an_envelope_value_the_contract_refused_is_not_shown_in_the_dead_letter(
    make_event, make_record, context, field
):
    """Twelfth red-team pass: a spec, a tenant or a service refused for what it holds ("+" and "/", which no
    reference has) was shown in the clear, 128 characters of "+"-joined prose; a spec is shown only as a known one."""
    event = make_event(CollectionKind.TERMINAL, **{field: PROSE})

    (letter,) = process_collection_batch([make_record(event)], context, INGESTED_AT).dead

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID
    assert letter.redacted is not None
    assert b"Pay+cut" not in orjson.dumps(letter.redacted)
    assert letter.redacted.get("original_spec") in (None, "other", "rakuro.collection/v1")


def test_a_known_spec_of_another_contract_is_shown(make_event, make_record, context) -> None:
    event = make_event(CollectionKind.TERMINAL, spec="rakuro.use/v1")

    (letter,) = process_collection_batch([make_record(event)], context, INGESTED_AT).dead

    assert letter.redacted is not None
    assert letter.redacted["original_spec"] == "rakuro.use/v1"


@pytest.mark.parametrize(
    "value",
    [
        "kobe-logistics",
        "tenant-0123456789",
        "621498320257",
        "815002428206",
        "2024-05-01",
        "v1.2.3456",
        "mynumber-6214-9832-0257",
        "tenant-a474e9bb-de08-5255-0276-1affb234686b",
        "ip-81-90-1234-5678",
        "1-2345-6789-0123",
    ],
)
def test_ordinary_references_with_digits_are_accepted(make_event, make_record, context, value):
    """Only a reference that *is* a number is refused (a refused tenant loses every event): twelve digits in one
    run stay (cloud account ids; one in ten passes the check digit), and ids that merely hold digits (tenth red-team
    pass: a UUID after a prefix, an ip-81-… host, a corporate number 1-4-4-4, an account id starting 8150)."""
    event = make_event(CollectionKind.TERMINAL, tenant_id=value)

    (record,) = process_collection_batch([make_record(event)], context, INGESTED_AT).ok

    assert record.tenant_id == value
