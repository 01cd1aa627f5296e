"""Every table the writer inserts, the monitor's as the store role's, on the real store: a batch is never refused
for where its rows fall in time, a row the store refuses is dead-lettered with ClickHouse's reason and holds back
nothing else, and every input row ends stored or dead-lettered."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from services.metrics import PipelineMetrics
from services.monitor.rows import ACTIVITY_COLUMNS, PROVISION_COLUMNS, VIOLATION_COLUMNS
from services.pseudonymize import PseudonymKey, PseudonymKeyring
from services.records import SourceRecord
from services.sink.rows import PARTITION_TIMES, Origin, Row, SinkRows, dead_letter_row, lineage_row
from services.sink.writer import LineageWriter, TableRows
from services.stages.messages import tagged_document
from services.store.async_store import AsyncLineageStore
from services.store.lineage_store import MAX_PARTITIONS_PER_INSERT
from tests.integration.test_store_partitions import tagged_record

SEAL = PseudonymKeyring(PseudonymKey(b"integration-test-digest-seal-key")).seal_digest

TOPIC = "activity.v1"
PSEUDONYM = "ab" * 32
SECRET = "emp-poison-0815"
DECIDED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def _count(store: AsyncLineageStore, sql: str) -> int:
    return int(store.store.query(sql).rows[0][0])


def _decision(offset: int, occurred_at: datetime, pseudonym: str = PSEUDONYM) -> tuple[Row, Row, Row, Origin]:
    """The activity, violation and provision rows of one decided disclosure, and its message's coordinates."""
    event_id = uuid.UUID(int=offset + 1)
    activity = (
        event_id, "disclosure", "kobe-logistics", "benefits-export", pseudonym, "service_provision",
        ["user_information.name"], "third_party", "naniwa-benefits", False, None, "2022-06-01",
        ["third_party_without_consent"], occurred_at, DECIDED_AT, TOPIC, 0, offset,
    )  # fmt: skip
    violation = (
        event_id, "third_party_without_consent", "Art. 4.1", "critical", "provision without consent",
        "kobe-logistics", "benefits-export", pseudonym, "service_provision", "naniwa-benefits", occurred_at,
        DECIDED_AT, "disclosure", "third_party", "2022-06-01",
    )  # fmt: skip
    provision = (
        event_id, "kobe-logistics", occurred_at, True, "cons-1", "naniwa-benefits", "株式会社なにわ福利厚生",
        "大阪府大阪市北区梅田1-1-1", pseudonym, ["user_information.name"], "service_provision", "benefits-export",
        "2022-06-01", DECIDED_AT,
    )  # fmt: skip
    return activity, violation, provision, (TOPIC, 0, offset)


def _tables(decisions: list[tuple[Row, Row, Row, Origin]]) -> dict[str, TableRows]:
    origins = [origin for *_, origin in decisions]
    return {
        "activity_decisions": TableRows(ACTIVITY_COLUMNS, [d[0] for d in decisions], origins),
        "violations": TableRows(VIOLATION_COLUMNS, [d[1] for d in decisions], origins),
        "provision_records": TableRows(PROVISION_COLUMNS, [d[2] for d in decisions], origins),
    }


def _months(count: int) -> list[datetime]:
    return [datetime(1900 + n // 12, n % 12 + 1, 15, tzinfo=UTC) for n in range(count)]


def test_each_partitioned_table_is_split_by_the_time_its_partition_key_reads(store: AsyncLineageStore) -> None:
    keys = store.store.query(
        "SELECT name, partition_key FROM system.tables WHERE database = currentDatabase() AND partition_key != ''"
    ).rows
    read = {}
    for table, key in keys:
        match = re.fullmatch(r"to(?:YYYYMM|Year)\((\w+)\)", key)
        assert match is not None, f"{table}: partitioned by {key}, which partition_blocks does not know"
        read[table] = match.group(1)
    assert read == PARTITION_TIMES


def test_a_monitor_batch_over_more_months_than_one_insert_takes_is_stored_whole_once(
    store: AsyncLineageStore,
) -> None:
    decisions = [_decision(offset, moment) for offset, moment in enumerate(_months(MAX_PARTITIONS_PER_INSERT + 100))]
    writer = LineageWriter(store, PipelineMetrics.create())

    refused = asyncio.run(writer.write_tables(_tables(decisions), "activity.v1-0-0-1299"))
    again = asyncio.run(writer.write_tables(_tables(decisions), "activity.v1-0-0-1299"))  # the consumer's retry

    assert refused == again == set()
    # provision_records is not counted: its 3-year TTL drops the records of such old provisions by design.
    for table in ("activity_decisions", "violations"):
        stored = _count(store, f"SELECT count() FROM {table}")  # no FINAL: every physical copy
        assert stored == len(decisions), table


def test_dead_letters_over_more_months_than_one_insert_takes_are_stored(store: AsyncLineageStore) -> None:
    """A producer sets its messages' timestamps, which date the dead letters of the store role."""
    first = datetime(1900, 1, 15, tzinfo=UTC)
    messages = [
        SourceRecord(
            "lineage.dlq.v1", 0, offset, b"{}", None,
            (("lineage.errors.stage", b"ingest"), ("lineage.errors.exception.class.name", b"schema_invalid")),
            int((first + timedelta(days=31 * offset)).timestamp() * 1000),
        )
        for offset in range(MAX_PARTITIONS_PER_INSERT + 100)
    ]  # fmt: skip
    rows = SinkRows()
    for message in messages:
        rows.add_dead_letter(dead_letter_row(message), (message.topic, message.partition, message.offset))

    resolved = asyncio.run(LineageWriter(store, PipelineMetrics.create()).write(rows, "lineage.dlq.v1-0-0-1299", SEAL))

    assert resolved.refused == 0
    assert _count(store, "SELECT count() FROM dead_letters") == len(messages)


def test_a_row_the_store_refuses_dead_letters_its_event_and_the_rest_is_stored(store: AsyncLineageStore) -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    decisions = [_decision(offset, now) for offset in range(8)]
    too_long = PSEUDONYM + SECRET  # FixedString(64) cannot take it
    bad_decision = _decision(3, now, pseudonym=too_long)
    decisions[3] = bad_decision
    activity, _, provision, origin = decisions[6]
    decisions[6] = (activity, _decision(6, now, pseudonym=too_long)[1], provision, origin)  # only its violation
    metrics = PipelineMetrics.create()

    refused = asyncio.run(LineageWriter(store, metrics).write_tables(_tables(decisions), "activity.v1-0-0-7"))

    assert refused == {(TOPIC, 0, 3), (TOPIC, 0, 6)}
    offsets = {
        table: {row[0] for row in store.store.query(f"SELECT source_offset FROM {table}").rows}
        for table in ("activity_decisions", "dead_letters")
    }
    assert offsets["activity_decisions"] == {0, 1, 2, 4, 5, 6, 7}
    assert offsets["dead_letters"] == {3, 6}
    # An event is stored whole or dead-lettered: no violation or provision of a refused row is kept.
    kept = {
        table: {str(row[0]) for row in store.store.query(f"SELECT event_id FROM {table}").rows}
        for table in ("violations", "provision_records")
    }
    assert kept["violations"] == {str(uuid.UUID(int=n + 1)) for n in (0, 1, 2, 4, 5, 7)}
    assert kept["provision_records"] == kept["violations"]
    letters = store.store.query(
        "SELECT source_topic, source_offset, stage, reason, message FROM dead_letters ORDER BY source_offset"
    ).rows
    assert [tuple(r[:4]) for r in letters] == [(TOPIC, n, "store", "store_refused") for n in (3, 6)]
    assert letters[0][4].startswith("activity_decisions: ")
    assert "subject_pseudonym" in letters[0][4]
    assert letters[1][4].startswith("violations: ")
    assert SECRET not in str(store.store.query("SELECT * FROM dead_letters").rows)
    assert metrics.registry.get_sample_value("lineage_store_refused_rows_total") == 2
    # Nothing is lost: every message is decided or dead-lettered.
    assert offsets["activity_decisions"] | offsets["dead_letters"] == set(range(8))


def test_a_redelivery_whose_coordinates_the_store_refuses_is_dead_lettered(store: AsyncLineageStore) -> None:
    """A copy of a stored record (same content) that names coordinates no column can take: before, its
    redeliveries row failed the store role's batch for good."""
    document = tagged_document(tagged_record(1, datetime(2026, 11, 27, tzinfo=UTC), "pc-1"))
    first, copy = SinkRows(), SinkRows()
    first.add_lineage(lineage_row(orjson.dumps(document)), ("tagged.terminal.v1", 0, 10))
    document["lineage"]["source"]["partition"] = -1  # not part of the content: the same event, delivered again
    copy.add_lineage(lineage_row(orjson.dumps(document)), ("tagged.terminal.v1", 0, 11))
    good = tagged_document(tagged_record(2, datetime(2026, 11, 27, tzinfo=UTC), "pc-2"))
    copy.add_lineage(lineage_row(orjson.dumps(good)), ("tagged.terminal.v1", 0, 12))
    writer = LineageWriter(store, PipelineMetrics.create())

    asyncio.run(writer.write(first, "tagged.terminal.v1-0-10-10", SEAL))
    resolved = asyncio.run(writer.write(copy, "tagged.terminal.v1-0-11-12", SEAL))

    assert (resolved.redeliveries, resolved.refused) == (1, 1)
    letters = store.store.query("SELECT source_offset, reason, message FROM dead_letters").rows
    assert [(row[0], row[1]) for row in letters] == [(11, "store_refused")]
    assert letters[0][2].startswith("redeliveries: ")
    assert _count(store, "SELECT count() FROM collection_lineage") == 2  # the first and the good one
