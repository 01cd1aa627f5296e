"""Write a consumed batch's rows; a failure raises :class:`OutputFailed`, and the consumer retries the batch.

Every table the writer inserts, the store role's and the monitor's alike, gets the same guarantees:

- **No batch is refused for where its rows fall in time.** A block is split so that it spans no more
  partitions than ClickHouse takes in one insert (:func:`partition_blocks`); each block carries a deduplication
  token derived from the batch's, so a retried batch leaves no second copy of a block already inserted.
- **A poison row never blocks the rest.** A block ClickHouse refuses as such (a value that does not fit its
  column) is halved until each refused row stands alone; each becomes a ``store_refused`` dead letter at its
  message's coordinates with ClickHouse's reason and no value, and every other row is stored.
- **An event is stored whole or dead-lettered.** Tables are written in the order given; the rows of a message
  refused in one table are not inserted into the tables after it.
- **Offsets follow acknowledgements.** A store that is down raises :class:`OutputFailed` (with ClickHouse's
  code, no values); the consumer pauses and retries the same batch, and commits its offsets only after every
  row is acknowledged as stored or dead-lettered.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from services.errors import OutputFailed
from services.metrics import PipelineMetrics
from services.sink.rows import (
    DEAD_LETTER_COLUMNS,
    IDENTITY_COLUMNS,
    LINEAGE_COLUMNS,
    LINEAGE_EVENT_ID,
    LINEAGE_PSEUDONYM,
    LINEAGE_TENANT,
    PARTITION_TIMES,
    REDELIVERY_COLUMNS,
    Origin,
    Resolved,
    Row,
    Seal,
    SinkRows,
    as_sealed,
    claims_to_confirm,
    identity_rows,
    partition_blocks,
    refused_row,
    resolve_identities,
    sealed,
    unlanded_claims,
)
from services.store.async_store import AsyncLineageStore
from services.store.client import describe_store_error, refuses_data
from services.store.lineage_store import MAX_PARTITIONS_PER_INSERT

REFUSALS_TABLE = "dead_letters"
"""Where the dead letters of refused rows go: written by whichever role's rows were refused."""


class TableRows(NamedTuple):
    """The rows one batch inserts into one table."""

    columns: Sequence[str]
    rows: Sequence[Row]
    origins: Sequence[Origin] | None = None
    """Where each row's message was consumed (parallel to ``rows``). None for rows the pipeline makes from what it
    stored itself (the dead letters of refused rows, alerts): a refusal of those is an error, not bad input."""


def _part_token(token: str, origins: Sequence[Origin]) -> str:
    """The deduplication token of part of a batch: named by the messages its rows came from, not by its place.

    A retried batch can hold other rows than the first attempt (those stored then are re-deliveries now), so its
    parts fall differently: a part named by position ("the first half") would take the token of a part the first
    attempt stored, and ClickHouse would drop it as that part's duplicate — rows lost, offsets committed.
    """
    digest = hashlib.blake2b(digest_size=12)
    for topic, partition, offset in origins:
        digest.update(f"{topic}\0{partition}\0{offset}\n".encode())
    return f"{token}/{digest.hexdigest()}"


class LineageWriter:
    """Inserts batches; returns only once ClickHouse acknowledged, so offsets are committed after the insert."""

    def __init__(self, store: AsyncLineageStore, metrics: PipelineMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def write(self, parsed: SinkRows, token: str, seal: Seal) -> Resolved:
        """Store a consumed batch's rows: one row per event identity, deduplicated by ``token``; each content
        digest stored sealed (``seal``: HMAC under the record's pseudonym key), never as the bare hash of content
        the store does not keep otherwise.

        The identities are first looked up in the store (:func:`resolve_identities`): a re-delivery is not
        inserted again (only its coordinates, in ``redeliveries``), a conflict becomes an ``event_id_conflict``
        dead letter. A new identity is claimed in ``event_identity`` before its row is inserted; a claim whose
        row never landed (a stop between the two inserts) is found by :meth:`LineageStore.landed` when its
        event comes again, and the row is inserted then. Refused rows: see the module docstring.
        """
        now = datetime.now(UTC)
        parsed, raw_to_sealed = sealed(parsed, seal)
        identities = [(row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID]) for row in parsed.lineage]
        try:
            claimed = as_sealed(await self._store.stored_digests(identities), raw_to_sealed)
            confirm = claims_to_confirm(parsed, claimed)
            keys = [(row[LINEAGE_TENANT], row[LINEAGE_PSEUDONYM], row[LINEAGE_EVENT_ID]) for row in confirm]
            landed = await self._store.landed(keys) if keys else set()
        except Exception as exc:
            self._failed()
            raise OutputFailed(f"identity lookup failed: {describe_store_error(exc)}") from exc
        resolved = resolve_identities(parsed, claimed, now, unlanded_claims(confirm, landed))
        rows = resolved.rows
        refused = await self._write(
            {
                "event_identity": TableRows(IDENTITY_COLUMNS, identity_rows(rows.lineage), rows.lineage_origins),
                "collection_lineage": TableRows(LINEAGE_COLUMNS, rows.lineage, rows.lineage_origins),
                "dead_letters": TableRows(DEAD_LETTER_COLUMNS, rows.dead_letters, rows.dead_letter_origins),
                "redeliveries": TableRows(REDELIVERY_COLUMNS, resolved.redelivered, resolved.redelivered_origins),
            },
            token,
            now,
        )
        self._metrics.redeliveries.inc(resolved.redeliveries)
        self._metrics.event_id_conflicts.inc(resolved.conflicts)
        resolved.refused = len(refused)
        return resolved

    async def write_tables(
        self, tables: Mapping[str, TableRows | tuple[Sequence[str], Sequence[Row]]], token: str
    ) -> set[Origin]:
        """Insert rows into several tables, in the order given; return the origins whose rows were refused (each
        dead-lettered once). Raise :class:`OutputFailed` if the store fails.

        The caller's consumer retries the same batch, whose same ``token`` leaves no second physical copy of a
        block already inserted.
        """
        return await self._write({table: TableRows(*spec) for table, spec in tables.items()}, token, datetime.now(UTC))

    async def _write(self, tables: Mapping[str, TableRows], token: str, now: datetime) -> set[Origin]:
        refused: dict[Origin, Row] = {}
        for table, (columns, rows, origins) in tables.items():
            if origins is not None and refused:  # the message is dead-lettered: none of its rows go on
                kept = [i for i, origin in enumerate(origins) if origin not in refused]
                rows, origins = [rows[i] for i in kept], [origins[i] for i in kept]
            for letter in await self._isolating(table, columns, rows, origins, token, now):
                refused.setdefault((letter[0], letter[1], letter[2]), letter)
        if refused:
            letters = list(refused.values())
            await self._isolating(REFUSALS_TABLE, DEAD_LETTER_COLUMNS, letters, None, f"{token}/refused", now)
            self._metrics.store_refused.inc(len(letters))
        return set(refused)

    async def _isolating(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Row],
        origins: Sequence[Origin] | None,
        token: str,
        now: datetime,
    ) -> list[Row]:
        """Insert ``rows`` in blocks within the partition limit; the dead letters of those the store refuses."""
        if not rows:
            return []
        time_column = PARTITION_TIMES.get(table)
        time_at = columns.index(time_column) if time_column is not None and time_column in columns else None
        blocks = partition_blocks(rows, origins, time_at, MAX_PARTITIONS_PER_INSERT)
        if len(blocks) == 1:  # the same token as ever for a batch that needs no split
            return await self._bisecting(table, columns, rows, origins, token, now)
        refused: list[Row] = []
        for number, (block, block_origins) in enumerate(blocks):
            block_token = _part_token(token, block_origins) if block_origins is not None else f"{token}/m{number}"
            refused += await self._bisecting(table, columns, block, block_origins, block_token, now)
        return refused

    async def _bisecting(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Row],
        origins: Sequence[Origin] | None,
        token: str,
        now: datetime,
    ) -> list[Row]:
        """Insert one block; halve a refused one until each refused row stands alone, and dead-letter those."""
        try:
            await self._attempt(lambda: self._store.insert_rows(table, columns, rows, token), {table: len(rows)})
        except Exception as exc:
            if not refuses_data(exc) or origins is None:
                raise OutputFailed(f"insert into {table} failed: {describe_store_error(exc)}") from exc
            if len(rows) == 1:
                return [refused_row(origins[0], f"{table}: {describe_store_error(exc)}", now)]
            half = len(rows) // 2
            first = await self._bisecting(
                table, columns, rows[:half], origins[:half], _part_token(token, origins[:half]), now
            )
            return first + await self._bisecting(
                table, columns, rows[half:], origins[half:], _part_token(token, origins[half:]), now
            )
        return []

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
