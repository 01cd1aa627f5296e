"""Event identity (tenant, event id) through the real pipeline: re-sent is one row, conflicting is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from services.settings import Settings
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import _event, _replay

SUBJECT = "emp-77001"


def _terminal(event_id: str, terminal_id: str, **overrides: object) -> bytes:
    payload = {"terminal_id": terminal_id, "terminal_type": "pc"}
    return orjson.dumps(_event("terminal", SUBJECT, payload, event_id=event_id, **overrides))


def test_resent_events_are_one_row_and_conflicting_ones_are_dead_lettered(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    same, other_month, other_tenant = (str(uuid.uuid4()) for _ in range(3))
    when = datetime(2026, 11, 30, 23, 59, tzinfo=UTC).isoformat()
    next_month = (datetime(2026, 11, 30, 23, 59, tzinfo=UTC) + timedelta(days=2)).isoformat()
    lines = [
        _terminal(same, "pc-1", occurred_at=when),
        _terminal(same, "pc-1", occurred_at=when),  # the emitter sent it twice: one event
        _terminal(same, "pc-2", occurred_at=when),  # same id, other content: a conflict
        _terminal(other_month, "pc-3", occurred_at=when),
        _terminal(other_month, "pc-3", occurred_at=next_month),  # same id in another month: a conflict too
        _terminal(other_tenant, "pc-4", occurred_at=when),
        _terminal(other_tenant, "pc-4", occurred_at=when, tenant_id="naniwa-works"),  # another tenant's event
    ]

    counts = _replay(pipeline, settings, lines, tmp_path)

    assert counts == {"produced": 7, "lineage": 5, "dead": 2}
    physical = pipeline.query(  # without FINAL: every stored copy, merged or not
        "SELECT tenant_id, toString(event_id), count(), groupArray(payload_terminal) FROM "
        "(SELECT tenant_id, event_id, arrayStringConcat(fields_kept, ',') AS payload_terminal "
        "FROM collection_lineage) GROUP BY tenant_id, event_id ORDER BY tenant_id, toString(event_id)"
    ).rows
    per_identity = {(tenant, event_id): n for tenant, event_id, n, _ in physical}
    assert per_identity == {
        ("kobe-logistics", same): 1,
        ("kobe-logistics", other_month): 1,
        ("kobe-logistics", other_tenant): 1,
        ("naniwa-works", other_tenant): 1,
    }
    conflicts = pipeline.query(
        "SELECT event_id, stage, source_offset FROM dead_letters FINAL WHERE reason = 'event_id_conflict' "
        "ORDER BY source_offset"
    ).rows
    assert [(row[0], row[1]) for row in conflicts] == [(same, "store"), (other_month, "store")]
    metrics = pipeline.pipeline.metrics.registry
    assert metrics.get_sample_value("lineage_event_id_conflicts_total") == 2
    assert metrics.get_sample_value("lineage_redeliveries_total") == 1


def test_a_later_batch_is_checked_against_what_the_store_already_holds(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    event_id = str(uuid.uuid4())
    when = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).isoformat()
    assert _replay(pipeline, settings, [_terminal(event_id, "pc-1", occurred_at=when)], tmp_path)["lineage"] == 1

    later = [_terminal(event_id, "pc-1", occurred_at=when), _terminal(event_id, "pc-9", occurred_at=when)]
    # The id is in lineage already; each message is still accounted for by its own coordinates.
    assert _replay(pipeline, settings, later, tmp_path) == {"produced": 2, "lineage": 1, "dead": 1}
    metrics = pipeline.pipeline.metrics.registry
    assert metrics.get_sample_value("lineage_event_id_conflicts_total") == 1
    assert metrics.get_sample_value("lineage_redeliveries_total") == 1
    rows = pipeline.query("SELECT count() FROM collection_lineage WHERE event_id = {e:UUID}", {"e": event_id}).rows
    assert rows == [[1]]
    conflicts = pipeline.query("SELECT count() FROM dead_letters FINAL WHERE reason = 'event_id_conflict'").rows
    assert conflicts == [[1]]
