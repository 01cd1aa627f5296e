"""Write a batch of rows; the monitor's path retries while the store fails: consumption waits rather than drops."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from services.metrics import PipelineMetrics
from services.sink.rows import Row, SinkRows
from services.store.async_store import AsyncLineageStore

log = logging.getLogger(__name__)


class LineageWriter:
    """Inserts batches; returns only once ClickHouse acknowledged, so offsets are committed after the insert."""

    def __init__(self, store: AsyncLineageStore, metrics: PipelineMetrics, max_backoff_s: float = 10.0) -> None:
        self._store = store
        self._metrics = metrics
        self._max_backoff_s = max_backoff_s

    async def write(self, rows: SinkRows, token: str) -> None:
        """Insert ``rows`` once, deduplicated by ``token``; raises what the store raised.

        The store role's consumer retries a failed batch (paused, the same batch again): the same token makes
        the retried insert leave no second physical copy.
        """
        counts = {"collection_lineage": len(rows.lineage), "dead_letters": len(rows.dead_letters)}
        if any(counts.values()):
            await self._attempt(lambda: self._store.insert(rows.lineage, rows.dead_letters, token), counts)

    async def write_rows(
        self, tables: Mapping[str, tuple[Sequence[str], Sequence[Row]]], where: str, token: str | None = None
    ) -> None:
        """Insert rows into several tables (table -> (columns, rows)), retrying with backoff until it succeeds.

        Every retry inserts the same blocks with the same ``token``: no second physical copy.
        """

        async def insert_all() -> None:
            for table, (columns, rows) in tables.items():
                await self._store.insert_rows(table, columns, rows, token)

        await self._retrying(insert_all, where, {table: len(rows) for table, (_, rows) in tables.items()})

    async def _attempt(self, insert: Callable[[], Awaitable[None]], counts: Mapping[str, int]) -> None:
        started = time.perf_counter()
        try:
            await insert()
        except Exception:
            self._metrics.sink_failures.inc()
            self._metrics.sink_backpressure.set(1)
            raise
        self._metrics.sink_backpressure.set(0)
        self._metrics.sink_batch_seconds.observe(time.perf_counter() - started)
        self._metrics.sink_batch_rows.observe(sum(counts.values()))
        for table, count in counts.items():
            self._metrics.sink_rows.labels(table).inc(count)

    async def _retrying(self, insert: Callable[[], Awaitable[None]], where: str, counts: Mapping[str, int]) -> None:
        if not any(counts.values()):
            return
        backoff = 0.2
        while True:
            try:
                await self._attempt(insert, counts)
            except Exception as exc:  # noqa: BLE001 - any store failure means: wait and retry, never drop
                log.error("lineage insert failed for %s (%s); retrying in %.1f s", where, type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            return
