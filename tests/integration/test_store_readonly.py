"""The read-only query endpoint cannot make the embedded store read-only for its own writers."""

from __future__ import annotations

import uuid

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from services.settings import Settings
from services.sink.rows import IDENTITY_COLUMNS
from services.store.client import connect
from services.store.lineage_store import LineageStore

WRITES = [
    "INSERT INTO dead_letters (source_topic) VALUES ('x')",
    "/* a comment */ insert into dead_letters (source_topic) SELECT 'x'",
    "WITH 1 AS one INSERT INTO dead_letters (source_topic) VALUES ('x')",
    "DROP TABLE dead_letters",
    "SET readonly = 0",
    "ALTER TABLE dead_letters DELETE WHERE 1",
]


def test_writes_sent_as_queries_are_refused_and_the_store_still_inserts(settings: Settings) -> None:
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()

    for sql in WRITES:
        with pytest.raises(DatabaseError, match="READONLY"):
            store.query(sql)
        # Each refusal leaves the engine's one session writable: the store's own inserts go on.
        store.insert_rows("event_identity", IDENTITY_COLUMNS, [(uuid.uuid4(), "t", "d" * 64)], f"tok-{sql}")

    assert store.query("SELECT count() FROM event_identity").rows == [[len(WRITES)]]
    assert store.query("SELECT count() FROM dead_letters").rows == [[0]]
