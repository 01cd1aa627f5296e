"""Activity event identity (fifth red-team pass): the same id with other content is a conflict, never a new
decision replacing the first one's, nor a change of another key's state."""

from __future__ import annotations

import orjson
import pytest

from services.monitor.evaluate import apply_activity, consent_key, read_activity, state_keys
from services.monitor.identity import CONFLICT_MESSAGE, activity_digest, identity_of, without_conflicts
from services.monitor.state import StateNotLoaded
from services.records import DeadLetterReason, SourceRecord, Stage
from tests.unit.monitor.test_evaluate import SUSPEND, THIRD_PARTY, H, event, use


def _decided(decider, key, *documents):
    """The events as read, each at its own offset (the decider is there for the callers' symmetry)."""
    received, dead = read_activity(
        [SourceRecord("t", 0, offset, orjson.dumps(d)) for offset, d in enumerate(documents)],
        key,
        engine=decider.engine,
    )
    assert dead == []
    return received


def test_a_new_use_is_kept_and_claimed(decider, key) -> None:
    (item,) = _decided(decider, key, use("service_provision", ["log_information"]))

    claimed = without_conflicts([item], {})

    assert claimed.kept == [item]
    assert claimed.rows == [(item.event.event_id, item.event.tenant_id, activity_digest(item))]
    assert claimed.origins == [("t", 0, 0)]
    assert claimed.dead == []


def test_the_same_use_again_is_decided_again_and_not_claimed_twice(decider, key) -> None:
    document = use("service_provision", ["log_information"])
    first, again = _decided(decider, key, document, document)

    stored = without_conflicts([again], {identity_of(first): frozenset({activity_digest(first)})})
    in_batch = without_conflicts([first, again], {})

    assert stored.kept == [again]
    assert stored.rows == []
    assert stored.dead == []
    assert in_batch.kept == [first, again]
    assert len(in_batch.rows) == 1
    assert in_batch.dead == []


def test_the_same_id_with_other_content_is_dead_lettered(decider, key) -> None:
    denied = use("related_service_notification", ["user_information.email_address"])
    rewritten = dict(denied, purpose="service_provision", data=["log_information"])
    first, second = _decided(decider, key, denied, rewritten)
    decided = apply_activity([first, second], {}, {}, decider).evaluated
    assert [item.decision.allowed for item in decided] == [False, True]  # what the conflict would have rewritten

    for claimed in (
        without_conflicts([first, second], {}),  # in one batch
        without_conflicts([second], {identity_of(first): frozenset({activity_digest(first)})}),  # stored before
    ):
        assert second not in claimed.kept
        (letter,) = claimed.dead
        assert (letter.reason.value, letter.message) == ("event_id_conflict", CONFLICT_MESSAGE)
        assert letter.event_id == str(second.event.event_id)
        assert letter.subject_pseudonym == second.subject_pseudonym


def test_the_digest_is_of_the_content_not_of_its_spelling(decider, key) -> None:
    document = use("service_provision", ["log_information"])
    spelled = [orjson.dumps(document), orjson.dumps(dict(reversed(document.items())), option=orjson.OPT_INDENT_2)]
    items = [
        read_activity([SourceRecord("t", 0, i, raw)], key, engine=decider.engine)[0][0] for i, raw in enumerate(spelled)
    ]

    assert activity_digest(items[0]) == activity_digest(items[1])


GRANT = {"action": "grant", "consent_reference": "cons-1", "recipient_id": THIRD_PARTY["id"]}


def test_a_consent_or_rights_event_under_another_events_id_is_refused_before_it_changes_any_state(decider, key) -> None:
    """Held to one key's timeline, a change under the id of a change of *another* key, or of a use, went
    through: each is refused before the state sees it, whatever kind claimed the id first."""
    suspend = event("rights", at=H("10"), **SUSPEND)
    grant = event("consent", at=H("09"), **GRANT)
    a_use = use("service_provision", ["log_information"], at=H("08"))
    other_key = dict(grant, consent_reference="cons-2")  # the grant's id, another key's timeline
    suspension_as_grant = dict(grant, event_id=suspend["event_id"])  # a suspension's id on a consent
    grant_as_use = dict(suspend, event_id=a_use["event_id"])  # a use's id on a rights request
    firsts = _decided(decider, key, suspend, grant, a_use)
    seconds = _decided(decider, key, other_key, suspension_as_grant, grant_as_use)

    for claimed in (
        without_conflicts([*firsts, *seconds], {}),  # in one batch
        without_conflicts(seconds, {identity_of(i): frozenset({activity_digest(i)}) for i in firsts}),  # stored
    ):
        assert [(letter.reason.value, letter.message) for letter in claimed.dead] == [
            ("event_id_conflict", CONFLICT_MESSAGE)
        ] * 3
        assert [letter.event_id for letter in claimed.dead] == [str(i.event.event_id) for i in seconds]
        assert not any(item in claimed.kept for item in seconds)
        consents: dict = {}
        apply_activity(claimed.kept, {}, consents, decider)
        pseudonym = firsts[0].subject_pseudonym
        assert consent_key(grant["tenant_id"], pseudonym, "cons-2") not in consents  # the other key never set


def test_a_consent_or_rights_event_sent_again_is_claimed_once_and_applied_again(decider, key) -> None:
    grant = event("consent", at=H("09"), **GRANT)
    first, again = _decided(decider, key, grant, grant)

    claimed = without_conflicts([first, again], {})

    assert claimed.kept == [first, again]
    assert claimed.rows == [(first.event.event_id, first.event.tenant_id, activity_digest(first))]
    assert claimed.dead == []


def test_the_digest_holds_no_raw_subject_id_and_still_tells_subjects_apart(decider, key) -> None:
    """Sixth red-team pass: the digest was an unkeyed SHA-256 of the event with the raw subject id inside, stored
    beside the event's other fields: trying ids like emp-00042 found the person behind a pseudonym."""
    import hashlib

    document = use("service_provision", ["log_information"])
    other_subject = dict(document, subject={**document["subject"], "id": "emp-00042"})
    (item,), (other,) = _decided(decider, key, document), _decided(decider, key, other_subject)

    assert activity_digest(item) != activity_digest(other)
    for guess in (item.event.model_dump_json(), item.event.model_dump_json(exclude={"subject": {"id"}})):
        assert activity_digest(item) != hashlib.sha256(guess.encode()).hexdigest()
    raw_id = item.event.subject.id
    for candidate in (raw_id, "emp-00042"):  # with the raw id in place of the pseudonym: another digest
        content = item.event.model_dump_json(exclude={"subject": {"id"}}).encode()
        assert activity_digest(item) != hashlib.sha256(candidate.encode() + b"\n" + content).hexdigest()


def test_an_event_claimed_before_the_digest_left_the_raw_id_out_is_a_redelivery_not_a_conflict(decider, key) -> None:
    import hashlib

    (item,) = _decided(decider, key, use("service_provision", ["log_information"]))
    legacy = hashlib.sha256(item.event.model_dump_json().encode()).hexdigest()  # as claims were made before

    claimed = without_conflicts([item], {identity_of(item): frozenset({legacy})})

    assert (claimed.kept, claimed.dead, claimed.rows) == ([item], [], [])


def test_a_fault_reading_one_activity_event_dead_letters_it_and_the_rest_is_read(decider, key, monkeypatch) -> None:
    """As on the collection stream (services/records.py split_each): a reader that raises on one event costs that
    event a ``stage_failed`` dead letter naming the exception's class, not the batch."""
    from services.monitor import evaluate

    real = evaluate._refusal

    def failing(event, received_ms, max_skew):
        if event.purpose == "marketing":
            raise KeyError(event.subject.id)
        return real(event, received_ms, max_skew)

    monkeypatch.setattr(evaluate, "_refusal", failing)
    documents = [use("service_provision", ["log_information"]), use("marketing", ["log_information"])]

    batch = [SourceRecord("t", 0, n, orjson.dumps(d)) for n, d in enumerate(documents)]
    received, dead = read_activity(batch, key, engine=decider.engine)

    assert [item.source.offset for item in received] == [0]
    (letter,) = dead
    assert (letter.source.offset, letter.reason, letter.stage) == (1, DeadLetterReason.STAGE_FAILED, Stage.INGEST)
    assert letter.message == "the ingest stage failed on this event (KeyError)"


class _FaultyDecider:
    """Decides as ``decider`` does, but raises on uses for one purpose: a fault of the decider, not bad input."""

    def __init__(self, decider, purpose: str) -> None:
        self.decider, self.purpose = decider, purpose

    def decide_remembered(self, request):
        if request.purpose == self.purpose:
            raise ZeroDivisionError
        return self.decider.decide_remembered(request)


def test_a_fault_deciding_one_use_dead_letters_it_and_the_rest_is_decided(decider, key) -> None:
    """A decider that raises on one event costs that event a ``stage_failed`` dead letter of the monitor stage
    naming the exception's class: before, the batch failed and was retried for ever, stalling its partitions."""
    suspend = event("rights", at=H("09"), **SUSPEND)
    received = _decided(
        decider, key, use("service_provision", ["log_information"]), use("marketing", ["log_information"]), suspend
    )

    result = apply_activity(received, subjects := {}, {}, _FaultyDecider(decider, "marketing"))

    assert [item.source.offset for item in result.evaluated] == [0]
    assert [change.source.offset for change in result.changes] == [2]
    (letter,) = result.dead
    assert (letter.source.offset, letter.reason, letter.stage) == (1, DeadLetterReason.STAGE_FAILED, Stage.MONITOR)
    assert letter.message == "the monitor stage failed on this event (ZeroDivisionError)"
    assert list(subjects) == [result.changes[0].key]


class _State(dict):
    """A table of state that raises ``error`` when one key is read."""

    def __init__(self, key: str, error: Exception) -> None:
        super().__init__()
        self.key, self.error = key, error

    def get(self, key, default=None):
        if key == self.key:
            raise self.error
        return super().get(key, default)


def test_a_fault_applying_one_change_leaves_the_state_as_it_was_and_the_rest_is_applied(decider, key) -> None:
    first = event("rights", at=H("09"), **SUSPEND)
    other = event("rights", at=H("10"), subject={"type": "analyzed_account_holder", "id": "jiro"}, **SUSPEND)
    received = _decided(decider, key, first, other)
    failing = state_keys(received[0])[0][1]
    subjects = _State(failing, ValueError("corrupt"))

    result = apply_activity(received, subjects, {}, decider)

    assert [(letter.source.offset, letter.stage) for letter in result.dead] == [(0, Stage.MONITOR)]
    assert [change.source.offset for change in result.changes] == [1]
    assert failing not in subjects
    assert len(subjects) == 1


def test_state_read_before_it_was_loaded_fails_the_batch_not_the_event(decider, key) -> None:
    """Not loading state is the worker's defect: dead-lettering the event would decide the rest without it."""
    received = _decided(decider, key, event("rights", at=H("09"), **SUSPEND))
    failing = state_keys(received[0])[0][1]

    with pytest.raises(StateNotLoaded):
        apply_activity(received, _State(failing, StateNotLoaded("not loaded")), {}, decider)
