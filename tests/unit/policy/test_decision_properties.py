"""Properties no decision may ever break, over requests generated from the policy's own vocabulary.

Requests are drawn from the policy's purposes, data, subject types, recipients, legal bases, consent states and
excluded content types, plus a few terms it does not know; most are near misses (one field off), so that allowed
and refused decisions of every recipient kind are both frequent (guarded by the last test). Every property is
checked against the policy model itself, not against the engine's indexes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from schemas.decisions import (
    Action,
    Aggregate,
    ProvisionRecord,
    Recipient,
    RecipientKind,
    SubjectState,
    TrustedUseRequest,
    UseRequest,
)
from schemas.policy import Policy
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy

POLICY_PATH = Path(schemas.__file__).parent / "policies" / "rakuro.yaml"
PROPERTY = settings(max_examples=300, deadline=None)
EMAIL = "taro.yamada@example.jp"  # a data value: it must never appear in a message
PERSON = "taro.yamada"  # a person's id in a reference's shape (the contract refuses EMAIL there): never in one either
_NULLABLE_RECORD_FIELDS = ("recipient_name", "recipient_address_or_representative", "subject_identification")


@cache
def _policy() -> Policy:
    return load_policy(POLICY_PATH)


@cache
def _decider() -> Decider:
    return Decider(PolicyEngine(_policy()))


CONTACT_ITEMS = ("name", "department", "email_address", "telephone_number", "organization_information")


def _items_of(policy: Policy, refs: Iterable[str]) -> list[str]:
    """The items ``refs`` name (a category names all its items); unknown references name none."""
    items = []
    for ref in refs:
        category, _, item = ref.partition(".")
        spec = policy.data_categories.get(category)
        items += [f"{category}.{name}" for name in (spec.items if spec else ()) if item in ("", name)]
    return items


def _identifiable_items(policy: Policy, refs: Iterable[str]) -> set[str]:
    """The personally identifiable items ``refs`` name."""
    found = set()
    for ref in _items_of(policy, refs):
        category, _, item = ref.partition(".")
        if policy.data_categories[category].items[item].personally_identifiable:
            found.add(ref)
    return found


def _is_valid_statistic(policy: Policy, request: UseRequest) -> bool:
    """A non-identifying aggregate of enough people for an aggregate-only purpose (Art. 3.4)."""
    purpose = policy.purposes.get(request.purpose)
    aggregate = request.aggregate
    return (
        purpose is not None
        and purpose.aggregate_only
        and aggregate is not None
        and not aggregate.identifies
        and aggregate.group_size >= policy.statistics.min_group_size
    )


def _record_is_complete(record: ProvisionRecord | None) -> bool:
    """Every matter of Art. 4.2 is recorded."""
    return record is not None and all(
        (
            record.consent_obtained,
            record.recipient_name,
            record.recipient_address_or_representative,
            record.subject_identification,
            record.data_items,
        )
    )


# Strategies ---------------------------------------------------------------------------------------------------
# A request is drawn compliant (every field from its usual, policy-conforming values: mostly allowed), with one
# fault (one field from its unusual values: refused for one reason, or allowed where that value is harmless), or
# mixed (every field from its usual or its unusual values: mostly refused, for several reasons).


def _pick(strategies: list[st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of ``strategies``, each equally often even when some are the same object (``st.one_of`` dedupes)."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


@cache
def _data_strategies() -> dict[str | None, st.SearchStrategy[list[str]]]:
    """Per purpose, its own data (categories, items, or only its non-identifying items); under None, any data."""
    policy = _policy()
    anything = [*policy.data_categories, *_items_of(policy, policy.data_categories), "biometrics", "user_information.x"]
    strategies: dict[str | None, st.SearchStrategy[list[str]]] = {}
    for key, purpose in policy.purposes.items():
        own = sorted({*purpose.refs, *_items_of(policy, purpose.refs)})
        harmless = sorted(set(_items_of(policy, purpose.refs)) - _identifiable_items(policy, purpose.refs))
        strategies[key] = _pick(
            [
                st.lists(st.sampled_from(own), min_size=1, max_size=3),
                st.lists(st.sampled_from(harmless), min_size=1, max_size=2),
            ]
        )
    strategies[None] = st.lists(st.sampled_from(anything), min_size=1, max_size=4)
    return strategies


@cache
def _field_strategies(kind: RecipientKind | None) -> dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]]:
    """Per request field but ``data``: (usual values, unusual values), for recipients of ``kind`` or of any kind."""
    policy = _policy()
    items = _items_of(policy, policy.data_categories)
    zones = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])
    established = datetime(2018, 7, 2)  # naive bounds: each moment gets one of the zones above
    exceptions = [key for key, basis in policy.legal_bases.items() if basis.third_party_exception]
    recipients = {
        RecipientKind.INTERNAL: (["rakuro"], []),
        RecipientKind.THIRD_PARTY: (["kobe-logistics", "osaka-labour-bureau"], []),
        RecipientKind.CONSIGNEE: (list(policy.consignees.registered), ["unknown-bpo"]),
        RecipientKind.COLLECTION_MODULE: (list(policy.collection_modules.registered), ["meta-pixel"]),
    }

    def recipient(unusual: bool) -> st.SearchStrategy[Recipient]:
        # Each recipient kind equally often, whatever the number of registered consignees and modules.
        return _pick(
            [
                st.sampled_from([Recipient(kind=of, id=id_) for id_ in (*known, *(other if unusual else ()))])
                for of, (known, other) in recipients.items()
                if kind in (None, of)
            ]
        )

    complete = ProvisionRecord(
        consent_obtained=True,
        recipient_name="Kobe Logistics K.K.",
        recipient_address_or_representative="1-1 Minatojima, Kobe",
        subject_identification=EMAIL,
        data_items=items,  # lists every item, so a consented provision of any data is recorded
    )
    fields: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
        "actor": (st.sampled_from(["attendance-web", "crm-mailer", "stats-job"]), st.nothing()),
        "at": (
            st.datetimes(established, datetime(2030, 12, 31), timezones=zones),
            st.datetimes(datetime(2016, 1, 1), established, timezones=zones),
        ),
        "purpose": (st.sampled_from(list(policy.purposes)), st.just("behavioural_advertising")),
        "content_types": (
            st.just([]),
            st.lists(st.sampled_from([*policy.excluded_content.types, "calendar_entry"]), min_size=1, max_size=2),
        ),
        "subject_type": (st.sampled_from(list(policy.data_subjects)), st.just("visitor")),
        "recipient": (recipient(unusual=False), recipient(unusual=True)),
        "legal_basis": (
            st.sampled_from(["consent"] * len(exceptions) + exceptions),  # as often consent as an exception
            st.one_of(st.none(), st.sampled_from([*policy.legal_bases, "legitimate_interest"])),
        ),
        "consent_reference": (st.sampled_from(["consent-2023-000417", PERSON]), st.none()),
        "consent_granted": (st.just(True), st.just(False)),
        "provision_record": (
            st.just(complete),
            st.one_of(
                # Near misses: no record, or one matter of Art. 4.2 left out.
                st.sampled_from(
                    [
                        None,
                        complete.model_copy(update={"consent_obtained": False}),
                        complete.model_copy(update={"data_items": []}),
                        *(complete.model_copy(update={field: None}) for field in _NULLABLE_RECORD_FIELDS),
                    ]
                ),
                st.builds(
                    ProvisionRecord,
                    consent_obtained=st.booleans(),
                    recipient_name=st.sampled_from([None, "Kobe Logistics K.K."]),
                    recipient_address_or_representative=st.sampled_from([None, "1-1 Minatojima, Kobe"]),
                    subject_identification=st.sampled_from([None, "pseudonym:7f3a9c0e", EMAIL]),
                    data_items=st.lists(st.sampled_from(items), max_size=2),
                ),
            ),
        ),
        "aggregate": (
            st.builds(Aggregate, group_size=st.integers(policy.statistics.min_group_size, 500)),
            st.one_of(st.none(), st.builds(Aggregate, group_size=st.integers(0, 40), identifies=st.booleans())),
        ),
        "subject_state": (
            st.just(SubjectState()),
            st.sampled_from(
                [SubjectState(suspended=True), SubjectState(deleted=True), SubjectState(suspended=True, deleted=True)]
            ),
        ),
    }
    return fields


@st.composite
def _use_requests(draw: st.DrawFn, kind: RecipientKind | None = None) -> UseRequest:
    """Requests to recipients of ``kind`` (of any kind if None); near misses (one fault) most often."""
    strategies = _field_strategies(kind)
    mode = draw(st.sampled_from(["compliant", "one_fault", "one_fault", "mixed"]))
    faulty = ["data", *(name for name, (_, unusual) in strategies.items() if not unusual.is_empty)]
    fault = draw(st.sampled_from(faulty)) if mode == "one_fault" else None

    def value(name: str, usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any]) -> Any:
        if mode == "mixed":
            return draw(_pick([usual, unusual]))
        return draw(unusual if name == fault else usual)

    fields = {name: value(name, usual, unusual) for name, (usual, unusual) in strategies.items()}
    data = _data_strategies()
    # The action follows from the recipient: data going outside Rakuro is a disclosure (the contract checks it).
    action = Action.USE if fields["recipient"].kind is RecipientKind.INTERNAL else Action.DISCLOSURE
    return UseRequest(action=action, data=value("data", data.get(fields["purpose"], data[None]), data[None]), **fields)


use_requests = _use_requests()
third_party_requests = _use_requests(RecipientKind.THIRD_PARTY)
module_requests = _use_requests(RecipientKind.COLLECTION_MODULE)


# Properties ---------------------------------------------------------------------------------------------------


@PROPERTY
@given(use_requests)
def test_excluded_content_is_never_allowed(request):
    decision = _decider().decide(request)

    if set(request.content_types) & set(_policy().excluded_content.types):
        assert not decision.allowed
        assert "excluded_content" in decision.codes


@PROPERTY
@given(use_requests)
def test_an_analyzed_account_holders_contact_data_is_never_used_to_notify_related_services(request):
    # Art. 3.1 table, row 3: the contact entries are the person in charge's; Allied and Transmission Data are
    # anyone's whose account is analyzed.
    decision = _decider().decide(request)
    contact = {f"user_information.{item}" for item in CONTACT_ITEMS}

    # A provision to a third party that a law requires (Art. 4.1(1)-(4)) is decided on that basis instead.
    on_exception = request.recipient.kind == "third_party" and bool(
        request.legal_basis
        and _policy().legal_bases.get(request.legal_basis, None)
        and _policy().legal_bases[request.legal_basis].beyond_purposes
    )
    if (
        request.purpose == "related_service_notification"
        and request.subject_type == "analyzed_account_holder"
        and contact & set(_items_of(_policy(), request.data))
        and not on_exception
    ):
        assert not decision.allowed
        assert "subject_not_permitted_for_purpose" in decision.codes


@PROPERTY
@given(third_party_requests)
def test_a_third_party_receives_data_only_with_consent_an_exception_or_as_a_statistic(request):
    policy = _policy()
    decision = _decider().decide(request)

    if decision.allowed:
        with_consent = (
            request.legal_basis == "consent"
            and request.consent_granted
            and request.consent_reference is not None
            and _record_is_complete(request.provision_record)
        )
        basis = policy.legal_bases.get(request.legal_basis or "")
        exception = basis is not None and basis.third_party_exception
        assert with_consent or exception or _is_valid_statistic(policy, request)
        assert decision.legal_basis in {request.legal_basis, "statistical_processing"}


@PROPERTY
@given(use_requests)
def test_nothing_is_allowed_for_a_suspended_or_deleted_subject(request):
    decision = _decider().decide(request)

    if request.subject_state.suspended or request.subject_state.deleted:
        assert not decision.allowed
        assert {"use_after_suspension", "use_after_deletion"} & set(decision.codes)


@PROPERTY
@given(module_requests)
def test_a_collection_module_never_receives_identifiable_items(request):
    decision = _decider().decide(request)

    if _identifiable_items(_policy(), request.data):
        assert not decision.allowed
        assert "module_receives_identifiable_data" in decision.codes


@PROPERTY
@given(use_requests)
def test_allowed_exactly_when_there_are_no_violations_and_then_with_a_basis_and_version(request):
    policy = _policy()
    decision = _decider().decide(request)

    assert decision.allowed == (not decision.violations)
    assert decision.policy_id == policy.policy_id
    if decision.allowed:
        assert decision.legal_basis in policy.legal_bases
        assert decision.policy_version in {v.version for v in policy.versions}
    else:
        assert decision.legal_basis is None


@PROPERTY
@given(use_requests)
def test_violations_cite_the_policy_and_never_carry_data_values(request):
    policy = _policy()
    decision = _decider().decide(request)

    for violation in decision.violations:
        rule = policy.violations[violation.code]
        assert (violation.article, violation.severity) == (rule.article, rule.severity)
        assert violation.message
        assert EMAIL not in violation.message
        assert PERSON not in violation.message


@PROPERTY
@given(use_requests)
def test_a_decision_depends_on_the_request_alone(request):
    again = UseRequest.model_validate_json(request.model_dump_json())

    assert _decider().decide(request) == _decider().decide(again) == Decider(_decider().engine).decide(request)


@cache
def _remembering() -> Decider:
    """One decider for every example, so that a remembered decision is reused across generated requests."""
    return Decider(PolicyEngine(_policy()), remembered_bytes=64 << 10)  # some 50 decisions


def _trusted(request: UseRequest, **changes: Any) -> TrustedUseRequest:
    return TrustedUseRequest(**{**{name: getattr(request, name) for name in UseRequest.model_fields}, **changes})


def test_a_trusted_request_has_exactly_the_fields_of_a_use_request():
    assert [field.name for field in dataclasses.fields(TrustedUseRequest)] == list(UseRequest.model_fields)


@PROPERTY
@given(use_requests)
def test_a_trusted_request_and_a_remembered_decision_equal_the_validated_requests_decision(request):
    expected = _decider().decide(request)

    assert _decider().decide(_trusted(request)) == expected
    assert _remembering().decide_remembered(_trusted(request)) == expected
    assert _remembering().decide_remembered(request) == expected


@PROPERTY
@given(use_requests, st.integers(0, 86_399), st.sampled_from(["attendance-web", "nightly-export"]))
def test_a_remembered_decision_is_the_decision_at_another_moment_of_the_same_version(request, seconds, actor):
    engine = _decider().engine
    later = request.at + timedelta(seconds=seconds)
    other = _trusted(request, at=later, actor=actor)

    if engine.version_at(later) == engine.version_at(request.at):
        _remembering().decide_remembered(request)
        assert _remembering().decide_remembered(other) == _decider().decide(other)


@PROPERTY
@given(use_requests)
def test_a_remembered_decision_is_never_that_of_a_request_differing_in_what_decides(request):
    # Without a consent reference or a record: the requests decide_remembered keeps (others are decided afresh).
    plain = {"consent_reference": None, "provision_record": None}
    variants = [
        *(
            _trusted(request, subject_state=SubjectState(suspended=s, deleted=d), **plain)
            for s in (False, True)
            for d in (False, True)
        ),
        _trusted(request, consent_granted=not request.consent_granted, **plain),
        _trusted(request, aggregate=None, **plain),
        _trusted(request, aggregate=Aggregate(group_size=3, identifies=True), **plain),
        _trusted(
            request, at=request.at.replace(year=2016 if request.at.year > 2018 else 2024), **plain
        ),  # leap years: 29 Feb stays a day
    ]
    for variant in [*variants, *reversed(variants)]:
        assert _remembering().decide_remembered(variant) == _decider().decide(variant)


def test_generated_requests_reach_every_kind_of_allowed_and_refused_decision():
    # Guards the properties above against vacuity. Derandomized, so that it cannot flake.
    policy = _policy()
    seen: set[tuple[RecipientKind, str | None]] = set()

    @settings(max_examples=500, deadline=None, derandomize=True, database=None)
    @given(use_requests)
    def decide(request: UseRequest) -> None:
        seen.add((request.recipient.kind, _decider().decide(request).legal_basis))

    decide()

    exceptions = {key for key, basis in policy.legal_bases.items() if basis.third_party_exception}
    for kind in RecipientKind:
        assert (kind, None) in seen  # refused
        assert (kind, "published_purpose_of_use") in seen or kind is RecipientKind.THIRD_PARTY
    assert {(RecipientKind.INTERNAL, "statistical_processing"), (RecipientKind.THIRD_PARTY, "consent")} <= seen
    assert (RecipientKind.THIRD_PARTY, "statistical_processing") in seen
    assert {basis for kind, basis in seen if kind is RecipientKind.THIRD_PARTY} & exceptions
