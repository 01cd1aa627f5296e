"""to_fideslang / validate_fideslang: every policy term becomes a valid fideslang resource whose references resolve,
and the exported rules forbid what the decider forbids."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from fideslang.models import Taxonomy
from fideslang.parse import load_manifests_into_taxonomy
from fideslang.relationships import get_referenced_missing_keys
from fideslang.validation import validate_fides_key

from schemas.policy import Policy
from services.policy.fideslang_export import (
    FideslangExportError,
    to_fideslang,
    validate_fideslang,
)


@pytest.fixture(scope="module")
def document(policy) -> dict[str, list[dict[str, Any]]]:
    return to_fideslang(policy)


def keys(document, resource_type: str) -> list[str]:
    return [resource["fides_key"] for resource in document[resource_type]]


def test_the_document_has_fideslangs_manifest_layout(document):
    assert list(document) == ["data_category", "data_use", "data_subject", "policy"]


def test_every_category_item_and_excluded_content_type_is_a_data_category(document, policy):
    exported = set(keys(document, "data_category"))

    for name, category in policy.data_categories.items():
        assert f"user.rakuro.{name}" in exported
        assert {f"user.rakuro.{name}.{item}" for item in category.items} <= exported
    assert {f"user.rakuro.excluded_content.{kind}" for kind in policy.excluded_content.types} <= exported


def test_every_purpose_is_a_data_use_under_its_default_taxonomy_parent(document, policy):
    uses = {resource["fides_key"]: resource for resource in document["data_use"]}

    assert set(uses) == {f"{purpose.fideslang_use}.rakuro_{key}" for key, purpose in policy.purposes.items()}
    assert uses["marketing.communications.rakuro_related_service_notification"]["parent_key"] == (
        "marketing.communications"
    )


def test_every_data_subject_is_exported_with_its_art_8_rights(document, policy):
    subjects = {resource["fides_key"]: resource for resource in document["data_subject"]}

    assert set(subjects) == {f"rakuro.{key}" for key in policy.data_subjects}
    for subject in subjects.values():
        assert subject["rights"]["values"] == ["Access", "Rectification", "Erasure", "Restrict Processing"]


def test_every_key_is_a_valid_fides_key(document):
    for resource_type in ("data_category", "data_use", "data_subject", "policy"):
        for key in keys(document, resource_type):
            assert validate_fides_key(key) == key


def test_parents_resolve_within_the_document_or_the_default_taxonomy(document):
    for resource_type in ("data_category", "data_use"):
        known = set(keys(document, resource_type)) | {r.fides_key for r in getattr(DEFAULT_TAXONOMY, resource_type)}
        for resource in document[resource_type]:
            assert resource["parent_key"] in known, resource["fides_key"]


def test_fideslang_finds_no_missing_reference_once_merged_with_its_default_taxonomy(document, policy):
    exported = load_manifests_into_taxonomy(document)
    merged = Taxonomy(
        data_category=exported.data_category + DEFAULT_TAXONOMY.data_category,
        data_use=exported.data_use + DEFAULT_TAXONOMY.data_use,
        data_subject=exported.data_subject + DEFAULT_TAXONOMY.data_subject,
        policy=exported.policy,
        organization=DEFAULT_TAXONOMY.organization,
    )

    assert get_referenced_missing_keys(merged) == set()
    # Alone, the document references only the default-taxonomy parents it hangs under.
    assert get_referenced_missing_keys(exported) == {
        "user",
        "default_organization",
        *(purpose.fideslang_use for purpose in policy.purposes.values()),
    }


def test_the_export_of_the_shipped_policy_validates(document):
    validate_fideslang(document)


def test_a_purpose_without_a_fideslang_use_gets_a_root_data_use_of_the_policy(policy):
    raw = policy.model_dump(mode="json")
    raw["purposes"]["payroll_export"] = {
        **raw["purposes"]["service_provision"], "name": "Payroll export", "fideslang_use": None,
    }  # fmt: skip
    document = to_fideslang(Policy.model_validate(raw))

    uses = {resource["fides_key"]: resource.get("parent_key") for resource in document["data_use"]}
    assert uses["rakuro"] is None
    assert uses["rakuro.payroll_export"] == "rakuro"
    validate_fideslang(document)


def broken(document, edit) -> str:
    changed = copy.deepcopy(document)
    edit(changed)
    with pytest.raises(FideslangExportError) as caught:
        validate_fideslang(changed)
    return str(caught.value)


def test_an_invalid_fides_key_is_refused_naming_the_resource(document):
    def edit(doc):
        doc["data_subject"][0]["fides_key"] = "rakuro person in charge"

    assert "data_subject[0] rakuro person in charge: fides_key:" in broken(document, edit)


def test_a_parent_key_that_does_not_match_the_key_is_refused(document):
    def edit(doc):
        doc["data_category"][1]["parent_key"] = "user"

    assert "data_category[1] user.rakuro.user_information: parent_key:" in broken(document, edit)


def test_an_unknown_parent_is_refused(document):
    def edit(doc):
        doc["data_use"][0].update(fides_key="nowhere.rakuro_service_provision", parent_key="nowhere")

    assert "unknown parent_key 'nowhere'" in broken(document, edit)


def test_a_rule_value_that_resolves_nowhere_is_refused(document):
    def edit(doc):
        doc["policy"][0]["rules"][0]["data_uses"]["values"] = ["marketing.telepathy"]

    assert "unknown data_use 'marketing.telepathy'" in broken(document, edit)


def test_a_duplicate_key_and_an_unknown_resource_type_are_refused(document):
    def edit(doc):
        doc["data_subject"].append(dict(doc["data_subject"][0]))
        doc["dataset_of_doom"] = []

    message = broken(document, edit)
    assert "duplicate fides_key" in message
    assert "dataset_of_doom: not a fideslang resource type" in message


# The rules are checked the way fides evaluates a privacy declaration (ethyca/fides, fides/core/evaluate.py): each
# declared key stands for itself and its ancestors; a rule is violated when its three PrivacyRules all match.


def _parents(document) -> dict[str, str | None]:
    parents: dict[str, str | None] = {}
    for resource_type in ("data_category", "data_use"):
        parents.update({r.fides_key: r.parent_key for r in getattr(DEFAULT_TAXONOMY, resource_type)})
        parents.update({r["fides_key"]: r.get("parent_key") for r in document[resource_type]})
    return parents


def _offending(privacy_rule, declared: list[list[str]]) -> set[str]:
    matched = {chain[0] for chain in declared if set(chain) & set(privacy_rule["values"])}
    mismatched = {chain[0] for chain in declared} - matched
    match privacy_rule["matches"]:
        case "ANY":
            return matched
        case "NONE":
            return mismatched if not matched else set()
        case "OTHER":
            return mismatched
    raise AssertionError(privacy_rule["matches"])


def violated_rules(document, categories: list[str], use: str, subjects: list[str]) -> set[str]:
    parents = _parents(document)

    def chain(key: str) -> list[str]:
        keys = [key]
        while (parent := parents.get(keys[-1])) is not None:
            keys.append(parent)
        return keys

    return {
        rule["name"]
        for rule in document["policy"][0]["rules"]
        if _offending(rule["data_categories"], [chain(c) for c in categories])
        and _offending(rule["data_uses"], [chain(use)])
        and _offending(rule["data_subjects"], [[s] for s in subjects])
    }


MARKETING = "marketing.communications.rakuro_related_service_notification"


@pytest.mark.parametrize(
    ("categories", "use", "subjects", "violated"),
    [
        (["user.rakuro.user_information.email_address"], MARKETING, ["rakuro.person_in_charge"], set()),
        (
            ["user.rakuro.user_information.email_address"],
            MARKETING,
            ["rakuro.analyzed_account_holder"],
            {"subject_not_permitted_for_purpose.related_service_notification.2"},  # the e-mail entry's limit
        ),
        (["user.rakuro.allied_data.computer_login_history"], MARKETING, ["rakuro.analyzed_account_holder"], set()),
        (
            ["user.rakuro.user_information.bank_account_information"],
            MARKETING,
            ["rakuro.person_in_charge"],
            {"data_not_permitted_for_purpose.related_service_notification"},
        ),
        (["user.rakuro.allied_data.scheduler_title"], MARKETING, ["rakuro.person_in_charge"], set()),
        (
            ["user.rakuro.log_information", "user.rakuro.cookie.cookie_id"],
            "essential.service.rakuro_service_provision",
            ["rakuro.analyzed_account_holder"],
            set(),
        ),
        (
            ["user.rakuro.excluded_content.email_body"],
            "essential.service.rakuro_service_provision",
            ["rakuro.person_in_charge"],
            {"excluded_content", "data_not_permitted_for_purpose.service_provision"},
        ),
        (["user.rakuro.excluded_content.attachment_content"], "collect", ["customer"], {"excluded_content"}),
    ],
    ids=[
        "marketing-to-person-in-charge",
        "marketing-to-analyzed-account-holder",
        "marketing-with-an-analyzed-account-holders-allied-data",
        "marketing-with-bank-account",
        "marketing-with-allied-data",
        "service-provision-with-logs",
        "excluded-content-in-service-provision",
        "excluded-content-for-any-use-and-subject",
    ],
)
def test_the_exported_rules_forbid_what_the_policy_forbids(document, categories, use, subjects, violated):
    assert violated_rules(document, categories, use, subjects) == violated
