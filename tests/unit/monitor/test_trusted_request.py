"""The monitor's decision requests, built without validating again, decide exactly as validated requests do.

The monitor used to build a pydantic ``UseRequest`` per use or disclosure, validating again what the activity
contract had validated; it now builds a :class:`TrustedUseRequest` from the same values (``request_of``). The
reference below is that former, validated construction: over generated contract-valid events and states, the
trusted request holds the same values (validating them as a ``UseRequest`` succeeds and gives the reference),
and its decision, made afresh or remembered, is the reference's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.activity import DisclosureEvent, UseEvent
from schemas.decisions import Action, ProvisionRecord, RecipientKind, SubjectState, UseRequest
from schemas.events import SubjectType
from services.monitor.evaluate import monitor_batch, request_of
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy
from services.pseudonymize import PseudonymKey, pseudonymize
from services.records import SourceRecord
from tests.unit.conftest import POLICY_PATH

PROPERTY = settings(max_examples=300, deadline=None)
KEY = PseudonymKey(b"trusted-request-key-0123456789")
ZONES = [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))]


@cache
def _engine() -> PolicyEngine:
    return PolicyEngine(load_policy(POLICY_PATH))


@cache
def _remembering() -> Decider:
    """Shared by every example, so that decisions are remembered across events (and forgotten when full)."""
    return Decider(_engine(), remembered_bytes=64 << 10)  # some 50 decisions


def _in_force_since(state: dict[str, Any], flag: str, moment: datetime) -> bool:
    return bool(state.get(flag)) and datetime.fromisoformat(state[f"{flag}_at"]) <= moment


def validated_request(
    event: UseEvent | DisclosureEvent, state: dict[str, Any], consented: bool, pseudonym: str
) -> UseRequest:
    """The request as the monitor built it before: every value validated again by ``UseRequest``."""
    subject_state = SubjectState(
        suspended=_in_force_since(state, "suspended", event.occurred_at),
        deleted=_in_force_since(state, "deleted", event.occurred_at),
    )
    common: dict[str, Any] = {
        "at": event.occurred_at,
        "purpose": event.purpose,
        "data": event.data,
        "content_types": event.content_types,
        "subject_type": event.subject.type.value,
        "actor": event.source_service,
        "aggregate": event.aggregate,
        "subject_state": subject_state,
    }
    if isinstance(event, UseEvent):
        return UseRequest(action=Action.USE, **common)
    record = None
    if event.recipient.kind is RecipientKind.THIRD_PARTY:
        record = ProvisionRecord(
            consent_obtained=consented,
            recipient_name=event.recipient_name,
            recipient_address_or_representative=event.recipient_address_or_representative,
            subject_identification=pseudonym,
            data_items=event.data,
        )
    return UseRequest(
        action=Action.DISCLOSURE,
        recipient=event.recipient,
        legal_basis=event.legal_basis,
        consent_reference=event.consent_reference,
        consent_granted=consented,
        provision_record=record,
        **common,
    )


# Strategies: contract-valid uses and disclosures in the policy's vocabulary, a few terms it does not know.


@cache
def _vocabulary() -> dict[str, list[Any]]:
    policy = _engine().policy
    items = sorted(_engine().all_items)
    return {
        "purpose": [*policy.purposes, "behavioural_advertising"],
        "data": [*policy.data_categories, *items, "biometrics", "user_information.x"],
        "content_types": [*policy.excluded_content.types, "calendar_entry"],
        "legal_basis": [None, *policy.legal_bases, "legitimate_interest"],
        "recipient": [
            ("third_party", "naniwa-benefits"),
            ("third_party", "osaka-labour-bureau"),
            *(("consignee", key) for key in policy.consignees.registered),
            ("consignee", "unknown-bpo"),
            *(("collection_module", key) for key in policy.collection_modules.registered),
            ("collection_module", "meta-pixel"),
        ],
    }


@st.composite
def decided_events(draw: st.DrawFn) -> UseEvent | DisclosureEvent:
    words = _vocabulary()
    document: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": draw(
            st.datetimes(datetime(2016, 1, 1), datetime(2030, 12, 31), timezones=st.sampled_from(ZONES))
        ).isoformat(),
        "tenant_id": draw(st.sampled_from(["kobe-logistics", "sapporo-foods"])),
        "source_service": draw(st.sampled_from(["crm-mailer", "benefits-export", "stats-job"])),
        "subject": {
            "type": draw(st.sampled_from(list(SubjectType))).value,
            "id": draw(st.sampled_from(["e-1", "e-2"])),
        },
        "purpose": draw(st.sampled_from(words["purpose"])),
        "data": draw(st.lists(st.sampled_from(words["data"]), min_size=1, max_size=3)),
    }
    if draw(st.booleans()):
        document["content_types"] = draw(st.lists(st.sampled_from(words["content_types"]), max_size=2))
    if draw(st.booleans()):
        document["aggregate"] = {"group_size": draw(st.integers(0, 200)), "identifies": draw(st.booleans())}
    if draw(st.booleans()):
        return UseEvent.model_validate_json(orjson.dumps({**document, "spec": "rakuro.use/v1"}), strict=True)
    kind, recipient_id = draw(st.sampled_from(words["recipient"]))
    document |= {"spec": "rakuro.disclosure/v1", "recipient": {"kind": kind, "id": recipient_id}}
    for name, values in (
        ("legal_basis", words["legal_basis"]),
        ("consent_reference", [None, "consent-2023-000417"]),
        ("recipient_name", [None, "株式会社なにわ福利厚生"]),
        ("recipient_address_or_representative", [None, "大阪府大阪市北区梅田1-1-1"]),
    ):
        if (value := draw(st.sampled_from(values))) is not None:
            document[name] = value
    return DisclosureEvent.model_validate_json(orjson.dumps(document), strict=True)


@st.composite
def subject_states(draw: st.DrawFn) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for flag in ("suspended", "deleted"):
        if draw(st.booleans()):
            moment = draw(st.datetimes(datetime(2016, 1, 1), datetime(2030, 12, 31), timezones=st.sampled_from(ZONES)))
            state |= {flag: draw(st.booleans()), f"{flag}_at": moment.isoformat()}
    return state


@PROPERTY
@given(decided_events(), subject_states(), st.booleans())
def test_the_monitors_request_is_the_validated_request_and_decides_as_it_does(event, state, consented):
    consented = consented and isinstance(event, DisclosureEvent)
    reference = validated_request(event, state, consented, "pseudonym-of-e-1")

    trusted = request_of(event, state, consented, "pseudonym-of-e-1")

    assert UseRequest.model_validate({name: getattr(trusted, name) for name in UseRequest.model_fields}) == reference
    decision = Decider(_engine()).decide(reference)
    assert Decider(_engine()).decide(trusted) == decision
    assert _remembering().decide_remembered(trusted) == decision


@PROPERTY
@given(st.lists(decided_events(), min_size=1, max_size=6))
def test_a_batch_is_decided_as_its_validated_requests_are(events):
    batch = [SourceRecord("t.activity.v1", 0, offset, e.model_dump_json().encode()) for offset, e in enumerate(events)]

    # Received after the latest generated time: one further in the future is refused (occurred_in_future).
    result = monitor_batch(batch, {}, {}, _remembering(), KEY, now=datetime(2031, 1, 1, tzinfo=UTC))

    assert [item.event for item in result.evaluated] == events
    for item in result.evaluated:
        assert item.subject_pseudonym == pseudonymize(KEY, item.event.tenant_id, item.event.subject.id)
        reference = validated_request(item.event, {}, False, item.subject_pseudonym)
        assert item.decision == Decider(_engine()).decide(reference)
