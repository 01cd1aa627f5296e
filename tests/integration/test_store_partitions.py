"""The lineage store accepts any batch of valid events, however many months it spans."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.records import SourceRecord, TaggedRecord
from services.settings import Settings
from services.sink.rows import LINEAGE_COLUMNS, lineage_row
from services.stages.messages import tagged_document
from services.store.client import connect, refuses_data
from services.store.lineage_store import LineageStore

FIRST = datetime(2018, 7, 15, tzinfo=UTC)


def tagged_record(offset: int, occurred_at: datetime, terminal: str, event_id: str | None = None) -> TaggedRecord:
    """A tagged terminal record as the collect role publishes it (the store tests' input)."""
    return TaggedRecord(
        source=SourceRecord("collection.terminal.v1", 0, offset, b"{}"),
        event_id=event_id or str(uuid.uuid4()),
        kind="terminal",
        kind_version=1,
        occurred_at=occurred_at,
        ingested_at=datetime.now(UTC),
        tenant_id="kobe-logistics",
        source_service="attendance-web",
        subject_type="analyzed_account_holder",
        subject_pseudonym="ab" * 32,
        pseudonym_key_id="k1-000000000000",
        subject_key=b"cd" * 16,
        payload={"terminal_id": terminal, "terminal_type": "pc"},
        data_categories=("terminal_information",),
        data_items=("terminal_information.terminal_id", "terminal_information.terminal_type"),
        purposes=("service_provision",),
        legal_bases=("published_purpose_of_use",),
        policy_id="rakuro",
        policy_version="2022-06-01",
        removed=(),
    )


def _record(month: int) -> TaggedRecord:
    return tagged_record(month, FIRST + timedelta(days=30.44 * month), f"pc-{month}")


def test_one_insert_over_more_than_a_hundred_months_is_stored(settings: Settings) -> None:
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    records = [_record(month) for month in range(125)]  # July 2018 to late 2028: every month one row
    rows = [lineage_row(orjson.dumps(tagged_document(record))) for record in records]

    store.insert_rows("collection_lineage", LINEAGE_COLUMNS, rows)

    counted = store.query("SELECT count(), uniqExact(toYYYYMM(occurred_at)) FROM collection_lineage").rows
    assert counted == [[125, 125]]


def _physical_rows(store: LineageStore) -> int:
    return int(store.query("SELECT count() FROM collection_lineage").rows[0][0])  # no FINAL: every stored copy


def test_a_retried_insert_of_the_same_batch_leaves_no_physical_duplicate(settings: Settings) -> None:
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    rows = [lineage_row(orjson.dumps(tagged_document(_record(m)))) for m in range(0, 40, 3)]  # several partitions

    store.insert(rows, [], token="topic[0]@0..13")
    store.insert(rows, [], token="topic[0]@0..13")  # the store role's retry after a lost acknowledgement
    assert _physical_rows(store) == len(rows)

    store.insert(rows, [], token="topic[0]@14..27")  # without the same token ClickHouse keeps a second copy
    assert _physical_rows(store) == 2 * len(rows)


def test_a_tables_types_are_asked_once_and_again_after_a_failed_insert(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client asked the store for a table's column types (DESCRIBE) before every insert: a query per table
    per batch. They are asked once; a failed insert asks again (a migration may have run since)."""
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    asked: list[str] = []
    describe = store._client.create_insert_context

    def counting(table: str, *args: object, **kwargs: object) -> object:
        if len(args) < 3 or args[2] is None:  # no column types given: the client describes the table
            asked.append(table)
        return describe(table, *args, **kwargs)

    monkeypatch.setattr(store._client, "create_insert_context", counting)
    rows = [lineage_row(orjson.dumps(tagged_document(_record(m)))) for m in range(6)]
    poison = lineage_row(orjson.dumps(tagged_document(_record(7))))
    poison = (*poison[:6], "ab" * 40, *poison[7:])  # FixedString(64) cannot take it

    store.insert_rows("collection_lineage", LINEAGE_COLUMNS, rows[:3])
    store.insert_rows("collection_lineage", LINEAGE_COLUMNS, rows[3:])
    with pytest.raises(Exception) as refused:  # noqa: PT011 - whichever the client raises, as the writer sees it
        store.insert_rows("collection_lineage", LINEAGE_COLUMNS, [poison])
    assert refuses_data(refused.value)
    store.insert_rows("collection_lineage", LINEAGE_COLUMNS, rows[:1])

    assert asked == [f"{settings.clickhouse_database}.collection_lineage"] * 2
    assert store.query("SELECT count(), uniqExact(event_id) FROM collection_lineage").rows == [[7, 6]]


def test_accounting_asks_the_store_once_however_many_partitions_it_spans(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixth red-team pass: one dead_letters query per (topic, partition) of the request, 2 ms each, on the API's
    one read thread: 100,000 partitions held every other read for minutes."""
    from services.sink.rows import DEAD_LETTER_COLUMNS
    from services.store.lineage_store import Delivery

    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    now = datetime.now(UTC)
    letters = [("t.a", p, 7, "ingest", "schema_invalid", "m", None, None, 1, now) for p in range(0, 300, 3)]
    letters.append(("t.b", 1, 9, "ingest", "schema_invalid", "m", None, None, 1, now))
    store.insert_rows("dead_letters", DEAD_LETTER_COLUMNS, letters)
    deliveries = [Delivery("t.a", p, o, None) for p in range(300) for o in (7, 8)] + [Delivery("t.b", 2, 9, None)]
    selects: list[str] = []
    select = store._select
    monkeypatch.setattr(store, "_select", lambda sql, parameters=None: selects.append(sql) or select(sql, parameters))

    found = store.accounting(deliveries)

    assert found.dead_lettered == {("t.a", p, 7) for p in range(0, 300, 3)}  # not t.b[2]@9: another partition
    assert found.stored == set()
    assert len(selects) == 1  # no event ids: the lineage lookup is skipped
