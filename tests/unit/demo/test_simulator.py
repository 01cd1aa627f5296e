"""Demo traffic: reproducible per seed, realistic in its mix, and safe: every collection event ends tagged or
dead-lettered without leaking message content or subject ids, and every use or disclosure is exactly as allowed
(or as violating) as the demo means it to be.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
import pytest

from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.decisions import Decision
from schemas.events import AlliedRecordType, CollectionEnvelope, CollectionKind, SubjectType, payload_model
from services.demo.company import make_company
from services.demo.flows import ENCODED_CONTENTS, MESSAGE_STRINGS, SCHEDULER_TITLES
from services.demo.simulator import Activity, DemoEvent, DemoTally, Malformation, demo_stream, run_demo
from services.monitor.evaluate import monitor_batch
from services.policy.decide import Decider
from services.records import DeadLetterReason, RemovalReason, SourceRecord, StageResult, TaggedRecord
from services.stages.collection import process_collection_batch
from services.stages.ingest import ingest_one
from services.stages.messages import encode_tagged
from services.topics import Topics

EVENTS = 5000
EMPLOYEES = 50
SEED = 7
NOW = datetime(2026, 11, 27, 0, 0, 3, tzinfo=UTC)
EXCLUDED_KEYS = {"subject", "body", "text", "password", "message", "attachment", "content_base64", "件名", "本文"}
DEAD_LETTER_REASON = {
    Malformation.TRUNCATED_JSON: DeadLetterReason.MALFORMED_JSON,
    Malformation.INVALID_UTF8: DeadLetterReason.INVALID_UTF8,
    Malformation.WRONG_TYPES: DeadLetterReason.SCHEMA_INVALID,
    Malformation.UNKNOWN_KIND: DeadLetterReason.SCHEMA_INVALID,
    Malformation.UNKNOWN_KIND_VERSION: DeadLetterReason.UNSUPPORTED_VERSION,
}


def fixed_clock() -> datetime:
    return NOW


def take(seed: int, count: int, employees: int = EMPLOYEES) -> list[DemoEvent]:
    return list(islice(demo_stream(seed, employees, clock=fixed_clock), count))


@pytest.fixture(scope="module")
def events() -> list[DemoEvent]:
    return take(SEED, EVENTS)


@pytest.fixture(scope="module")
def collection(events, topics) -> list[tuple[DemoEvent, SourceRecord]]:
    """The collection events as consumed from their topics, offsets in stream order."""
    chosen = [e for e in events if isinstance(e.kind, CollectionKind)]
    return [(e, SourceRecord(e.topic(topics), 0, offset, e.value)) for offset, e in enumerate(chosen)]


@pytest.fixture(scope="module")
def result(collection, context) -> StageResult[TaggedRecord]:
    return process_collection_batch([record for _, record in collection], context, NOW)


def documents(events: list[DemoEvent]) -> Iterator[tuple[DemoEvent, dict[str, Any]]]:
    """The well-formed collection events, parsed."""
    for event in events:
        if isinstance(event.kind, CollectionKind) and event.malformed is None:
            yield event, orjson.loads(event.value)


def walk(value: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair at any depth; list items come with no key."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield None, inner
            yield from walk(inner)


# Reproducibility


def test_same_seed_gives_the_same_stream():
    assert take(SEED, 1000) == take(SEED, 1000)


def test_different_seeds_give_different_streams():
    assert [e.value for e in take(SEED, 50)] != [e.value for e in take(SEED + 1, 50)]


def test_the_stream_never_touches_the_global_random_state():
    random.seed(1234)
    before = random.getstate()

    take(SEED, 500)

    assert random.getstate() == before


def test_the_company_spreads_both_subject_types_over_every_tenant():
    staff = make_company(random.Random(SEED), 40)

    by_tenant: dict[str, set[SubjectType]] = {}
    for employee in staff:
        by_tenant.setdefault(employee.tenant_id, set()).add(employee.subject_type)
    assert len(by_tenant) >= 3
    assert all(types == set(SubjectType) for types in by_tenant.values())
    assert any(e.bank_account for e in staff)
    assert any(e.bank_account is None for e in staff)
    assert any(e.phone_id for e in staff)
    assert len({e.subject_id for e in staff}) == len(staff)


def test_the_company_needs_employees():
    with pytest.raises(ValueError, match="at least one"):
        make_company(random.Random(SEED), 0)


# The mix


def test_every_kind_record_type_activity_topic_and_malformation_appears(events, topics):
    allied = {doc["payload"]["record_type"] for e, doc in documents(events) if e.kind is CollectionKind.ALLIED}
    transmission = {
        doc["payload"]["record_type"] for e, doc in documents(events) if e.kind is CollectionKind.TRANSMISSION
    }

    assert {e.kind for e in events} == set(CollectionKind) | set(Activity)
    assert {e.topic(topics) for e in events} == set(topics.all_collection) | set(topics.all_activity)
    assert allied == {t.value for t in AlliedRecordType}
    assert transmission == {"clock_in", "clock_out", "arrival", "departure"}
    assert {e.malformed for e in events if e.malformed} == set(Malformation)


def test_about_one_percent_of_events_are_malformed(events):
    malformed = sum(e.malformed is not None for e in events)

    assert 0.005 * EVENTS < malformed < 0.02 * EVENTS


def test_every_event_names_an_employee_of_the_company_as_its_subject(events):
    subjects = {(e.tenant_id, e.subject_id) for e in make_company(random.Random(SEED), EMPLOYEES)}

    assert {e.subject for e in events} <= subjects


def test_each_employee_arrives_clocks_in_clocks_out_and_departs_in_order(events):
    expected_before = {"arrival": {None, "departure"}, "clock_in": {"arrival"}, "clock_out": {"clock_in"}}
    expected_before["departure"] = {"clock_out"}
    last: dict[tuple[str, str], str | None] = {}
    for event in events:
        if event.kind is not CollectionKind.TRANSMISSION:
            continue
        if event.malformed is not None:  # unreadable: the next step of that employee cannot be checked
            last[event.subject] = "unknown"
            continue
        record = orjson.loads(event.value)["payload"]["record_type"]
        previous = last.get(event.subject)
        assert previous == "unknown" or previous in expected_before[record], (previous, record)
        last[event.subject] = record


# Contracts


def test_every_collection_event_validates_or_is_deliberately_malformed(collection):
    for event, record in collection:
        if event.malformed is None:
            envelope = CollectionEnvelope.model_validate_json(event.value)
            model = payload_model(envelope.kind, envelope.kind_version)
            assert model is not None
            model.model_validate(envelope.payload)
            assert envelope.kind is event.kind
        else:
            outcome = ingest_one(record, Topics().kind_of_collection_topic, 1 << 20)
            assert getattr(outcome, "reason", None) is DEAD_LETTER_REASON[event.malformed], event


def test_every_activity_event_validates_against_its_contract(events):
    models = {Activity.USE: UseEvent, Activity.DISCLOSURE: DisclosureEvent}
    models |= {Activity.CONSENT: ConsentEvent, Activity.RIGHTS: RightsRequestEvent}
    activity = [e for e in events if isinstance(e.kind, Activity)]

    assert activity
    for event in activity:
        parsed = models[event.kind].model_validate_json(event.value)
        assert event.subject == (parsed.tenant_id, parsed.subject.id)
        assert event.malformed is None


# Through the collection stages


def test_every_collection_event_ends_tagged_or_dead_lettered_exactly_once(collection, result):
    outputs = sorted([r.source.offset for r in result.ok] + [d.source.offset for d in result.dead])
    malformed = {record.offset: event.malformed for event, record in collection if event.malformed}

    assert outputs == list(range(len(collection)))
    assert {d.source.offset for d in result.dead} == set(malformed)
    assert all(d.reason is DEAD_LETTER_REASON[malformed[d.source.offset]] for d in result.dead)


def test_the_demo_sends_content_that_must_be_removed(events):
    keys = {key for _, doc in documents(events) for key, _ in walk(doc["payload"])}

    assert keys >= EXCLUDED_KEYS
    assert any(
        isinstance(doc["payload"].get("message"), dict) and {"subject", "body"} <= set(doc["payload"]["message"])
        for _, doc in documents(events)
    )


def test_no_excluded_content_reaches_a_tagged_payload(events, result, topics):
    sent_secrets = {
        value.encode()
        for _, doc in documents(events)
        for key, value in walk(doc["payload"])
        if key in EXCLUDED_KEYS and isinstance(value, str)
    }
    assert sent_secrets

    for record in result.ok:
        assert not EXCLUDED_KEYS & {key for key, _ in walk(record.payload)}, record.payload
        value = encode_tagged(record, topics.tagged_for(record.kind)).value
        assert value is not None
        for text in (*MESSAGE_STRINGS, *ENCODED_CONTENTS):
            assert text.encode() not in value
        assert not any(secret in value for secret in sent_secrets)


def test_no_raw_subject_id_in_any_encoded_tagged_message(events, result, topics):
    raw_ids = {doc["subject"]["id"].encode() for _, doc in documents(events) if isinstance(doc.get("subject"), dict)}
    assert len(raw_ids) == EMPLOYEES

    for record in result.ok:
        message = encode_tagged(record, topics.tagged_for(record.kind))
        assert message.value is not None
        assert not any(raw_id in message.value for raw_id in raw_ids)
        assert not any(raw_id in (message.key or b"") for raw_id in raw_ids)


def test_removed_message_content_is_evidenced_as_excluded_content(result):
    reasons = Counter(r.reason for record in result.ok for r in record.removed)
    paths = {r.path for record in result.ok for r in record.removed if r.reason is RemovalReason.EXCLUDED_CONTENT}

    assert reasons[RemovalReason.EXCLUDED_CONTENT] > 0
    assert {"payload.subject", "payload.body", "payload.text", "payload.message", "payload.attachment"} <= paths
    assert "payload.?" in paths  # content_base64: "base" is no word of the contract or the policy, not shown


def test_scheduler_titles_are_kept(result):
    titles = {r.payload["title"] for r in result.ok if r.kind == "allied" and "title" in r.payload}

    assert titles == set(SCHEDULER_TITLES)


def test_password_never_reaches_a_tagged_profile_but_the_profile_does(result):
    profiles = [r for r in result.ok if r.kind == "user_profile"]

    assert profiles
    assert any("payload.password" in {r.path for r in p.removed} for p in profiles)
    assert all("password" not in p.payload and "name" in p.payload for p in profiles)


# Uses and disclosures through the purpose monitor


@pytest.fixture(scope="module")
def decisions(events, engine, key, topics) -> list[tuple[DemoEvent, Decision]]:
    """Every use and disclosure as the purpose monitor decides it, with the state the stream built up."""
    activity = [e for e in events if isinstance(e.kind, Activity)]
    batch = [SourceRecord(e.topic(topics), 0, offset, e.value) for offset, e in enumerate(activity)]

    result = monitor_batch(batch, {}, {}, Decider(engine), key)

    assert result.dead == []
    assert result.state_changes > 0
    return [(activity[evaluated.source.offset], evaluated.decision) for evaluated in result.evaluated]


def test_each_use_and_disclosure_is_decided_as_the_demo_means_it(decisions):
    for event, decision in decisions:
        assert tuple(decision.codes) == event.violations, orjson.loads(event.value)


def test_the_demo_commits_every_kind_of_violation_it_promises_but_mostly_complies(decisions):
    codes = Counter(code for _, decision in decisions for code in decision.codes)
    allowed = sum(decision.allowed for _, decision in decisions)

    assert set(codes) == {
        "module_receives_identifiable_data",
        "third_party_without_consent",
        "consignee_not_registered",
        "subject_not_permitted_for_purpose",
        "data_not_permitted_for_purpose",
        "use_after_suspension",
    }
    assert allowed > 0.8 * len(decisions)


def test_allowed_disclosures_include_analytics_consignees_consent_and_art_4_1_exceptions(decisions):
    allowed = [orjson.loads(e.value) for e, d in decisions if d.allowed and e.kind is Activity.DISCLOSURE]
    recipients = {doc["recipient"]["id"] for doc in allowed}
    bases = {doc.get("legal_basis") for doc in allowed}

    assert {"google-analytics", "sakura-payroll", "hokuto-helpdesk", "naniwa-benefits"} <= recipients
    assert {"consent", "laws_and_regulations", "government_cooperation"} <= bases


# Tally and run_demo


def test_tally_counts_streams_malformations_and_intended_violations(events):
    tally = DemoTally()
    for event in events:
        tally.add(event)

    assert tally.total == EVENTS
    assert set(tally.streams) == set(CollectionKind) | set(Activity)
    assert tally.malformed.total() == sum(e.malformed is not None for e in events)
    assert tally.violations.total() == sum(len(e.violations) for e in events)


@dataclass
class FakeEmitter:
    """What run_demo needs of an Emitter; stops the demo after ``stop_after`` sends."""

    stop: threading.Event
    stop_after: int
    topics: Topics = field(default_factory=lambda: Topics("demo."))
    sent: list[tuple[str, bytes, tuple[str, str]]] = field(default_factory=list)
    flushed: bool = False

    def emit_for_subject(self, topic: str, value: bytes, tenant_id: str, subject_id: str) -> None:
        self.sent.append((topic, value, (tenant_id, subject_id)))
        if len(self.sent) >= self.stop_after:
            self.stop.set()

    def flush(self, timeout: float | None = None) -> None:
        self.flushed = True


def test_run_demo_sends_the_stream_to_its_topics_and_flushes():
    stop = threading.Event()
    emitter = FakeEmitter(stop, stop_after=40)
    tally = DemoTally()

    sent = run_demo(emitter, EMPLOYEES, rate=2000, stop=stop, tally=tally)  # type: ignore[arg-type]

    assert sent == len(emitter.sent) == tally.total >= 40
    assert emitter.flushed
    assert {topic for topic, _, _ in emitter.sent} <= set(emitter.topics.all_collection + emitter.topics.all_activity)
    assert all(all(subject) for _, _, subject in emitter.sent)  # the emitter keys each by its partition key
