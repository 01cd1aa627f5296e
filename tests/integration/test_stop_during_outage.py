"""A clean stop while the store is failing loses nothing: the unfinished batch is processed again on restart."""

from __future__ import annotations

import time
from pathlib import Path

from schemas.events import CollectionKind
from services.emitter.client import Emitter
from services.replay import Produced, account, produce_lines
from services.settings import Settings
from services.store.client import connect
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import _good_lines, _replay


def _sink_failures(harness: PipelineHarness) -> float:
    return harness.pipeline.metrics.registry.get_sample_value("lineage_sink_failures_total") or 0.0


def _produce_while_failing(harness: PipelineHarness, count: int) -> list[Produced]:
    """Produce ``count`` events and wait until the store role has failed to write them twice."""
    settings = harness.settings
    with Emitter(settings.bootstrap, source_service="test", topics=harness.pipeline.topics) as emitter:
        produced = produce_lines(emitter, _good_lines(count), default_kind=CollectionKind.ACCESS_LOG)
    deadline = time.monotonic() + 60
    while _sink_failures(harness) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sink_failures(harness) >= 2, "the sink never tried to write during the outage"
    return produced


def test_a_stop_while_the_store_is_down_loses_no_event(settings: Settings, tmp_path: Path) -> None:
    first = PipelineHarness(settings)
    first.start()
    admin = connect(settings)
    lineage = f"{settings.clickhouse_database}.collection_lineage"
    try:
        assert _replay(first, settings, _good_lines(10), tmp_path)["lineage"] == 10
        admin.command(f"RENAME TABLE {lineage} TO {lineage}_away")  # a real store failure: the table is gone
        produced = _produce_while_failing(first, 30)
    finally:
        first.stop()  # what SIGTERM does: a clean stop, here while the store role backs off a failed insert
    admin.command(f"RENAME TABLE {lineage}_away TO {lineage}")

    second = PipelineHarness(settings)
    second.start()
    try:
        report = account(second, produced, timeout_s=90)
    finally:
        second.stop()
    assert report.unaccounted == [], f"{len(report.unaccounted)} of 30 events lost by a stop during the outage"


def test_after_an_outage_the_paused_batch_is_stored_without_a_restart(pipeline: PipelineHarness) -> None:
    settings = pipeline.settings
    admin = connect(settings)
    lineage = f"{settings.clickhouse_database}.collection_lineage"
    admin.command(f"RENAME TABLE {lineage} TO {lineage}_away")
    try:
        produced = _produce_while_failing(pipeline, 25)
        assert pipeline.pipeline.consumers["store"].failing  # paused, not retrying in place
    finally:
        admin.command(f"RENAME TABLE {lineage}_away TO {lineage}")
    report = account(pipeline, produced, timeout_s=90)
    assert report.unaccounted == []
    assert not pipeline.pipeline.consumers["store"].failing
