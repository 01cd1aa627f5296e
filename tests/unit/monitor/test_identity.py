"""Activity event identity (fifth red-team pass): the same id with other content is a conflict, never a new
decision replacing the first one's."""

from __future__ import annotations

from services.monitor.identity import CONFLICT_MESSAGE, activity_digest, identity_of, without_conflicts
from tests.unit.monitor.test_evaluate import run, use


def _decided(decider, key, *documents):
    return run(decider, key, *documents).evaluated


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
    assert not first.decision.allowed
    assert second.decision.allowed

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
    import orjson

    from services.monitor.evaluate import monitor_batch
    from services.records import SourceRecord

    document = use("service_provision", ["log_information"])
    spelled = [orjson.dumps(document), orjson.dumps(dict(reversed(document.items())), option=orjson.OPT_INDENT_2)]
    items = [
        monitor_batch([SourceRecord("t", 0, i, raw)], {}, {}, decider, key).evaluated[0]
        for i, raw in enumerate(spelled)
    ]

    assert activity_digest(items[0]) == activity_digest(items[1])
