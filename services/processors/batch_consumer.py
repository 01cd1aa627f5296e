"""The hot path's consumer: batches straight from aiokafka, offsets committed only for finished batches.

faust's stream machinery costs per event and acknowledges a batch however the agent leaves it (a stop during a
store outage committed offsets of events stored nowhere). Here the rule is one line of code: ``commit`` runs
after ``handle`` returned, and nowhere else. A handler that fails pauses every partition (backpressure: nothing
more is fetched while the output is down) and gets the *same* batch again after a backoff, so a retried insert
is the same block with the same deduplication token. A stop, a cancellation or a rebalance during ``handle``
commits nothing: the events are delivered again, and every output is idempotent (tagged records and rows are
keyed by event identity).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from services.errors import LineageError
from services.processors.batches import record_headers
from services.records import SourceRecord

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[SourceRecord]], Awaitable[None]]
Forget = Callable[[set[TopicPartition]], None]


class _Rebalances(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the handler's owner which partitions' in-memory state no longer holds (revoked, or re-assigned)."""

    def __init__(self, forget: Forget) -> None:
        self._forget = forget

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Another member may have processed these since this one last held them: whatever it knew is stale.
        self._forget(set(assigned))


@dataclass(frozen=True, slots=True)
class ConsumerHealth:
    """Whether one consumer consumes and commits, as a probe and an operator see it (no input value in it)."""

    name: str
    state: str
    """``ok``; ``failing`` (its output fails, partitions paused, the batch retried); ``stalled`` (no fetch and no
    attempt at its batch for too long); ``dead`` (its loop ended on its own)."""
    healthy: bool
    reason: str | None
    partitions: int
    last_commit_age_s: float | None

    def document(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "healthy": self.healthy,
            "reason": self.reason,
            "partitions": self.partitions,
            "last_commit_age_s": None if self.last_commit_age_s is None else round(self.last_commit_age_s, 1),
        }


@dataclass(frozen=True)
class ConsumerConfig:
    """What one role's consumer needs; built from the settings by the pipeline."""

    bootstrap: str
    group_id: str
    topics: Sequence[str]
    batch_size: int
    batch_window_s: float
    session_timeout_s: float
    rebalance_timeout_s: float
    max_backoff_s: float = 10.0
    max_message_bytes: int = 8 * 1024 * 1024
    """The largest message on its topics (services.roles.max_message_bytes): a fetch always has room for one."""


def source_record(message: ConsumerRecord[bytes, bytes]) -> SourceRecord:
    """The consumed message as the stages see it."""
    timestamp = message.timestamp
    return SourceRecord(  # positional: built once per consumed message
        message.topic,
        message.partition,
        message.offset,
        message.value,
        message.key,
        record_headers(message.headers),
        timestamp if timestamp and timestamp > 0 else None,
    )


class BatchConsumer:
    """One role's consumer group: fetch a batch, ``await handle(batch)``, commit it; nothing else commits."""

    def __init__(self, name: str, config: ConsumerConfig, handle: Handler, forget: Forget | None = None) -> None:
        """``forget`` is told of every partition revoked or assigned: state kept per partition must be reloaded."""
        self.name = name
        self._config = config
        self._handle = handle
        self._forget = forget
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.died = asyncio.Event()  # the consuming task ended while nobody asked it to stop
        self.death: str | None = None  # why, as the exception's class name (its text may hold anything)
        self.failing = False  # the handler failed on the last attempt and the partitions are paused
        self.failing_since: float | None = None  # monotonic time of the first failed attempt of this outage
        self.failure: str | None = None  # what failed: our own message for a LineageError, else the class name
        self.last_commit: float | None = None  # monotonic time of the last successful commit
        self.last_progress = time.monotonic()  # the last fetch that returned, or the last attempt at a batch
        self._window_opened: float | None = None  # when the next batch's window opened (the last fetch returned)

    async def start(self) -> None:
        config = self._config
        session_ms = int(config.session_timeout_s * 1000)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap,
            group_id=config.group_id,
            client_id=f"{config.group_id}-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(session_ms // 5, 100),
            rebalance_timeout_ms=int(config.rebalance_timeout_s * 1000),
            max_poll_records=config.batch_size,
            # The broker holds an empty fetch up to this long (aiokafka's default 500 ms). Kafka answers as soon
            # as data comes; Tansu (the local broker) only when the wait ends (measured: a message every 37 ms
            # reached getmany after 3 / 40 / 136 ms at 10 / 150 / 500 ms waits). So it is a fifth of the batch
            # window: `up` at 7,000 events/s, produce -> queryable p99 1.28 s with half the window, 0.76-1.03 s
            # with a fifth; idle, the pipeline and broker use 0.18 core instead of 0.11 (0.25 with a tenth).
            fetch_max_wait_ms=max(10, min(500, int(config.batch_window_s * 200))),
            fetch_max_bytes=max(64 * 1024 * 1024, config.max_message_bytes),
            max_partition_fetch_bytes=max(8 * 1024 * 1024, config.max_message_bytes),
        )
        # Subscribed before the start, so that the first join already has the topics (a subscription made
        # after it changes the metadata and costs the group a second rebalance: ~5 s on the local broker).
        listener = _Rebalances(self._forget) if self._forget is not None else None
        self._consumer.subscribe(topics=list(config.topics), listener=listener)
        await self._consumer.start()
        self._launch(self._run())

    def _launch(self, run: Coroutine[Any, Any, None]) -> None:
        self.last_progress = time.monotonic()  # the group join before it is not idleness
        self._task = asyncio.create_task(run, name=f"{self.name}-consumer")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping.is_set():
            return
        error = None if task.cancelled() else task.exception()
        self.death = type(error).__name__ if error is not None else "ended without an error"
        log.error("%s: the consumer stopped consuming (%s)", self.name, self.death)
        self.died.set()

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def health(self, now: float, unhealthy_after_s: float) -> ConsumerHealth:
        """This consumer's health at monotonic time ``now``.

        A failing output turns it unhealthy once it has failed for ``unhealthy_after_s`` (a blip is not an
        outage); a loop that neither fetched nor attempted its batch for twice that is stalled.
        """
        partitions = len(self.assignment())
        commit_age = None if self.last_commit is None else now - self.last_commit

        def health(state: str, healthy: bool, reason: str | None = None) -> ConsumerHealth:
            return ConsumerHealth(self.name, state, healthy, reason, partitions, commit_age)

        if self.died.is_set():
            return health("dead", False, self.death)
        if self.failing and self.failing_since is not None:
            failed_for = now - self.failing_since
            return health("failing", failed_for < unhealthy_after_s, f"{self.failure} (for {failed_for:.0f} s)")
        idle_for = now - self.last_progress
        if self._task is not None and idle_for >= 2 * unhealthy_after_s:
            return health("stalled", False, f"no fetch and no batch attempted for {idle_for:.0f} s")
        return health("ok", True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let the batch in hand finish for up to ``grace_s``, then cancel it uncommitted and leave the group."""
        self._stopping.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace_s)
            if not done:
                log.warning(
                    "%s: the batch in hand did not finish within %.0f s; it is left uncommitted", self.name, grace_s
                )
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()  # auto-commit is off: leaving the group commits nothing
            self._consumer = None

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            fetched = await self._fetch(self._consumer)
            if fetched and await self._handled(self._consumer, fetched):
                await self._commit(self._consumer, {tp: messages[-1].offset + 1 for tp, messages in fetched.items()})

    async def _handled(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> bool:
        """Hand the batch over until it succeeds (True), or until a stop or a rebalance takes it away (False)."""
        batch = [source_record(m) for messages in fetched.values() for m in messages]
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._handle(batch)
            except Exception as exc:  # noqa: BLE001 - any failed output: pause, retry the same batch; never drop
                self.last_progress = time.monotonic()
                # Only messages of ours are safe to show (no values); anything else by its class.
                self.failure = str(exc) if isinstance(exc, LineageError) else type(exc).__name__
                if not self.failing:  # once per outage
                    log.error("%s: output failed (%s); pausing consumption, retrying", self.name, self.failure)
                    self.failing_since = time.monotonic()
                self.failing = True
                if not await self._paused_for(consumer, backoff, set(fetched)):
                    self._rewind(consumer, fetched)
                    return False
                backoff = min(backoff * 2, self._config.max_backoff_s)
                continue
            self.last_progress = time.monotonic()
            if self.failing:
                log.info("%s: output is back; consuming again", self.name)
                self.failing, self.failing_since, self.failure = False, None, None
            return True
        return False

    async def _fetch(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """Up to ``batch_size`` messages, waiting at most ``batch_window_s`` for the batch to fill.

        The window opens when the previous fetch returned, not when this one starts: messages that came while the
        previous batch was handled have waited already (the client buffers them). A handler slower than the window
        gets what came meanwhile at once — batches grow with the load instead of every message waiting a handler's
        time plus a whole window.
        """
        config = self._config
        now = time.monotonic()
        opened = self._window_opened if self._window_opened is not None else now
        deadline = max(opened + config.batch_window_s, now)
        try:
            return await self._fill(consumer, deadline)
        finally:
            self._window_opened = time.monotonic()

    async def _fill(
        self, consumer: AIOKafkaConsumer, deadline: float
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        config = self._config
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        count = 0
        while count < config.batch_size and not self._stopping.is_set():
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 and count:
                break
            more = await consumer.getmany(timeout_ms=max(remaining_ms, 0), max_records=config.batch_size - count)
            self.last_progress = time.monotonic()
            for tp, messages in more.items():
                fetched.setdefault(tp, []).extend(messages)
                count += len(messages)
            if remaining_ms <= 0:
                break
        return fetched

    @staticmethod
    def _rewind(consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Put the partitions still ours back to the first offset of a batch that was not handled."""
        assigned = consumer.assignment()
        for tp, messages in fetched.items():
            if tp in assigned:
                consumer.seek(tp, messages[0].offset)

    async def _paused_for(self, consumer: AIOKafkaConsumer, seconds: float, batch: set[TopicPartition]) -> bool:
        """Pause every partition for ``seconds``; False if a stop or a rebalance took a partition of the batch.

        A batch that lost a partition is dropped uncommitted: its new owner reads it again, and the caller
        rewinds what is still ours to the batch's start.
        """
        paused = set(consumer.assignment())
        consumer.pause(*paused)
        try:
            # getmany on paused partitions returns nothing but keeps the member's poll interval alive.
            deadline = time.monotonic() + seconds
            while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
                await consumer.getmany(timeout_ms=int(left * 1000) + 1)
                if not batch <= consumer.assignment():
                    return False
        finally:
            consumer.resume(*(tp for tp in paused if tp in consumer.assignment()))
        return not self._stopping.is_set()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        assigned = consumer.assignment()
        mine = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        try:
            await consumer.commit(mine)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # The group rebalanced under the batch: its new owner reads it again, the outputs are idempotent.
            log.warning(
                "%s: offsets not committed (%s); the batch will be delivered again", self.name, type(exc).__name__
            )
            return
        self.last_commit = time.monotonic()
