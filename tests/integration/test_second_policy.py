"""The pipeline and the monitor on another company's policy, unchanged: the proof that the policy is replaceable.

schemas/policies/nordlicht.yaml is a fictional German provider under the GDPR: other categories, purposes and
legal bases, a purpose a later version introduced, a processor without a confidentiality undertaking, no bank
data collected. The same events, through the same code, are decided by its terms only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from services.emitter.client import Emitter
from services.settings import Settings
from tests.integration.harness import PipelineHarness, wait_for

NORDLICHT = Settings().policy.parent / "nordlicht.yaml"
TENANT = "hamburg-logistik"
EMPLOYEE = {"type": "analyzed_account_holder", "id": "jana.schulz@hamburg-logistik.example"}
ADMIN = {"type": "person_in_charge", "id": "hr-admin-7"}


def _envelope(at: str, subject: dict[str, str], service: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": at,
        "tenant_id": TENANT,
        "source_service": service,
        "subject": subject,
    }


def _collection(kind: str, at: str, payload: dict[str, Any], subject: dict[str, str] = EMPLOYEE) -> dict[str, Any]:
    return {
        "spec": "rakuro.collection/v1",  # the attendance platform's contract name, whoever's policy decides
        "kind": kind,
        "kind_version": 1,
        **_envelope(at, subject, "time-web"),
        "payload": payload,
    }


def _activity(spec: str, at: str, service: str, subject: dict[str, str] = EMPLOYEE, **body: Any) -> dict[str, Any]:
    return {"spec": f"rakuro.{spec}/v1", **_envelope(at, subject, service), **body}


COLLECTED = {
    "profile": _collection("user_profile", "2025-06-02T08:00:00+02:00", {
        "name": "Jana Schulz", "department": "Lager", "email_address": "jana.schulz@hamburg-logistik.example",
        "bank_account": {"bank_code": "1234", "branch_code": "567", "account_type": "ordinary",
                         "account_number": "1234567"},
    }),
    "clock_2024": _collection("transmission", "2024-06-03T07:58:00+02:00", {
        "record_type": "clock_in", "at": "2024-06-03T07:58:00+02:00", "personal_name": "Jana Schulz",
    }),
    "clock_2025": _collection("transmission", "2025-06-03T07:58:00+02:00", {
        "record_type": "clock_in", "at": "2025-06-03T07:58:00+02:00", "personal_name": "Jana Schulz",
    }),
    "support_page": _collection("access_log", "2025-06-03T09:30:00+02:00", {
        "ip_address": "203.0.113.9", "requested_at": "2025-06-03T09:30:00+02:00", "operation": "open_ticket",
        "screen": "Rückruf 040-1234-5678",
    }),
    "calendar": _collection("allied", "2025-06-03T09:00:00+02:00", {
        "record_type": "scheduler_entry", "occurred_at": "2025-06-03T09:00:00+02:00",
        "title": "Rückruf Frau Schulz 040-1234-5678",
    }),
}  # fmt: skip

ACTIVITY = {
    "payroll_before_notice": (_activity(
        "use", "2024-06-30T18:00:00+02:00", "payroll-bridge", purpose="payroll_preparation",
        data=["time_records.clock_event"]), ["purpose_not_in_force"]),
    "payroll_after_notice": (_activity(
        "use", "2025-06-30T18:00:00+02:00", "payroll-bridge", purpose="payroll_preparation",
        data=["time_records.clock_event"]), []),
    "processor_unbound": (_activity(
        "disclosure", "2025-06-30T18:05:00+02:00", "payroll-bridge", purpose="payroll_preparation",
        data=["time_records.clock_event"], recipient={"kind": "consignee", "id": "lohnbuero-mueller"}),
        ["consignee_without_confidentiality"]),
    "tax_authority": (_activity(
        "disclosure", "2025-07-01T10:00:00+02:00", "authority-export", purpose="tax_audit",
        data=["time_records.clock_event", "identity.full_name"],
        recipient={"kind": "third_party", "id": "finanzamt-hamburg"}, legal_basis="legal_obligation"), []),
    "update_to_employee": (_activity(
        "use", "2025-07-01T11:00:00+02:00", "update-mailer", purpose="product_updates",
        data=["identity.work_email"]), ["subject_not_permitted_for_purpose"]),
    "update_to_admin": (_activity(
        "use", "2025-07-01T11:00:00+02:00", "update-mailer", subject=ADMIN, purpose="product_updates",
        data=["identity.work_email"]), []),
}  # fmt: skip


@pytest.fixture
def nordlicht(settings: Settings) -> Iterator[PipelineHarness]:
    harness = PipelineHarness(settings.model_copy(update={"policy": NORDLICHT}))
    harness.start()
    try:
        topics = harness.pipeline.topics
        with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
            for document in COLLECTED.values():
                topic = topics.collection_for(document["kind"])
                emitter.emit_for_subject(topic, orjson.dumps(document), TENANT, document["subject"]["id"])
            for document, _ in ACTIVITY.values():
                emitter.emit_for_subject(topics.activity, orjson.dumps(document), TENANT, document["subject"]["id"])
        yield harness
    finally:
        harness.stop()


def _rows_by_event_id(harness: PipelineHarness, sql: str, count: int, what: str) -> dict[str, dict[str, Any]]:
    """The rows of ``sql`` (its ``id`` column an event id) once ``count`` of them are there."""
    rows: dict[str, dict[str, Any]] = {}

    def enough() -> bool:
        rows.update({r["id"]: r for r in harness.query(sql).records()})
        return len(rows) == count

    wait_for(enough, what)
    return rows


def test_collection_is_minimized_and_tagged_by_the_other_policy_only(nordlicht: PipelineHarness) -> None:
    rows = _rows_by_event_id(
        nordlicht,
        "SELECT toString(event_id) AS id, policy_id, policy_version, purposes, legal_bases, data_items, "
        "removed_paths, removed_reasons, flagged_paths, flagged_identifiers FROM collection_lineage FINAL",
        len(COLLECTED),
        "every collected event stored",
    )
    by_name = {name: rows[document["event_id"]] for name, document in COLLECTED.items()}
    assert {row["policy_id"] for row in by_name.values()} == {"nordlicht"}

    profile = by_name["profile"]
    assert set(profile["data_items"]) == {"identity.full_name", "identity.department", "identity.work_email"}
    bank = [path for path in profile["removed_paths"] if path.startswith("payload.bank_account.")]
    assert len(bank) == 4, "no bank data in this company's notice"
    assert list(profile["legal_bases"]) == ["contract"] * len(profile["purposes"])

    # payroll_preparation was notified by the 2025-03 version: not a purpose of data collected in 2024.
    assert (by_name["clock_2024"]["policy_version"], list(by_name["clock_2024"]["purposes"])) == (
        "2024-01",
        ["service_delivery"],
    )
    assert (by_name["clock_2025"]["policy_version"], list(by_name["clock_2025"]["purposes"])) == (
        "2025-03",
        ["service_delivery", "payroll_preparation"],
    )
    support = by_name["support_page"]
    assert (list(support["flagged_paths"]), list(support["flagged_identifiers"])) == (
        ["payload.screen"],
        ["telephone_number"],
    ), "this company keeps the page and flags it"
    calendar = by_name["calendar"]
    assert list(calendar["removed_reasons"]) == ["identifier_in_free_text"], "a phone number in a calendar title"


def test_uses_and_disclosures_are_decided_by_the_other_policys_terms(nordlicht: PipelineHarness) -> None:
    decided = _rows_by_event_id(
        nordlicht,
        "SELECT toString(event_id) AS id, allowed, legal_basis, policy_version, violation_codes "
        "FROM activity_decisions FINAL",
        len(ACTIVITY),
        "every use and disclosure decided",
    )
    for name, (document, codes) in ACTIVITY.items():
        row = decided[document["event_id"]]
        assert (name, list(row["violation_codes"])) == (name, codes)
        assert row["policy_version"] in {"2024-01", "2025-03"}, "versions of the other policy"
    assert decided[ACTIVITY["tax_authority"][0]["event_id"]]["legal_basis"] == "legal_obligation"
    assert decided[ACTIVITY["payroll_after_notice"][0]["event_id"]]["legal_basis"] == "contract"
