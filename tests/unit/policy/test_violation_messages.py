"""A violation's message quotes policy terms only, whatever the request holds.

Messages are copied into alerts, the violations table and reports. A request's purpose, recipient, subject type,
content type or data that the policy does not define is data the request brought: the message calls it what it
is ("an undeclared purpose", "the consignee") and never quotes it — not even where the contract would have refused
it, since a trusted request is built without validating again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decisions import (
    Action,
    Aggregate,
    ProvisionRecord,
    Recipient,
    RecipientKind,
    SubjectState,
    TrustedUseRequest,
)
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from tests.unit.schemas.activity_values import hostile_names, policy

PROPERTY = settings(max_examples=400, deadline=None)
UNDECLARED = ["emp-00042", "needle.person", "behavioural_advertising", "unknown-bpo", "meta-pixel", "visitor"]
_QUOTED = re.compile(r"'([^']*)'")


@cache
def _decider() -> Decider:
    return Decider(PolicyEngine(policy()))


@cache
def _vocabulary() -> frozenset[str]:
    """Every word a message may quote: the policy's own terms."""
    p = policy()
    items = [f"{c}.{i}" for c, category in p.data_categories.items() for i in category.items]
    return frozenset(
        [
            *p.purposes,
            *p.legal_bases,
            *p.excluded_content.types,
            *p.data_subjects,
            *p.data_categories,
            *items,
            *p.consignees.registered,
            *p.collection_modules.registered,
        ]
    )


def _known(values: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(values), st.sampled_from(UNDECLARED), hostile_names)


@st.composite
def requests(draw: st.DrawFn) -> tuple[TrustedUseRequest, list[str]]:
    """A request with any text in its fields, and the texts in it that are not policy terms."""
    p = policy()
    kind = draw(st.sampled_from(list(RecipientKind)))
    registered = {
        RecipientKind.CONSIGNEE: list(p.consignees.registered),
        RecipientKind.COLLECTION_MODULE: list(p.collection_modules.registered),
    }.get(kind, ["naniwa-benefits"])
    purpose = draw(_known(list(p.purposes)))
    subject_type = draw(_known(list(p.data_subjects)))
    recipient_id = draw(_known(registered))
    content_types = draw(st.lists(_known(list(p.excluded_content.types)), max_size=2))
    data = draw(
        st.lists(
            _known([*p.data_categories, "user_information.name", "log_information.ip_address"]), min_size=1, max_size=3
        )
    )
    legal_basis = draw(st.one_of(st.none(), _known(list(p.legal_bases))))
    request = TrustedUseRequest(
        action=Action.USE if kind is RecipientKind.INTERNAL else Action.DISCLOSURE,
        at=draw(st.datetimes(datetime(2016, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))),
        purpose=purpose,
        data=data,
        content_types=content_types,
        subject_type=subject_type,
        actor="benefits-export",
        recipient=Recipient.model_construct(kind=kind, id=recipient_id),
        legal_basis=legal_basis,
        consent_reference=draw(st.one_of(st.none(), st.sampled_from(["cons-1", "needle.person"]))),
        consent_granted=draw(st.booleans()),
        provision_record=draw(st.sampled_from([None, ProvisionRecord.model_construct(consent_obtained=True)])),
        aggregate=draw(st.one_of(st.none(), st.builds(Aggregate, group_size=st.integers(0, 50)))),
        subject_state=draw(st.sampled_from([SubjectState(), SubjectState(suspended=True)])),
    )
    texts = [purpose, subject_type, recipient_id, *content_types, *data, *([legal_basis] if legal_basis else [])]
    return request, [text for text in texts if text not in _vocabulary()]


@PROPERTY
@given(requests())
def test_a_message_quotes_policy_terms_only_and_no_value_of_the_request(drawn) -> None:
    request, undeclared = drawn

    decision = _decider().decide(request)

    for violation in decision.violations:
        assert set(_QUOTED.findall(violation.message)) <= _vocabulary(), violation.message
        for text in undeclared:
            assert text not in violation.message, (violation.code, violation.message)
    assert _decider().decide_remembered(request) == decision


def test_an_unregistered_consignee_or_module_and_an_undeclared_purpose_are_named_not_quoted() -> None:
    base = TrustedUseRequest(
        action=Action.DISCLOSURE,
        at=datetime(2026, 11, 27, tzinfo=UTC),
        purpose="service_provision",
        data=["cookie"],
        content_types=[],
        subject_type="analyzed_account_holder",
        actor="benefits-export",
        recipient=Recipient(kind=RecipientKind.CONSIGNEE, id="unknown-bpo"),
        legal_basis=None,
        consent_reference=None,
        consent_granted=False,
        provision_record=None,
        aggregate=None,
        subject_state=SubjectState(),
    )
    helpdesk = Recipient(kind=RecipientKind.CONSIGNEE, id="hokuto-helpdesk")
    pixel = Recipient(kind=RecipientKind.COLLECTION_MODULE, id="meta-pixel")
    requests = (
        base,
        replace(base, purpose="emp-00042"),
        replace(base, recipient=helpdesk, purpose="x-y"),
        replace(base, recipient=pixel, data=["user_information"]),
    )

    messages = {v.code: v.message for request in requests for v in _decider().decide(request).violations}

    assert messages["consignee_not_registered"] == "the consignee is not registered"
    assert messages["unknown_purpose"] == "an undeclared purpose, not in the policy"
    assert messages["consignee_outside_purpose"] == "'hokuto-helpdesk' is not engaged for an undeclared purpose"
    assert messages["module_not_registered"] == "the module is not named in the policy"
    assert messages["module_receives_identifiable_data"].startswith("an unregistered module may receive no")
