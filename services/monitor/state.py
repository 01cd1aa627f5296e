"""The consent and rights state a monitor worker holds in memory: bounded, every key reloadable from the store.

Every change of state is stored in ``monitor_state`` with its batch, before the batch's offsets are committed
(services/processors/monitor.py), each row holding its key's whole timeline. So any key's state as the
messages below an offset left it can be read back at any time, and memory need hold only the keys in use: at
most ``capacity`` keys, the most recently used, across the worker's partitions. Before a batch is applied, the
keys its events read (:func:`services.monitor.evaluate.state_keys`) that are not held are read from the store
in one query per partition; a key the store has no state for is held as such (most subjects never have a
consent or a suspension), so it is not asked again while it stays held.

Before, the worker held every key of its partitions for as long as it owned them, loaded all at a takeover:
~730 bytes a key, so a million subjects with a consent and a suspension took ~1.5 GB.

Held state is bounded in bytes too, not only in keys: a key's value is its timeline, whose size the events
choose (a consent's changes each keep its purposes), so ``capacity`` keys alone bounded nothing (nineteenth
red-team pass: ~11 KB a new consent key, ~1.1 GB at 100,000 keys). Each key is charged an upper bound of what
Python holds for it (:func:`charge`: the JSON size of its value, as its ``monitor_state`` row holds it, and
:data:`ELEMENT_BYTES` an element); past ``max_bytes`` the least recently used go, as past ``capacity``.

Reading a key that was not loaded first raises :class:`StateNotLoaded`: a key :func:`state_keys` does not name
would otherwise be decided as "no state" (a use during a suspension allowed), so it must fail loudly instead.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from services.errors import LineageError

StateKey = tuple[str, str]
"""(table, key): ``subjects`` or ``consents``, and the key within it."""

_Entry = tuple[str, int, str, str]  # topic, partition, table, key


ENTRY_OVERHEAD = 480
"""Bytes a held key is charged beside its value and its key's characters: the ordered dict's node and slot, the
entry's tuple, the key text's header, the charge's own slot and int (measured ~1.2 times 160 with 160)."""


ELEMENT_BYTES = 64
"""What Python holds for each element of a value beside its characters: a text's header (49 bytes and rounding),
a list's slot, a list's own header (56) spread over its elements; charged per comma, bracket and brace of the
value's JSON, a count of its elements from above (a text that holds a comma is charged twice)."""


def charge(entry: _Entry, value: dict[str, Any] | None) -> int:
    """What holding ``value`` under ``entry`` counts against the byte budget: an upper bound of what Python holds
    for it (twentieth red-team pass: charged by its JSON size alone, 64 purposes of one or two characters held
    8-12 times their charge)."""
    if value is None:
        return ENTRY_OVERHEAD + len(entry[3])
    text = orjson.dumps(value)
    elements = 1 + text.count(b",") + text.count(b"[") + text.count(b"{")
    return ENTRY_OVERHEAD + len(entry[3]) + len(text) + ELEMENT_BYTES * elements


class StateNotLoaded(LineageError, LookupError):
    """A key of state was read before it was loaded: a defect, never a state to decide by."""


class TableView:
    """One partition's table of held state, as :class:`services.monitor.evaluate.Overlay` reads it."""

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: Mapping[_Entry, dict[str, Any] | None], topic: str, partition: int, table: str) -> None:
        self._values = values
        self._prefix = (topic, partition, table)

    def get(self, key: str, /) -> dict[str, Any] | None:
        entry = (*self._prefix, key)
        try:
            return self._values[entry]
        except KeyError:
            raise StateNotLoaded(f"monitor state of a {self._prefix[2]} key read before it was loaded") from None


class StateCache:
    """At most ``capacity`` keys of state (or of known absence of state) and about ``max_bytes`` (:func:`charge`),
    least recently used evicted first, each valid for a partition's messages from the offset :meth:`resume` was
    given on. Keys are evicted only after a batch is stored (:meth:`stored`), so a batch's own keys stay held
    while it is applied: the bound may be passed by one batch's keys in between."""

    def __init__(self, capacity: int, max_bytes: int) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._values: OrderedDict[_Entry, dict[str, Any] | None] = OrderedDict()
        self._charges: dict[_Entry, int] = {}
        self.held_bytes = 0
        self._next_offset: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self._values)

    def resume(self, topic: str, partition: int, first_offset: int) -> None:
        """Hold the partition's state for messages from ``first_offset`` on: what is held stays if the last
        batch stored ended there, otherwise (a rebalance, a seek, a batch refused in part) it is dropped."""
        if self._next_offset.get((topic, partition)) != first_offset:
            self.forget(topic, partition)
            self._next_offset[(topic, partition)] = first_offset

    def forget(self, topic: str, partition: int) -> None:
        """Drop what is held of one partition: read again from the store when next needed."""
        self._next_offset.pop((topic, partition), None)
        for entry in [entry for entry in self._values if entry[0] == topic and entry[1] == partition]:
            del self._values[entry]
            self.held_bytes -= self._charges.pop(entry)

    def missing(self, topic: str, partition: int, keys: Iterable[StateKey]) -> list[StateKey]:
        """Which of ``keys`` are not held (each once); those that are count as used now."""
        absent: dict[StateKey, None] = {}
        for table, key in keys:
            entry = (topic, partition, table, key)
            if entry in self._values:
                self._values.move_to_end(entry)
            else:
                absent[(table, key)] = None
        return list(absent)

    def load(
        self, topic: str, partition: int, keys: Iterable[StateKey], found: Mapping[StateKey, dict[str, Any]]
    ) -> None:
        """Hold ``keys`` as the store has them (``found``; a key not found has no state)."""
        for table, key in keys:
            self._hold((topic, partition, table, key), found.get((table, key)))

    def table(self, topic: str, partition: int, table: str) -> TableView:
        return TableView(self._values, topic, partition, table)

    def stored(
        self, topic: str, partition: int, changes: Mapping[str, Mapping[str, dict[str, Any]]], next_offset: int
    ) -> None:
        """A batch of the partition was stored: hold its ``changes`` (table -> key -> value), valid from
        ``next_offset`` on, and evict the least recently used keys over the capacity."""
        for table, values in changes.items():
            for key, value in values.items():
                entry = (topic, partition, table, key)
                self._hold(entry, value)
                self._values.move_to_end(entry)
        self._next_offset[(topic, partition)] = next_offset
        while self._values and (len(self._values) > self.capacity or self.held_bytes > self.max_bytes):
            entry, _ = self._values.popitem(last=False)
            self.held_bytes -= self._charges.pop(entry)

    def _hold(self, entry: _Entry, value: dict[str, Any] | None) -> None:
        self._values[entry] = value
        cost = charge(entry, value)
        self.held_bytes += cost - self._charges.get(entry, 0)
        self._charges[entry] = cost
