"""The blocking store behind dedicated threads, so the event loop never waits on ClickHouse.

One thread writes (the store and monitor roles' lookups and inserts, in order) and one reads (API queries,
reports, dashboards, accounting), each on a connection of its own (the roles pass a ``reader`` from
:meth:`LineageStore.open_reader`): a long report never delays a batch's insert, hence its commit, and a burst of
inserts never stalls the API. With the embedded engine the two are separate chDB handles: concurrent queries on
one handle can hang (chdb-io/chdb#426), and until 2026-12-06 reads shared the writer's handle and thread, where
one slow read (ClickHouse checks its time limit only between blocks) held every insert back, and a failed read's
leftover block reached the writer's next lookup (fourth red-team pass). Without a ``reader`` (tests, one-off
tools) reads run on the writer's connection, on its thread unless ``separate_reads``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from services.pseudonymize import PseudonymKeyring
from services.sink.rows import Row
from services.store.lineage_store import Accounting, Delivery, LineageStore, QueryResult
from services.store.trace import trace

T = TypeVar("T")


class AsyncLineageStore:
    def __init__(self, store: LineageStore, separate_reads: bool = True, reader: LineageStore | None = None) -> None:
        """``reader``: a connection of its own for the reads (:meth:`LineageStore.open_reader`), on its own thread."""
        self.store = store
        self.reader = reader if reader is not None else store
        self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineage-store-writes")
        self._reads = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineage-store-reads")
            if separate_reads or reader is not None
            else self._writes
        )

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reads, function, *args)

    async def _write(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writes, function, *args)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(store, *args)`` on the reading thread: for readers that issue several queries."""
        return await self._run(function, self.reader, *args)

    async def insert(self, lineage: Sequence[Row], dead_letters: Sequence[Row], token: str | None = None) -> None:
        await self._write(self.store.insert, lineage, dead_letters, token)

    async def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Row], token: str | None = None
    ) -> None:
        await self._write(self.store.insert_rows, table, columns, rows, token)

    async def stored_digests(self, identities: Sequence[tuple[str, UUID]]) -> dict[tuple[str, UUID], frozenset[str]]:
        """On the writing thread: the lookup must see every insert the store role made before it."""
        return await self._write(self.store.stored_digests, identities)

    async def landed(self, keys: Sequence[tuple[str, str, UUID]]) -> set[tuple[str, UUID]]:
        """On the writing thread, like the claims it confirms."""
        return await self._write(self.store.landed, keys)

    async def monitor_state(
        self, topic: str, partition: int, before_offset: int, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """On the writing thread: the state must include every change the monitor inserted before."""
        return await self._write(self.store.monitor_state, topic, partition, before_offset, keys)

    async def open_alert_windows(self, since: datetime) -> dict[tuple[str, ...], datetime]:
        """On the writing thread, like every read the monitor decides with."""
        return await self._write(self.store.open_alert_windows, since)

    async def violation_summary(
        self, key: Sequence[str], after: datetime, until: datetime, sample_size: int
    ) -> tuple[Any, ...] | None:
        """On the writing thread: the summary must count every violation this worker inserted before."""
        return await self._write(self.store.violation_summary, key, after, until, sample_size)

    async def overflow_summary(
        self,
        tenant_id: str | None,
        code: str,
        after: datetime,
        until: datetime,
        sample_size: int,
        excluded: Sequence[Sequence[str]],
    ) -> tuple[Any, ...] | None:
        """On the writing thread, like :meth:`violation_summary`."""
        return await self._write(self.store.overflow_summary, tenant_id, code, after, until, sample_size, excluded)

    async def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return await self._run(self.reader.query, sql, parameters)

    async def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        return await self._run(self.reader.accounting, deliveries)

    async def trace(self, keyring: PseudonymKeyring, tenant_id: str, subject_id: str) -> dict[str, Any]:
        return await self._run(trace, self.reader, keyring, tenant_id, subject_id)

    async def summary(self) -> dict[str, Any]:
        return await self._run(self.reader.summary)

    def close(self) -> None:
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)  # the same pool again when reads share the writer's: a no-op
        if self.reader is not self.store:
            self.reader.close()
        self.store.close()
