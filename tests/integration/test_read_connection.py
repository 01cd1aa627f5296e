"""The query path reads on a connection of its own: a read can neither plant rows in the store's lookups nor hold
its inserts back, and a failed read leaves nothing for the next caller.

Found by the fourth red-team pass against the embedded engine: a read that fails after its first block (throwIf,
a time limit) left that block on its chDB connection, and the next query on it got the block in front of its own
rows. Reads shared the writer's connection, so a read crafted to fail planted an identity claim in the store
role's next lookup: the event was taken as a re-delivery, never stored, and its offset committed. And one slow
read (ClickHouse checks the time limit between blocks only) held every insert back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from services.metrics import PipelineMetrics
from services.pseudonymize import PseudonymKey, PseudonymKeyring
from services.settings import Settings
from services.sink.rows import IDENTITY_COLUMNS, SinkRows, lineage_row
from services.sink.writer import LineageWriter
from services.stages.messages import tagged_document
from services.store.async_store import AsyncLineageStore
from services.store.lineage_store import LineageStore
from tests.integration.test_store_partitions import tagged_record

SEAL = PseudonymKeyring(PseudonymKey(b"integration-test-digest-seal-key")).seal_digest

PLANT = (  # a read the guard passes: its first branch's rows come out, then the second fails
    "SELECT 'kobe-logistics' AS tenant_id, toUUID({id:String}) AS event_id, [''] AS `groupUniqArray(content_digest)` "
    "UNION ALL SELECT 'x', toUUID({id:String}), [toString(throwIf(sleepEachRow(0.2) = 0))]"
)


@pytest.fixture
def store(settings: Settings) -> Iterator[AsyncLineageStore]:
    writer = LineageStore.open(settings)
    writer.migrate()
    shared = AsyncLineageStore(writer, reader=LineageStore.open_reader(settings))  # as the roles open it
    try:
        yield shared
    finally:
        shared.close()


def test_a_failed_read_plants_nothing_in_the_store_roles_lookup(store: AsyncLineageStore) -> None:
    event_id = str(uuid.uuid4())
    batch = SinkRows()
    document = tagged_document(tagged_record(5, datetime(2026, 11, 27, tzinfo=UTC), "pc-5", event_id=event_id))
    batch.add_lineage(lineage_row(orjson.dumps(document)), ("tagged.terminal.v1", 0, 5))

    async def attack_then_store() -> int:
        with pytest.raises(Exception):  # noqa: B017, PT011 - the caller is answered with the store's error
            await store.query(PLANT, {"id": event_id})
        resolved = await LineageWriter(store, PipelineMetrics.create()).write(batch, "t-0-5-5", SEAL)
        return resolved.redeliveries

    assert asyncio.run(attack_then_store()) == 0
    assert store.store.query("SELECT toString(event_id) FROM collection_lineage").rows == [[event_id]]


def test_a_failed_read_leaves_nothing_for_the_next_reader(store: AsyncLineageStore) -> None:
    async def fail_then_read() -> list[list[object]]:
        await store.query("SELECT 'mine' AS c")  # checked once: the next time it goes straight to the engine
        with pytest.raises(Exception):  # noqa: B017, PT011
            await store.query("SELECT 'planted' AS c UNION ALL SELECT toString(throwIf(sleepEachRow(0.2) = 0))")
        return (await store.query("SELECT 'mine' AS c")).rows

    assert asyncio.run(fail_then_read()) == [["mine"]]


def test_a_slow_read_does_not_hold_the_stores_inserts_back(settings: Settings) -> None:
    writer = LineageStore.open(settings)
    writer.migrate()
    reader = LineageStore.open_reader(settings)
    reader.limits = replace(reader.limits, timeout_s=5.0)
    store = AsyncLineageStore(writer, reader=reader)

    async def read_and_insert() -> bool:
        read = asyncio.ensure_future(store.query("SELECT sum(sleepEachRow(0.00001)) FROM numbers(1000000000)"))
        await asyncio.sleep(0.5)  # the read is running
        await store.insert_rows("event_identity", IDENTITY_COLUMNS, [(uuid.uuid4(), "t", "d" * 64)], "tok-1")
        still_reading = not read.done()
        await asyncio.gather(read, return_exceptions=True)
        return still_reading

    try:
        assert asyncio.run(read_and_insert())  # the insert was stored while the read ran; before: after it ended
    finally:
        store.close()


def test_a_failed_lookup_of_the_stores_own_leaves_nothing_for_the_next(settings: Settings) -> None:
    """The writer's own reads (identity lookups, monitor state, alert windows) renew the connection too: without
    that, a lookup failing after its first block (a time limit, the store running out of memory) left a claim
    that the next identity lookup returned as its own (shown on the raw connection below)."""
    store = LineageStore.open(settings)
    store.migrate()
    raw, renewed = uuid.uuid4(), uuid.uuid4()
    try:
        with pytest.raises(DatabaseError):
            store._client.query(PLANT, parameters={"id": str(raw)})  # the hazard itself
        assert store.stored_digests([("kobe-logistics", raw)]) == {("kobe-logistics", raw): frozenset({""})}
        with pytest.raises(DatabaseError):
            store._select(PLANT, {"id": str(renewed)})  # what every lookup goes through
        assert store.stored_digests([("kobe-logistics", renewed)]) == {}
    finally:
        store.close()


def test_every_read_of_the_store_goes_through_the_renewing_paths() -> None:
    """No method of LineageStore but ``_select`` and ``query`` sends a read on its connection itself."""
    import ast
    import inspect

    import services.store.lineage_store as module

    tree = ast.parse(inspect.getsource(module.LineageStore))
    offenders = [
        method.name
        for method in ast.walk(tree)
        if isinstance(method, ast.FunctionDef) and method.name not in {"_select", "query"}
        for node in ast.walk(method)
        if isinstance(node, ast.Attribute)
        and node.attr in {"query", "raw_query", "query_arrow", "query_df"}
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_client"
    ]
    assert offenders == []
