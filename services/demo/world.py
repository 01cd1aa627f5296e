"""What every demo generator shares: the event type, the one random source, the clock and the subjects' state.

State (consents in force, suspensions of use) is what later events depend on, so a provision without consent
or a use after a suspension is a violation by construction, not by chance.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import orjson

from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.events import SPEC, CollectionKind
from services.demo.company import Employee
from services.emitter.activity import activity_value
from services.topics import Topics

JST = timezone(timedelta(hours=9), "JST")


class Activity(StrEnum):
    """Streams of what happens to data after collection."""

    USE = "use"
    DISCLOSURE = "disclosure"
    CONSENT = "consent"
    RIGHTS = "rights"


class Malformation(StrEnum):
    """How a deliberately malformed event is broken; each ends in the dead-letter topic."""

    TRUNCATED_JSON = "truncated_json"
    INVALID_UTF8 = "invalid_utf8"
    WRONG_TYPES = "wrong_types"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_KIND_VERSION = "unknown_kind_version"


_ACTIVITY_OF: dict[type[Any], Activity] = {
    UseEvent: Activity.USE,
    DisclosureEvent: Activity.DISCLOSURE,
    ConsentEvent: Activity.CONSENT,
    RightsRequestEvent: Activity.RIGHTS,
}


def topic_of(kind: CollectionKind | Activity, topics: Topics) -> str:
    """Where events of ``kind`` go in ``topics``' layout."""
    match kind:
        case CollectionKind():
            return topics.collection(kind)
        case Activity():
            return topics.activity


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One message of the demo: where it goes (``kind``), whose it is, its bytes, and what the demo meant by it."""

    kind: CollectionKind | Activity
    subject: tuple[str, str]
    """(tenant id, subject id): the emitter keys the message by its partition key, never by the raw id."""
    value: bytes
    malformed: Malformation | None = None
    violations: tuple[str, ...] = ()
    """The policy violations the demo means this use or disclosure to raise (empty: allowed)."""

    def topic(self, topics: Topics) -> str:
        """The topic of this event in ``topics``' layout."""
        return topic_of(self.kind, topics)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class World:
    """The company's shared state while the stream runs."""

    rng: random.Random
    staff: list[Employee]
    clock: Callable[[], datetime] = utc_now
    consents: dict[str, str] = field(default_factory=dict)
    """subject id -> reference of the consent to the benefits provider in force."""
    withdrawn: dict[str, str] = field(default_factory=dict)
    """subject id -> reference of a consent that was withdrawn."""
    suspended: set[str] = field(default_factory=set)
    """Subjects who requested suspension of use."""
    profiled: set[str] = field(default_factory=set)
    """Subjects whose profile was sent at least once."""
    consent_numbers: int = 0
    run_salt: int = 0
    """Mixed into event ids: the same seed gives the same company, and a new run still gives new events."""

    def now(self) -> datetime:
        """The current time, in Japan."""
        return self.clock().astimezone(JST)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def event_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128) ^ self.run_salt, version=4)

    def next_consent_reference(self) -> str:
        self.consent_numbers += 1
        return f"cons-{self.now().year}-{self.consent_numbers:06d}"

    def collection(
        self, employee: Employee, kind: CollectionKind, payload: dict[str, Any], source_service: str
    ) -> DemoEvent:
        """A collection event of ``kind`` about ``employee`` (the payload may carry fields to be removed)."""
        document = {
            "spec": SPEC,
            "event_id": str(self.event_id()),
            "kind": kind.value,
            "kind_version": 1,
            "occurred_at": self.now().isoformat(),
            "tenant_id": employee.tenant_id,
            "source_service": source_service,
            "subject": employee.subject,
            "payload": payload,
        }
        return DemoEvent(kind, (employee.tenant_id, employee.subject_id), orjson.dumps(document))

    def activity(
        self,
        employee: Employee,
        event: UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent,
        violations: tuple[str, ...] = (),
    ) -> DemoEvent:
        """An activity event, validated by its contract when it was built."""
        return DemoEvent(
            _ACTIVITY_OF[type(event)],
            (employee.tenant_id, employee.subject_id),
            activity_value(event),
            violations=violations,
        )

    def envelope(self, employee: Employee, source_service: str) -> dict[str, Any]:
        """The fields every activity event shares."""
        return {
            "event_id": self.event_id(),
            "occurred_at": self.now(),
            "tenant_id": employee.tenant_id,
            "source_service": source_service,
            "subject": employee.subject,
        }
