"""One test per clause of the Rakuro privacy policy: realistic uses and disclosures decided by ``Decider``.

Expected outcomes are written from the policy text (shared/seed/rakuro-privacy-policy.txt), never computed from
the engine, so that a wrong encoding in rakuro.yaml or a wrong decision fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from schemas.decisions import Decision, UseRequest
from schemas.policy import Policy
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import PolicyFileError, load_policy

TAKEN_AT = "2023-05-01T09:00:00+09:00"
EMAIL = "taro.yamada@example.jp"  # a data value: it must never appear in a decision
PERSON = "taro.yamada"  # a person's id in a reference's shape (the contract refuses EMAIL there)

CONTACT_DATA = [
    "user_information.name",
    "user_information.department",
    "user_information.email_address",
    "user_information.telephone_number",
    "user_information.organization_information",
]

COMPLETE_RECORD: dict[str, Any] = {
    "consent_obtained": True,
    "recipient_name": "Kobe Logistics K.K.",
    "recipient_address_or_representative": "1-1 Minatojima, Chuo-ku, Kobe; Representative Director Hanako Sato",
    "subject_identification": "pseudonym:7f3a9c0e",
    "data_items": ["user_information.name", "user_information.email_address"],
}


def use_request(**fields: Any) -> UseRequest:
    """A realistic use by the attendance service (a person in charge's usage data, in 2023), with ``fields`` changed."""
    request: dict[str, Any] = {
        "action": "use",
        "at": TAKEN_AT,
        "purpose": "service_provision",
        "data": ["log_information.usage_situation"],
        "subject_type": "person_in_charge",
        "actor": "attendance-web",
    }
    return UseRequest.model_validate({**request, **fields})


def disclosure(kind: str, recipient_id: str, **fields: Any) -> UseRequest:
    """The same use, disclosed to a recipient of ``kind``."""
    return use_request(action="disclosure", recipient={"kind": kind, "id": recipient_id}, **fields)


def with_consent(**fields: Any) -> UseRequest:
    """A provision of contact data to a third party with consent in force and a complete Art. 4.2 record."""
    request: dict[str, Any] = {
        "data": ["user_information.name", "user_information.email_address"],
        "legal_basis": "consent",
        "consent_granted": True,
        "consent_reference": "consent-2023-000417",
        "provision_record": COMPLETE_RECORD,
    }
    return disclosure("third_party", "kobe-logistics", **{**request, **fields})


def valid_statistic(**fields: Any) -> UseRequest:
    """Monthly attendance figures per department over 12 people."""
    request: dict[str, Any] = {
        "purpose": "statistics",
        "data": ["transmission_data.arrival_departure_time", "user_information.department"],
        "aggregate": {"group_size": 12, "identifies": False},
    }
    return use_request(**{**request, **fields})


def assert_refused(decision: Decision, *codes: str) -> None:
    """Refused for exactly ``codes`` (in any order), with no legal basis."""
    assert not decision.allowed
    assert sorted(decision.codes) == sorted(codes)
    assert decision.legal_basis is None


def assert_allowed(decision: Decision, legal_basis: str) -> None:
    assert list(decision.violations) == [], decision.codes
    assert decision.allowed
    assert decision.legal_basis == legal_basis


@pytest.fixture(scope="module")
def edited_decider(policy: Policy) -> Callable[[Callable[[dict[str, Any]], None]], Decider]:
    """A decider for the real policy changed by ``edit`` (validated like a loaded file)."""

    def build(edit: Callable[[dict[str, Any]], None]) -> Decider:
        document = policy.model_dump(mode="json")
        edit(document)
        return Decider(PolicyEngine(Policy.model_validate(document)))

    return build


# Art. 2.1(2): message and attachment content -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "email_subject", "email_body", "chat_message_subject", "chat_message_text", "social_media_message_subject",
        "social_media_message_text", "attachment_content",
    ],
)  # fmt: skip
def test_message_and_attachment_content_is_never_used(decider, content_type):
    decision = decider.decide(
        use_request(data=["allied_data.email_transmission_history"], content_types=[content_type])
    )

    assert_refused(decision, "excluded_content")
    assert decision.violations[0].severity == "critical"
    assert decision.violations[0].article == "Art. 2.1(2)"
    assert "unknown_data" not in decision.codes, "named by the policy, not a gap"


def test_scheduler_titles_are_collected_allied_data_not_excluded_content(decider, policy):
    decision = decider.decide(use_request(data=["allied_data.scheduler_title"]))

    assert_allowed(decision, "published_purpose_of_use")
    assert "allied_data.scheduler_title" in policy.excluded_content.not_excluded


# Art. 3.1 table, row 3 and the data subjects ------------------------------------------------------------------


def test_related_services_are_notified_to_a_person_in_charge_with_contact_allied_and_transmission_data(decider):
    request = use_request(
        purpose="related_service_notification", data=[*CONTACT_DATA, "allied_data", "transmission_data"]
    )

    assert_allowed(decider.decide(request), "published_purpose_of_use")


def test_related_services_are_never_notified_using_an_analyzed_account_holders_data(decider):
    request = use_request(
        purpose="related_service_notification", data=CONTACT_DATA, subject_type="analyzed_account_holder"
    )

    assert_refused(decider.decide(request), "subject_not_permitted_for_purpose")


def test_related_service_notification_never_uses_bank_account_information(decider):
    request = use_request(purpose="related_service_notification", data=["user_information.bank_account_information"])

    decision = decider.decide(request)

    assert_refused(decision, "data_not_permitted_for_purpose")
    assert "user_information.bank_account_information" in decision.violations[0].message


def test_notices_to_users_do_not_use_log_information(decider):
    decision = decider.decide(use_request(purpose="user_notification", data=["log_information"]))

    assert_refused(decision, "data_not_permitted_for_purpose")


# Art. 3.1 table (and Art. 3.4): each purpose uses exactly the information its row names ------------------------

USER_INFORMATION = [
    "user_information.name",
    "user_information.department",
    "user_information.email_address",
    "user_information.telephone_number",
    "user_information.organization_information",
    "user_information.bank_account_information",
    "user_information.other_specified_information",
]
LOGIN = ["login_credentials.login_id", "login_credentials.password"]
TERMINAL = ["terminal_information.terminal_id", "terminal_information.terminal_type"]
LOG = [
    "log_information.ip_address",
    "log_information.requested_at",
    "log_information.operation_history",
    "log_information.usage_situation",
]
COOKIE = ["cookie.cookie_id"]
ALLIED = [
    "allied_data.computer_login_history",
    "allied_data.email_transmission_history",
    "allied_data.system_usage_history",
    "allied_data.scheduler_title",
    "allied_data.content",
]
TRANSMISSION = [
    "transmission_data.personal_name",
    "transmission_data.department",
    "transmission_data.telephone_number",
    "transmission_data.arrival_departure_time",
    "transmission_data.other_data",
]
EVERY_ITEM = [*USER_INFORMATION, *LOGIN, *TERMINAL, *LOG, *COOKIE, *ALLIED, *TRANSMISSION]

# "Information to be used", row by row; statistics per Art. 3.4 (Allied Data, Transmission Data and the other
# User Information collected under Art. 2.1, which does not list login credentials).
PERMITTED: dict[str, set[str]] = {
    "service_provision": set(EVERY_ITEM),
    "user_notification": {*USER_INFORMATION, *LOGIN},
    "related_service_notification": {*CONTACT_DATA, *ALLIED, *TRANSMISSION},
    "statistics": {*USER_INFORMATION, *TERMINAL, *LOG, *COOKIE, *ALLIED, *TRANSMISSION},
}


def test_the_expected_table_covers_every_purpose_and_item_of_the_policy(policy):
    items = {f"{category}.{item}" for category, spec in policy.data_categories.items() for item in spec.items}

    assert set(PERMITTED) == set(policy.purposes)
    assert set(EVERY_ITEM) == items
    assert len(EVERY_ITEM) == len(items)


@pytest.mark.parametrize("item", EVERY_ITEM)
@pytest.mark.parametrize("purpose", list(PERMITTED))
def test_each_purpose_uses_exactly_the_information_its_row_names(decider, purpose, item):
    aggregate = {"group_size": 25, "identifies": False} if purpose == "statistics" else None

    decision = decider.decide(use_request(purpose=purpose, data=[item], aggregate=aggregate))

    if item in PERMITTED[purpose]:
        assert_allowed(decision, "statistical_processing" if purpose == "statistics" else "published_purpose_of_use")
    else:
        assert_refused(decision, "data_not_permitted_for_purpose")


# Art. 3.3 and Art. 9: versions, notice, purposes in force --------------------------------------------------------


def test_a_purpose_is_not_in_force_before_the_version_that_published_it(edited_decider):
    def introduce_in_2020(document: dict[str, Any]) -> None:
        document["purposes"]["related_service_notification"]["introduced_in"] = "2020-07-01"

    decider = edited_decider(introduce_in_2020)
    before = use_request(purpose="related_service_notification", data=CONTACT_DATA, at="2020-06-30T23:59:59+09:00")
    after = use_request(purpose="related_service_notification", data=CONTACT_DATA, at="2020-07-01T00:00:00+09:00")

    assert_refused(decider.decide(before), "purpose_not_in_force")
    assert_allowed(decider.decide(after), "published_purpose_of_use")
    assert decider.decide(after).policy_version == "2020-07-01"


def test_nothing_is_in_force_before_the_policy_was_established(decider):
    before = decider.decide(use_request(at="2018-06-30T23:59:59+09:00"))
    # 15:00 UTC on 30 June 2018 is already 1 July 2018 in Japan, where the dates take effect.
    established = decider.decide(use_request(at="2018-06-30T15:00:00+00:00"))

    assert_refused(before, "purpose_not_in_force")
    assert before.policy_version is None
    assert_allowed(established, "published_purpose_of_use")
    assert established.policy_version == "2018-07-01"


@pytest.mark.parametrize(
    ("at", "version"),
    [
        ("2019-08-01T12:00:00+09:00", "2019-07-01"),
        ("2022-05-31T23:59:59+09:00", "2020-07-01"),
        ("2022-06-01T00:00:00+09:00", "2022-06-01"),
        ("2022-05-31T15:00:00+00:00", "2022-06-01"),
    ],
)
def test_a_decision_records_the_version_in_force_when_the_data_was_used(decider, at, version):
    decision = decider.decide(use_request(at=at))

    assert decision.allowed
    assert decision.policy_version == version
    assert decision.policy_id == "rakuro"


def test_a_revision_that_takes_effect_before_users_are_notified_does_not_load(policy, tmp_path):
    document = policy.model_dump(mode="json")
    document["versions"][3]["published_on"] = "2022-06-15"
    path = tmp_path / "late-notice.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)

    message = str(caught.value)
    assert f"{path}:" in message
    assert "versions.3.published_on" in message
    assert "Art. 3.3 requires notice" in message


# Art. 3.4: statistical information --------------------------------------------------------------------------------


def test_a_non_identifying_aggregate_of_at_least_ten_people_is_statistical_information(decider, policy):
    decision = decider.decide(valid_statistic(aggregate={"group_size": 10, "identifies": False}))

    assert policy.statistics.min_group_size == 10
    assert_allowed(decision, "statistical_processing")


@pytest.mark.parametrize(
    "aggregate",
    [None, {"group_size": 9, "identifies": False}, {"group_size": 500, "identifies": True}],
    ids=["no-aggregate", "group-of-nine", "identifies"],
)
def test_statistics_that_are_not_non_identifying_aggregates_are_refused(decider, aggregate):
    decision = decider.decide(valid_statistic(aggregate=aggregate))

    assert_refused(decision, "statistics_not_aggregate")
    assert decision.violations[0].article == "Art. 3.4"


def test_a_valid_statistic_may_be_given_to_a_third_party_without_consent(decider):
    request = valid_statistic(action="disclosure", recipient={"kind": "third_party", "id": "labour-research-institute"})

    assert_allowed(decider.decide(request), "statistical_processing")


# Art. 4.1: provision to third parties -----------------------------------------------------------------------------


def test_provision_to_a_third_party_without_consent_is_a_critical_violation(decider):
    decision = decider.decide(disclosure("third_party", "kobe-logistics", data=CONTACT_DATA))

    assert_refused(decision, "third_party_without_consent")
    assert decision.violations[0].severity == "critical"
    assert decision.violations[0].article == "Art. 4.1"


@pytest.mark.parametrize(
    "exception",
    [
        "laws_and_regulations",
        "protection_of_life_body_property",
        "public_health_and_children",
        "government_cooperation",
        "business_succession",
    ],
)
def test_each_exception_of_article_4_1_allows_provision_without_consent(decider, policy, exception):
    request = disclosure("third_party", "osaka-labour-bureau", data=CONTACT_DATA, legal_basis=exception)

    assert policy.legal_bases[exception].third_party_exception
    assert_allowed(decider.decide(request), exception)


@pytest.mark.parametrize(
    ("exception", "cited"),
    [
        ("laws_and_regulations", "APPI Art. 18(3)(i)"),
        ("protection_of_life_body_property", "APPI Art. 18(3)(ii)"),
        ("public_health_and_children", "APPI Art. 18(3)(iii)"),
        ("government_cooperation", "APPI Art. 18(3)(iv)"),
    ],
)
def test_a_provision_on_exceptions_1_to_4_is_decided_on_that_basis_beyond_the_purposes_of_use(
    decider, policy, exception, cited
):
    # A tax office's inquiry, an emergency, a health authority, the police: no Art. 3.1 purpose is claimed.
    request = disclosure(
        "third_party", "osaka-labour-bureau", data=CONTACT_DATA, legal_basis=exception, purpose="statutory_request"
    )

    decision = decider.decide(request)

    assert policy.legal_bases[exception].beyond_purposes == cited
    assert_allowed(decision, exception)
    assert decision.policy_version is not None


def test_a_successor_under_exception_5_must_still_name_a_purpose_of_use(decider, policy):
    # Art. 4.1(5); APPI Art. 18(2): a successor handles the data within the purposes it was collected for.
    outside = disclosure(
        "third_party", "successor-co", data=CONTACT_DATA, legal_basis="business_succession", purpose="merger_upsell"
    )
    within = disclosure("third_party", "successor-co", data=CONTACT_DATA, legal_basis="business_succession")

    assert policy.legal_bases["business_succession"].beyond_purposes is None
    assert_refused(decider.decide(outside), "unknown_purpose")
    assert_allowed(decider.decide(within), "business_succession")


def test_an_exception_does_not_make_excluded_content_or_a_suspended_subject_allowed(decider):
    base = {"data": CONTACT_DATA, "legal_basis": "laws_and_regulations", "purpose": "statutory_request"}

    excluded = decider.decide(disclosure("third_party", "osaka-labour-bureau", content_types=["email_body"], **base))
    suspended = decider.decide(
        disclosure("third_party", "osaka-labour-bureau", subject_state={"suspended": True}, **base)
    )

    assert_refused(excluded, "excluded_content")
    assert_refused(suspended, "use_after_suspension")


def test_an_internal_use_claiming_an_exception_is_still_held_to_the_purposes_of_use(decider):
    decision = decider.decide(use_request(purpose="statutory_request", legal_basis="laws_and_regulations"))

    assert_refused(decision, "unknown_purpose")


def test_article_4_1_lists_exactly_five_exceptions(policy):
    exceptions = {key for key, basis in policy.legal_bases.items() if basis.third_party_exception}

    assert exceptions == {
        "laws_and_regulations",
        "protection_of_life_body_property",
        "public_health_and_children",
        "government_cooperation",
        "business_succession",
    }


@pytest.mark.parametrize(
    "claim",
    [
        {"consent_granted": False},
        {"consent_reference": None},
        {"legal_basis": None},
        {"legal_basis": "published_purpose_of_use"},
    ],
    ids=["consent-not-granted", "no-consent-reference", "no-legal-basis", "purpose-of-use-is-no-consent"],
)
def test_consent_that_is_claimed_but_not_in_force_is_no_consent(decider, claim):
    assert_refused(decider.decide(with_consent(**claim)), "third_party_without_consent")


# Art. 4.2: records of provision with consent ----------------------------------------------------------------------


def test_provision_with_consent_and_a_complete_record_is_allowed_on_consent(decider):
    assert_allowed(decider.decide(with_consent()), "consent")


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"consent_obtained": False}, "consent_obtained"),
        ({"recipient_name": None}, "recipient_name"),
        ({"recipient_address_or_representative": None}, "recipient_address_or_representative"),
        ({"subject_identification": None}, "subject_identification"),
        ({"data_items": []}, "data_items"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_missing_record_field_makes_the_provision_record_incomplete(decider, missing, named):
    decision = decider.decide(with_consent(provision_record={**COMPLETE_RECORD, **missing}))

    assert_refused(decision, "provision_record_incomplete")
    assert named in decision.violations[0].message
    assert decision.violations[0].severity == "medium"


def test_provision_with_consent_and_no_record_at_all_is_incomplete(decider):
    assert_refused(decider.decide(with_consent(provision_record=None)), "provision_record_incomplete")


def test_provision_records_hold_the_four_matters_and_are_kept_at_least_three_years(policy):
    provision = policy.third_party_provision

    assert provision.record_retention_years >= 3
    assert set(provision.record_fields) == {
        "consent_obtained",
        "recipient_name",
        "recipient_address_or_representative",
        "subject_identification",
        "data_items",
    }


# Art. 5: consignees --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consignee", "purpose", "data"),
    [
        ("sakura-payroll", "service_provision", ["user_information.bank_account_information"]),
        ("hokuto-helpdesk", "user_notification", ["user_information.email_address", "login_credentials.login_id"]),
    ],
)
def test_a_registered_consignee_under_agreement_handles_data_within_its_purposes(decider, consignee, purpose, data):
    request = disclosure("consignee", consignee, purpose=purpose, data=data)

    assert_allowed(decider.decide(request), "published_purpose_of_use")


def test_delegation_to_an_unregistered_consignee_is_refused(decider):
    decision = decider.decide(disclosure("consignee", "unknown-bpo", data=USER_INFORMATION[:3]))

    assert_refused(decision, "consignee_not_registered")


def test_delegation_outside_the_consignees_purposes_is_refused(decider):
    request = disclosure("consignee", "sakura-payroll", purpose="user_notification", data=CONTACT_DATA)

    assert_refused(decider.decide(request), "consignee_outside_purpose")


def test_delegation_without_a_confidentiality_agreement_is_refused(edited_decider):
    def no_agreement(document: dict[str, Any]) -> None:
        document["consignees"]["registered"]["sakura-payroll"]["confidentiality_agreement"] = False

    request = disclosure("consignee", "sakura-payroll", data=["user_information.bank_account_information"])

    assert_refused(edited_decider(no_agreement).decide(request), "consignee_without_confidentiality")


# Art. 6: information collection modules --------------------------------------------------------------------------


def test_google_analytics_receives_cookies_and_usage_situation(decider):
    request = disclosure("collection_module", "google-analytics", data=["cookie", "log_information.usage_situation"])

    assert_allowed(decider.decide(request), "published_purpose_of_use")


@pytest.mark.parametrize(
    "item",
    [
        "log_information.ip_address",
        "user_information.email_address",
        "user_information.name",
        "terminal_information.terminal_id",
    ],
)
def test_a_collection_module_never_receives_personally_identifiable_information(decider, item):
    request = disclosure("collection_module", "google-analytics", data=["cookie", item])

    decision = decider.decide(request)

    assert_refused(decision, "module_receives_identifiable_data")
    assert decision.violations[0].severity == "critical"
    assert item in decision.violations[0].message


def test_a_collection_module_the_policy_does_not_name_is_refused(decider):
    decision = decider.decide(disclosure("collection_module", "meta-pixel", data=["cookie"]))

    assert_refused(decision, "module_not_registered")


# Art. 8: suspension of use and deletion -------------------------------------------------------------------------

EVERY_KIND_OF_USE = {
    "internal-use": lambda state: use_request(subject_state=state),
    "statistics": lambda state: valid_statistic(subject_state=state),
    "third-party-with-consent": lambda state: with_consent(subject_state=state),
    "third-party-exception": lambda state: disclosure(
        "third_party", "osaka-labour-bureau", legal_basis="laws_and_regulations", subject_state=state
    ),
    "consignee": lambda state: disclosure("consignee", "sakura-payroll", subject_state=state),
    "collection-module": lambda state: disclosure(
        "collection_module", "google-analytics", data=["cookie"], subject_state=state
    ),
}


@pytest.mark.parametrize(
    ("state", "code"),
    [({"suspended": True}, "use_after_suspension"), ({"deleted": True}, "use_after_deletion")],
    ids=["suspended", "deleted"],
)
@pytest.mark.parametrize("kind_of_use", list(EVERY_KIND_OF_USE))
def test_no_use_or_disclosure_after_suspension_or_deletion(decider, kind_of_use, state, code):
    build = EVERY_KIND_OF_USE[kind_of_use]
    assert decider.decide(build({})).allowed  # the same use is allowed while the subject has asked nothing

    assert_refused(decider.decide(build(state)), code)


# Gaps: what the policy does not know is never allowed ----------------------------------------------------------


def test_an_unknown_purpose_is_a_gap_not_an_allowance(decider):
    decision = decider.decide(use_request(purpose="behavioural_advertising"))

    assert_refused(decision, "unknown_purpose")


@pytest.mark.parametrize("data", ["biometrics", "user_information.passport_number"])
def test_unknown_data_is_a_gap_not_an_allowance(decider, data):
    decision = decider.decide(use_request(data=[data]))

    assert_refused(decision, "unknown_data")


# Every violation: article and severity from the policy, no data values, deterministic ------------------------------


def _request_raising(code: str) -> UseRequest:
    """A request that raises ``code`` under the real policy changed by ``_without_payroll_agreement``."""
    email = {"consent_reference": PERSON, "provision_record": {**COMPLETE_RECORD, "subject_identification": EMAIL}}
    requests = {
        "excluded_content": lambda: use_request(content_types=["email_body"]),
        "unknown_purpose": lambda: use_request(purpose="behavioural_advertising"),
        "unknown_data": lambda: use_request(data=["biometrics"]),
        "purpose_not_in_force": lambda: use_request(at="2017-04-01T09:00:00+09:00"),
        "data_not_permitted_for_purpose": lambda: use_request(purpose="user_notification"),
        "subject_not_permitted_for_purpose": lambda: use_request(
            purpose="related_service_notification", data=CONTACT_DATA, subject_type="analyzed_account_holder"
        ),
        "statistics_not_aggregate": lambda: valid_statistic(aggregate={"group_size": 3, "identifies": True}),
        "third_party_without_consent": lambda: with_consent(consent_granted=False, **email),
        "provision_record_incomplete": lambda: with_consent(
            consent_reference=PERSON,
            provision_record={**COMPLETE_RECORD, "subject_identification": EMAIL, "recipient_name": None},
        ),
        "consignee_not_registered": lambda: disclosure("consignee", "unknown-bpo", **email),
        "consignee_without_confidentiality": lambda: disclosure("consignee", "sakura-payroll", **email),
        "consignee_outside_purpose": lambda: disclosure("consignee", "hokuto-helpdesk", purpose="statistics"),
        "module_not_registered": lambda: disclosure("collection_module", "meta-pixel", data=["cookie"]),
        "module_receives_identifiable_data": lambda: disclosure(
            "collection_module", "google-analytics", data=["user_information"], **email
        ),
        "use_after_suspension": lambda: with_consent(subject_state={"suspended": True}, **email),
        "use_after_deletion": lambda: with_consent(subject_state={"deleted": True}, **email),
    }
    return requests[code]()


def _without_payroll_agreement(document: dict[str, Any]) -> None:
    document["consignees"]["registered"]["sakura-payroll"]["confidentiality_agreement"] = False


def test_every_violation_cites_the_article_and_severity_the_policy_gives_it(edited_decider, policy):
    decider = edited_decider(_without_payroll_agreement)

    raised = set()
    for code, rule in policy.violations.items():
        decision = decider.decide(_request_raising(code))
        assert code in decision.codes, (code, decision.codes)
        for violation in decision.violations:
            expected = policy.violations[violation.code]
            assert (violation.article, violation.severity) == (expected.article, expected.severity)
            raised.add(violation.code)
        assert decision.violations[decision.codes.index(code)].article == rule.article

    assert raised == set(policy.violations)


def test_messages_name_policy_terms_never_data_values(edited_decider, policy):
    decider = edited_decider(_without_payroll_agreement)

    messages = [v.message for code in policy.violations for v in decider.decide(_request_raising(code)).violations]

    assert len(messages) >= len(policy.violations)
    assert all(message for message in messages)
    assert not [message for message in messages if EMAIL in message or "taro.yamada" in message]


def test_the_same_request_always_gets_the_same_decision(decider, engine, policy):
    other = Decider(engine)

    for code in policy.violations:
        request = _request_raising(code)
        first = decider.decide(request)
        assert first == decider.decide(request) == other.decide(request)
        assert first == decider.decide(UseRequest.model_validate_json(request.model_dump_json()))
    assert decider.decide(with_consent()) == other.decide(with_consent())
