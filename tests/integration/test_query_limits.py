"""A read through the query path is stopped at the store's limits, which the read itself cannot lift.

With the embedded store, reads and writes share one thread: a read that ran unbounded would hold back every
insert of the store and monitor roles. Here the limits are small so that the tests stay fast.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from services.settings import Settings
from services.sink.rows import IDENTITY_COLUMNS
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore
from services.store.read_guard import DEFAULT_QUERY_LIMITS
from tests.integration.harness import PipelineHarness

TIMEOUT_EXCEEDED = 159
READONLY = 164
TOO_MANY_ROWS_OR_BYTES = 396
MEMORY_LIMIT_EXCEEDED = 241

SLEEPER = "SELECT sum(sleepEachRow(0.00001)) FROM numbers(1000000000)"
"""About 10,000 s of sleep, in blocks of 0.65 s: ClickHouse checks the time limit between blocks."""
LIMITS = replace(DEFAULT_QUERY_LIMITS, timeout_s=1.0)
BOUND_S = 15.0  # far above the limit plus a block, far below the query's unbounded run


def _store(settings: Settings) -> LineageStore:
    store = LineageStore(connect(settings), settings.clickhouse_database, limits=LIMITS)
    store.migrate()
    return store


def _insert_one(store: LineageStore, token: str) -> None:
    store.insert_rows("event_identity", IDENTITY_COLUMNS, [(uuid.uuid4(), "t", "d" * 64)], token)


def test_a_long_read_is_stopped_at_the_limit_and_the_inserts_queued_behind_it_proceed(settings: Settings) -> None:
    store = _store(settings)
    shared = AsyncLineageStore(store, separate_reads=False)  # one thread: the limit alone bounds the wait

    async def read_then_insert() -> tuple[BaseException | None, float]:
        read = asyncio.ensure_future(shared.query(SLEEPER))
        await asyncio.sleep(0.2)  # the read holds the store's thread
        started = time.monotonic()
        await shared.insert_rows("event_identity", IDENTITY_COLUMNS, [(uuid.uuid4(), "t", "d" * 64)], "tok-behind")
        waited = time.monotonic() - started
        outcome = (await asyncio.gather(read, return_exceptions=True))[0]
        return (outcome if isinstance(outcome, BaseException) else None), waited

    try:
        stopped, waited = asyncio.run(read_then_insert())
        assert isinstance(stopped, DatabaseError)
        assert stopped.code == TIMEOUT_EXCEEDED
        assert waited < BOUND_S
        _insert_one(store, "tok-after")
        assert store.query("SELECT count() FROM event_identity").rows == [[2]]
    finally:
        shared.close()


@pytest.mark.parametrize(
    "sql",
    [
        f"{SLEEPER} SETTINGS max_execution_time = 0",
        f"SELECT * FROM ({SLEEPER} SETTINGS max_execution_time = 0)",
        f"{SLEEPER} SETTINGS readonly = 0, max_execution_time = 0",
    ],
)
def test_a_read_cannot_lift_the_time_limit(settings: Settings, sql: str) -> None:
    store = _store(settings)
    started = time.monotonic()

    with pytest.raises(DatabaseError):
        store.query(sql)

    assert time.monotonic() - started < BOUND_S
    _insert_one(store, "tok-after-lift")
    assert store.query("SELECT count() FROM event_identity").rows == [[1]]
    store.close()


def test_the_limits_hold_in_clickhouse_itself_not_only_in_the_store_check(settings: Settings) -> None:
    """Sent past the store's check, straight to the engine with the read settings: ClickHouse keeps the limits."""
    store = _store(settings)
    client = connect(settings)
    read_settings = store.limits.server_settings()
    try:
        with pytest.raises(DatabaseError) as refused:
            client.query(f"{SLEEPER} SETTINGS max_execution_time = 0", settings=read_settings)
        assert refused.value.code == READONLY
        started = time.monotonic()
        with pytest.raises(DatabaseError) as stopped:  # a subquery's SETTINGS do not apply to the read
            client.query(f"SELECT * FROM ({SLEEPER} SETTINGS max_execution_time = 0)", settings=read_settings)
        assert stopped.value.code == TIMEOUT_EXCEEDED
        assert time.monotonic() - started < BOUND_S
    finally:
        client.close()
        store.close()


def test_a_result_over_the_limits_is_refused_not_cut_short(settings: Settings) -> None:
    store = LineageStore(
        connect(settings),
        settings.clickhouse_database,
        limits=replace(LIMITS, max_result_rows=100, max_memory_bytes=50_000_000),
    )

    assert len(store.query("SELECT number FROM numbers(100)").rows) == 100
    with pytest.raises(DatabaseError) as too_many:
        store.query("SELECT number FROM numbers(101)")
    assert too_many.value.code == TOO_MANY_ROWS_OR_BYTES
    with pytest.raises(DatabaseError) as too_much:
        store.query("SELECT length(groupArray(number)) FROM numbers(30000000)")
    assert too_much.value.code == MEMORY_LIMIT_EXCEEDED
    store.close()


def test_the_roles_store_reads_under_the_configured_limits(settings: Settings) -> None:
    """`up` and `run store|monitor|api` open their store with the LINEAGE_QUERY_* limits, not the defaults."""
    harness = PipelineHarness(settings.model_copy(update={"query_timeout_s": 1.0}))
    harness.start()
    try:
        store = harness.pipeline.store
        assert store is not None
        started = time.monotonic()
        with pytest.raises(DatabaseError) as stopped:
            harness.call(store.query(SLEEPER))
        assert stopped.value.code == TIMEOUT_EXCEEDED
        assert time.monotonic() - started < BOUND_S
    finally:
        harness.stop()
