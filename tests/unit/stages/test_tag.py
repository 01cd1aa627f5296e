"""Tag: pseudonymized subject, purposes, legal bases and the policy version in force when the data was collected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from schemas.events import CollectionKind, SubjectType
from services.pseudonymize import PartitionKey, pseudonymize
from services.records import DeadLetter, DeadLetterReason, Ingested, Minimized, Stage, TaggedRecord
from services.stages.ingest import ingest_one
from services.stages.minimize import minimize_one
from services.stages.tag import tag, tag_one
from services.topics import Topics

INGESTED_AT = datetime(2024, 1, 15, 3, 0, tzinfo=UTC)
PARTITION_KEY = PartitionKey(b"tag-test-partition-key-0123")


@pytest.fixture
def minimized_of(make_record, engine):
    def build(event: dict[str, Any], offset: int = 0) -> Minimized:
        ingested = ingest_one(make_record(event, offset=offset), Topics().kind_of_collection_topic, 64 * 1024)
        assert isinstance(ingested, Ingested), ingested
        minimized = minimize_one(ingested, engine)
        assert isinstance(minimized, Minimized), minimized
        return minimized

    return build


def tagged(record: Minimized, engine, key) -> TaggedRecord:
    outcome = tag_one(record, engine, key, PARTITION_KEY, INGESTED_AT)
    assert isinstance(outcome, TaggedRecord), outcome
    return outcome


@pytest.mark.parametrize("kind", [CollectionKind.TERMINAL, CollectionKind.ACCESS_LOG, CollectionKind.COOKIE])
@pytest.mark.parametrize("subject_type", list(SubjectType))
def test_terminal_and_log_data_serve_only_service_provision(make_event, minimized_of, engine, key, kind, subject_type):
    event = make_event(kind, subject={"type": subject_type.value, "id": "emp-00042"})

    result = tagged(minimized_of(event), engine, key)

    assert result.purposes == ("service_provision",)
    assert result.legal_bases == ("published_purpose_of_use",)
    assert result.policy_id == "rakuro"


@pytest.mark.parametrize(
    ("occurred_at", "version"),
    [
        ("2018-07-01T00:00:00+00:00", "2018-07-01"),
        ("2019-06-30T23:59:59+09:00", "2018-07-01"),
        ("2019-08-01T10:00:00+09:00", "2019-07-01"),
        ("2021-03-01T10:00:00+09:00", "2020-07-01"),
        ("2023-05-01T09:00:00+09:00", "2022-06-01"),
    ],
)
def test_policy_version_is_the_one_in_force_when_the_data_was_collected(
    make_event, minimized_of, engine, key, occurred_at, version
):
    result = tagged(minimized_of(make_event(occurred_at=occurred_at)), engine, key)

    assert result.policy_version == version


def test_event_before_the_policy_was_established_is_dead_lettered(make_event, minimized_of, engine, key):
    event = make_event(CollectionKind.TERMINAL, occurred_at="2018-06-30T12:00:00+00:00")

    outcome = tag_one(minimized_of(event), engine, key, PARTITION_KEY, INGESTED_AT)

    assert isinstance(outcome, DeadLetter)
    assert outcome.stage is Stage.TAG
    assert outcome.reason is DeadLetterReason.NO_POLICY_IN_FORCE
    assert outcome.message == "occurred_at is before the first version of policy 'rakuro'"
    assert outcome.event_id == event["event_id"]
    assert outcome.kind == "terminal"


def test_subject_is_pseudonymized_with_the_key_and_tenant(make_event, minimized_of, engine, key):
    event = make_event()

    result = tagged(minimized_of(event), engine, key)

    assert result.subject_pseudonym == pseudonymize(key, event["tenant_id"], event["subject"]["id"])
    assert result.pseudonym_key_id == key.key_id
    assert result.subject_type == "analyzed_account_holder"


def test_raw_subject_id_is_in_no_field_of_the_tagged_record_but_the_consumed_source(
    make_event, minimized_of, engine, key
):
    event = make_event()
    raw_id = event["subject"]["id"]

    result = tagged(minimized_of(event), engine, key)

    holding = [f.name for f in msgspec.structs.fields(result) if raw_id in repr(getattr(result, f.name))]
    # ``source`` is the consumed message, kept for its coordinates; encode_tagged never forwards its bytes.
    assert holding == ["source"]


def test_envelope_lineage_and_minimization_evidence_are_carried_over(make_event, minimized_of, engine, key):
    event = make_event(CollectionKind.TERMINAL, payload_extra={"os": "Windows 11"}, kind_version=1)
    minimized = minimized_of(event, offset=17)

    result = tagged(minimized, engine, key)

    assert result.event_id == event["event_id"]
    assert result.kind == "terminal"
    assert result.kind_version == 1
    assert result.occurred_at == datetime.fromisoformat(event["occurred_at"])
    assert result.ingested_at == INGESTED_AT
    assert (result.tenant_id, result.source_service) == (event["tenant_id"], event["source_service"])
    assert result.payload == minimized.payload
    assert result.data_categories == ("terminal_information",)
    assert result.removed == minimized.removed
    assert [r.path for r in result.removed] == ["payload.os"]
    assert result.source.offset == 17


def test_batch_keeps_order_and_ends_each_record_in_one_output(make_event, minimized_of, engine, key):
    times = ["2023-01-01T00:00:00+00:00", "2017-01-01T00:00:00+00:00", "2020-01-01T00:00:00+00:00"]
    batch = [minimized_of(make_event(occurred_at=t), offset=i) for i, t in enumerate(times)]

    result = tag(batch, engine, key, PARTITION_KEY, INGESTED_AT)

    assert [(r.source.offset, r.policy_version) for r in result.ok] == [(0, "2022-06-01"), (2, "2019-07-01")]
    assert [(d.source.offset, d.reason) for d in result.dead] == [(1, DeadLetterReason.NO_POLICY_IN_FORCE)]


@pytest.mark.parametrize(
    ("kind", "subject_type", "purposes"),
    [
        # The whole profile includes bank data, which related-service notification may not use.
        (CollectionKind.USER_PROFILE, SubjectType.PERSON_IN_CHARGE, ("service_provision", "user_notification")),
        (CollectionKind.ALLIED, SubjectType.PERSON_IN_CHARGE, ("service_provision", "related_service_notification")),
        # Row 3 limits only its contact entries to the person in charge: anyone's usage situation may be used.
        (
            CollectionKind.ALLIED,
            SubjectType.ANALYZED_ACCOUNT_HOLDER,
            ("service_provision", "related_service_notification"),
        ),
        (
            CollectionKind.TRANSMISSION,
            SubjectType.PERSON_IN_CHARGE,
            ("service_provision", "related_service_notification"),
        ),
        (
            CollectionKind.TRANSMISSION,
            SubjectType.ANALYZED_ACCOUNT_HOLDER,
            ("service_provision", "related_service_notification"),
        ),
    ],
)
def test_purposes_follow_the_art_3_table_for_every_kind(
    make_event, minimized_of, engine, key, kind, subject_type, purposes
):
    event = make_event(kind, subject={"type": subject_type.value, "id": "emp-00042"})

    assert tagged(minimized_of(event), engine, key).purposes == purposes
