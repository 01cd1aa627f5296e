"""What flows between the stages: source records in, tagged records and dead letters out.

The records are frozen msgspec Structs rather than frozen dataclasses: one is built per event per stage, and a
Struct is built in C (~0.1 us against ~1-3 us for a frozen dataclass of the same fields, which sets each field
through ``object.__setattr__``). They hold no reference cycles, so the cyclic collector need not track them
(``gc=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

import msgspec
from pydantic import BaseModel

from schemas.events import CollectionKind, SubjectType

T = TypeVar("T")


class SourceRecord(msgspec.Struct, frozen=True, gc=False):
    """One message as consumed, with the coordinates that make it traceable (topic[partition]@offset)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None

    @property
    def coordinates(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class Stage(StrEnum):
    INGEST = "ingest"
    MINIMIZE = "minimize"
    TAG = "tag"
    MONITOR = "monitor"
    """The purpose monitor applying a consent or rights event to its state, or deciding a use or disclosure."""


class DeadLetterReason(StrEnum):
    """Why an event could not go on; each is a class of bad input, never an infrastructure error."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    INVALID_UTF8 = "invalid_utf8"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA_INVALID = "schema_invalid"
    UNSUPPORTED_VERSION = "unsupported_version"
    KIND_TOPIC_MISMATCH = "kind_topic_mismatch"
    DUPLICATE_KEY = "duplicate_key"
    NON_FINITE_NUMBER = "non_finite_number"
    TOO_DEEP = "too_deep"
    UNKNOWN_TO_POLICY = "unknown_to_policy"
    NO_POLICY_IN_FORCE = "no_policy_in_force"
    OCCURRED_IN_FUTURE = "occurred_in_future"
    UNKNOWN_TENANT = "unknown_tenant"
    """The event's tenant is not in the tenant register (services/tenants.py), when one is set."""
    EVENT_ID_CONFLICT = "event_id_conflict"
    """An activity event carries the id of another event of its tenant (or of another change of the same state),
    with other content (services/monitor/identity.py, services/monitor/evaluate.py)."""
    STAGE_FAILED = "stage_failed"
    """A stage raised on this event instead of answering (a fault of the stage, not a verdict on the input): the
    event is dead-lettered, sealed, so the rest of its batch goes on and it can be replayed once the fault is
    fixed (:func:`split_each`). Operators watch ``lineage_dead_letters_total{reason="stage_failed"}``."""


class DeadLetter(msgspec.Struct, frozen=True, gc=False):
    """An event that failed a stage. ``message`` never contains input values."""

    source: SourceRecord
    stage: Stage
    reason: DeadLetterReason
    message: str
    event_id: str | None = None
    kind: str | None = None
    redacted: Mapping[str, Any] | None = None
    """For an event that parsed: its content-free inventory, which the dead-letter topic gets in the clear."""
    subject_pseudonym: str | None = None
    """The subject's pseudonym when the event named one."""
    subject_key: bytes | None = None
    """The subject's Kafka key when the event named one: the dead letter's key (never the input's own key)."""

    @property
    def unparseable(self) -> bool:
        """True when the bytes never became a JSON object: nothing about them can be shown in the clear."""
        return self.reason in UNPARSEABLE


UNPARSEABLE = frozenset(
    {
        DeadLetterReason.EMPTY,
        DeadLetterReason.INVALID_UTF8,
        DeadLetterReason.MALFORMED_JSON,
        DeadLetterReason.NOT_AN_OBJECT,
        DeadLetterReason.DUPLICATE_KEY,
        DeadLetterReason.NON_FINITE_NUMBER,
        DeadLetterReason.TOO_DEEP,
    }
)


@dataclass(frozen=True, slots=True)
class StageResult(Generic[T]):
    """A stage's two outputs: what goes on, and what goes to the dead-letter topic."""

    ok: list[T]
    dead: list[DeadLetter] = field(default_factory=list)


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """What the stages read of a valid event's envelope, typed as its contract says."""

    event_id: str
    """The event id in its canonical form (lower-case, hyphenated), however it was written."""
    kind: CollectionKind
    kind_version: int
    occurred_at: datetime
    tenant_id: str
    source_service: str
    subject_type: SubjectType
    subject_id: str
    """The tenant's own id of the person: pseudonymized by tagging, never stored or forwarded."""


class Ingested(msgspec.Struct, frozen=True, gc=False):
    """A source record that parsed and matched its contract."""

    source: SourceRecord
    envelope: Envelope
    payload: dict[str, Any]
    """The payload object as parsed (JSON values), valid under ``record_model``."""
    record_model: type[BaseModel]
    """The contract's model of the payload's record (the record-type model for a kind with record types)."""


class RemovalReason(StrEnum):
    NOT_ALLOWED = "not_allowed"
    """Outside the kind's allow-list."""
    EXCLUDED_CONTENT = "excluded_content"
    """Message subjects or texts, attachment contents, or encoded content (Art. 2.1(2))."""
    IDENTIFIER_IN_FREE_TEXT = "identifier_in_free_text"
    """Kept free text holding an identifier nobody meant to collect there (a My Number, a telephone number…)."""


class FlaggedField(msgspec.Struct, frozen=True, gc=False):
    """A kept field the policy asks to flag: which kinds of identifier it holds (never the value)."""

    path: str
    identifiers: tuple[str, ...]


class RemovedField(msgspec.Struct, frozen=True, gc=False):
    """Evidence of one removal: where, how big and why, never what."""

    path: str
    size: int
    reason: RemovalReason = RemovalReason.NOT_ALLOWED


REST_PATH = "payload.*"
"""The path of an event's removals beyond those its evidence lists one by one (services.stages.allowlist), one
entry per reason with their total size: no field's name."""


class Minimized(msgspec.Struct, frozen=True, gc=False):
    """An ingested record reduced to the fields its kind's allow-list keeps."""

    source: SourceRecord
    envelope: Envelope
    payload: dict[str, Any]
    data_categories: tuple[str, ...]
    data_items: tuple[str, ...]
    removed: tuple[RemovedField, ...]
    flagged: tuple[FlaggedField, ...] = ()


class TaggedRecord(msgspec.Struct, frozen=True, gc=False):
    """A minimized record with its pseudonymized subject, purposes, legal bases and policy version."""

    source: SourceRecord
    event_id: str
    kind: str
    kind_version: int
    occurred_at: datetime
    ingested_at: datetime
    tenant_id: str
    source_service: str
    subject_type: str
    subject_pseudonym: str
    pseudonym_key_id: str
    subject_key: bytes
    """The subject's Kafka key (:class:`services.pseudonymize.PartitionKey`): the same as on the activity topic."""
    payload: dict[str, Any]
    data_categories: tuple[str, ...]
    data_items: tuple[str, ...]
    purposes: tuple[str, ...]
    legal_bases: tuple[str, ...]
    policy_id: str
    policy_version: str
    removed: tuple[RemovedField, ...]
    flagged: tuple[FlaggedField, ...] = ()


class _Sourced(Protocol):
    @property
    def source(self) -> SourceRecord: ...


R = TypeVar("R", bound=SourceRecord | _Sourced)


def split_each(records: Iterable[R], handle: Callable[[R], T | DeadLetter], stage: Stage) -> StageResult[T]:
    """Run ``handle`` on each record and sort the outcomes into a stage's two outputs, keeping their order.

    A record ``handle`` raises on becomes a ``stage_failed`` dead letter naming the exception's class only (its
    text may quote the input): a fault of a stage on one event never fails the batch it came in, which the
    consumer would otherwise retry forever, stalling its partitions (eighth red-team pass: a ``subject.type``
    sent as an object crashed the dead-letter redaction).
    """
    ok: list[T] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            outcome = handle(record)
        except Exception as error:  # noqa: BLE001 - any fault on one event: that event is dead-lettered
            outcome = stage_failed(record if isinstance(record, SourceRecord) else record.source, stage, error)
        if isinstance(outcome, DeadLetter):
            dead.append(outcome)
        else:
            ok.append(outcome)
    return StageResult(ok=ok, dead=dead)


def stage_failed(source: SourceRecord, stage: Stage, error: Exception) -> DeadLetter:
    """The dead letter of an event ``stage`` raised on: it names the exception's class only (its text may quote
    the input)."""
    message = f"the {stage.value} stage failed on this event ({type(error).__name__})"
    return DeadLetter(source, stage, DeadLetterReason.STAGE_FAILED, message)


def consent_floor(value: Mapping[str, Any] | None) -> list[Any] | None:
    """A consent state value's floor: the newest change its timeline cut (services/monitor/evaluate.py), which
    decides the moments before its oldest kept change; None if it cut none. The trace reads it too."""
    floor = value.get("floor") if value else None
    return floor if isinstance(floor, list) else None


def state_timeline(value: Mapping[str, Any] | None, table: str) -> list[list[Any]]:
    """A monitor state value's timeline, oldest first: [flag, on, at, event id] (subjects) or [granted, recipient
    id, purposes, at, event id] (consents). Values stored before timelines existed hold one change per flag. The
    monitor keeps these values (services/monitor/evaluate.py); the Art. 8 trace reads them (services/store/trace.py).
    """
    if not value:
        return []
    history = value.get("history")
    if isinstance(history, list):
        return history  # never changed in place: a change makes a new timeline
    if table == "consents":
        return [[value["granted"], value["recipient_id"], list(value["purposes"]), value["at"], ""]]
    return [
        [flag, bool(value[flag]), value[f"{flag}_at"], ""] for flag in ("suspended", "deleted") if f"{flag}_at" in value
    ]
