"""Write a batch of rows, retrying while the store fails: consumption waits rather than drops."""

from __future__ import annotations

import asyncio
import logging
import time

from services.metrics import PipelineMetrics
from services.sink.rows import SinkRows
from services.store.async_store import AsyncLineageStore

log = logging.getLogger(__name__)


class LineageWriter:
    """Inserts batches; returns only once ClickHouse acknowledged, so offsets are committed after the insert."""

    def __init__(self, store: AsyncLineageStore, metrics: PipelineMetrics, max_backoff_s: float = 10.0) -> None:
        self._store = store
        self._metrics = metrics
        self._max_backoff_s = max_backoff_s

    async def write(self, rows: SinkRows, where: str) -> None:
        """Insert ``rows`` (from ``where``, e.g. ``topic[0]@10..20``), retrying with backoff until it succeeds."""
        if not rows.lineage and not rows.dead_letters:
            return
        backoff = 0.2
        while True:
            started = time.perf_counter()
            try:
                await self._store.insert(rows.lineage, rows.dead_letters)
            except Exception as exc:  # noqa: BLE001 - any store failure means: wait and retry, never drop
                self._metrics.sink_failures.inc()
                log.error("lineage insert failed for %s (%s); retrying in %.1f s", where, type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            self._metrics.sink_batch_seconds.observe(time.perf_counter() - started)
            self._metrics.sink_rows.labels("collection_lineage").inc(len(rows.lineage))
            self._metrics.sink_rows.labels("dead_letters").inc(len(rows.dead_letters))
            return
