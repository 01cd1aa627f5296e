"""Gaps: services, purposes and data the policy does not know, found per event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.events import CollectionKind
from services.policy.engine import PolicyEngine
from services.policy.gaps import Gap, GapFinder, GapKind
from services.records import RemovalReason, RemovedField
from services.stages.collection import CollectionContext, process_collection_batch


@pytest.fixture(scope="module")
def finder(engine: PolicyEngine) -> GapFinder:
    return GapFinder(engine)


def test_a_registered_service_using_known_terms_has_no_gap(finder: GapFinder) -> None:
    assert finder.in_activity("use", "notice-mailer", "user_notification", ["user_information.name", "cookie"]) == []


def test_unknown_service_purpose_and_data_are_each_a_gap(finder: GapFinder) -> None:
    gaps = finder.in_activity("use", "shift-optimizer", "ad_targeting", ["user_information.name", "health.blood_type"])

    assert gaps == [
        Gap("use", GapKind.SERVICE, "shift-optimizer"),
        Gap("use", GapKind.PURPOSE, "ad_targeting"),
        Gap("use", GapKind.DATA, "health.blood_type"),
    ]


def test_a_field_no_kind_lists_is_a_data_gap_but_a_field_of_another_kind_is_not(
    finder: GapFinder, context: CollectionContext, make_event: Any, make_record: Any
) -> None:
    # ip_address is an access-log field: on a cookie event it is removed as not allowed, yet the policy knows it.
    event = make_event(CollectionKind.COOKIE, payload_extra={"shoe_size": 27, "ip_address": "203.0.113.7"})
    result = process_collection_batch([make_record(event)], context, ingested_at=datetime(2026, 11, 27, tzinfo=UTC))
    (record,) = result.ok

    gaps = finder.in_collection(record.source_service, record.removed)

    assert gaps == [Gap("collection", GapKind.DATA, "payload.?")]  # shoe_size: no word of the contract or policy


def test_excluded_content_is_known_to_the_policy_and_no_gap(finder: GapFinder) -> None:
    removed = [RemovedField("payload.mail_body", 120, RemovalReason.EXCLUDED_CONTENT)]

    assert finder.in_collection("allied-m365", removed) == []


def test_a_collection_from_an_unregistered_service_is_a_gap(finder: GapFinder) -> None:
    assert finder.in_collection("legacy-hr-import", []) == [Gap("collection", GapKind.SERVICE, "legacy-hr-import")]


def test_a_policy_without_a_service_register_reports_no_service_gaps(engine: PolicyEngine) -> None:
    bare = PolicyEngine(engine.policy.model_copy(update={"services": {}}))

    assert GapFinder(bare).in_activity("use", "anything", "user_notification", []) == []
