"""Stage metrics of the running pipeline: in and out by kind, removals by reason, consumer lag, last batch."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from services.settings import Settings
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import BAD_LINES, RAW_IDS, _good_lines, _replay


def test_every_stage_reports_what_it_did_and_the_group_catches_up(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    counts = _replay(pipeline, settings, _good_lines(20) + BAD_LINES, tmp_path)
    registry = pipeline.pipeline.metrics.registry
    topics = pipeline.pipeline.topics

    def sample(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    assert sample("lineage_records_tagged_total", kind="access_log") == 10
    assert sample("lineage_records_tagged_total", kind="terminal") == 10
    consumed = sum(sample("lineage_collection_events_total", topic_kind=k) for k in ("access_log", "terminal"))
    assert consumed == counts["produced"]
    # Each good access-log line carries an e-mail subject: excluded content, removed and counted by reason.
    assert sample("lineage_fields_removed_total", kind="access_log", reason="excluded_content") == 10
    assert sample("lineage_sink_batch_rows_count") >= 1
    assert sample("lineage_sink_backpressure") == 0
    for agent in ("collect", "store"):
        assert sample("lineage_last_batch_timestamp_seconds", agent=agent) > time.time() - 120

    # The lag gauge is measured from the broker's committed offsets: once everything is processed and
    # committed, every topic the collect agent reads is caught up.
    collect_topics = [t for t in topics.all_collection if t.endswith(("access_log.v1", "terminal.v1"))]
    deadline = time.monotonic() + 60
    lags: list[float | None] = []
    while time.monotonic() < deadline:
        lags = [sample_or_none(registry, "lineage_consumer_lag", agent="collect", topic=t) for t in collect_topics]
        if lags and all(lag == 0 for lag in lags):
            break
        time.sleep(0.5)
    assert lags == [0.0, 0.0]
    exposition = generate_latest(registry).decode()
    assert not any(raw in exposition for raw in RAW_IDS)


def sample_or_none(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)
