"""Consumer lag arithmetic: end minus committed, per topic, as Kafka's own tools count it."""

from __future__ import annotations

from kafka import TopicPartition

from services.processors.lag import lag_by_topic


def test_lag_sums_partitions_and_counts_uncommitted_ones_from_their_beginning() -> None:
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    ends = {a0: 100, a1: 50, b0: 7}
    committed = {a0: 90, a1: 50}
    beginnings = {b0: 2}

    assert lag_by_topic(ends, committed, beginnings) == {"a": 10, "b": 5}


def test_lag_is_never_negative() -> None:
    tp = TopicPartition("a", 0)

    assert lag_by_topic({tp: 3}, {tp: 5}, {}) == {"a": 0}
