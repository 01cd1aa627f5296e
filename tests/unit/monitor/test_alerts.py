"""Violation alerts: one per group of identical violations and window, never one per violation."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.monitor.alerts import ALERT_SPEC, AlertAggregator, AlertStatus, ViolationSummary

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
ANALYTICS = {"kind": "collection_module", "id": "google-analytics"}


def disclosure(subject_id: str, data: list[str], recipient: dict[str, str] = ANALYTICS, actor: str = "web-analytics"):
    return {
        "spec": "rakuro.disclosure/v1",
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2023-05-12T10:00:00+09:00",
        "tenant_id": "kobe-logistics",
        "source_service": actor,
        "subject": {"type": "analyzed_account_holder", "id": subject_id},
        "purpose": "service_provision",
        "data": data,
        "recipient": recipient,
    }


LEAK = ["cookie.cookie_id", "log_information.ip_address"]  # module_receives_identifiable_data
FINE = ["cookie.cookie_id", "log_information.usage_situation"]


def test_a_flood_of_identical_violations_in_one_batch_is_one_alert_counting_them_all(decide: Any) -> None:
    aggregator = AlertAggregator(WINDOW, sample_size=5)
    evaluated = decide(*(disclosure(f"person-{i}@example.jp", LEAK) for i in range(300)))

    alerts = aggregator.add(evaluated, T0)

    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.status, alert.key.code, alert.count, alert.subjects) == (
        AlertStatus.NEW,
        "module_receives_identifiable_data",
        300,
        300,
    )
    assert alert.event_ids == tuple(str(e.event.event_id) for e in evaluated[:5])
    assert (alert.article, alert.severity) == ("Art. 6", "critical")


def _summary(count: int, subjects: int) -> ViolationSummary:
    return ViolationSummary(
        count=count, subjects=subjects, event_ids=(str(uuid.uuid4()),), first_occurred_at=T0, last_occurred_at=T0,
        severity="critical", article="Art. 6", message="m", policy_version="2022-06-01",
    )  # fmt: skip


def test_repeats_within_the_window_are_held_then_summarized_from_what_the_store_counted(decide: Any) -> None:
    aggregator = AlertAggregator(WINDOW)
    (new,) = aggregator.add(decide(disclosure("a@example.jp", LEAK)), T0)
    later = decide(disclosure("b@example.jp", LEAK), disclosure("b@example.jp", LEAK))

    assert aggregator.add(later, T0 + timedelta(seconds=1)) == []
    assert aggregator.due(T0 + WINDOW / 2) == {}
    due = aggregator.due(T0 + WINDOW)
    assert due == {new.key: T0}
    summary = aggregator.close(new.key, T0, _summary(3, 2), T0 + WINDOW)

    assert summary is not None
    assert (summary.status, summary.count, summary.subjects) == (AlertStatus.REPEATED, 3, 2)
    assert (summary.window_start, summary.published_at) == (T0, T0 + WINDOW)
    assert aggregator.open_windows() == {new.key: T0 + WINDOW}, "the summary opens the next window"


def test_a_quiet_window_forgets_the_group_so_the_next_violation_is_new_again(decide: Any) -> None:
    aggregator = AlertAggregator(WINDOW)
    (new,) = aggregator.add(decide(disclosure("a@example.jp", LEAK)), T0)

    assert aggregator.close(new.key, T0, None, T0 + WINDOW) is None
    assert len(aggregator) == 0
    (alert,) = aggregator.add(decide(disclosure("a@example.jp", LEAK)), T0 + 2 * WINDOW)
    assert alert.status is AlertStatus.NEW


def test_a_restarted_aggregator_adopts_open_windows_and_does_not_announce_their_groups_again(decide: Any) -> None:
    (new,) = AlertAggregator(WINDOW).add(decide(disclosure("a@example.jp", LEAK)), T0)
    restarted = AlertAggregator(WINDOW)

    restarted.adopt({new.key: T0}, T0 + WINDOW / 2)

    assert restarted.add(decide(disclosure("b@example.jp", LEAK)), T0 + WINDOW / 2) == []
    assert restarted.due(T0 + WINDOW) == {new.key: T0}


def test_a_window_already_closed_is_not_adopted_and_a_later_one_replaces_an_earlier(decide: Any) -> None:
    (new,) = AlertAggregator(WINDOW).add(decide(disclosure("a@example.jp", LEAK)), T0)
    aggregator = AlertAggregator(WINDOW)

    aggregator.adopt({new.key: T0}, T0 + WINDOW)
    assert len(aggregator) == 0
    aggregator.adopt({new.key: T0}, T0 + WINDOW / 4)
    aggregator.adopt({new.key: T0 + WINDOW / 2}, T0 + WINDOW / 2)  # a peer's later summary opened a new one
    assert aggregator.open_windows() == {new.key: T0 + WINDOW / 2}
    assert aggregator.close(new.key, T0, _summary(1, 1), T0 + WINDOW) is None, "that window was replaced"


def test_different_actors_recipients_or_codes_are_different_alerts(decide: Any) -> None:
    aggregator = AlertAggregator(WINDOW)
    third_party = {"kind": "third_party", "id": "naniwa-benefits"}
    evaluated = decide(
        disclosure("a@example.jp", LEAK),
        disclosure("a@example.jp", LEAK, actor="login-guard"),
        disclosure("a@example.jp", ["user_information.name"], recipient=third_party),
    )

    alerts = aggregator.add(evaluated, T0)

    assert len({a.key for a in alerts}) == len(alerts) == sum(len(e.decision.violations) for e in evaluated)


def test_allowed_activity_raises_no_alert(decide: Any) -> None:
    assert AlertAggregator(WINDOW).add(decide(disclosure("a@example.jp", FINE)), T0) == []


def test_the_alert_document_names_policy_terms_and_pseudonymous_ids_only(decide: Any) -> None:
    (alert,) = AlertAggregator(WINDOW).add(decide(disclosure("hanako.sato@example.jp", LEAK)), T0)

    text = alert.document()
    document = orjson.loads(text)

    assert b"hanako" not in text
    assert document["spec"] == ALERT_SPEC
    assert document["recipient"] == ANALYTICS
    assert (document["actor"], document["purpose"], document["count"]) == ("web-analytics", "service_provision", 1)
    # The Kafka key is a digest of the group: the same group, the same key (and partition); no value in it.
    key = alert.key.message_key()
    assert re.fullmatch(rb"[0-9a-f]{32}", key)
    assert key == AlertAggregator(WINDOW).add(decide(disclosure("other@example.jp", LEAK)), T0)[0].key.message_key()


def test_a_republished_alert_keeps_its_id(decide: Any) -> None:
    evaluated = decide(disclosure("a@example.jp", LEAK))

    first = AlertAggregator(WINDOW).add(evaluated, T0)[0]
    again = AlertAggregator(WINDOW).add(evaluated, T0)[0]

    assert first.alert_id == again.alert_id


def test_the_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        AlertAggregator(timedelta(0))
