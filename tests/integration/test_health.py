"""Health that tells the truth: a role whose output or state recovery fails is reported, and recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from services.settings import Settings
from services.store.client import connect
from tests.integration.harness import PipelineHarness
from tests.integration.test_monitor import SCENARIO, _emit_in_order


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.2)


@pytest.fixture
def quick_health(settings: Settings) -> Settings:
    return settings.model_copy(update={"unhealthy_after_s": 1.0})


def test_a_monitor_whose_state_cannot_be_loaded_is_unhealthy_until_it_can(quick_health: Settings) -> None:
    harness = PipelineHarness(quick_health)
    harness.start()
    admin = connect(quick_health)
    state = f"{quick_health.clickhouse_database}.monitor_state"
    pipeline = harness.pipeline
    try:
        assert all(role["healthy"] for role in pipeline.health_report().values()), pipeline.health_report()
        admin.command(f"RENAME TABLE {state} TO {state}_away")  # a real store fault: the state is not readable
        try:
            _emit_in_order(harness, quick_health, [(kind, document) for kind, document, _ in SCENARIO])
            _wait_for(lambda: not pipeline.health_report()["monitor"]["healthy"], 60, "the monitor turns unhealthy")
            report = pipeline.health_report()
            monitor = report["monitor"]
            assert monitor["state"] == "failing"
            assert monitor["reason"].startswith("monitor state not loaded")
            assert "hanako" not in str(report), "no input value in what health shows"
            assert report["collect"]["healthy"], "only the failing role is named"
            assert report["store"]["healthy"]
        finally:
            admin.command(f"RENAME TABLE {state}_away TO {state}")
        _wait_for(lambda: pipeline.health_report()["monitor"]["healthy"], 60, "the monitor recovers by itself")
        decided = "SELECT count() FROM activity_decisions FINAL"
        uses = sum(kind in {"use", "disclosure"} for kind, _, _ in SCENARIO)
        _wait_for(lambda: harness.query(decided).rows[0][0] == uses, 60, "the held batch is decided")
    finally:
        harness.stop()
