"""Contracts of what happens to data after collection: uses, disclosures, consents and rights requests.

Services emit all four to ``activity.v1``, keyed by subject (one partition orders a subject's events); the
purpose monitor decides each use and disclosure against the policy with the consent and suspension state they
build up.
Subject ids are pseudonymized before anything is stored, exactly as for collection events.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.decisions import (
    Aggregate,
    ContentTypes,
    DataTerms,
    Recipient,
    RecipientKind,
    RecordText,
    Term,
    at_most,
)
from schemas.events import Moment, Reference, Subject
from schemas.policy import RightsRequestType

USE_SPEC = "rakuro.use/v1"
DISCLOSURE_SPEC = "rakuro.disclosure/v1"
CONSENT_SPEC = "rakuro.consent/v1"
RIGHTS_SPEC = "rakuro.rights/v1"

MAX_CONSENT_PURPOSES = 64
"""Purposes one consent may name (kept with the consent in the monitor's state)."""

MAX_CONSENT_PURPOSES_CHARS = 1024
"""Characters the purposes of one consent may total (16 an entry at 64). Each is read for encoded text and kept
in every change of the consent's timeline: 64 purposes of 63 characters cost the monitor 50-61 ms an event and
4 KB a change (nineteenth red-team pass)."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(description="Unique per event; the idempotency key of the store.")
    occurred_at: Moment = Field(
        description="When it happened: a point between 1970 and 9999 in UTC; the monitor refuses one more than "
        "its clock skew after it received the event (occurred_in_future)."
    )
    tenant_id: Reference = Field(
        description="The Registered User (a company) the data belongs to, as in its collection events; never a "
        "mailbox: it is copied into alerts and rows."
    )
    source_service: Reference = Field(
        description="The service or job acting on the data (the actor); one the policy's service register does "
        "not list is reported as a gap."
    )
    subject: Subject


class UseEvent(_Event):
    """Rakuro's own use of a subject's data for a purpose (Art. 3)."""

    spec: Literal["rakuro.use/v1"]
    purpose: Term
    data: DataTerms = Field(description="Categories or category.item entries used.")
    content_types: ContentTypes = Field(default_factory=list, description="Message content involved, if any.")
    aggregate: Aggregate | None = Field(default=None, description="For statistics: what the output aggregates.")


class ExternalRecipient(Recipient):
    """Whom a disclosure goes to: never Rakuro itself (data that stays inside is a use)."""

    kind: Literal[RecipientKind.THIRD_PARTY, RecipientKind.CONSIGNEE, RecipientKind.COLLECTION_MODULE]


class DisclosureEvent(_Event):
    """Data leaving Rakuro: to a third party (Art. 4), a consignee (Art. 5) or a collection module (Art. 6)."""

    spec: Literal["rakuro.disclosure/v1"]
    purpose: Term
    data: DataTerms
    content_types: ContentTypes = Field(default_factory=list)
    recipient: ExternalRecipient
    recipient_name: RecordText | None = Field(default=None, description="Art. 4.2(2): the third party's name.")
    recipient_address_or_representative: RecordText | None = Field(default=None, description="Art. 4.2(2).")
    legal_basis: Term | None = Field(default=None, description="consent, or one of the Art. 4.1 exceptions.")
    consent_reference: Reference | None = None
    aggregate: Aggregate | None = None


class ConsentAction(StrEnum):
    GRANT = "grant"
    WITHDRAW = "withdraw"


class ConsentEvent(_Event):
    """A subject's consent to provision to a third party being given or withdrawn (Art. 4.1)."""

    spec: Literal["rakuro.consent/v1"]
    action: ConsentAction
    consent_reference: Reference
    recipient_id: Reference = Field(description="The third party the consent is for.")
    purposes: Annotated[list[Term], at_most(MAX_CONSENT_PURPOSES, MAX_CONSENT_PURPOSES_CHARS)] = Field(
        default_factory=list, max_length=MAX_CONSENT_PURPOSES, description="Empty means every purpose of the provision."
    )


class RightsRequestEvent(_Event):
    """A disclosure, correction, deletion or suspension-of-use request (Art. 8), or lifting a suspension."""

    spec: Literal["rakuro.rights/v1"]
    request: RightsRequestType
    lifted: bool = Field(
        default=False,
        description="True when a suspension of use is lifted; refused on any other request (a deletion is never "
        "lifted).",
    )

    @field_validator("lifted")
    @classmethod
    def _only_a_suspension_is_lifted(cls, lifted: bool, info: ValidationInfo) -> bool:
        # Fifth red-team pass: a "lifted" deletion undid the deletion, and uses after it were allowed.
        if lifted and info.data.get("request") is not RightsRequestType.SUSPENSION_OF_USE:
            raise PydanticCustomError("only_a_suspension_is_lifted", "only a suspension of use is lifted")
        return lifted
