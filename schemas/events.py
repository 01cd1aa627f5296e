"""Collection event contract, version 1: an envelope plus a payload typed per kind.

Attendance microservices emit one JSON object per event to ``collection.<kind>.v1``.
Payload models accept unknown keys on purpose: minimization, not validation, decides
what is kept, so that a field the policy does not allow is removed *with evidence*
instead of failing the whole event.
"""

from __future__ import annotations

import socket
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SPEC = "rakuro.collection/v1"

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _ip_address(value: str) -> str:
    # inet_pton is the C parser: the same verdict as ipaddress.ip_address, at a fraction of the cost.
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
        except OSError:
            continue
        return value
    raise ValueError("not an IPv4 or IPv6 address")


IPAddress = Annotated[str, StringConstraints(max_length=45), AfterValidator(_ip_address)]
"""An IP address, kept as the text that was sent (validated, not re-serialized)."""


class CollectionKind(StrEnum):
    """Kinds of collection event; each maps to data categories through the policy file."""

    USER_PROFILE = "user_profile"
    TERMINAL = "terminal"
    ACCESS_LOG = "access_log"
    COOKIE = "cookie"
    ALLIED = "allied"
    TRANSMISSION = "transmission"


class SubjectType(StrEnum):
    """Data subjects the policy distinguishes (preamble; Art. 3.1 table)."""

    PERSON_IN_CHARGE = "person_in_charge"
    """A person in charge at a Registered User."""
    ANALYZED_ACCOUNT_HOLDER = "analyzed_account_holder"
    """The holder of an Account to be Analyzed."""


class Subject(BaseModel):
    """Whom the event is about. ``id`` is pseudonymized before anything is stored or forwarded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: SubjectType
    id: ShortText = Field(description="The tenant's own identifier of the person; never stored raw.")


class CollectionEnvelope(BaseModel):
    """What every collection event carries around its payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: Literal["rakuro.collection/v1"] = Field(description="Contract name and major version.")
    event_id: UUID = Field(description="Unique per event; the idempotency key of the lineage store.")
    kind: CollectionKind
    kind_version: int = Field(ge=1, description="Version of the payload contract of this kind.")
    occurred_at: AwareDatetime = Field(description="When the data was collected; selects the policy version.")
    tenant_id: Identifier = Field(description="The Registered User (customer company) the data belongs to.")
    source_service: Identifier = Field(description="The microservice that collected the data.")
    subject: Subject
    payload: dict[str, Any] = Field(description="Kind-specific fields; see the payload models.")


class _Payload(BaseModel):
    # Unknown keys are kept here only so that minimization can remove them with evidence.
    model_config = ConfigDict(extra="allow", frozen=True)


Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{3,30}$")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class Organization(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: ShortText
    division: ShortText | None = None


class BankAccount(BaseModel):
    """A Japanese bank account for payroll (Art. 2.1(1)(i) "bank account information")."""

    model_config = ConfigDict(extra="allow", frozen=True)

    bank_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    branch_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
    account_type: Literal["ordinary", "current", "savings"]
    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{7}$")]


class UserProfilePayloadV1(_Payload):
    """Information of User and login ID (Art. 2.1(1)(i), Art. 3.1). A password value is never part of it."""

    name: ShortText
    department: ShortText | None = None
    email_address: Email | None = None
    telephone_number: Phone | None = None
    organization: Organization | None = None
    bank_account: BankAccount | None = None
    login_id: Identifier | None = None


class TerminalPayloadV1(_Payload):
    """Terminal information (Art. 2.1(1)(ii)): ID information that can identify the terminal."""

    terminal_id: Identifier
    terminal_type: Literal["pc", "mobile", "tablet"]


class AccessLogPayloadV1(_Payload):
    """Log Information (Art. 2.1(1)(ii)): IP address, request time, operation history, usage situation."""

    ip_address: IPAddress
    requested_at: AwareDatetime
    operation: ShortText = Field(description="The operation performed, e.g. clock_in, view_timesheet.")
    screen: ShortText | None = Field(default=None, description="Where in the Services it happened (usage situation).")


class CookiePayloadV1(_Payload):
    """Cookie (Art. 2.1(1)(iii)): identifies a browser, not a person."""

    cookie_id: Identifier
    first_seen_at: AwareDatetime | None = None


class AlliedRecordType(StrEnum):
    LOGIN_HISTORY = "login_history"
    EMAIL_TRANSMISSION = "email_transmission"
    SYSTEM_USAGE = "system_usage"
    SCHEDULER_ENTRY = "scheduler_entry"
    MESSAGE_ACTIVITY = "message_activity"
    FILE_SHARE = "file_share"


class AlliedPayloadV1(_Payload):
    """Allied Data (Art. 2.1(2)): usage history from allied services, never message subjects, texts or files.

    Which fields apply depends on ``record_type``; e-mail subjects and bodies, chat and social-media texts and
    attachment contents are not part of the contract and are removed by minimization if sent.
    """

    record_type: AlliedRecordType
    occurred_at: AwareDatetime
    computer_name: ShortText | None = None
    logged_out_at: AwareDatetime | None = None
    recipient_count: Count | None = None
    has_attachments: bool | None = None
    size_bytes: Count | None = None
    application: ShortText | None = None
    duration_s: Count | None = None
    title: ShortText | None = Field(default=None, description="Scheduler title: collected (Art. 2.1(2)).")
    ends_at: AwareDatetime | None = None
    channel_type: Literal["chat", "social_media"] | None = None
    message_count: Count | None = None
    file_type: ShortText | None = None


class TransmissionRecordType(StrEnum):
    CLOCK_IN = "clock_in"
    CLOCK_OUT = "clock_out"
    ARRIVAL = "arrival"
    DEPARTURE = "departure"


class TransmissionPayloadV1(_Payload):
    """Transmission Data (Art. 2.1(2)): names, departments, telephone numbers, arrival and departure times."""

    record_type: TransmissionRecordType
    at: AwareDatetime
    personal_name: ShortText
    department: ShortText | None = None
    telephone_number: Phone | None = None


PAYLOAD_MODELS: dict[tuple[CollectionKind, int], type[_Payload]] = {
    (CollectionKind.USER_PROFILE, 1): UserProfilePayloadV1,
    (CollectionKind.TERMINAL, 1): TerminalPayloadV1,
    (CollectionKind.ACCESS_LOG, 1): AccessLogPayloadV1,
    (CollectionKind.COOKIE, 1): CookiePayloadV1,
    (CollectionKind.ALLIED, 1): AlliedPayloadV1,
    (CollectionKind.TRANSMISSION, 1): TransmissionPayloadV1,
}


def payload_model(kind: CollectionKind, version: int) -> type[BaseModel] | None:
    """The payload contract for ``kind`` at ``version``, or None when unsupported."""
    return PAYLOAD_MODELS.get((kind, version))
