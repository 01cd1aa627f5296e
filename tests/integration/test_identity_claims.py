"""Identities are claimed in event_identity before their rows are stored; a stop between the two loses nothing.

Against the real store: the writer of the store role, its lookups and inserts, counted without FINAL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from importlib import resources

import orjson
from prometheus_client import CollectorRegistry

from services.metrics import PipelineMetrics
from services.records import TaggedRecord
from services.settings import Settings
from services.sink.rows import (
    IDENTITY_COLUMNS,
    LINEAGE_COLUMNS,
    LINEAGE_DIGEST,
    LINEAGE_EVENT_ID,
    SinkRows,
    identity_rows,
    lineage_row,
)
from services.sink.writer import LineageWriter
from services.stages.messages import tagged_document
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore
from services.store.migrations import render_statements
from tests.integration.test_store_partitions import tagged_record


def _record(offset: int, terminal: str, event_id: str) -> TaggedRecord:
    return tagged_record(offset, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), terminal, event_id)


def _batch(*records: TaggedRecord) -> SinkRows:
    rows = SinkRows()
    for record in records:
        source = record.source
        rows.add_lineage(lineage_row(orjson.dumps(tagged_document(record))), (source.topic, 0, source.offset))
    return rows


def _store(settings: Settings) -> tuple[LineageStore, LineageWriter]:
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    return store, LineageWriter(AsyncLineageStore(store), PipelineMetrics(CollectorRegistry()))


def _physical(store: LineageStore) -> list[list[object]]:
    return store.query(  # no FINAL: every stored copy
        "SELECT toString(event_id), count() FROM collection_lineage GROUP BY event_id ORDER BY toString(event_id)"
    ).rows


def test_a_claim_whose_row_never_landed_is_stored_when_its_event_comes_again(settings: Settings) -> None:
    store, writer = _store(settings)
    landed, stranded = str(uuid.uuid4()), str(uuid.uuid4())
    batch = _batch(_record(1, "pc-1", landed), _record(2, "pc-2", stranded))
    first = asyncio.run(writer.write(batch, "t[0]@1..2"))
    assert len(first.rows.lineage) == 2
    # A store that stopped after claiming a later batch's identities and before inserting its rows:
    claimed_only = str(uuid.uuid4())
    claim = _batch(_record(3, "pc-3", claimed_only))
    store.insert_rows("event_identity", IDENTITY_COLUMNS, identity_rows(claim.lineage), "t[0]@3..3")
    assert store.query("SELECT count() FROM collection_lineage").rows == [[2]]

    # The uncommitted batch comes again (other boundaries: another token), with an earlier one re-delivered.
    again = _batch(_record(1, "pc-1", landed), _record(3, "pc-3", claimed_only))
    resolved = asyncio.run(writer.write(again, "t[0]@1..3"))

    assert [str(row[LINEAGE_EVENT_ID]) for row in resolved.rows.lineage] == [claimed_only]
    assert resolved.redeliveries == 1
    assert dict(_physical(store)) == {landed: 1, stranded: 1, claimed_only: 1}


def test_other_content_under_a_claim_that_never_landed_is_a_conflict_and_the_claim_is_stored(
    settings: Settings,
) -> None:
    store, writer = _store(settings)
    event_id = str(uuid.uuid4())
    claimed = _batch(_record(1, "pc-1", event_id))
    store.insert_rows("event_identity", IDENTITY_COLUMNS, identity_rows(claimed.lineage), "t[0]@1..1")

    other = asyncio.run(writer.write(_batch(_record(2, "pc-9", event_id)), "t[0]@2..2"))
    assert other.conflicts == 1
    assert other.rows.lineage == []

    claim = asyncio.run(writer.write(_batch(_record(1, "pc-1", event_id)), "t[0]@1..2"))
    assert len(claim.rows.lineage) == 1
    assert _physical(store) == [[event_id, 1]]
    digest = store.query("SELECT content_digest FROM collection_lineage").rows
    assert digest == [[claimed.lineage[0][LINEAGE_DIGEST]]]  # the claimed content, not the conflicting one


def test_the_migration_claims_every_identity_stored_before_it(settings: Settings) -> None:
    store, writer = _store(settings)
    event_id = str(uuid.uuid4())
    (old,) = _batch(_record(1, "pc-1", event_id)).lineage
    # A row as a store before migration 0013 wrote it: in collection_lineage, with no claim.
    store.insert_rows("collection_lineage", LINEAGE_COLUMNS, [old])
    assert store.stored_digests([("kobe-logistics", uuid.UUID(event_id))]) == {}

    script = (resources.files("services.store") / "migrations" / "0013_event_identity_index.sql").read_text()
    client = connect(settings)  # another client of the same engine, as `purpose-lineage init` would be
    for statement in render_statements(script, settings.clickhouse_database):
        client.command(statement)

    assert store.stored_digests([("kobe-logistics", uuid.UUID(event_id))]) == {
        ("kobe-logistics", uuid.UUID(event_id)): frozenset({old[LINEAGE_DIGEST]})
    }
    again = asyncio.run(writer.write(_batch(_record(1, "pc-1", event_id)), "t[0]@1..1"))
    assert again.redeliveries == 1
    assert _physical(store) == [[event_id, 1]]
