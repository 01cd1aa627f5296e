"""The policy file's contract: a declarative, versioned privacy policy any company can replace.

Cross-references (categories, items, purposes, legal bases, consignees) are checked when the file loads,
so a broken policy never reaches a stage.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
DataKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
"""A data category or item name: referable as ``category.item``, so no dots or hyphens."""
DataRef = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62})?$")]
"""A whole data category (``log_information``) or one item of it (``log_information.ip_address``)."""
Article = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Marker = Annotated[str, StringConstraints(min_length=2, max_length=40)]
FieldPath = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62}){0,3}$")]
"""A payload field, nested fields joined by dots (``bank_account.account_number``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyVersion(_Strict):
    """One published version; in force from ``effective_from`` until the next one."""

    version: str = Field(min_length=1)
    published_on: date = Field(description="When users were notified (Art. 3.3, 9.2); not after effective_from.")
    effective_from: date
    note: str = ""


class DataSubject(_Strict):
    description: str
    article: Article


class DataItem(_Strict):
    description: str
    personally_identifiable: bool = Field(description="Can identify a person: never sent to a collection module.")


class DataCategory(_Strict):
    description: str
    article: Article
    items: dict[DataKey, DataItem] = Field(min_length=1)


class ExcludedContent(_Strict):
    """Content the policy promises never to collect (e-mail/chat/social-media texts, attachments)."""

    article: Article
    types: dict[Key, str] = Field(min_length=1)
    not_excluded: list[DataRef] = Field(default_factory=list, description="Look-alikes that are collected.")
    markers: list[Marker] = Field(
        default_factory=list,
        description="Key names that mark excluded content: found anywhere in a key, in any case and width "
        "(NFKC: full-width letters too), ignoring separators (emailBody, EMAIL_BODY).",
    )
    word_markers: list[Marker] = Field(
        default_factory=list,
        description="Key names that mark excluded content only as a whole word of a key (post, not postal_code).",
    )


class FieldRule(_Strict):
    """A payload field collected on some record types only (a title on a scheduler entry)."""

    item: DataRef
    record_types: list[Key] = Field(min_length=1, description="The record types on which the field is collected.")
    elsewhere: Literal["not_allowed", "excluded_content"] = Field(
        default="not_allowed",
        description="What the field is on any other record type, as its removal is evidenced: excluded_content "
        "where it can only be message or attachment content there (an e-mail's title is its subject).",
    )


class CollectionKindRule(_Strict):
    """The allow-list of one collection kind: payload field path -> ``category.item`` (or a record-type rule)."""

    article: Article
    record_type_field: DataKey | None = Field(
        default=None, description="The payload field naming the record type, for fields limited to record types."
    )
    fields: dict[FieldPath, DataRef | FieldRule] = Field(min_length=1)
    redact_identifiers: list[FieldPath] = Field(
        default_factory=list,
        description="Kept free-text fields checked for Japanese identifiers nobody meant to collect there (My "
        "Number, telephone numbers, postal codes, e-mail addresses): a field holding one is removed, with "
        "evidence identifier_in_free_text.",
    )
    flag_identifiers: list[FieldPath] = Field(
        default_factory=list,
        description="Kept free-text fields checked the same way, but kept: a hit is recorded as a flag (path and "
        "kinds of identifier found, never the value) for compliance staff to review.",
    )

    def item_of(self, path: str) -> str:
        """The ``category.item`` a field path is collected as."""
        rule = self.fields[path]
        return rule.item if isinstance(rule, FieldRule) else rule


class LegalBasis(_Strict):
    description: str
    article: Article
    third_party_exception: bool = Field(default=False, description="Allows provision without consent (Art. 4.1).")
    beyond_purposes: Article | None = Field(
        default=None,
        description="The article that lets a use or provision on this basis go beyond the purposes of use (APPI "
        "Art. 18(3)); unset, a use on this basis must still be one of the policy's purposes.",
    )


class DataEntry(_Strict):
    """A data entry of a purpose that only some of its data subjects' data may fill (Art. 3.1 table, row 3:
    "name, … of the person in charge at a Registered User", beside Allied Data of anyone analyzed)."""

    data: DataRef
    subjects: list[Key] = Field(min_length=1, description="The only data subjects whose data this entry covers.")


class Purpose(_Strict):
    """A purpose of use and exactly the data it may use, per data subject."""

    name: str
    article: Article
    legal_basis: Key
    sub_purposes: list[str] = Field(default_factory=list)
    data_subjects: list[Key] = Field(min_length=1, description="Every data subject the purpose covers.")
    data: list[DataRef | DataEntry] = Field(
        min_length=1,
        description="Categories (all items) or category.item entries; an entry with its own `subjects` covers "
        "only those data subjects' data.",
    )

    aggregate_only: bool = Field(default=False, description="Only non-identifying aggregates (Art. 3.4).")
    introduced_in: str | None = Field(default=None, description="The version that published this purpose.")
    fideslang_use: str | None = Field(
        default=None,
        description="The fideslang default-taxonomy data use this purpose is exported under (e.g. "
        "essential.service); needed only by `policy export --fideslang`.",
    )

    @property
    def refs(self) -> list[str]:
        """Every data reference the purpose names, for any of its subjects."""
        return [_ref(entry) for entry in self.data]

    def refs_for(self, subject: str) -> list[str]:
        """The data references the purpose may use of ``subject``'s data (none for a subject it does not cover)."""
        if subject not in self.data_subjects:
            return []
        return [_ref(e) for e in self.data if not isinstance(e, DataEntry) or subject in e.subjects]

    @property
    def subject_limits(self) -> dict[str, list[str]]:
        """Each data entry limited to some data subjects -> those subjects."""
        return {e.data: list(e.subjects) for e in self.data if isinstance(e, DataEntry)}


def _ref(entry: DataRef | DataEntry) -> str:
    return entry.data if isinstance(entry, DataEntry) else entry


class Statistics(_Strict):
    article: Article
    min_group_size: int = Field(ge=2)


class ThirdPartyProvision(_Strict):
    article: Article
    record_fields: dict[Key, Article] = Field(min_length=1)
    record_retention_years: int = Field(ge=1)


class Consignee(_Strict):
    name: str
    confidentiality_agreement: bool
    purposes: list[Key] = Field(min_length=1)


class Consignees(_Strict):
    article: Article
    registered: dict[Key, Consignee] = Field(default_factory=dict)


class CollectionModule(_Strict):
    name: str
    supplier: str
    privacy_policy: str = ""


class CollectionModules(_Strict):
    article: Article
    registered: dict[Key, CollectionModule] = Field(default_factory=dict)


class Service(_Strict):
    """An internal service of the controller that collects, uses or discloses data."""

    description: str = Field(min_length=1)
    owner: str = Field(default="", description="Team answerable for the service.")


class RightsRequestType(StrEnum):
    DISCLOSURE = "disclosure"
    CORRECTION = "correction"
    DELETION = "deletion"
    SUSPENSION_OF_USE = "suspension_of_use"


class Rights(_Strict):
    article: Article
    requests: list[RightsRequestType] = Field(min_length=1)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ViolationRule(_Strict):
    article: Article
    severity: Severity
    description: str


VIOLATION_CODES = frozenset(
    {
        "excluded_content",
        "unknown_purpose",
        "unknown_data",
        "purpose_not_in_force",
        "data_not_permitted_for_purpose",
        "subject_not_permitted_for_purpose",
        "statistics_not_aggregate",
        "third_party_without_consent",
        "provision_record_incomplete",
        "consignee_not_registered",
        "consignee_without_confidentiality",
        "consignee_outside_purpose",
        "module_not_registered",
        "module_receives_identifiable_data",
        "use_after_suspension",
        "use_after_deletion",
    }
)
"""Every code the decision engine raises; a policy must give each its article and severity."""


class Policy(_Strict):
    """A whole policy file."""

    policy_id: Key
    title: str
    controller: str
    timezone: str = Field(default="UTC", description="IANA zone in which version dates take effect.")
    versions: list[PolicyVersion] = Field(min_length=1)
    data_subjects: dict[Key, DataSubject] = Field(min_length=1)
    data_categories: dict[DataKey, DataCategory] = Field(min_length=1)
    excluded_content: ExcludedContent
    collection_kinds: dict[Key, CollectionKindRule]
    legal_bases: dict[Key, LegalBasis] = Field(min_length=1)
    purposes: dict[Key, Purpose] = Field(min_length=1)
    statistics: Statistics
    third_party_provision: ThirdPartyProvision
    consignees: Consignees
    collection_modules: CollectionModules
    rights: Rights
    services: dict[Key, Service] = Field(
        default_factory=dict,
        description="The controller's own services that emit events; any other source is reported as a gap.",
    )
    violations: dict[Key, ViolationRule] = Field(min_length=1)
    evidence_names: list[DataKey] = Field(
        default_factory=list,
        description="Names of fields a service may send that no kind collects (password, user_agent): a removal or "
        "a gap is evidenced by the name when its words are these names', the contract's field names' or the "
        "markers' words, and by '?' otherwise (a name made of other words could carry content or a person's id).",
    )

    def resolves(self, ref: str) -> bool:
        """True when ``ref`` names a known category or a known item of one."""
        category, _, item = ref.partition(".")
        known = self.data_categories.get(category)
        return known is not None and (not item or item in known.items)

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown IANA time zone '{self.timezone}'") from exc
        for index, (earlier, later) in enumerate(zip(self.versions, self.versions[1:], strict=False), start=1):
            if later.effective_from <= earlier.effective_from:
                raise ValueError(
                    f"versions.{index}.effective_from: must be after the previous version's effective_from"
                )
        for index, version in enumerate(self.versions):
            if version.published_on > version.effective_from:
                raise ValueError(
                    f"versions.{index}.published_on: published after effective_from (Art. 3.3 requires notice first)"
                )
        version_names = {v.version for v in self.versions}
        for ref in self.excluded_content.not_excluded:
            if not self.resolves(ref):
                raise ValueError(f"excluded_content.not_excluded: unknown data '{ref}'")
        for kind, rule in self.collection_kinds.items():
            checked = (("redact_identifiers", rule.redact_identifiers), ("flag_identifiers", rule.flag_identifiers))
            for name, paths in checked:
                for index, path in enumerate(paths):
                    where = f"collection_kinds.{kind}.{name}.{index}"
                    if path not in rule.fields:
                        raise ValueError(f"{where}: '{path}' is not a kept field")
                    if name == "flag_identifiers" and path in rule.redact_identifiers:
                        raise ValueError(f"{where}: '{path}' is already redacted")
            for field in rule.fields:
                ref = rule.item_of(field)
                if "." not in ref or not self.resolves(ref):
                    raise ValueError(f"collection_kinds.{kind}.fields.{field}: unknown data item '{ref}'")
                if isinstance(rule.fields[field], FieldRule) and rule.record_type_field is None:
                    raise ValueError(
                        f"collection_kinds.{kind}.fields.{field}: record_types need the kind's record_type_field"
                    )
        for key, purpose in self.purposes.items():
            if purpose.legal_basis not in self.legal_bases:
                raise ValueError(f"purposes.{key}.legal_basis: unknown legal basis '{purpose.legal_basis}'")
            for index, entry in enumerate(purpose.data):
                ref = _ref(entry)
                if not self.resolves(ref):
                    raise ValueError(f"purposes.{key}.data.{index}: unknown data category or item '{ref}'")
                limit = entry.subjects if isinstance(entry, DataEntry) else []
                outside = sorted(set(limit) - set(purpose.data_subjects))
                if outside:
                    raise ValueError(
                        f"purposes.{key}.data.{index}.subjects: '{outside[0]}' is not a data subject of the purpose"
                    )
            for index, subject in enumerate(purpose.data_subjects):
                if subject not in self.data_subjects:
                    raise ValueError(f"purposes.{key}.data_subjects.{index}: unknown data subject '{subject}'")
            if purpose.introduced_in is not None and purpose.introduced_in not in version_names:
                raise ValueError(f"purposes.{key}.introduced_in: unknown version '{purpose.introduced_in}'")
        missing_rules = sorted(VIOLATION_CODES - set(self.violations))
        if missing_rules:
            raise ValueError(f"violations: no article and severity for {', '.join(missing_rules)}")
        for key, consignee in self.consignees.registered.items():
            for purpose_key in consignee.purposes:
                if purpose_key not in self.purposes:
                    raise ValueError(f"consignees.registered.{key}.purposes: unknown purpose '{purpose_key}'")
        return self
