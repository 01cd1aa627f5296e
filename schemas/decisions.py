"""Contract of a policy decision: a use or disclosure of a subject's data in, a decision out.

Used by `purpose-lineage policy evaluate`, the purpose monitor and the API. The request carries the state the
decision depends on (consent, suspension), so that the decision itself is a pure function of request + policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.encoded_text import not_encoded_text
from schemas.events import Moment, Reference, has_unprintable
from schemas.policy import DataRef, Key, Severity

# The values below are copied into rows, alert documents and their Kafka keys, violation messages, reports and
# the Art. 4.2 records: each type admits what its field names and nothing a message or a person's address could
# hide in (no whitespace or control characters in a term or a reference, no '@', nothing that decodes to text).

Term = Annotated[
    Key,
    AfterValidator(not_encoded_text),
    Field(
        description="A word of the policy's vocabulary (a purpose, a legal basis, a content type, a data subject "
        "type): lower-case letters, digits, '_' and '-', at most 63 characters; one that decodes to text (hex, "
        "base32, percent-escapes of 15 bytes or more, punycode) is refused. A term the policy does not define is "
        "decided as a violation.",
        json_schema_extra={"x-lineage-not-encoded-text": True},
    ),
]
"""A policy term: the policy's own keys have exactly this shape (:data:`schemas.policy.Key`), so a value of any
other shape could never name one; what it admits is a word, never an address, a sentence or a line break."""

DataTerm = Annotated[
    DataRef,
    AfterValidator(not_encoded_text),
    Field(
        description="A data category (log_information) or one item of it (log_information.ip_address); one that "
        "decodes to text is refused.",
        json_schema_extra={"x-lineage-not-encoded-text": True},
    ),
]
"""Data a use or disclosure names, in the policy's shape (:data:`schemas.policy.DataRef`), never encoded text."""

MAX_DATA_TERMS = 64
"""Data one use or disclosure may name (categories or items; a policy of 64 items could name each): each is
checked for encoded text, kept in the decision's row and in the remembered decisions, so an unbounded list
made one 0.5 MB event cost the monitor 3.4-4.1 s, ~1.4 MiB of cache, and ~1 MB of chosen text in a row
(fifteenth red-team pass)."""


MAX_DATA_TERMS_CHARS = 3072
"""Characters the data one use or disclosure names may total (48 an entry at 64 entries; the policy's longest
item is under 45): 64 entries of 127 lower-case characters, each decoded as base32 at every offset, cost the
monitor 116-128 ms an event (seventeenth red-team pass); at this bound, under 50 ms."""


def at_most(max_items: int, max_chars: int) -> BeforeValidator:
    """A list of checked texts bounded in entries and in characters in all, both before any entry is read:
    pydantic checks a list's length only after reading (and checking) every entry, and each entry is read for
    encoded text at a cost that grows with its length."""

    def bounded(value: Any) -> Any:
        if isinstance(value, list) and len(value) > max_items:
            raise PydanticCustomError(
                "too_long", "List should have at most {max_length} items", {"max_length": max_items}
            )
        if isinstance(value, list) and sum(len(entry) for entry in value if isinstance(entry, str)) > max_chars:
            raise PydanticCustomError(
                "too_long", "The entries should total at most {max_chars} characters", {"max_chars": max_chars}
            )
        return value

    return BeforeValidator(bounded)


DataTerms = Annotated[
    list[DataTerm],
    at_most(MAX_DATA_TERMS, MAX_DATA_TERMS_CHARS),
    Field(min_length=1, max_length=MAX_DATA_TERMS),
]
"""The data a use or disclosure names: one entry at least, :data:`MAX_DATA_TERMS` at most, of
:data:`MAX_DATA_TERMS_CHARS` characters in all."""

MAX_CONTENT_TYPES = 16
"""Content types one use or disclosure may name: each unknown or excluded one is a violation of its own, so an
unbounded list would make one event thousands of rows and alerts."""

MAX_CONTENT_TYPES_CHARS = 512
"""Characters the content types of one use or disclosure may total (32 an entry at 16; the policy's longest
is under 20). Every list of checked terms has a bound in characters, not only in entries: 16 types of 63
characters shaped to be decoded at every offset cost the monitor ~12 ms an event beside the data's bound
(nineteenth red-team pass)."""

ContentTypes = Annotated[
    list[Term], at_most(MAX_CONTENT_TYPES, MAX_CONTENT_TYPES_CHARS), Field(max_length=MAX_CONTENT_TYPES)
]
"""The message content a use or disclosure involves: :data:`MAX_CONTENT_TYPES` entries and
:data:`MAX_CONTENT_TYPES_CHARS` characters at most."""


def printable_text(value: str) -> str:
    """The contract's check of a record's free text: the value unchanged, or ValueError when it holds a control,
    format, private-use or unassigned character, a line or paragraph separator, or an e-mail address's '@'."""
    if has_unprintable(value):  # a full-width space (U+3000 in a Japanese address) is kept
        raise ValueError("a name or address holds no control, format or unassigned characters or line breaks")
    if "@" in value or "\uff20" in value or "\ufe6b" in value:  # '@', full-width and small commercial at
        raise ValueError("a name or address holds no e-mail address")
    return value


RecordText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(printable_text),
    Field(
        description="Free text of an Art. 4.2 record (a name, an address, a representative), at most 256 "
        "characters on one line: no control, format or unassigned characters, no '@'. The purpose monitor "
        "withholds a value a collection event's kept free text may not hold (encoded or structured content, a "
        "reply prefix but in a company's name, a message after a marked key, a My Number): its record is then "
        "incomplete.",
        json_schema_extra={"x-lineage-printable-text": True},
    ),
]
"""What a provision record says of its recipient: required by law as free text (a company's name and address in
any script), so it carries no charset; what cannot be a name or an address is refused here, and the content
detectors, which live with the stages, run on it where the monitor decides (:mod:`services.monitor.evaluate`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(StrEnum):
    USE = "use"
    DISCLOSURE = "disclosure"


class RecipientKind(StrEnum):
    INTERNAL = "internal"
    """Rakuro itself (a use, not a disclosure)."""
    THIRD_PARTY = "third_party"
    """Art. 4: another company, a government body, a successor."""
    CONSIGNEE = "consignee"
    """Art. 5: handles data on Rakuro's behalf."""
    COLLECTION_MODULE = "collection_module"
    """Art. 6: an information collection module such as Google Analytics."""


class Recipient(_Strict):
    kind: RecipientKind
    id: Reference = Field(description="Registry key for consignees and modules; the third party's own id otherwise.")


RecordTextField = Literal["recipient_name", "recipient_address_or_representative"]
"""The free texts of an Art. 4.2 record."""


class ProvisionRecord(_Strict):
    """The Art. 4.2 record of a provision to a third party with consent."""

    consent_obtained: bool = False
    recipient_name: RecordText | None = None
    recipient_address_or_representative: RecordText | None = None
    subject_identification: str | None = Field(default=None, description="E.g. the subject's pseudonym.")
    data_items: list[DataRef] = Field(default_factory=list)
    withheld: list[RecordTextField] = Field(
        default_factory=list,
        max_length=2,
        description="The record's texts the purpose monitor withheld, for holding what no name or address may: "
        "named, never quoted. A record that withholds a text is incomplete.",
    )


CONTROLLER = Recipient(kind=RecipientKind.INTERNAL, id="controller")
"""The recipient of a use: the controller itself."""


class Aggregate(_Strict):
    """What a statistical use produces (Art. 3.4)."""

    group_size: int = Field(ge=0, description="The smallest number of people behind any published figure.")
    identifies: bool = Field(default=False, description="Can the output identify a company, organization or person?")


class SubjectState(_Strict):
    """Art. 8 requests in force for the subject at the time of the use."""

    suspended: bool = False
    deleted: bool = False


class UseRequest(_Strict):
    """A use of a subject's data for a purpose, or its disclosure to a recipient."""

    action: Action
    at: Moment = Field(description="When the use or disclosure happens; selects the policy version.")
    purpose: Term
    data: DataTerms = Field(description="Categories or category.item entries used.")
    content_types: ContentTypes = Field(
        default_factory=list,
        description="Kinds of message content involved, e.g. email_body (never allowed).",
    )
    subject_type: Term
    actor: Reference = Field(description="The service or job that uses or discloses the data.")
    recipient: Recipient = Field(
        default_factory=lambda: CONTROLLER,
        description="Whom the data goes to; for a use, the controller itself (kind internal).",
    )
    legal_basis: Term | None = Field(default=None, description="The legal basis the actor claims, if any.")
    consent_reference: Reference | None = None
    consent_granted: bool = Field(default=False, description="Consent in force for this subject and provision.")
    provision_record: ProvisionRecord | None = None
    aggregate: Aggregate | None = None
    subject_state: SubjectState = Field(default_factory=SubjectState)

    @model_validator(mode="after")
    def _action_matches_recipient(self) -> UseRequest:
        internal = self.recipient.kind is RecipientKind.INTERNAL
        if self.action is Action.DISCLOSURE and internal:
            raise ValueError("a disclosure needs a recipient outside the controller (third_party, consignee or module)")
        if self.action is Action.USE and not internal:
            raise ValueError("a use stays inside the controller: data going to a recipient is a disclosure")
        return self


class DecisionRequest(Protocol):
    """What a decision reads of a request: :class:`UseRequest` (validated from outside input) and
    :class:`TrustedUseRequest` (built from an activity event its contract already validated) both provide it."""

    @property
    def action(self) -> Action: ...
    @property
    def at(self) -> datetime: ...
    @property
    def purpose(self) -> str: ...
    @property
    def data(self) -> Sequence[str]: ...
    @property
    def content_types(self) -> Sequence[str]: ...
    @property
    def subject_type(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def recipient(self) -> Recipient: ...
    @property
    def legal_basis(self) -> str | None: ...
    @property
    def consent_reference(self) -> str | None: ...
    @property
    def consent_granted(self) -> bool: ...
    @property
    def provision_record(self) -> ProvisionRecord | None: ...
    @property
    def aggregate(self) -> Aggregate | None: ...
    @property
    def subject_state(self) -> SubjectState: ...


@dataclass(frozen=True, slots=True)
class TrustedUseRequest:
    """A :class:`UseRequest` made of values that were validated already, built without validating them again.

    The purpose monitor builds one per use or disclosure from the activity event (whose contract is at least as
    strict as the request's, field by field) and the state it keeps: a validated ``UseRequest`` cost it more
    than the decision itself. Same fields, same meaning; tests check that both give the same decision.
    """

    action: Action
    at: datetime
    purpose: str
    data: Sequence[str]
    content_types: Sequence[str]
    subject_type: str
    actor: str
    recipient: Recipient
    legal_basis: str | None
    consent_reference: str | None
    consent_granted: bool
    provision_record: ProvisionRecord | None
    aggregate: Aggregate | None
    subject_state: SubjectState


# Decisions are plain frozen dataclasses: built at >100k/s on the hot path, serialized by orjson, and still
# described by JSON Schema through pydantic's TypeAdapter.


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: its code, the article it cites, its severity, and a message naming policy terms only."""

    code: str
    article: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed or not, on which legal basis, under which policy version, and every violation found."""

    allowed: bool
    legal_basis: str | None
    policy_id: str
    policy_version: str | None
    violations: tuple[Violation, ...]

    @property
    def codes(self) -> list[str]:
        return [v.code for v in self.violations]

    def to_json(self) -> bytes:
        """The decision as JSON (the shape ``decision_schema()`` describes)."""
        return orjson.dumps(self)


def decision_schema() -> dict[str, Any]:
    """JSON Schema of :class:`Decision`."""
    return TypeAdapter(Decision).json_schema()
