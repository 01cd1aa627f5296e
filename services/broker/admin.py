"""Explicit topic creation: a producer-created topic gets the broker's default partition count."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.errors import LineageError


class BrokerUnavailable(LineageError, RuntimeError):
    """No Kafka broker answered at the configured bootstrap address."""


def ensure_topics(
    bootstrap: str,
    names: Sequence[str],
    partitions: int,
    timeout: float = 30.0,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet (with ``configs[name]``, if any); return those created.

    Retries while the broker starts.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="purpose-lineage-admin")
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"no Kafka broker answered at {bootstrap} within {timeout:.0f} s") from exc
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in names if name not in existing]
        if missing:
            # Another process may create them between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                configs = configs or {}
                admin.create_topics(
                    [NewTopic(name, partitions, 1, topic_configs=dict(configs.get(name, {}))) for name in missing]
                )
        return missing
    finally:
        admin.close()
