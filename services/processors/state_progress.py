"""Decide a use or disclosure only once the consent and rights state it depends on has been applied.

Consents and rights requests travel on their own topics, so Kafka does not order them with the uses and
disclosures they govern: a consent granted a moment before a provision can be fetched after it, and the
provision would be flagged as made without consent. The state agent records how far it has applied each
state partition; before deciding a batch, the decision agent takes each state partition's high-water mark
(everything produced before the batch was fetched) and waits until the state agent has applied up to it —
for at most a bounded time, so that a stalled state topic delays decisions but never stops them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Protocol

from faust.types import TP


class StateProgress:
    """Offsets applied by the state agent, per partition, and a way to wait for them."""

    def __init__(self, committed: Callable[[TP], int | None] = lambda tp: None) -> None:
        # Where the group stood when this process took the partition over: a partition the state agent has
        # not touched since is applied up to there (the offset of the last message processed, as faust keeps it).
        self._committed = committed
        self._applied: dict[TP, int] = {}
        self._latest: dict[TP, float] = {}
        self._latest_changed = False
        self._busy = False
        self._changed = asyncio.Event()

    def applied(self, tp: TP, offset: int, timestamp: float) -> None:
        """The state agent has applied the message at ``offset`` of ``tp``, produced at ``timestamp``."""
        if offset > self._applied.get(tp, -1):
            self._applied[tp] = offset
            self._latest[tp] = timestamp
            self._latest_changed = True
            self._changed.set()

    def not_after(self, timestamp: float, targets: Mapping[TP, int]) -> bool:
        """Could a non-empty state partition still hold a message from before ``timestamp`` not yet applied?

        True while its latest applied message is not later than ``timestamp`` (or unknown): timestamps have
        millisecond resolution, so a message of the same millisecond may still be on its way.
        """
        return any(self._latest.get(tp, float("-inf")) <= timestamp for tp, target in targets.items() if target > 0)

    def working(self, busy: bool) -> None:
        """The state agent starts (True) or ends (False) a batch: a long batch is not a quiet spell."""
        self._busy = busy
        if not busy:
            self._changed.set()

    async def quiet_for(self, seconds: float) -> bool:
        """True after ``seconds`` with nothing applied and the state agent idle; False once something is applied."""
        self._latest_changed = False
        while True:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), seconds)
            except TimeoutError:
                # The timeout and a change can land in the same loop turn: a change always wins.
                if self._latest_changed:
                    return False
                if not self._busy:
                    return True
                continue  # in the middle of a batch: not a quiet spell
            if self._latest_changed:
                return False
            # Woken by the end of a batch that applied nothing new: the quiet spell starts again.

    def _done_through(self, tp: TP) -> int:
        applied = self._applied.get(tp)
        if applied is not None:
            return applied
        committed = self._committed(tp)
        return -1 if committed is None else committed

    def behind(self, targets: Mapping[TP, int]) -> dict[TP, int]:
        """Partitions whose messages below their target are not all applied yet, with how many are missing."""
        return {
            tp: target - 1 - self._done_through(tp)
            for tp, target in targets.items()
            if self._done_through(tp) + 1 < target
        }

    async def wait_for(self, targets: Mapping[TP, int], timeout_s: float) -> dict[TP, int]:
        """Wait until nothing below ``targets`` is left to apply, or ``timeout_s``; return what is still missing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while missing := self.behind(targets):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return missing
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return self.behind(targets)
        return {}


class StateConsumer(Protocol):
    """The parts of faust's consumer the targets are read from."""

    def assignment(self) -> set[TP]: ...

    def highwater(self, tp: TP) -> int | None: ...

    async def position(self, tp: TP) -> int | None: ...


async def state_targets(consumer: StateConsumer, state_topics: frozenset[str]) -> dict[TP, int]:
    """For each assigned state partition: the offset below which every message was produced before now.

    That is the high-water mark of the latest fetch — or the fetch position, when it is further: messages
    already fetched are certainly older, and Tansu (the local broker) reports the high-water mark as the
    first offset of the last record batch plus one, short of the true end when producers batch.
    """
    targets: dict[TP, int] = {}
    for tp in consumer.assignment():
        if tp.topic not in state_topics:
            continue
        marks = [m for m in (consumer.highwater(tp), await consumer.position(tp)) if m is not None]
        if marks:
            targets[tp] = max(marks)
    return targets
