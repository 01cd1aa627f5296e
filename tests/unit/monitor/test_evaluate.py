"""The purpose monitor as a pure stage: state from consent and rights events, decisions in stream order."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from services.monitor.evaluate import monitor_batch
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


@pytest.fixture(scope="module")
def decider(engine) -> Decider:
    return Decider(engine)


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
