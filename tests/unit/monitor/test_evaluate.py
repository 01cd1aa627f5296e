"""The purpose monitor as a pure stage: state from consent and rights events, decisions in stream order."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.monitor.evaluate import HISTORY_LIMIT, MAX_CONSENT_TIMELINE_BYTES, monitor_batch
from services.policy.decide import Decider
from services.records import SourceRecord

TENANT = "kobe-logistics"
SUBJECT = {"type": "analyzed_account_holder", "id": "hanako.sato@kobe-logistics.example"}
IN_CHARGE = {"type": "person_in_charge", "id": "hr-admin-01"}


def event(spec: str, at: str = "2023-05-12T10:00:00+09:00", subject: dict[str, str] = SUBJECT, **body: Any) -> dict:
    return {
        "spec": f"rakuro.{spec}/v1",
        "event_id": str(uuid.uuid4()),
        "occurred_at": at,
        "tenant_id": TENANT,
        "source_service": "crm-mailer",
        "subject": subject,
        **body,
    }


def use(purpose: str, data: list[str], **extra: Any) -> dict:
    return event("use", purpose=purpose, data=data, **extra)


def disclosure(recipient: dict[str, str], data: list[str], purpose: str = "service_provision", **extra: Any) -> dict:
    return event("disclosure", purpose=purpose, data=data, recipient=recipient, **extra)


THIRD_PARTY = {"kind": "third_party", "id": "naniwa-benefits"}
RECORD = {
    "recipient_name": "株式会社なにわ福利厚生",
    "recipient_address_or_representative": "大阪府大阪市北区梅田1-1-1",
}


def run(decider: Decider, key, *documents: dict, subjects=None, consents=None):
    batch = [SourceRecord("t", 0, offset, orjson.dumps(d)) for offset, d in enumerate(documents)]
    return monitor_batch(
        batch, {} if subjects is None else subjects, {} if consents is None else consents, decider, key
    )


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (use("related_service_notification", ["user_information.email_address"]), "subject_not_permitted_for_purpose"),
        (
            disclosure({"kind": "collection_module", "id": "google-analytics"}, ["log_information.ip_address"]),
            "module_receives_identifiable_data",
        ),
        (
            disclosure(THIRD_PARTY, ["user_information.name"], legal_basis="consent", **RECORD),
            "third_party_without_consent",
        ),
        (use("user_notification", ["log_information"]), "data_not_permitted_for_purpose"),
    ],
    ids=["marketing-to-analyzed-holder", "analytics-gets-ip", "provision-without-consent", "notice-purpose-on-logs"],
)
def test_forbidden_uses_and_disclosures_are_violations(decider, key, document, code):
    (evaluated,) = run(decider, key, document).evaluated

    assert not evaluated.decision.allowed
    assert evaluated.decision.codes == [code]


@pytest.mark.parametrize(
    "document",
    [
        use("service_provision", ["log_information", "terminal_information"]),
        disclosure(
            {"kind": "collection_module", "id": "google-analytics"}, ["cookie", "log_information.usage_situation"]
        ),
        disclosure({"kind": "consignee", "id": "sakura-payroll"}, ["user_information.bank_account_information"]),
        event(
            "use", subject=IN_CHARGE, purpose="related_service_notification", data=["user_information.email_address"]
        ),
    ],
    ids=["service-use", "analytics-without-pii", "registered-consignee", "notify-person-in-charge"],
)
def test_allowed_uses_and_disclosures_raise_nothing(decider, key, document):
    (evaluated,) = run(decider, key, document).evaluated

    assert evaluated.decision.allowed, evaluated.decision.violations
    assert evaluated.decision.legal_basis == "published_purpose_of_use"


def test_consent_earlier_in_the_stream_allows_the_provision_and_its_withdrawal_stops_the_next(decider, key):
    grant = event("consent", action="grant", consent_reference="cons-1", recipient_id="naniwa-benefits")
    provide = disclosure(
        THIRD_PARTY, ["user_information.name"], legal_basis="consent", consent_reference="cons-1", **RECORD
    )
    withdraw = event("consent", action="withdraw", consent_reference="cons-1", recipient_id="naniwa-benefits")
    again = dict(provide, event_id=str(uuid.uuid4()))

    result = run(decider, key, grant, provide, withdraw, again)

    first, second = result.evaluated
    assert first.decision.allowed
    assert first.decision.legal_basis == "consent"
    assert second.decision.codes == ["third_party_without_consent"]
    assert result.state_changes == 2


def test_consent_for_another_recipient_does_not_count(decider, key):
    grant = event("consent", action="grant", consent_reference="cons-1", recipient_id="someone-else")
    provide = disclosure(
        THIRD_PARTY, ["user_information.name"], legal_basis="consent", consent_reference="cons-1", **RECORD
    )

    assert run(decider, key, grant, provide).evaluated[0].decision.codes == ["third_party_without_consent"]


def test_use_after_suspension_is_a_violation_until_the_suspension_is_lifted(decider, key):
    suspend = event("rights", request="suspension_of_use")
    lift = event("rights", request="suspension_of_use", lifted=True)
    allowed_use = use("service_provision", ["log_information"])

    result = run(decider, key, allowed_use, suspend, allowed_use, lift, allowed_use)

    assert [e.decision.codes for e in result.evaluated] == [[], ["use_after_suspension"], []]


def test_state_outlives_the_batch(decider, key):
    subjects: dict = {}
    run(decider, key, event("rights", request="deletion"), subjects=subjects)

    (evaluated,) = run(decider, key, use("service_provision", ["log_information"]), subjects=subjects).evaluated

    assert evaluated.decision.codes == ["use_after_deletion"]
    assert SUBJECT["id"] not in str(subjects)


def test_malformed_activity_is_dead_lettered_without_its_values(decider, key):
    bad = use("service_provision", ["log_information"])
    bad["subject"] = {"type": "analyzed_account_holder"}
    broken = SourceRecord("t", 0, 1, b'{"spec": "rakuro.use/v1", "tenant_id": "hanako@example.jp"')

    result = monitor_batch([SourceRecord("t", 0, 0, orjson.dumps(bad)), broken], {}, {}, decider, key)

    assert result.evaluated == []
    assert len(result.dead) == 2
    assert all("hanako" not in d.message for d in result.dead)


# The state is a timeline (fifth red-team pass): the order events arrive in does not decide, their times do.
SUSPEND = {"request": "suspension_of_use"}
H = "2023-05-12T{}:00:00+09:00".format


def test_an_older_lift_that_comes_again_does_not_undo_a_newer_suspension(decider, key):
    lift = event("rights", at=H("09"), lifted=True, **SUSPEND)
    suspend = event("rights", at=H("10"), **SUSPEND)
    later = use("service_provision", ["log_information"], at=H("11"))

    result = run(decider, key, lift, suspend, lift, later)  # the lift re-delivered (a producer's retry)

    (evaluated,) = result.evaluated
    assert evaluated.decision.codes == ["use_after_suspension"]
    assert result.state_changes == 2  # the repeated lift changed nothing
    assert result.dead == []


def test_an_older_grant_that_comes_late_does_not_undo_a_newer_withdrawal(decider, key):
    consent = {"consent_reference": "cons-1", "recipient_id": "naniwa-benefits"}
    grant = event("consent", at=H("09"), action="grant", **consent)
    withdraw = event("consent", at=H("10"), action="withdraw", **consent)
    provide = disclosure(THIRD_PARTY, ["user_information.name"], legal_basis="consent", **RECORD, **{
        "consent_reference": "cons-1", "at": H("11")})  # fmt: skip

    for order in ((grant, withdraw, grant, provide), (withdraw, grant, provide)):
        (evaluated,) = run(decider, key, *order).evaluated
        assert evaluated.decision.codes == ["third_party_without_consent"], order


def test_a_use_during_a_suspension_is_a_violation_when_it_comes_after_the_lift(decider, key):
    suspend = event("rights", at=H("09"), **SUSPEND)
    lift = event("rights", at=H("11"), lifted=True, **SUSPEND)
    during = use("service_provision", ["log_information"], at=H("10"))
    after = use("service_provision", ["log_information"], at=H("12"))

    first, second = run(decider, key, suspend, lift, during, after).evaluated

    assert first.decision.codes == ["use_after_suspension"]
    assert second.decision.allowed


@pytest.mark.parametrize("toggles", [HISTORY_LIMIT - 1, HISTORY_LIMIT, 3 * HISTORY_LIMIT])
def test_no_number_of_suspension_changes_cuts_a_deletion_out_of_the_timeline(decider, key, toggles):
    """Sixth red-team pass: a subject's changes shared one timeline cut to HISTORY_LIMIT: 256 suspension
    requests and lifts after a deletion cut the deletion out, and a use a month later was allowed."""
    delete = event("rights", at="2024-01-01T00:00:00Z", request="deletion")
    changes = [
        event(
            "rights", at=f"2024-01-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", lifted=bool(i % 2), **SUSPEND
        )
        for i in range(toggles)
    ]
    later = use("service_provision", ["log_information"], at="2024-02-01T00:00:00Z")
    subjects: dict = {}

    (evaluated,) = run(decider, key, delete, *changes, later, subjects=subjects).evaluated

    assert "use_after_deletion" in evaluated.decision.codes
    (value,) = subjects.values()
    kinds = Counter(change[0] for change in value["history"])
    assert kinds["deleted"] == 1
    assert kinds["suspended"] == min(toggles, HISTORY_LIMIT)  # each kind bounded on its own


def test_a_disclosure_is_decided_by_the_consent_in_force_at_its_time(decider, key):
    consent = {"consent_reference": "cons-1", "recipient_id": "naniwa-benefits"}
    grant = event("consent", at=H("09"), action="grant", **consent)
    withdraw = event("consent", at=H("11"), action="withdraw", **consent)
    during = disclosure(THIRD_PARTY, ["user_information.name"], legal_basis="consent", **RECORD, **{
        "consent_reference": "cons-1", "at": H("10")})  # fmt: skip

    (evaluated,) = run(decider, key, grant, withdraw, during).evaluated

    assert evaluated.decision.allowed
    assert evaluated.decision.legal_basis == "consent"


CONSENT = {"consent_reference": "cons-1", "recipient_id": "naniwa-benefits"}
WIDE = ["service_provision", *(f"p{n:02d}-" + "x" * 59 for n in range(15))]  # ~1,000 characters of purposes


def _at(second: int) -> str:
    return f"2024-01-02T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


def _provide(at: str) -> dict:
    return disclosure(THIRD_PARTY, ["user_information.name"], legal_basis="consent", **RECORD, **{
        "consent_reference": "cons-1", "at": at})  # fmt: skip


def test_a_consents_timeline_is_bounded_in_bytes_and_its_floor_decides_what_came_before(decider, key):
    """Nineteenth red-team pass: a consent's timeline was bounded in changes only, and each change keeps the
    consent's purposes: 256 changes held 2 MB a key, and every state row repeats the timeline. It is cut to
    MAX_CONSENT_TIMELINE_BYTES, oldest first, and keeps the newest change it cut (its floor), which decides the
    moments before its oldest kept change, not as if no consent had ever been recorded."""
    grants = [event("consent", at=_at(60 * i), action="grant", purposes=WIDE, **CONSENT) for i in range(100)]
    consents: dict = {}

    result = run(decider, key, *grants, consents=consents)
    (evaluated,) = run(decider, key, _provide(_at(30)), consents=consents).evaluated

    (value,) = consents.values()
    assert len(orjson.dumps(value["history"])) <= MAX_CONSENT_TIMELINE_BYTES
    assert 1 < len(value["history"]) < 100
    assert value["floor"][0] is True
    assert value["floor"][3] < value["history"][0][3]
    assert max(len(orjson.dumps(change.value)) for change in result.changes) <= MAX_CONSENT_TIMELINE_BYTES + 4096
    assert evaluated.decision.allowed  # the first grant was cut out; the floor, a grant, decides


def test_a_change_the_cut_removed_never_comes_back_to_decide(decider, key):
    """Twentieth red-team pass: a grant cut out of the timeline by the byte bound, sent again (as an at-least-once
    producer does), fit the room the cut left and, the oldest kept change of a cut timeline, decided every moment
    before it: a disclosure after the withdrawal that had been cut out, and one before any consent, were allowed.
    A change dated at or before the floor no longer enters."""
    grant = event("consent", at=_at(60), action="grant", **CONSENT)
    withdrawals = [
        event("consent", at=_at(120 + 60 * i), action="withdraw", purposes=WIDE, **CONSENT) for i in range(40)
    ]
    late_grant = event("consent", at=_at(61), action="grant", **CONSENT)
    consents: dict = {}

    run(decider, key, grant, *withdrawals, consents=consents)
    replayed = run(decider, key, grant, late_grant, consents=consents)
    after_withdrawal, before_any = run(decider, key, _provide(_at(150)), _provide(_at(30)), consents=consents).evaluated

    assert replayed.changes == []
    assert not after_withdrawal.decision.allowed
    assert not before_any.decision.allowed


@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 3_599),
            st.booleans(),
            st.sampled_from([True, True, True, False]),
            st.sampled_from([0, 0, 0, 1, 7, 20]),
        ),
        min_size=30,
        max_size=80,
        unique_by=lambda step: step[0],  # one change a second: of two at one time, which counts is the arrival order
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_cut_consent_decides_every_moment_after_its_floor_as_its_whole_timeline(decider, key, steps):
    """Whatever order consents arrive in, late or again, and however much the byte bound cuts: from the floor's
    time on, a disclosure is decided as the whole timeline says (the latest change at or before it)."""
    documents: list[dict] = []
    for second, granted, wide, again in steps:
        if again and documents and again <= len(documents):
            documents.append(documents[-again])  # sent again: the same event
            continue
        body = {"purposes": WIDE} if wide else {}
        documents.append(event("consent", at=_at(second), action="grant" if granted else "withdraw", **body, **CONSENT))
    consents: dict = {}
    run(decider, key, *documents, consents=consents)
    (value,) = consents.values()

    timeline: dict[str, tuple[str, bool]] = {}
    for document in documents:  # each event once; of two at one time, the later one counts
        timeline.setdefault(document["event_id"], (document["occurred_at"], document["action"] == "grant"))
    changes = sorted(((datetime.fromisoformat(at), granted) for at, granted in timeline.values()), key=lambda c: c[0])
    floor = datetime.fromisoformat(value["floor"][3]) if "floor" in value else None
    probes = sorted({at + timedelta(milliseconds=500) for at, _ in changes if floor is None or at >= floor})
    decided = run(decider, key, *(_provide(at.isoformat()) for at in probes), consents=consents).evaluated

    for probe, evaluated in zip(probes, decided, strict=True):
        latest = [granted for at, granted in changes if at <= probe]
        assert evaluated.decision.allowed == (bool(latest) and latest[-1]), probe


def test_a_state_change_reusing_another_ones_event_id_is_dead_lettered(decider, key):
    suspend = event("rights", at=H("10"), **SUSPEND)
    forged = dict(suspend, lifted=True)  # same id, other content
    later = use("service_provision", ["log_information"], at=H("11"))

    result = run(decider, key, suspend, forged, later)

    assert [letter.reason.value for letter in result.dead] == ["event_id_conflict"]
    assert result.dead[0].message == "event_id: another change of this state carried it, with other content"
    assert result.evaluated[0].decision.codes == ["use_after_suspension"]


def test_state_stored_before_timelines_is_read_as_one_change(decider, key):
    from services.monitor.evaluate import subject_key
    from services.pseudonymize import pseudonymize

    stored = {
        subject_key(TENANT, pseudonymize(key, TENANT, SUBJECT["id"])): {"suspended": True, "suspended_at": H("09")}
    }
    before = use("service_provision", ["log_information"], at=H("08"))
    after = use("service_provision", ["log_information"], at=H("10"))

    first, second = run(decider, key, before, after, subjects=stored).evaluated

    assert first.decision.allowed
    assert second.decision.codes == ["use_after_suspension"]


@given(
    changes=st.lists(st.tuples(st.integers(0, 22), st.booleans()), min_size=1, max_size=6, unique_by=lambda c: c[0]),
    use_hour=st.integers(0, 23),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(0, 5), max_size=4),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_arrival_order_with_repeats_decides_as_the_timeline_says(decider, key, changes, use_hour, order, repeats):
    """Suspensions and lifts at distinct times, delivered in any order, some of them twice: a use is a violation
    exactly when the latest change at or before its time is a suspension."""
    events = [
        event("rights", at=f"2023-05-12T{hour:02d}:00:00+09:00", lifted=not on, **SUSPEND) for hour, on in changes
    ]
    arrivals = events + [events[i % len(events)] for i in repeats]
    order.shuffle(arrivals)
    at_use = f"2023-05-12T{use_hour:02d}:30:00+09:00"
    in_force = [on for hour, on in sorted(changes) if hour <= use_hour]
    expected = ["use_after_suspension"] if in_force and in_force[-1] else []

    result = run(decider, key, *arrivals, use("service_provision", ["log_information"], at=at_use))

    assert result.evaluated[0].decision.codes == expected
    assert result.dead == []


@pytest.mark.parametrize("request_type", ["deletion", "disclosure", "correction"])
def test_only_a_suspension_of_use_can_be_lifted(decider, key, request_type):
    delete = event("rights", at=H("09"), request="deletion")
    undo = event("rights", at=H("10"), request=request_type, lifted=True)
    later = use("service_provision", ["log_information"], at=H("11"))

    result = run(decider, key, delete, undo, later)

    assert [letter.reason.value for letter in result.dead] == ["schema_invalid"]
    assert result.dead[0].message.endswith("lifted: only_a_suspension_is_lifted")
    assert result.evaluated[0].decision.codes == ["use_after_deletion"]


def test_an_activity_event_that_repeats_a_key_is_refused_as_on_the_collection_stream(decider, key):
    """Sixth red-team pass: the contract kept the last of two values without a word, so "deletion", then
    "correction" was applied as a correction (no state change), while a reader keeping the first saw a deletion."""
    deletion = orjson.dumps(event("rights", request="deletion"))
    twice = deletion[:-1] + b',"request":"correction"}'
    two_subjects = orjson.dumps(use("service_provision", ["log_information"]))[:-1] + (
        b',"subject":{"type":"analyzed_account_holder","id":"emp-2"}}'
    )
    subjects: dict = {}

    result = monitor_batch(
        [SourceRecord("t", 0, 0, twice), SourceRecord("t", 0, 1, two_subjects)], subjects, {}, decider, key
    )

    assert [(d.reason.value, d.message.startswith("an object repeats a key at line")) for d in result.dead] == [
        ("duplicate_key", True)
    ] * 2
    assert "emp-2" not in str([d.message for d in result.dead])
    assert result.evaluated == []
    assert result.changes == []
    assert subjects == {}


def test_state_recorded_under_a_retired_key_still_decides_after_a_rotation(decider, key):
    """Sixth red-team pass: the state is keyed by the subject's pseudonym, and after a key rotation the monitor
    looked under the new key only: a deleted subject's use was allowed, a consented disclosure denied."""
    from services.pseudonymize import PseudonymKey

    new_key = PseudonymKey(b"the-key-after-the-rotation-0123456789")
    other = {"type": "analyzed_account_holder", "id": "emp-00043"}
    consent = {"consent_reference": "cons-1", "recipient_id": "naniwa-benefits"}
    subjects: dict = {}
    consents: dict = {}
    before = [
        event("rights", at=H("09"), request="deletion"),
        event("consent", at=H("09"), subject=other, action="grant", **consent),
        event("rights", at=H("09"), subject=other, **SUSPEND),
    ]
    run(decider, key, *before, subjects=subjects, consents=consents)  # recorded under the old key
    after = [
        use("service_provision", ["log_information"], at=H("10")),
        event("rights", at=H("11"), subject=other, lifted=True, **SUSPEND),  # recorded under the new key
        disclosure(THIRD_PARTY, ["user_information.name"], subject=other, legal_basis="consent", at=H("12"),
                   consent_reference="cons-1", **RECORD),
        use("service_provision", ["log_information"], subject=other, at=H("10")),  # before the lift
    ]  # fmt: skip
    batch = [SourceRecord("t", 0, offset, orjson.dumps(d)) for offset, d in enumerate(after)]

    rotated = monitor_batch(batch, subjects, consents, decider, new_key, retired=[key])
    forgotten = monitor_batch(batch, dict(subjects), dict(consents), decider, new_key)  # as before the fix

    assert [e.decision.codes for e in rotated.evaluated] == [["use_after_deletion"], [], ["use_after_suspension"]]
    assert [e.decision.codes for e in forgotten.evaluated] != [e.decision.codes for e in rotated.evaluated]
    (change,) = rotated.changes  # the lift: kept under the new pseudonym, with the suspension recorded before
    assert [c[0:2] for c in change.value["history"]] == [["suspended", True], ["suspended", False]]
