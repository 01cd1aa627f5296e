"""Consumer lag: how far the pipeline's consumer group is behind the end of each topic it reads.

Measured as ``kafka-consumer-groups`` does — end offset minus committed offset, per partition, summed per
topic — so the figure matches what an operator sees with Kafka's own tools. A partition the group never
committed counts from its beginning (the processors start from the earliest offset).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from services.logfilter import quiet_closed_transports

log = logging.getLogger(__name__)


def lag_by_topic(
    ends: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int],
    beginnings: Mapping[TopicPartition, int],
) -> dict[str, int]:
    """Messages past the committed offsets, per topic; never negative."""
    lag: dict[str, int] = {}
    for tp, end in ends.items():
        start = committed.get(tp, beginnings.get(tp, 0))
        lag[tp.topic] = lag.get(tp.topic, 0) + max(end - start, 0)
    return lag


@dataclass
class LagProbe:
    """Reads end and committed offsets of consumer groups. Blocking: run it off the event loop."""

    bootstrap: str
    groups: Mapping[str, Sequence[str]]  # consumer group -> the topics it reads
    _admin: KafkaAdminClient | None = None
    _consumer: KafkaConsumer | None = None
    missing: list[str] | None = None
    """Topics the last measurement found no partition of (a broker that restarted empty lost them)."""

    def measure(self) -> dict[str, int]:
        """Lag per topic; raises when the broker cannot answer (the clients are then made anew next time)."""
        try:
            return self._measure()
        except Exception:
            self.close()
            raise

    def _measure(self) -> dict[str, int]:
        if self._admin is None or self._consumer is None:
            quiet_closed_transports()  # closing these clients must not log a kafka-python race as an error
            # Short request timeouts: a broker that is gone is reported within seconds, not after 30.
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, client_id="purpose-lineage-lag", request_timeout_ms=5_000
            )
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap, enable_auto_commit=False, request_timeout_ms=5_000
            )
        lag: dict[str, int] = {}
        missing: list[str] = []
        for group, topics in self.groups.items():
            partitions = []
            for topic in topics:
                found = self._consumer.partitions_for_topic(topic)
                if not found:
                    missing.append(topic)
                partitions += [TopicPartition(topic, partition) for partition in sorted(found or ())]
            if not partitions:
                continue
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
            committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0 and tp in partitions}
            ends = self._consumer.end_offsets(partitions)
            beginnings = self._consumer.beginning_offsets([tp for tp in partitions if tp not in committed])
            lag.update(lag_by_topic(ends, committed, beginnings))
        self.missing = missing
        return lag

    def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except KafkaError:  # closing a client of a broker that is gone is not worth an error
                    log.debug("lag probe client did not close cleanly")
        self._admin = self._consumer = None
