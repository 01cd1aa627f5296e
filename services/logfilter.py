"""A log filter that lets a client library's repeated complaint through once per interval, with a count.

A Kafka client that lost its broker logs the same connection error many times a second; one line a minute
("… and 7,412 more like it") says as much and keeps the log readable. Our own records are never filtered.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable


class RepeatFilter(logging.Filter):
    """Pass the first record of each (logger, message template) of ``prefixes`` per ``interval_s``."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("aiokafka", "kafka"),
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._interval_s = interval_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: Counter[tuple[str, str]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval_s:
            self._held[key] += 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self._interval_s:.0f} s)"
        return True


class ClosedTransportFilter(logging.Filter):
    """Demote to DEBUG what a kafka-python transport reports after it was closed.

    kafka-python 3's network thread can be between "the socket is readable" and ``recv`` when the caller's
    thread closes the client: it then logs ``Error receiving network data`` (an ``AttributeError`` on the
    socket the close already dropped) or ``socket disconnected`` at ERROR, for a connection we ended on
    purpose. A transport that was not closing keeps its ERROR: a lost broker is still reported.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        transport = record.args[0] if isinstance(record.args, tuple) and record.args else None
        is_closing = getattr(transport, "is_closing", None)
        if record.levelno >= logging.ERROR and callable(is_closing) and is_closing() is True:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_TRANSPORT_LOGGER = "kafka.net.transport"


def quiet_closed_transports() -> None:
    """Install :class:`ClosedTransportFilter` on kafka-python's transport logger (once; idempotent)."""
    logger = logging.getLogger(_TRANSPORT_LOGGER)
    if not any(isinstance(f, ClosedTransportFilter) for f in logger.filters):
        logger.addFilter(ClosedTransportFilter())
