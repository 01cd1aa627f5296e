"""The Kafka clients' repeated complaints reach the log once per interval, with how many were held back."""

from __future__ import annotations

import logging
import socket

import pytest

from services.logfilter import ClosedTransportFilter, RepeatFilter, quiet_closed_transports


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


class _Net:
    """Just enough of kafka-python's network loop for a transport to close its socket."""

    def unregister_event(self, sock: object, events: int) -> None:
        return None


def test_kafka_pythons_read_after_our_close_is_demoted_and_a_live_transports_error_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from kafka.net.transport import KafkaTCPTransport

    quiet_closed_transports()
    quiet_closed_transports()  # idempotent
    assert sum(isinstance(f, ClosedTransportFilter) for f in logging.getLogger("kafka.net.transport").filters) == 1

    ours, theirs = socket.socketpair()
    theirs.close()
    closed = KafkaTCPTransport(_Net(), ours)
    closed.close()  # our thread closes the client ...
    with caplog.at_level(logging.DEBUG, logger="kafka.net.transport"):
        _, error = closed._sock_recv()  # ... while the network thread was about to read: the library's own race
    assert error is not None
    race = [r for r in caplog.records if "Error receiving network data" in r.getMessage()]
    assert race
    assert all(r.levelno == logging.DEBUG for r in race)

    caplog.clear()
    live_sock, peer = socket.socketpair()
    peer.close()  # the other end went away while we still wanted the connection
    live = KafkaTCPTransport(_Net(), live_sock)
    with caplog.at_level(logging.DEBUG, logger="kafka.net.transport"):
        live._sock_recv()
    live_sock.close()
    assert [r.levelno for r in caplog.records if "socket disconnected" in r.getMessage()] == [logging.ERROR]
