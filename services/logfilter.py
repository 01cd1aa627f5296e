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
