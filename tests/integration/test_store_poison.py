"""A row ClickHouse refuses (a poison row) is isolated and dead-lettered; the rest of its batch is stored."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import orjson
import pytest

from services.emitter.client import Emitter
from services.settings import Settings
from services.stages.messages import tagged_document
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import _good_lines, _replay
from tests.integration.test_store_partitions import _record

SECRET = "emp-poison-4711"


def _poison_documents() -> list[bytes]:
    too_long = tagged_document(_record(1))
    too_long["subject"]["pseudonym"] = "ab" * 32 + SECRET  # FixedString(64) cannot take it
    negative = tagged_document(_record(2))
    negative["lineage"]["source"]["partition"] = -1  # UInt32 cannot take it
    return [orjson.dumps(too_long), orjson.dumps(negative)]


def test_poison_rows_are_dead_lettered_with_the_stores_reason_and_nothing_else_waits(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    topics = pipeline.pipeline.topics
    tagged = topics.tagged_for("terminal")
    good = [orjson.dumps(tagged_document(_record(month))) for month in range(3, 8)]
    caplog.set_level(logging.DEBUG, logger="services")
    caplog.set_level(logging.DEBUG, logger="clickhouse_connect")
    with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
        futures = [emitter.emit_raw(tagged, value) for value in [good[0], *_poison_documents(), *good[1:]]]
        emitter.flush()
        offsets = [future.get(timeout=30).offset for future in futures]

    deadline = time.monotonic() + 60
    refused: list[list[object]] = []
    while len(refused) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
        refused = pipeline.query(
            "SELECT source_topic, source_offset, message FROM dead_letters FINAL WHERE reason = 'store_refused' "
            "ORDER BY source_offset"
        ).rows
    assert [(row[0], row[1]) for row in refused] == [(tagged, offsets[1]), (tagged, offsets[2])]
    assert "subject_pseudonym" in str(refused[0][2])
    assert "source_partition" in str(refused[1][2])
    stored = pipeline.query("SELECT count() FROM collection_lineage").rows
    assert stored == [[len(good)]]
    # The store goes on: events after the poison are stored as ever.
    assert _replay(pipeline, settings, _good_lines(6), tmp_path) == {"produced": 6, "lineage": 6, "dead": 0}
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("services", "clickhouse_connect"))]
    everything = str(ours) + str(pipeline.query("SELECT * FROM dead_letters").rows)
    assert SECRET not in everything
    assert pipeline.pipeline.metrics.registry.get_sample_value("lineage_store_refused_rows_total") == 2
