"""The blocking store behind one dedicated thread, so the event loop never waits on ClickHouse.

One thread also serializes every call: the embedded engine is owned by this process and is used
from one place at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from uuid import UUID

from services.pseudonymize import PseudonymKeyring
from services.sink.rows import Row
from services.store.lineage_store import Accounting, Delivery, LineageStore, QueryResult
from services.store.trace import trace

T = TypeVar("T")


class AsyncLineageStore:
    def __init__(self, store: LineageStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineage-store")

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(store, *args)`` on the store's thread: for readers that issue several queries."""
        return await self._run(function, self.store, *args)

    async def insert(self, lineage: Sequence[Row], dead_letters: Sequence[Row], token: str | None = None) -> None:
        await self._run(self.store.insert, lineage, dead_letters, token)

    async def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Row], token: str | None = None
    ) -> None:
        await self._run(self.store.insert_rows, table, columns, rows, token)

    async def stored_digests(self, identities: Sequence[tuple[str, UUID]]) -> dict[tuple[str, UUID], frozenset[str]]:
        return await self._run(self.store.stored_digests, identities)

    async def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return await self._run(self.store.query, sql, parameters)

    async def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        return await self._run(self.store.accounting, deliveries)

    async def trace(self, keyring: PseudonymKeyring, tenant_id: str, subject_id: str) -> dict[str, Any]:
        return await self._run(trace, self.store, keyring, tenant_id, subject_id)

    async def summary(self) -> dict[str, Any]:
        return await self._run(self.store.summary)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()
