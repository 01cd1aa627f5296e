"""A clean stop while the store is failing loses nothing: the unfinished batch is processed again on restart."""

from __future__ import annotations

import time
from pathlib import Path

from schemas.events import CollectionKind
from services.emitter.client import Emitter
from services.replay import account, produce_lines
from services.roles import Role
from services.settings import Settings
from services.store.client import connect
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import _good_lines, _replay


def _sink_failures(harness: PipelineHarness) -> float:
    return harness.pipeline.metrics.registry.get_sample_value("lineage_sink_failures_total") or 0.0


def test_a_stop_while_the_store_is_down_loses_no_event(settings: Settings, tmp_path: Path) -> None:
    first = PipelineHarness(settings)
    first.start()
    admin = connect(settings)
    lineage = f"{settings.clickhouse_database}.collection_lineage"
    try:
        assert _replay(first, settings, _good_lines(10), tmp_path)["lineage"] == 10
        admin.command(f"RENAME TABLE {lineage} TO {lineage}_away")  # a real store failure: the table is gone
        file = tmp_path / "during-outage.jsonl"
        file.write_bytes(b"\n".join(_good_lines(30)) + b"\n")
        with (
            Emitter(settings.bootstrap, source_service="test", topics=first.pipeline.topics) as emitter,
            file.open("rb") as handle,
        ):
            produced = produce_lines(emitter, handle, default_kind=CollectionKind.ACCESS_LOG)
        deadline = time.monotonic() + 60
        while _sink_failures(first) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _sink_failures(first) >= 2, "the sink never tried to write during the outage"
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


def test_after_an_outage_the_paused_batch_is_stored_without_a_restart(
    pipeline: PipelineHarness, tmp_path: Path
) -> None:
    settings = pipeline.settings
    admin = connect(settings)
    lineage = f"{settings.clickhouse_database}.collection_lineage"
    admin.command(f"RENAME TABLE {lineage} TO {lineage}_away")
    try:
        file = tmp_path / "during-outage.jsonl"
        file.write_bytes(b"\n".join(_good_lines(25)) + b"\n")
        with (
            Emitter(settings.bootstrap, source_service="test", topics=pipeline.pipeline.topics) as emitter,
            file.open("rb") as handle,
        ):
            produced = produce_lines(emitter, handle, default_kind=CollectionKind.ACCESS_LOG)
        deadline = time.monotonic() + 60
        while _sink_failures(pipeline) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _sink_failures(pipeline) >= 2, "the sink never tried to write during the outage"
        assert pipeline.pipeline.consumers[Role.STORE].failing  # paused, not retrying in place
    finally:
        admin.command(f"RENAME TABLE {lineage}_away TO {lineage}")
    report = account(pipeline, produced, timeout_s=90)
    assert report.unaccounted == []
    assert not pipeline.pipeline.consumers[Role.STORE].failing
