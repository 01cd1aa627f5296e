"""Write a consumed batch's rows; a failure raises :class:`OutputFailed`, and the consumer retries the batch."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from services.errors import OutputFailed
from services.metrics import PipelineMetrics
from services.sink.rows import (
    DEAD_LETTER_COLUMNS,
    IDENTITY_COLUMNS,
    LINEAGE_COLUMNS,
    LINEAGE_EVENT_ID,
    LINEAGE_PSEUDONYM,
    LINEAGE_TENANT,
    REDELIVERY_COLUMNS,
    Origin,
    Resolved,
    Row,
    SinkRows,
    claims_to_confirm,
    identity_rows,
    refused_row,
    resolve_identities,
    unlanded_claims,
)
from services.store.async_store import AsyncLineageStore
from services.store.client import describe_store_error, refuses_data


class LineageWriter:
    """Inserts batches; returns only once ClickHouse acknowledged, so offsets are committed after the insert."""

    def __init__(self, store: AsyncLineageStore, metrics: PipelineMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def write(self, parsed: SinkRows, token: str) -> Resolved:
        """Store a consumed batch's rows: one row per event identity, deduplicated by ``token``.

        The identities are first looked up in the store (:func:`resolve_identities`): a re-delivery is not
        inserted again (only its coordinates, in ``redeliveries``), a conflict becomes an ``event_id_conflict``
        dead letter. A new identity is claimed in ``event_identity`` before its row is inserted; a claim whose
        row never landed (a stop between the two inserts) is found by :meth:`LineageStore.landed` when its
        event comes again, and the row is inserted then.

        A store that is down raises :class:`OutputFailed` (with ClickHouse's code, no values): the store role's
        consumer pauses and retries the same batch, and the same token makes the retried insert leave no second
        physical copy. Rows the store refuses as such (a value that does not fit its column) are isolated by
        halving the block until each refused row stands alone; each becomes a ``store_refused`` dead letter at
        its message's coordinates, and every other row is stored: a poison row never blocks the rest.
        """
        now = datetime.now(UTC)
        identities = [(row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID]) for row in parsed.lineage]
        try:
            claimed = await self._store.stored_digests(identities)
            confirm = claims_to_confirm(parsed, claimed)
            keys = [(row[LINEAGE_TENANT], row[LINEAGE_PSEUDONYM], row[LINEAGE_EVENT_ID]) for row in confirm]
            landed = await self._store.landed(keys) if keys else set()
        except Exception as exc:
            self._failed()
            raise OutputFailed(f"identity lookup failed: {describe_store_error(exc)}") from exc
        resolved = resolve_identities(parsed, claimed, now, unlanded_claims(confirm, landed))
        rows = resolved.rows
        await self._isolating("event_identity", IDENTITY_COLUMNS, identity_rows(rows.lineage), [], token, now)
        refused = await self._isolating(
            "collection_lineage", LINEAGE_COLUMNS, rows.lineage, rows.lineage_origins, token, now
        )
        refused += await self._isolating(
            "dead_letters", DEAD_LETTER_COLUMNS, rows.dead_letters, rows.dead_letter_origins, token, now
        )
        await self._isolating("redeliveries", REDELIVERY_COLUMNS, resolved.redelivered, [], token, now)
        if refused:
            await self._isolating("dead_letters", DEAD_LETTER_COLUMNS, refused, [], f"{token}/refused", now)
            self._metrics.store_refused.inc(len(refused))
        self._metrics.redeliveries.inc(resolved.redeliveries)
        self._metrics.event_id_conflicts.inc(resolved.conflicts)
        resolved.refused = len(refused)
        return resolved

    async def _isolating(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Row],
        origins: Sequence[Origin],
        token: str,
        now: datetime,
    ) -> list[Row]:
        """Insert ``rows``; the dead letters of those the store refuses (``origins`` empty: refusal is an error)."""
        if not rows:
            return []
        try:
            await self._attempt(lambda: self._store.insert_rows(table, columns, rows, token), {table: len(rows)})
        except Exception as exc:
            if not refuses_data(exc) or not origins:
                raise OutputFailed(f"insert into {table} failed: {describe_store_error(exc)}") from exc
            if len(rows) == 1:
                return [refused_row(origins[0], describe_store_error(exc), now)]
            half = len(rows) // 2
            first = await self._isolating(table, columns, rows[:half], origins[:half], f"{token}/0", now)
            return first + await self._isolating(table, columns, rows[half:], origins[half:], f"{token}/1", now)
        return []

    async def write_tables(self, tables: Mapping[str, tuple[Sequence[str], Sequence[Row]]], token: str) -> None:
        """Insert rows into several tables (table -> (columns, rows)); raise :class:`OutputFailed` if any fails.

        The caller's consumer retries the same batch, whose same ``token`` leaves no second physical copy of a
        table already inserted. No origins: a row the store refuses is an error here, not a dead letter.
        """
        now = datetime.now(UTC)
        for table, (columns, rows) in tables.items():
            await self._isolating(table, columns, rows, [], token, now)

    def _failed(self) -> None:
        self._metrics.sink_failures.inc()
        self._metrics.sink_backpressure.set(1)

    async def _attempt(self, insert: Callable[[], Awaitable[None]], counts: Mapping[str, int]) -> None:
        started = time.perf_counter()
        try:
            await insert()
        except Exception:
            self._failed()
            raise
        self._metrics.sink_backpressure.set(0)
        self._metrics.sink_batch_seconds.observe(time.perf_counter() - started)
        self._metrics.sink_batch_rows.observe(sum(counts.values()))
        for table, count in counts.items():
            self._metrics.sink_rows.labels(table).inc(count)
