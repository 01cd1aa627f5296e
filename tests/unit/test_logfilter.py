"""The Kafka clients' repeated complaints reach the log once per interval, with how many were held back."""

from __future__ import annotations

import logging

from services.logfilter import RepeatFilter


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_repeated_client_error_passes_once_per_interval_with_a_count() -> None:
    now = [0.0]
    repeats = RepeatFilter(interval_s=60.0, clock=lambda: now[0])
    passed = []
    for second in range(0, 125):
        now[0] = second * 0.01  # 125 in just over a second, each naming another node
        record = _record("aiokafka.conn", "Unable connect to node with id %s: %s", second, "refused")
        if repeats.filter(record):
            passed.append(record)
    now[0] = 61.0
    later = _record("aiokafka.conn", "Unable connect to node with id %s: %s", 1, "refused")

    assert len(passed) == 1
    assert repeats.filter(later)
    assert later.getMessage() == "Unable connect to node with id 1: refused (and 124 more like it in the last 60 s)"


def test_our_own_records_and_other_messages_are_never_held_back() -> None:
    repeats = RepeatFilter(clock=lambda: 0.0)

    assert all(repeats.filter(_record("services.roles", "the broker does not answer")) for _ in range(3))
    assert repeats.filter(_record("kafka.client", "first"))
    assert repeats.filter(_record("kafka.client", "second"))
