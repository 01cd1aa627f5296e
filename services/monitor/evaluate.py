"""Pure monitor stage: a batch of activity events in order, the state they build, and the decisions they get.

Consent and rights events change state; each use or disclosure is decided against the state as it was at the
use's own time (``occurred_at``): a suspension counts for uses that happened at or after it and before its lift;
a consent for disclosures at or after its grant and before its withdrawal. All four kinds travel on one topic
keyed by subject, so a subject's events reach this function in the order the broker accepted them
(services/processors/monitor.py) — but that is not the order they happened in: a retried batch of a producer
without idempotence, a replayed dead letter or a service sending late puts an older change after a newer one.
So the state is a timeline, not a last value: each key keeps its changes ordered by time (of two at one time,
the one that came later counts), and applying one is idempotent and independent of arrival order (a change
seen again changes nothing; one with the id of another but other content is refused as ``event_id_conflict``).
Fifth red-team pass: a repeated 09:00 lift undid a 10:00 suspension, and a use during a suspension was allowed
once the lift had come.

State lives in two mappings keyed per tenant and subject pseudonym; every change is also returned
(``MonitorResult.changes``), at the message that made it, with the key's whole timeline, for the store to keep
it (table monitor_state: the value at a key's last change below an offset is the timeline of every change
below it, whatever order they came in). A timeline keeps its latest ``HISTORY_LIMIT`` changes.

An event is refused (dead-lettered) when its contract refuses it (``schema_invalid``) and when it happened more
than the clock skew after it was received (``occurred_in_future``, as at the collection tag stage). A disclosure
whose recipient's name or address holds what a kept free-text field of a collection event may not
(:func:`services.stages.allowlist.record_text_refusal`) has that text withheld: those two are free text the law
requires in the Art. 4.2 record, which is kept and handed over; the disclosure is decided with an incomplete record
(a ``provision_record_incomplete`` violation naming the field, never the value). The detectors live with the stages,
so they run here rather than in the contract.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import orjson
from pydantic import Field, TypeAdapter, ValidationError

from schemas.activity import ConsentAction, ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.decisions import (
    CONTROLLER,
    Action,
    Decision,
    ProvisionRecord,
    RecipientKind,
    RecordTextField,
    SubjectState,
    TrustedUseRequest,
)
from schemas.policy import RightsRequestType
from services.monitor.state import StateNotLoaded
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.pseudonymize import PseudonymKey, pseudonymize
from services.records import (
    DeadLetter,
    DeadLetterReason,
    SourceRecord,
    Stage,
    consent_floor,
    split_each,
    stage_failed,
    state_timeline,
)
from services.stages.allowlist import Markers, markers_of, record_text_refusal
from services.stages.errors import describe_validation_error, vocabulary_of
from services.stages.ingest import repeated_key
from services.stages.tag import DEFAULT_MAX_SKEW
from services.tenants import UNKNOWN_TENANT_MESSAGE

ActivityEvent = Annotated[UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent, Field(discriminator="spec")]
_ACTIVITY: TypeAdapter[UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent] = TypeAdapter(ActivityEvent)


class StateTable(Protocol):
    """One table of the monitor's state (``subjects`` or ``consents``): a dict, or an :class:`Overlay` of one."""

    def get(self, key: str, /) -> dict[str, Any] | None: ...

    def __setitem__(self, key: str, value: dict[str, Any], /) -> None: ...


class StateReader(Protocol):
    """What an :class:`Overlay` reads its table from: a dict, or a worker's held state (services/monitor/state.py)."""

    def get(self, key: str, /) -> dict[str, Any] | None: ...


class Overlay:
    """A batch's changes over a table of state: reads see both, writes stay in ``changes``, which the worker
    merges into the table once the batch is stored (a batch that fails leaves the table as it was)."""

    __slots__ = ("base", "changes")

    def __init__(self, base: StateReader) -> None:
        self.base = base
        self.changes: dict[str, dict[str, Any]] = {}

    def get(self, key: str, /) -> dict[str, Any] | None:
        changed = self.changes.get(key)
        return changed if changed is not None else self.base.get(key)

    def __setitem__(self, key: str, value: dict[str, Any], /) -> None:
        self.changes[key] = value


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A use or disclosure with the decision it got; the subject appears only as its pseudonym."""

    source: SourceRecord
    event: UseEvent | DisclosureEvent
    subject_pseudonym: str
    decision: Decision


@dataclass(frozen=True, slots=True)
class StateChange:
    """One key of the state set by the message at ``source``: ``table`` is ``subjects`` or ``consents``."""

    source: SourceRecord
    table: str
    key: str
    value: dict[str, Any]


@dataclass
class MonitorResult:
    evaluated: list[Evaluated] = field(default_factory=list)
    changes: list[StateChange] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def state_changes(self) -> int:
        return len(self.changes)


def activity_of(event: UseEvent | DisclosureEvent) -> str:
    """``use`` or ``disclosure``: the name rows, messages and metrics give the event."""
    return "use" if isinstance(event, UseEvent) else "disclosure"


def recipient_of(evaluated: Evaluated) -> tuple[str, str]:
    """(kind, id) of whom the data goes to: the recipient of a disclosure; for a use, the controller itself,
    named by the id of the policy that decided it."""
    event = evaluated.event
    if isinstance(event, UseEvent):
        return RecipientKind.INTERNAL.value, evaluated.decision.policy_id
    return event.recipient.kind.value, event.recipient.id


def subject_key(tenant_id: str, pseudonym: str) -> str:
    return f"{tenant_id}/{pseudonym}"


def consent_key(tenant_id: str, pseudonym: str, reference: str) -> str:
    return f"{tenant_id}/{pseudonym}/{reference}"


HISTORY_LIMIT = 256
"""Changes a key's timeline keeps of each kind (the latest by time; a subject's suspension changes and its
deletions each, a consent's grants and withdrawals): a use dated before the oldest kept change of a kind is
decided by that change. A subject's suspensions or one consent's grants and withdrawals are few."""


MAX_CONSENT_TIMELINE_BYTES = 32 * 1024
"""The JSON size a consent's timeline is cut to (its oldest changes go first), beside :data:`HISTORY_LIMIT`: a
change holds the consent's purposes, and every change of state is stored as a ``monitor_state`` row holding the
key's whole timeline. 256 changes of 64 purposes of 63 characters held 2 MB a key in the worker, and 200 events
wrote 222 MB of rows (nineteenth red-team pass). A consent of a few purposes keeps ~250 changes within it.
A subject's changes are of fixed size (flag, on, time, event id): 512 of them stay under ~50 KB."""


def _time_of(change: Sequence[Any]) -> datetime:
    """When a change of a timeline happened (its second to last item, an ISO time in UTC)."""
    return datetime.fromisoformat(change[-2])


def _with_change(
    history: list[list[Any]], change: list[Any], cut: Callable[[list[list[Any]]], list[list[Any]]]
) -> list[list[Any]] | None:
    """The timeline with ``change`` in its place, then ``cut``; or None if it holds that change already (the same
    event id with the same content). Raises :class:`ConflictingChange` for the same event id with other content."""
    event_id = change[-1]
    for kept in history:
        if kept[-1] == event_id:
            if kept == change:
                return None
            raise ConflictingChange
    merged = sorted([*history, change], key=_time_of)  # stable: of two changes at one time, the later one counts
    return cut(merged)


def _cut(history: list[list[Any]]) -> list[list[Any]]:
    """The latest :data:`HISTORY_LIMIT` changes of each flag (a subject's suspensions and deletions are cut
    apart: 256 suspension requests after a deletion cut the deletion out of one shared timeline, and a use
    after it was allowed — sixth red-team pass). A consent's timeline is cut by :func:`_consent_cut`."""
    over = Counter(change[0] for change in history)
    excess = {flag: count - HISTORY_LIMIT for flag, count in over.items() if count > HISTORY_LIMIT}
    if not excess:
        return history
    kept = []
    for change in history:  # oldest first: the oldest of a flag over its limit go
        flag = change[0]
        if excess.get(flag, 0) > 0:
            excess[flag] -= 1
            continue
        kept.append(change)
    return kept


def _consent_cut(history: list[list[Any]], floor: list[Any] | None) -> tuple[list[list[Any]], list[Any] | None]:
    """A consent's timeline within :data:`HISTORY_LIMIT` changes and :data:`MAX_CONSENT_TIMELINE_BYTES` of JSON,
    oldest changes first; and its floor, the newest change it ever cut (``floor`` before; None if none).

    The floor is kept with the timeline and decides the moments before the oldest kept change
    (:func:`_as_of`): exactly what the whole timeline would say from the floor's time on. A change dated at or
    before the floor never enters again (twentieth red-team pass: a cut change sent again, or a late one, fit the
    room the byte cut left and, as the oldest kept change of a cut timeline, decided every moment before it: a
    disclosure after the withdrawal it had cut out, or before any consent, was allowed)."""
    if floor is not None:
        watermark = _time_of(floor)
        history = [change for change in history if _time_of(change) > watermark]
    sizes = [len(orjson.dumps(change)) + 1 for change in history]
    total, first = sum(sizes), 0
    while first < len(history) - 1 and (len(history) - first > HISTORY_LIMIT or total > MAX_CONSENT_TIMELINE_BYTES):
        total -= sizes[first]  # the latest change is always kept
        first += 1
    if first:
        floor = history[first - 1]  # the newest cut: the timeline is in time order
    return history[first:], floor


class ConflictingChange(Exception):
    """A state change carries the event id of another, with other content."""


def _as_of(
    history: Sequence[Sequence[Any]], moment: datetime, flag: str | None = None, floor: Sequence[Any] | None = None
) -> Sequence[Any] | None:
    """The latest change at or before ``moment`` (of ``flag`` only, for subjects); if every kept change is later,
    the consent's ``floor`` (the newest change its timeline cut), else the oldest kept change if the timeline was
    cut (:data:`HISTORY_LIMIT` changes kept); None if there is none."""
    found = None
    earliest = None
    for change in history:
        if flag is not None and change[0] != flag:
            continue
        if earliest is None:
            earliest = change
        if _time_of(change) <= moment:
            found = change
        else:
            break
    if found is None and floor is not None:
        return floor
    if found is None and earliest is not None:
        kept = sum(1 for change in history if flag is None or change[0] == flag)
        return earliest if kept >= HISTORY_LIMIT else None  # a cut timeline: its oldest kept change decides
    return found


def _consent_in_force(event: DisclosureEvent, consents: StateTable, pseudonyms: Sequence[str]) -> bool:
    """Was the disclosure's consent granted, for its recipient and purpose, at the disclosure's time?"""
    if event.consent_reference is None:
        return False
    keys = [consent_key(event.tenant_id, pseudonym, event.consent_reference) for pseudonym in pseudonyms]
    state = _state_of(consents, keys, "consents")
    change = _as_of(state_timeline(state, "consents"), event.occurred_at, floor=consent_floor(state))
    if change is None:
        return False
    granted, recipient_id, purposes, _, _ = change
    return bool(granted) and recipient_id == event.recipient.id and (not purposes or event.purpose in purposes)


def _in_force_since(state: Mapping[str, Any], flag: str, moment: datetime) -> bool:
    """Was ``flag`` (suspended, deleted) in force at ``moment``?"""
    change = _as_of(state_timeline(state, "subjects"), moment, flag)
    return change is not None and bool(change[1])


def _subject_value(history: list[list[Any]]) -> dict[str, Any]:
    """A subject's state: its timeline, and each flag's latest change by time (for people reading the table)."""
    value: dict[str, Any] = {}
    for flag, on, at, _ in history:
        value[flag], value[f"{flag}_at"] = on, at
    value["history"] = history
    return value


def _consent_value(history: list[list[Any]], floor: list[Any] | None) -> dict[str, Any]:
    """A consent's state: its timeline and floor (:func:`_consent_cut`), and its latest change (for people
    reading the table)."""
    history, floor = _consent_cut(history, floor)
    granted, recipient_id, purposes, at, _ = history[-1]
    value = {"granted": granted, "recipient_id": recipient_id, "purposes": purposes, "at": at, "history": history}
    if floor is not None:
        value["floor"] = floor
    return value


def _state_of(table: StateTable, keys: Sequence[str], kind: str) -> dict[str, Any] | None:
    """The state of one subject's key under each of its pseudonyms (``keys``: the current key's first, then the
    retired keys'), as one value: a key rotation must not lose a deletion, a suspension or a consent recorded
    under the pseudonym of a retired key (sixth red-team pass: after a rotation every such state was gone)."""
    values = [value for key in keys if (value := table.get(key))]
    if len(values) <= 1:
        return values[0] if values else None
    changes: dict[str, list[Any]] = {}
    for value in values:
        for change in state_timeline(value, kind):
            changes.setdefault(repr(change), change)  # the same change kept under two keys counts once
    history = sorted(changes.values(), key=_time_of)
    if kind == "consents":
        floors = [floor for value in values if (floor := consent_floor(value)) is not None]
        return _consent_value(history, max(floors, key=_time_of) if floors else None)
    return _subject_value(_cut(history))


_SUBJECT_STATES = {
    (suspended, deleted): SubjectState(suspended=suspended, deleted=deleted)
    for suspended in (False, True)
    for deleted in (False, True)
}


def request_of(
    event: UseEvent | DisclosureEvent,
    state: dict[str, Any],
    consented: bool,
    pseudonym: str,
    withheld: Sequence[RecordTextField] = (),
) -> TrustedUseRequest:
    """The decision request of a use or disclosure, from the event (validated by its contract) and the state.

    Built without validating again: every value comes from the validated event or from the state's own flags.
    """
    at = event.occurred_at
    subject_state = _SUBJECT_STATES[_in_force_since(state, "suspended", at), _in_force_since(state, "deleted", at)]
    if isinstance(event, UseEvent):
        recipient, legal_basis, consent_reference, record = CONTROLLER, None, None, None
        action = Action.USE
    else:
        recipient, legal_basis, consent_reference = event.recipient, event.legal_basis, event.consent_reference
        action = Action.DISCLOSURE
        record = None
        if recipient.kind is RecipientKind.THIRD_PARTY:
            record = ProvisionRecord.model_construct(
                consent_obtained=consented,
                recipient_name=event.recipient_name,
                recipient_address_or_representative=event.recipient_address_or_representative,
                subject_identification=pseudonym,
                data_items=event.data,
                withheld=list(withheld),
            )
    return TrustedUseRequest(
        action=action,
        at=at,
        purpose=event.purpose,
        data=event.data,
        content_types=event.content_types,
        subject_type=event.subject.type.value,
        actor=event.source_service,
        recipient=recipient,
        legal_basis=legal_basis,
        consent_reference=consent_reference,
        consent_granted=consented,
        provision_record=record,
        aggregate=event.aggregate,
        subject_state=subject_state,
    )


_RECORD_TEXTS: tuple[RecordTextField, ...] = ("recipient_name", "recipient_address_or_representative")


def _received_ms(source: SourceRecord, now_ms: int) -> int:
    """When the event was received: the broker's timestamp, so that a retried batch is decided as the first time,
    but never later than ``now`` (a producer sets its messages' timestamps, and may set them in the future)."""
    return now_ms if source.timestamp_ms is None else min(source.timestamp_ms, now_ms)


def _refusal(event: ActivityEvent, received_ms: int, max_skew: timedelta) -> tuple[DeadLetterReason, str] | None:
    """Why a contract-valid event is refused, or None: a time in the future. The message names the rule."""
    if event.occurred_at.timestamp() * 1000 > received_ms + max_skew.total_seconds() * 1000:
        message = f"occurred_at is more than {max_skew.total_seconds():.0f} s after the event was received"
        return DeadLetterReason.OCCURRED_IN_FUTURE, message
    return None


def _withholding(event: ActivityEvent, markers: Markers) -> tuple[ActivityEvent, tuple[RecordTextField, ...]]:
    """``event`` without the Art. 4.2 record texts that hold what a kept free-text field of a collection event may
    not (judged with the policy's ``markers``), and their names. The disclosure is still decided — its record is
    incomplete — so its decision and its alert are kept (sixteenth red-team pass: refusing the event lost both)."""
    if not isinstance(event, DisclosureEvent):
        return event, ()
    withheld = tuple(
        name
        for name in _RECORD_TEXTS
        if (value := getattr(event, name)) is not None and record_text_refusal(value, markers) is not None
    )
    if not withheld:
        return event, ()
    return event.model_copy(update=dict.fromkeys(withheld)), withheld


def _changes(
    event: ConsentEvent | RightsRequestEvent,
    source: SourceRecord,
    pseudonyms: Sequence[str],
    subjects: StateTable,
    consents: StateTable,
) -> list[StateChange]:
    """Put a consent or rights event's change in its key's timeline, kept under the current key's pseudonym (the
    first of ``pseudonyms``) with what the retired keys' hold; the state changes it made (none if the timeline
    held it already, or the request changes no state: disclosure, correction)."""
    at, event_id = event.occurred_at.astimezone(UTC).isoformat(), str(event.event_id)
    if isinstance(event, ConsentEvent):
        keys = [consent_key(event.tenant_id, pseudonym, event.consent_reference) for pseudonym in pseudonyms]
        change = [event.action is ConsentAction.GRANT, event.recipient_id, list(event.purposes), at, event_id]
        consent = _state_of(consents, keys, "consents")
        floor = consent_floor(consent)
        if floor is not None and _time_of(change) <= _time_of(floor):
            return []  # dated at or before what the timeline cut: its floor decides that time
        history = _with_change(state_timeline(consent, "consents"), change, list)  # cut by _consent_value
        if history is None:
            return []
        consents[keys[0]] = value = _consent_value(history, floor)
        return [StateChange(source, "consents", keys[0], value)]
    if event.request not in (RightsRequestType.SUSPENSION_OF_USE, RightsRequestType.DELETION):
        return []
    keys = [subject_key(event.tenant_id, pseudonym) for pseudonym in pseudonyms]
    flag = "suspended" if event.request is RightsRequestType.SUSPENSION_OF_USE else "deleted"
    prior = state_timeline(_state_of(subjects, keys, "subjects"), "subjects")
    history = _with_change(prior, [flag, not event.lifted, at, event_id], _cut)
    if history is None:
        return []
    subjects[keys[0]] = value = _subject_value(history)
    return [StateChange(source, "subjects", keys[0], value)]


@dataclass(frozen=True, slots=True)
class Received:
    """An activity event its contract accepted, in time, its subject as a pseudonym: what the identity check
    (services/monitor/identity.py) and then the state and the decider take."""

    source: SourceRecord
    event: UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent
    subject_pseudonym: str
    former_pseudonyms: tuple[str, ...] = ()  # under the retired keys of the keyring: their state is the subject's
    withheld: tuple[RecordTextField, ...] = ()  # the record texts taken out of ``event`` (:func:`_withholding`)

    @property
    def pseudonyms(self) -> tuple[str, ...]:
        return (self.subject_pseudonym, *self.former_pseudonyms)


def read_activity(
    batch: Sequence[SourceRecord],
    key: PseudonymKey,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    retired: Sequence[PseudonymKey] = (),
    *,
    engine: PolicyEngine,
    tenants: frozenset[str] | None = None,
) -> tuple[list[Received], list[DeadLetter]]:
    """Validate each event of ``batch``; the accepted ones in order, and the dead letters of the others.

    An event that occurred more than ``max_skew`` after it was received (its broker timestamp, at the latest
    ``now``: by default the wall clock) is refused as ``occurred_in_future``; an Art. 4.2 record text holding
    content ``engine``'s policy excludes is withheld (:func:`_withholding`). Its subject is named by ``key``'s
    pseudonym, and also by the ``retired`` keys', under which state recorded before a rotation is kept. With
    ``tenants`` (the tenant register), an event of any other tenant is refused as ``unknown_tenant``.
    """
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    markers = markers_of(engine)
    result = split_each(
        batch, lambda source: _read_one(source, key, now_ms, max_skew, retired, markers, tenants), Stage.INGEST
    )
    return result.ok, result.dead


def _read_one(
    source: SourceRecord,
    key: PseudonymKey,
    now_ms: int,
    max_skew: timedelta,
    retired: Sequence[PseudonymKey],
    markers: Markers,
    tenants: frozenset[str] | None,
) -> Received | DeadLetter:
    try:
        event = _ACTIVITY.validate_json(source.value or b"", strict=True)  # JSON types, as the schema says
    except ValidationError as exc:
        reason = DeadLetterReason.SCHEMA_INVALID
        # Its contract's words only: any other key of the event could carry content or personal data.
        words = vocabulary_of(UseEvent, DisclosureEvent, ConsentEvent, RightsRequestEvent)
        return DeadLetter(source, Stage.INGEST, reason, describe_validation_error(exc, vocabulary=words))
    if (where := repeated_key(source.value or b"")) is not None:  # validate_json kept the last value
        return DeadLetter(source, Stage.INGEST, DeadLetterReason.DUPLICATE_KEY, f"an object repeats a key{where}")
    if tenants is not None and event.tenant_id not in tenants:
        reason, message = DeadLetterReason.UNKNOWN_TENANT, UNKNOWN_TENANT_MESSAGE
        return DeadLetter(source, Stage.INGEST, reason, message, event_id=str(event.event_id))
    refused = _refusal(event, _received_ms(source, now_ms), max_skew)
    if refused is not None:
        return DeadLetter(source, Stage.INGEST, *refused, event_id=str(event.event_id))
    event, withheld = _withholding(event, markers)
    tenant, subject = event.tenant_id, event.subject.id
    former = tuple(pseudonymize(old, tenant, subject) for old in retired)
    return Received(source, event, pseudonymize(key, tenant, subject), former, withheld)


def state_keys(item: Received) -> list[tuple[str, str]]:
    """The (table, key) pairs of state that applying or deciding ``item`` reads (:func:`apply_activity`): what a
    worker holding only part of its state must load first (services/monitor/state.py)."""
    event, pseudonyms = item.event, item.pseudonyms
    if isinstance(event, ConsentEvent):
        return [("consents", consent_key(event.tenant_id, p, event.consent_reference)) for p in pseudonyms]
    keys = [("subjects", subject_key(event.tenant_id, p)) for p in pseudonyms]
    if isinstance(event, DisclosureEvent) and event.consent_reference is not None:
        keys += [("consents", consent_key(event.tenant_id, p, event.consent_reference)) for p in pseudonyms]
    return keys


def apply_activity(
    received: Sequence[Received], subjects: StateTable, consents: StateTable, decider: Decider
) -> MonitorResult:
    """Apply consent and rights events to the state and decide every use and disclosure, in stream order.

    As each collection stage does (:func:`services.records.split_each`), a fault on one event — the decider or the
    state raising on it — costs that event a ``stage_failed`` dead letter, not the batch, which the worker would
    retry for ever, stalling its partitions. An event changes the state in one write, after everything it needs
    was computed, so one that fails leaves the state as it was. :class:`StateNotLoaded` is no fault of an event
    but of the worker (it read state it did not load): it fails the batch, which is retried after a reload.
    """
    result = MonitorResult()
    for item in received:
        event, pseudonym, pseudonyms = item.event, item.subject_pseudonym, item.pseudonyms
        try:
            if isinstance(event, ConsentEvent | RightsRequestEvent):
                result.changes += _changes(event, item.source, pseudonyms, subjects, consents)
                continue
            consented = isinstance(event, DisclosureEvent) and _consent_in_force(event, consents, pseudonyms)
            state = _state_of(subjects, [subject_key(event.tenant_id, p) for p in pseudonyms], "subjects")
            request = request_of(event, state or {}, consented, pseudonym, item.withheld)
            result.evaluated.append(Evaluated(item.source, event, pseudonym, decider.decide_remembered(request)))
        except ConflictingChange:
            message = "event_id: another change of this state carried it, with other content"
            reason = DeadLetterReason.EVENT_ID_CONFLICT
            result.dead.append(DeadLetter(item.source, Stage.INGEST, reason, message, event_id=str(event.event_id)))
        except StateNotLoaded:
            raise
        except Exception as error:  # noqa: BLE001 - any fault on one event: that event is dead-lettered
            result.dead.append(stage_failed(item.source, Stage.MONITOR, error))
    return result


def monitor_batch(
    batch: Sequence[SourceRecord],
    subjects: StateTable,
    consents: StateTable,
    decider: Decider,
    key: PseudonymKey,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    retired: Sequence[PseudonymKey] = (),
) -> MonitorResult:
    """:func:`read_activity`, then :func:`apply_activity`: a batch decided where no store holds identities
    (the worker checks them in between: services/processors/monitor.py)."""
    received, dead = read_activity(batch, key, now, max_skew, retired, engine=decider.engine)
    result = apply_activity(received, subjects, consents, decider)
    result.dead[:0] = dead
    return result
