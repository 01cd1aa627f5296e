"""Explicit topic creation: a producer-created topic gets the broker's default partition count."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.errors import LineageError
from services.logfilter import quiet_closed_transports


class BrokerUnavailable(LineageError, RuntimeError):
    """No Kafka broker answered at the configured bootstrap address."""


class TopicMismatch(LineageError, ValueError):
    """An existing topic is not laid out as the settings say (its partition count)."""


@dataclass(frozen=True)
class TopicSpec:
    """How one topic must be laid out."""

    name: str
    partitions: int
    replication_factor: int = 1
    configs: Mapping[str, str] = field(default_factory=dict)


def ensure_topics(
    bootstrap: str,
    names: Sequence[str],
    partitions: int,
    timeout: float = 30.0,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet (with ``configs[name]``, if any); return those created."""
    configs = configs or {}
    specs = [TopicSpec(name, partitions, 1, configs.get(name, {})) for name in names]
    return create_topics(bootstrap, specs, timeout)


def create_topics(bootstrap: str, specs: Sequence[TopicSpec], timeout: float = 30.0) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return those created. Retries while the broker starts."""
    admin = _admin(bootstrap, timeout)
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            # Another process may create them between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [
                        NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=dict(s.configs))
                        for s in missing
                    ]
                )
        return [spec.name for spec in missing]
    finally:
        admin.close()


def check_topics(bootstrap: str, specs: Sequence[TopicSpec], timeout: float = 30.0) -> None:
    """Raise :class:`TopicMismatch` naming every existing topic whose partition count differs from its spec."""
    admin = _admin(bootstrap, timeout)
    try:
        described = {topic["name"]: len(topic.get("partitions") or ()) for topic in admin.describe_topics()}
    finally:
        admin.close()
    wrong = [
        f"{spec.name} has {described[spec.name]} partition(s), the settings ask for {spec.partitions}"
        for spec in specs
        if spec.name in described and described[spec.name] != spec.partitions
    ]
    if wrong:
        raise TopicMismatch(
            "; ".join(wrong) + ". Partitions are never changed behind the owners' back: add them with the "
            "broker's tools (kafka-topics --alter), or set LINEAGE_TOPIC_PARTITIONS to what exists"
        )


def _admin(bootstrap: str, timeout: float) -> KafkaAdminClient:
    quiet_closed_transports()
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="purpose-lineage-admin")
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"no Kafka broker answered at {bootstrap} within {timeout:.0f} s") from exc
            time.sleep(0.5)
    return admin
