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
from services.pseudonymize import PseudonymKey, PseudonymKeyring
from services.records import TaggedRecord
from services.settings import Settings
from services.sink.rows import (
    IDENTITY_COLUMNS,
    LINEAGE_COLUMNS,
    LINEAGE_DIGEST,
    LINEAGE_EVENT_ID,
    LINEAGE_KEY_ID,
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

SEAL = PseudonymKeyring(PseudonymKey(b"integration-test-digest-seal-key")).seal_digest


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
    first = asyncio.run(writer.write(batch, "t[0]@1..2", SEAL))
    assert len(first.rows.lineage) == 2
    # A store that stopped after claiming a later batch's identities and before inserting its rows:
    claimed_only = str(uuid.uuid4())
    claim = _batch(_record(3, "pc-3", claimed_only))
    store.insert_rows("event_identity", IDENTITY_COLUMNS, identity_rows(claim.lineage), "t[0]@3..3")
    assert store.query("SELECT count() FROM collection_lineage").rows == [[2]]

    # The uncommitted batch comes again (other boundaries: another token), with an earlier one re-delivered.
    again = _batch(_record(1, "pc-1", landed), _record(3, "pc-3", claimed_only))
    resolved = asyncio.run(writer.write(again, "t[0]@1..3", SEAL))

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

    other = asyncio.run(writer.write(_batch(_record(2, "pc-9", event_id)), "t[0]@2..2", SEAL))
    assert other.conflicts == 1
    assert other.rows.lineage == []

    claim = asyncio.run(writer.write(_batch(_record(1, "pc-1", event_id)), "t[0]@1..2", SEAL))
    assert len(claim.rows.lineage) == 1
    assert _physical(store) == [[event_id, 1]]
    digest = store.query("SELECT content_digest FROM collection_lineage").rows
    (row,) = claimed.lineage
    assert digest == [[SEAL(row[LINEAGE_KEY_ID], row[LINEAGE_DIGEST])]]  # the claimed content, not the other


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
    again = asyncio.run(writer.write(_batch(_record(1, "pc-1", event_id)), "t[0]@1..1", SEAL))
    assert again.redeliveries == 1
    assert _physical(store) == [[event_id, 1]]


def test_stored_content_digests_are_sealed_not_the_bare_hash_of_the_document(settings: Settings) -> None:
    """Sixth red-team pass: the digest stored beside each row was the unkeyed SHA-256 of the tagged document,
    kept payload values included, which the store does not keep: hashing candidates found an IP address and a
    request time to the millisecond. The store keeps an HMAC of it under the record's pseudonym key."""
    from services.stages.messages import content_digest

    store, writer = _store(settings)
    record = _record(1, "pc-1", str(uuid.uuid4()))
    asyncio.run(writer.write(_batch(record), "t[0]@1..1", SEAL))

    bare = content_digest(orjson.loads(orjson.dumps(tagged_document(record))))
    stored = store.query(
        "SELECT content_digest FROM collection_lineage UNION ALL SELECT content_digest FROM event_identity"
    )
    assert [row[0] for row in stored.rows] == [SEAL(record.pseudonym_key_id, bare)] * 2
    assert bare not in str(stored.rows)


def test_a_claim_made_before_digests_were_sealed_still_recognizes_its_event_sent_again(settings: Settings) -> None:
    store, writer = _store(settings)
    record = _record(1, "pc-1", str(uuid.uuid4()))
    before = _batch(record).lineage  # as the store kept rows and claims before: the bare digest
    store.insert_rows("event_identity", IDENTITY_COLUMNS, identity_rows(before))
    store.insert_rows("collection_lineage", LINEAGE_COLUMNS, before)

    again = asyncio.run(writer.write(_batch(record), "t[0]@1..1", SEAL))

    assert (again.redeliveries, again.conflicts, len(again.rows.lineage)) == (1, 0, 0)
