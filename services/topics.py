"""Topic names, in one place, so that producers, processors and tests agree."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from schemas.events import CollectionKind


@dataclass(frozen=True)
class Topics:
    """The topic layout of one deployment; ``prefix`` isolates deployments sharing a cluster."""

    prefix: str = ""

    def collection(self, kind: CollectionKind) -> str:
        """Where attendance services emit collection events of ``kind``."""
        return f"{self.prefix}collection.{kind.value}.v1"

    def tagged(self, kind: CollectionKind) -> str:
        """Where minimized, pseudonymized and tagged records of ``kind`` go."""
        return f"{self.prefix}tagged.{kind.value}.v1"

    def collection_for(self, kind: str) -> str:
        """The collection topic of a kind given by name."""
        return self.collection(CollectionKind(kind))

    def tagged_for(self, kind: str) -> str:
        """The tagged topic of a kind given by name."""
        return self.tagged(CollectionKind(kind))

    @property
    def dead_letter(self) -> str:
        """Where every event that failed a stage goes, with reason headers."""
        return f"{self.prefix}lineage.dlq.v1"

    @property
    def activity(self) -> str:
        """Uses, disclosures, consents and rights requests (schemas.activity), keyed by subject.

        One topic for the four, so that Kafka itself orders a subject's consents and suspensions before the
        uses and disclosures sent after them: the partition is the order, and its owner holds the state.
        """
        return f"{self.prefix}activity.v1"

    @property
    def violations(self) -> str:
        """Purpose violations raised by the monitor, for alerting and other consumers."""
        return f"{self.prefix}violations.v1"

    @property
    def all_activity(self) -> list[str]:
        return [self.activity]

    @property
    def all_collection(self) -> list[str]:
        return [self.collection(k) for k in CollectionKind]

    @property
    def all_tagged(self) -> list[str]:
        return [self.tagged(k) for k in CollectionKind]

    @property
    def all(self) -> list[str]:
        """Every topic the stack creates explicitly (auto-creation picks a wrong partition count)."""
        return [*self.all_collection, *self.all_tagged, self.dead_letter, *self.all_activity, self.violations]

    @cached_property
    def _collection_kinds(self) -> dict[str, CollectionKind]:
        return {self.collection(kind): kind for kind in CollectionKind}

    def kind_of_collection_topic(self, topic: str) -> CollectionKind | None:
        """The kind a collection topic carries, or None for a topic outside the layout (hot path: a dict lookup)."""
        return self._collection_kinds.get(topic)
