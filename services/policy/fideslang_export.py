"""The policy as fideslang resources: its taxonomy, and a fideslang ``Policy`` of what it forbids.

Data categories hang under fideslang's default ``user`` category (``P`` is the policy id, e.g. ``rakuro``):

====================================  ============================================  ===========================
resource                              fides_key                                     parent_key
====================================  ============================================  ===========================
the policy's own data                 ``user.P``                                    ``user`` (default taxonomy)
a data category (Art. 2.1)            ``user.P.<category>``                         ``user.P``
an item of it                         ``user.P.<category>.<item>``                  ``user.P.<category>``
excluded content (Art. 2.1(2))        ``user.P.excluded_content``                   ``user.P``
one excluded content type             ``user.P.excluded_content.<type>``            ``user.P.excluded_content``
====================================  ============================================  ===========================

Purposes become data uses under the default-taxonomy use the policy file names for each (``fideslang_use``), keyed
``<parent>.P_<purpose>``, e.g. ``marketing.communications.rakuro_related_service_notification``:

============================  =============================================================
purpose (rakuro.yaml)         parent_key (default taxonomy)
============================  =============================================================
service_provision             ``essential.service``
user_notification             ``essential.service.notifications``
related_service_notification  ``marketing.communications``
statistics                    ``analytics.reporting``
a purpose without one         ``P``, a root data use emitted for them (key ``P.<purpose>``)
============================  =============================================================

Data subjects become ``P.<subject>`` with the Art. 8 rights in fideslang's terms.

The fideslang ``Policy`` (key ``P``) has one rule per prohibition fideslang can express. A rule is violated by a
privacy declaration whose categories, use and subjects all match it; ``OTHER`` over no values matches any value.

- ``excluded_content``: excluded content, whatever the use and subject.
- ``subject_not_permitted_for_purpose.<purpose>``: any data, for that use, of a subject the purpose does not cover.
- ``data_not_permitted_for_purpose.<purpose>``: data the purpose does not list, for that use, of any subject.

Left to the decider because fideslang cannot say them: aggregate-only statistics (Art. 3.4), consent and records of
third-party provision (Art. 4), consignees (Art. 5), collection modules (Art. 6), suspension and deletion (Art. 8)
and which version was in force (Art. 3.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from fideslang.models import DataCategory, DataSubject, DataUse, FidesModel, Policy
from pydantic import ValidationError

from schemas.policy import DataEntry, RightsRequestType
from schemas.policy import Policy as LineagePolicy
from services.errors import LineageError

Document = dict[str, list[dict[str, Any]]]

RIGHTS: Mapping[RightsRequestType, str] = {
    RightsRequestType.DISCLOSURE: "Access",
    RightsRequestType.CORRECTION: "Rectification",
    RightsRequestType.DELETION: "Erasure",
    RightsRequestType.SUSPENSION_OF_USE: "Restrict Processing",
}
"""Art. 8 requests -> fideslang's ``DataSubjectRightsEnum`` values."""

EXCLUDED_CONTENT = "excluded_content"

_MODELS: Mapping[str, type[FidesModel]] = {
    "data_category": DataCategory,
    "data_use": DataUse,
    "data_subject": DataSubject,
    "policy": Policy,
}


class FideslangExportError(LineageError, ValueError):
    """The exported document is not valid fideslang; the message names each resource and its problem."""


def category_key(policy: LineagePolicy, ref: str = "") -> str:
    """The fides_key of the policy's data root, of a category (``log_information``) or of an item (``a.b``)."""
    return ".".join(part for part in ("user", policy.policy_id, ref) if part)


def use_key(policy: LineagePolicy, purpose: str) -> str:
    """The fides_key of the data use a purpose becomes."""
    parent = policy.purposes[purpose].fideslang_use if purpose in policy.purposes else None
    return f"{parent}.{policy.policy_id}_{purpose}" if parent else f"{policy.policy_id}.{purpose}"


def subject_key(policy: LineagePolicy, subject: str) -> str:
    """The fides_key of the data subject a policy subject becomes."""
    return f"{policy.policy_id}.{subject}"


def _category(key: str, parent: str, name: str, description: str, tags: list[str] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"fides_key": key, "name": name, "description": description, "parent_key": parent}
    if tags:
        resource["tags"] = tags
    return resource


def _data_categories(policy: LineagePolicy) -> list[dict[str, Any]]:
    root = category_key(policy)
    resources = [_category(root, "user", policy.title, f"Data collected under {policy.controller}'s {policy.title}")]
    for name, category in policy.data_categories.items():
        key = category_key(policy, name)
        resources.append(_category(key, root, category.description, f"{category.description} ({category.article})"))
        for item_name, item in category.items.items():
            identifying = ["personally_identifiable"] if item.personally_identifiable else None
            description = f"{category.description}: {item.description} ({category.article})"
            resources.append(_category(f"{key}.{item_name}", key, item.description, description, identifying))
    excluded = policy.excluded_content
    excluded_key = category_key(policy, EXCLUDED_CONTENT)
    collected = f"; collected although alike: {', '.join(excluded.not_excluded)}" if excluded.not_excluded else ""
    resources.append(
        _category(
            excluded_key,
            root,
            "Excluded content",
            f"Never collected, used or disclosed ({excluded.article}){collected}",
            ["never_collected"],
        )
    )
    for content_type, description in excluded.types.items():
        resources.append(
            _category(f"{excluded_key}.{content_type}", excluded_key, description, description, ["never_collected"])
        )
    return resources


def _data_uses(policy: LineagePolicy) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    if any(purpose.fideslang_use is None for purpose in policy.purposes.values()):
        resources.append({"fides_key": policy.policy_id, "name": policy.title, "description": "Other purposes of use"})
    for key, purpose in policy.purposes.items():
        fides_key = use_key(policy, key)
        basis = policy.legal_bases[purpose.legal_basis]
        description = f"{purpose.article}. Legal basis: {purpose.legal_basis} ({basis.description}, {basis.article})."
        if purpose.sub_purposes:
            description += " " + " ".join(f"{sub}." for sub in purpose.sub_purposes)
        tags = [f"legal_basis:{purpose.legal_basis}"] + (["aggregate_only"] if purpose.aggregate_only else [])
        resources.append(
            {
                "fides_key": fides_key,
                "name": purpose.name,
                "description": description,
                "parent_key": fides_key.rpartition(".")[0],
                "tags": tags,
            }
        )
    return resources


def _data_subjects(policy: LineagePolicy) -> list[dict[str, Any]]:
    return [
        {
            "fides_key": subject_key(policy, key),
            "name": subject.description,
            "description": f"{subject.description} ({subject.article}); rights: {policy.rights.article}",
            "rights": {"strategy": "INCLUDE", "values": [RIGHTS[request] for request in policy.rights.requests]},
        }
        for key, subject in policy.data_subjects.items()
    ]


def _matches(how: str, values: list[str] | None = None) -> dict[str, Any]:
    """A fresh fideslang PrivacyRule; ``OTHER`` over no values matches any declared value."""
    return {"matches": how, "values": values or []}


def _rule(name: str, categories: dict[str, Any], uses: dict[str, Any], subjects: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "data_categories": categories, "data_uses": uses, "data_subjects": subjects}


def _policy(policy: LineagePolicy) -> dict[str, Any]:
    # Fresh dicts everywhere: a shared one would come out of YAML as an anchor and an alias.
    rules = [
        _rule(
            EXCLUDED_CONTENT,
            _matches("ANY", [category_key(policy, EXCLUDED_CONTENT)]),
            _matches("OTHER"),
            _matches("OTHER"),
        )
    ]
    for key, purpose in policy.purposes.items():
        covered = [subject_key(policy, subject) for subject in purpose.data_subjects]
        permitted = [category_key(policy, ref) for ref in purpose.refs]
        rules.append(
            _rule(
                f"subject_not_permitted_for_purpose.{key}",
                _matches("OTHER"),
                _matches("ANY", [use_key(policy, key)]),
                _matches("OTHER", covered),
            )
        )
        rules.append(
            _rule(
                f"data_not_permitted_for_purpose.{key}",
                _matches("OTHER", permitted),
                _matches("ANY", [use_key(policy, key)]),
                _matches("OTHER"),
            )
        )
        for index, entry in enumerate(purpose.data):
            if isinstance(entry, DataEntry):  # data of this entry, for this use, of any other subject
                rules.append(
                    _rule(
                        f"subject_not_permitted_for_purpose.{key}.{index}",
                        _matches("ANY", [category_key(policy, entry.data)]),
                        _matches("ANY", [use_key(policy, key)]),
                        _matches("OTHER", [subject_key(policy, subject) for subject in entry.subjects]),
                    )
                )
    current = policy.versions[-1]
    return {
        "fides_key": policy.policy_id,
        "name": policy.title,
        "description": f"{policy.controller}; version {current.version} effective from {current.effective_from}",
        "rules": sorted(rules, key=lambda rule: str(rule["name"])),  # fideslang sorts them too: keep output stable
    }


def to_fideslang(policy: LineagePolicy) -> Document:
    """The policy as a fideslang manifest: ``{data_category, data_use, data_subject, policy}`` lists of dicts."""
    return {
        "data_category": _data_categories(policy),
        "data_use": _data_uses(policy),
        "data_subject": _data_subjects(policy),
        "policy": [_policy(policy)],
    }


def _describe(exc: ValidationError) -> str:
    return ", ".join(
        f"{'.'.join(str(part) for part in err['loc']) or '(resource)'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)
    )


def _known_keys(parsed: Mapping[str, Sequence[FidesModel]], resource_type: str) -> set[str]:
    defaults: Sequence[FidesModel] = getattr(DEFAULT_TAXONOMY, resource_type)
    return {r.fides_key for r in defaults} | {r.fides_key for r in parsed.get(resource_type, [])}


def _reference_problems(parsed: Mapping[str, Sequence[FidesModel]]) -> list[str]:
    """Duplicate keys, parents and rule values that resolve neither in the document nor in the default taxonomy."""
    problems: list[str] = []
    known = {resource_type: _known_keys(parsed, resource_type) for resource_type in _MODELS}
    for resource_type, resources in parsed.items():
        seen: set[str] = set()
        for resource in resources:
            if resource.fides_key in seen:
                problems.append(f"{resource_type} {resource.fides_key}: duplicate fides_key")
            seen.add(resource.fides_key)
            parent = getattr(resource, "parent_key", None)
            if parent is not None and parent not in known[resource_type]:
                problems.append(f"{resource_type} {resource.fides_key}: unknown parent_key '{parent}'")
    for policy in (resource for resource in parsed.get("policy", []) if isinstance(resource, Policy)):
        for rule in policy.rules:
            for resource_type, privacy_rule in (
                ("data_category", rule.data_categories),
                ("data_use", rule.data_uses),
                ("data_subject", rule.data_subjects),
            ):
                problems.extend(
                    f"policy {policy.fides_key} rule {rule.name}: unknown {resource_type} '{value}'"
                    for value in privacy_rule.values
                    if value not in known[resource_type]
                )
    return problems


def validate_fideslang(document: Mapping[str, Sequence[Any]]) -> None:
    """Load every resource with fideslang's own models and check references; raise FideslangExportError if any fails."""
    problems = [f"{name}: not a fideslang resource type" for name in document if name not in _MODELS]
    parsed: dict[str, list[FidesModel]] = {}
    for resource_type, model in _MODELS.items():
        for index, resource in enumerate(document.get(resource_type, [])):
            key = resource.get("fides_key", "?") if isinstance(resource, Mapping) else "?"
            try:
                parsed.setdefault(resource_type, []).append(model.model_validate(resource))
            except ValidationError as exc:
                problems.append(f"{resource_type}[{index}] {key}: {_describe(exc)}")
    problems.extend(_reference_problems(parsed))
    if problems:
        raise FideslangExportError("; ".join(problems))
