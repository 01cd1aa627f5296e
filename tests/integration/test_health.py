"""Health that tells the truth: a role whose output or state recovery fails is reported, and recovers by itself."""

from __future__ import annotations

import pytest

from services.broker.local import LocalBroker, free_port
from services.settings import Settings
from services.store.client import connect
from tests.integration.harness import PipelineHarness, wait_for
from tests.integration.test_monitor import SCENARIO, _emit_in_order


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
            wait_for(lambda: not pipeline.health_report()["monitor"]["healthy"], "the monitor turns unhealthy", 60)
            report = pipeline.health_report()
            monitor = report["monitor"]
            assert monitor["state"] == "failing"
            assert monitor["reason"].startswith("monitor state not loaded")
            assert "hanako" not in str(report), "no input value in what health shows"
            assert report["collect"]["healthy"], "only the failing role is named"
            assert report["store"]["healthy"]
        finally:
            admin.command(f"RENAME TABLE {state}_away TO {state}")
        wait_for(lambda: pipeline.health_report()["monitor"]["healthy"], "the monitor recovers by itself", 60)
        decided = "SELECT count() FROM activity_decisions FINAL"
        uses = sum(kind in {"use", "disclosure"} for kind, _, _ in SCENARIO)
        wait_for(lambda: harness.query(decided).rows[0][0] == uses, "the held batch is decided", 60)
    finally:
        harness.stop()


def test_a_lost_broker_turns_health_red_and_one_that_restarted_empty_says_what_to_do(settings: Settings) -> None:
    broker = LocalBroker(free_port())
    broker.start()
    own = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap, "lag_interval_s": 1.0})
    harness = PipelineHarness(own)
    harness.start()
    pipeline = harness.pipeline
    try:
        wait_for(lambda: pipeline.health_report()["broker"]["state"] == "ok", "the broker probe answers", 30)
        broker.stop()  # the broker is gone
        wait_for(lambda: pipeline.health_report()["broker"]["state"] == "unreachable", "health turns red", 30)
        assert not pipeline.health_report()["broker"]["healthy"]
        broker.start()  # back, empty: the local broker keeps nothing across a restart
        wait_for(lambda: pipeline.health_report()["broker"]["state"] == "topics_missing", "the topics are missed", 60)
        assert "restart this process" in pipeline.health_report()["broker"]["reason"]
    finally:
        harness.stop()
        broker.stop()
