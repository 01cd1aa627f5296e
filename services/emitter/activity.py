"""Emission of what happens to data after collection: uses, disclosures, consents and rights requests.

A mixin of :class:`services.emitter.client.Emitter`, so that one producer (acks=all, bounded buffer, the same
subject keying) carries collection and activity events alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar

import orjson
from kafka.producer.future import FutureRecordMetadata

from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from services.topics import Topics

ActivityEvent = TypeVar("ActivityEvent", UseEvent, DisclosureEvent, ConsentEvent, RightsRequestEvent)


def validate_activity(model: type[ActivityEvent], event: ActivityEvent) -> ActivityEvent:
    """``event`` validated again as ``model``: catches events built without validation or of the wrong type."""
    return model.model_validate(event.model_dump())


def activity_value(event: UseEvent | DisclosureEvent | ConsentEvent | RightsRequestEvent) -> bytes:
    """The JSON an activity event travels as."""
    return orjson.dumps(event.model_dump(mode="json"))


class ActivityEmitter(ABC):
    """Typed methods for uses, disclosures, consents and rights requests, all on ``activity.v1``.

    One topic keyed by subject: a consent or suspension sent before a use is decided before it.
    """

    topics: Topics

    @abstractmethod
    def emit_for_subject(self, topic: str, value: bytes, tenant_id: str, subject_id: str) -> FutureRecordMetadata:
        """Send ``value`` keyed by the subject (never by the raw id)."""

    def _activity(self, topic: str, model: type[ActivityEvent], event: ActivityEvent) -> FutureRecordMetadata:
        validated = validate_activity(model, event)  # fail in the caller, not in the purpose monitor
        return self.emit_for_subject(topic, activity_value(validated), validated.tenant_id, validated.subject.id)

    def use(self, event: UseEvent) -> FutureRecordMetadata:
        """Rakuro's own use of a subject's data for a purpose (Art. 3)."""
        return self._activity(self.topics.activity, UseEvent, event)

    def disclosure(self, event: DisclosureEvent) -> FutureRecordMetadata:
        """Data leaving Rakuro for a third party, a consignee or a collection module (Art. 4-6)."""
        return self._activity(self.topics.activity, DisclosureEvent, event)

    def consent(self, event: ConsentEvent) -> FutureRecordMetadata:
        """A consent to provision to a third party, given or withdrawn (Art. 4.1)."""
        return self._activity(self.topics.activity, ConsentEvent, event)

    def rights(self, event: RightsRequestEvent) -> FutureRecordMetadata:
        """A rights request (Art. 8), or the lifting of a suspension of use."""
        return self._activity(self.topics.activity, RightsRequestEvent, event)
