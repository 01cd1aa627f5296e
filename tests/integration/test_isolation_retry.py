"""A store failure in the middle of isolating a poison row loses nothing: the retried batch stores every row.

Found by the fourth red-team pass: the writer named the halves of a refused block by position (token/0,
token/1). A retry holds fewer rows (those stored the first time are re-deliveries now), so its halves fall
differently, and ClickHouse dropped a new "first half" as the duplicate of the old one: two events ended with
neither a lineage row nor a dead letter, and their offsets were committed. Each part is now named by the
messages its rows came from. Here the real embedded store fails once at every insert of the isolation in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.errors import OutputFailed
from services.metrics import PipelineMetrics
from services.pseudonymize import PseudonymKey, PseudonymKeyring
from services.settings import Settings
from services.sink.rows import Row, SinkRows, lineage_row
from services.sink.writer import LineageWriter
from services.stages.messages import tagged_document
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore
from tests.integration.test_store_partitions import tagged_record

SEAL = PseudonymKeyring(PseudonymKey(b"integration-test-digest-seal-key")).seal_digest

TOPIC = "tagged.terminal.v1"
EVENTS = 8
POISON = 6  # a source partition of -1: a row the store refuses (UInt32)


class FailingOnce:
    """The real store, whose ``fail_at``-th insert into collection_lineage fails once, as a store going away."""

    def __init__(self, store: LineageStore, fail_at: int) -> None:
        self.store = store
        self.fail_at = fail_at
        self.lineage_inserts = 0

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row], token: str | None = None) -> None:
        if table == "collection_lineage":
            self.lineage_inserts += 1
            if self.lineage_inserts == self.fail_at:
                raise ConnectionError("the store went away (injected once)")
        self.store.insert_rows(table, columns, rows, token)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _batch() -> SinkRows:
    batch = SinkRows()
    for n in range(EVENTS):
        document = tagged_document(tagged_record(n, datetime(2026, 11, 27, tzinfo=UTC), f"pc-{n}"))
        if n == POISON:
            document["lineage"]["source"]["partition"] = -1
        batch.add_lineage(lineage_row(orjson.dumps(document)), (TOPIC, 0, n))
    return batch


@pytest.mark.parametrize("fail_at", range(1, 9))  # isolating one row among 8 takes 7 inserts: each, and none
def test_a_store_failure_while_a_poison_row_is_isolated_loses_nothing_on_retry(
    settings: Settings, fail_at: int
) -> None:
    lineage = LineageStore(connect(settings), settings.clickhouse_database)
    lineage.migrate()
    failing = FailingOnce(lineage, fail_at)
    writer = LineageWriter(AsyncLineageStore(failing, separate_reads=False), PipelineMetrics.create())  # type: ignore[arg-type]
    token = f"{TOPIC}-0-0-{EVENTS - 1}"
    batch = _batch()
    try:
        try:
            asyncio.run(writer.write(batch, token, SEAL))
        except OutputFailed:
            asyncio.run(writer.write(batch, token, SEAL))  # the consumer retries the same batch, same token

        stored = [row[0] for row in lineage.query("SELECT source_offset FROM collection_lineage").rows]
        dead = [row[0] for row in lineage.query("SELECT source_offset FROM dead_letters").rows]
        assert sorted(stored) == [n for n in range(EVENTS) if n != POISON]  # no FINAL: no physical duplicate
        assert dead == [POISON]
    finally:
        lineage.close()
