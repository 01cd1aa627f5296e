"""The policy file's contract: a declarative, versioned privacy policy any company can replace."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Article = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyVersion(_Strict):
    """One published version of the policy; in force from ``effective_from`` until the next one."""

    version: str = Field(min_length=1)
    effective_from: date
    note: str = ""


class DataSubject(_Strict):
    description: str
    article: Article


class DataCategory(_Strict):
    description: str
    article: Article


class CollectionKindRule(_Strict):
    """The allow-list of one collection kind: payload field -> data category."""

    article: Article
    fields: dict[Key, Key] = Field(min_length=1)


class LegalBasis(_Strict):
    description: str
    article: Article


class Purpose(_Strict):
    """A purpose of use and exactly the data it may use."""

    name: str
    article: Article
    legal_basis: Key
    sub_purposes: list[str] = Field(default_factory=list)
    data_subjects: list[Key] = Field(min_length=1)
    data_categories: list[Key] = Field(min_length=1)


class Policy(_Strict):
    """A whole policy file. Cross-references are checked here so a broken file never loads."""

    policy_id: Key
    title: str
    controller: str
    timezone: str = Field(
        default="UTC", description="IANA zone in which version dates take effect (the controller's own)."
    )
    versions: list[PolicyVersion] = Field(min_length=1)
    data_subjects: dict[Key, DataSubject] = Field(min_length=1)
    data_categories: dict[Key, DataCategory] = Field(min_length=1)
    collection_kinds: dict[Key, CollectionKindRule]
    legal_bases: dict[Key, LegalBasis] = Field(min_length=1)
    purposes: dict[Key, Purpose] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown IANA time zone '{self.timezone}'") from exc
        dates = [v.effective_from for v in self.versions]
        if dates != sorted(set(dates)):
            raise ValueError("versions must be listed in strictly increasing effective_from order")
        for kind, rule in self.collection_kinds.items():
            for field, category in rule.fields.items():
                if category not in self.data_categories:
                    raise ValueError(f"collection_kinds.{kind}.fields.{field}: unknown data category '{category}'")
        for key, purpose in self.purposes.items():
            if purpose.legal_basis not in self.legal_bases:
                raise ValueError(f"purposes.{key}.legal_basis: unknown legal basis '{purpose.legal_basis}'")
            for category in purpose.data_categories:
                if category not in self.data_categories:
                    raise ValueError(f"purposes.{key}.data_categories: unknown data category '{category}'")
            for subject in purpose.data_subjects:
                if subject not in self.data_subjects:
                    raise ValueError(f"purposes.{key}.data_subjects: unknown data subject '{subject}'")
        return self
