"""The purpose-limitation report of a period: what was collected, used and disclosed, for which purposes.

Evidence counts only: no payload value, no subject id, no pseudonym appears in a report.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.reports.period import as_utc

REPORT_SPEC = "purpose-lineage.report/v1"

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""An instant in UTC; the store hands back naive UTC times, the API ISO text: both read the same."""

Count = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(StrEnum):
    """How much of a data category the policy lets a purpose use (Art. 3.1 table)."""

    ALL = "all"
    SOME = "some"
    NONE = "none"


class PolicyVersionInForce(_Section):
    version: str
    published_on: date
    effective_from: date
    note: str = ""


class ReportHeader(_Section):
    policy_id: str
    title: str
    controller: str
    timezone: str = Field(description="The zone in which policy versions take effect (at midnight).")
    versions_in_force: list[PolicyVersionInForce] = Field(
        description="Every policy version in force at some instant of the period, oldest first."
    )
    period_start: UtcDatetime = Field(description="Inclusive.")
    period_end: UtcDatetime = Field(description="Exclusive.")
    tenant: str | None = Field(description="The one Registered User reported on; null: every tenant.")
    generated_at: UtcDatetime


class PurposeActivity(_Section):
    """One purpose: what the policy says about it and what happened under it in the period."""

    purpose: str
    in_policy: bool = Field(description="False for a purpose events named that the policy does not state (a gap).")
    name: str | None = None
    article: str | None = None
    legal_basis: str | None = None
    aggregate_only: bool = False
    subject_limits: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Data entries the purpose may use only of some data subjects: entry -> those subjects.",
    )
    collected_events: Count = 0
    collected_subjects: Count = 0

    @property
    def subject_limit_notes(self) -> list[str]:
        """The per-entry subject limits in words, for the rendered report."""
        return [f"{entry} of {', '.join(subjects)} only" for entry, subjects in self.subject_limits.items()]

    uses_allowed: Count = 0
    uses_denied: Count = 0
    disclosures_allowed: Count = 0
    disclosures_denied: Count = 0
    violations: Count = 0

    @property
    def active(self) -> bool:
        """True when anything was collected, used or disclosed for this purpose in the period."""
        counts = (self.collected_events, self.uses_allowed, self.uses_denied)
        return any((*counts, self.disclosures_allowed, self.disclosures_denied))


class CollectionCell(_Section):
    """Collected records of one data category tagged with one purpose."""

    data_category: str | None = Field(description="Null: the record kept no data.")
    purpose: str | None = Field(description="Null: no purpose of the policy may use the record's data.")
    scope: Scope = Field(description="How much of the category the policy lets the purpose use.")
    events: Count
    subjects: Count


class KindTotal(_Section):
    kind: str
    events: Count
    subjects: Count
    removed_fields: Count


class RemovalCount(_Section):
    reason: str = Field(description="not_allowed, excluded_content; unrecorded for records older than reasons.")
    fields: Count
    events: Count


class CollectionSection(_Section):
    events: Count
    subjects: Count
    removed_fields: Count
    by_category_and_purpose: list[CollectionCell]
    by_kind: list[KindTotal]
    removed_by_reason: list[RemovalCount]


class ActivityCell(_Section):
    """Decided uses or disclosures of one data category for one purpose."""

    activity: str = Field(description="use or disclosure")
    data_category: str
    purpose: str
    allowed: Count
    denied: Count
    subjects: Count


class RecipientCount(_Section):
    recipient_kind: str
    recipient_id: str
    name: str | None = Field(default=None, description="The registered name (consignees and modules).")
    registered: bool | None = Field(default=None, description="In the policy's register; null: no register.")
    article: str | None = None
    allowed: Count
    denied: Count
    subjects: Count


class LegalBasisCount(_Section):
    """Provisions to third parties allowed on one legal basis: consent, or an Art. 4.1 exception."""

    legal_basis: str
    description: str | None = None
    article: str | None = None
    without_consent: bool = Field(default=False, description="An Art. 4.1 exception: provided without consent.")
    beyond_purposes: str | None = Field(
        default=None, description="The article that let it go beyond the purposes of use, if the basis does."
    )
    provisions: Count
    subjects: Count


class ActivitySection(_Section):
    by_category_and_purpose: list[ActivityCell]
    by_recipient: list[RecipientCount]
    third_parties_by_legal_basis: list[LegalBasisCount] = Field(default_factory=list)


class ViolationGroup(_Section):
    code: str
    severity: str
    article: str
    actor: str
    purpose: str
    recipient_id: str
    count: Count
    subjects: Count
    first_occurred_at: UtcDatetime
    last_occurred_at: UtcDatetime


class GapGroup(_Section):
    stream: str = Field(description="collection, use or disclosure")
    gap: str = Field(description="service, purpose or data")
    name: str
    events: Count
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    services: list[str]


class DeadLetterCount(_Section):
    stage: str
    reason: str
    count: Count
    payload_bytes: Count
    first_dead_lettered_at: UtcDatetime
    last_dead_lettered_at: UtcDatetime


class ProvisionCount(_Section):
    recipient_id: str
    recipient_name: str
    records: Count
    subjects: Count
    data_items: list[str]


class ProvisionSection(_Section):
    article: str
    retention_years: int
    records: Count
    by_recipient: list[ProvisionCount]


class PurposeReport(_Section):
    """The purpose-limitation report of one period (and optionally one tenant)."""

    spec: str = REPORT_SPEC
    header: ReportHeader
    purposes: list[PurposeActivity] = Field(description="Every purpose of the policy, then any unknown one.")
    collections: CollectionSection
    uses_and_disclosures: ActivitySection
    violations: list[ViolationGroup]
    gaps: list[GapGroup]
    dead_letters: list[DeadLetterCount] = Field(
        description="Of every tenant: a dead letter keeps no payload, so it cannot be attributed to one."
    )
    provisions: ProvisionSection
