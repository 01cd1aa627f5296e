"""Pure monitor stage: a batch of activity events in order, the state they build, and the decisions they get.

Consent and rights events change state; each use or disclosure is decided with the state as it stands when
it is processed, compared by event time: a suspension counts for uses that happened at or after it; a consent
for disclosures at or after its grant. All four kinds travel on one topic keyed by subject, so a subject's
events reach this function in the order the broker accepted them (services/processors/monitor.py).

State lives in two mappings keyed per tenant and subject pseudonym; every change is also returned
(``MonitorResult.changes``), at the message that made it, for the store to keep it (table monitor_state).

An event is refused (dead-lettered) when its contract refuses it (``schema_invalid``), when it happened more than
the clock skew after it was received (``occurred_in_future``, as at the collection tag stage), and when the
content detectors find encoded or structured content in the recipient's name or address of a disclosure
(``schema_invalid``): those two are free text the law requires in the Art. 4.2 record, which is kept and handed
over; the detectors live with the stages, so they run here rather than in the contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Protocol

from pydantic import Field, TypeAdapter, ValidationError

from schemas.activity import ConsentAction, ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.decisions import (
    CONTROLLER,
    Action,
    Decision,
    ProvisionRecord,
    RecipientKind,
    SubjectState,
    TrustedUseRequest,
)
from schemas.policy import RightsRequestType
from services.policy.decide import Decider
from services.pseudonymize import PseudonymKey, pseudonymize
from services.records import DeadLetter, DeadLetterReason, SourceRecord, Stage
from services.stages.detectors import detect
from services.stages.errors import describe_validation_error, vocabulary_of
from services.stages.tag import DEFAULT_MAX_SKEW

ActivityEvent = Annotated[UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent, Field(discriminator="spec")]
_ACTIVITY: TypeAdapter[UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent] = TypeAdapter(ActivityEvent)


class StateTable(Protocol):
    """One table of the monitor's state (``subjects`` or ``consents``): a dict, or an :class:`Overlay` of one."""

    def get(self, key: str, /) -> dict[str, Any] | None: ...

    def __setitem__(self, key: str, value: dict[str, Any], /) -> None: ...


class Overlay:
    """A batch's changes over a table of state: reads see both, writes stay in ``changes``, which the worker
    merges into the table once the batch is stored (a batch that fails leaves the table as it was)."""

    __slots__ = ("base", "changes")

    def __init__(self, base: Mapping[str, dict[str, Any]]) -> None:
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


def _consent_in_force(event: DisclosureEvent, consents: StateTable, pseudonym: str) -> bool:
    if event.consent_reference is None:
        return False
    consent = consents.get(consent_key(event.tenant_id, pseudonym, event.consent_reference))
    return (
        consent is not None
        and consent["granted"]
        and consent["recipient_id"] == event.recipient.id
        and (not consent["purposes"] or event.purpose in consent["purposes"])
        and datetime.fromisoformat(consent["at"]) <= event.occurred_at
    )


def _in_force_since(state: dict[str, Any], flag: str, moment: datetime) -> bool:
    """Was ``flag`` (suspended, deleted) set at or before ``moment``?"""
    return bool(state.get(flag)) and datetime.fromisoformat(state[f"{flag}_at"]) <= moment


@lru_cache(maxsize=16_384)
def _pseudonym(key: PseudonymKey, tenant_id: str, subject_id: str) -> str:
    """:func:`pseudonymize`, remembered for the subjects acting most recently: a subject's uses, disclosures and
    consents come in runs, and an HMAC (OpenSSL's one-shot, ~2 us here) cost more than the rest of a request.
    Holds nothing the key in the same memory could not recompute."""
    return pseudonymize(key, tenant_id, subject_id)


_SUBJECT_STATES = {
    (suspended, deleted): SubjectState(suspended=suspended, deleted=deleted)
    for suspended in (False, True)
    for deleted in (False, True)
}


def request_of(
    event: UseEvent | DisclosureEvent, state: dict[str, Any], consented: bool, pseudonym: str
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


_RECORD_TEXTS = ("recipient_name", "recipient_address_or_representative")


def _received_ms(source: SourceRecord, now_ms: int) -> int:
    """When the event was received: the broker's timestamp, so that a retried batch is decided as the first time,
    but never later than ``now`` (a producer sets its messages' timestamps, and may set them in the future)."""
    return now_ms if source.timestamp_ms is None else min(source.timestamp_ms, now_ms)


def _refusal(event: ActivityEvent, received_ms: int, max_skew: timedelta) -> tuple[DeadLetterReason, str] | None:
    """Why a contract-valid event is refused, or None: a time in the future, or content in an Art. 4.2 text.

    The message names the rule and the field, never a value.
    """
    if event.occurred_at.timestamp() * 1000 > received_ms + max_skew.total_seconds() * 1000:
        message = f"occurred_at is more than {max_skew.total_seconds():.0f} s after the event was received"
        return DeadLetterReason.OCCURRED_IN_FUTURE, message
    if isinstance(event, DisclosureEvent):
        for name in _RECORD_TEXTS:
            value = getattr(event, name)
            if value is not None and (finding := detect(value)) is not None:
                return DeadLetterReason.SCHEMA_INVALID, f"{name}: holds {finding.value} content, not a name or address"
    return None


def monitor_batch(
    batch: Sequence[SourceRecord],
    subjects: StateTable,
    consents: StateTable,
    decider: Decider,
    key: PseudonymKey,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> MonitorResult:
    """Apply consent and rights events to the state and decide every use and disclosure, in stream order.

    An event that occurred more than ``max_skew`` after it was received (its broker timestamp, at the latest
    ``now``: by default the wall clock) is refused as ``occurred_in_future``.
    """
    result = MonitorResult()
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    for source in batch:
        try:
            event = _ACTIVITY.validate_json(source.value or b"", strict=True)  # JSON types, as the schema says
        except ValidationError as exc:
            reason = DeadLetterReason.SCHEMA_INVALID
            # Its contract's words only: any other key of the event could carry content or personal data.
            words = vocabulary_of(UseEvent, DisclosureEvent, ConsentEvent, RightsRequestEvent)
            result.dead.append(
                DeadLetter(source, Stage.INGEST, reason, describe_validation_error(exc, vocabulary=words))
            )
            continue
        refused = _refusal(event, _received_ms(source, now_ms), max_skew)
        if refused is not None:
            result.dead.append(DeadLetter(source, Stage.INGEST, *refused, event_id=str(event.event_id)))
            continue
        pseudonym = _pseudonym(key, event.tenant_id, event.subject.id)
        skey = subject_key(event.tenant_id, pseudonym)
        if isinstance(event, ConsentEvent):
            ckey = consent_key(event.tenant_id, pseudonym, event.consent_reference)
            consent = {
                "granted": event.action is ConsentAction.GRANT,
                "recipient_id": event.recipient_id,
                "purposes": list(event.purposes),
                "at": event.occurred_at.isoformat(),
            }
            consents[ckey] = consent
            result.changes.append(StateChange(source, "consents", ckey, consent))
        elif isinstance(event, RightsRequestEvent):
            if event.request in (RightsRequestType.SUSPENSION_OF_USE, RightsRequestType.DELETION):
                state = dict(subjects.get(skey) or {})
                flag = "suspended" if event.request is RightsRequestType.SUSPENSION_OF_USE else "deleted"
                state[flag] = not event.lifted
                state[f"{flag}_at"] = event.occurred_at.isoformat()
                subjects[skey] = state
                result.changes.append(StateChange(source, "subjects", skey, state))
        else:
            consented = isinstance(event, DisclosureEvent) and _consent_in_force(event, consents, pseudonym)
            request = request_of(event, subjects.get(skey) or {}, consented, pseudonym)
            result.evaluated.append(Evaluated(source, event, pseudonym, decider.decide_remembered(request)))
    return result
