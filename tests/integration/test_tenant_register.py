"""The tenant register in the running pipeline: made-up tenants' events are dead-lettered as ``unknown_tenant`` by
collection and monitor alike, so their violations never reach an alert group, and a tenant added to the file is
served without a restart."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.emitter.client import Emitter
from services.settings import Settings
from tests.integration.harness import PipelineHarness, wait_for
from tests.integration.test_monitor import HOLDER, _event
from tests.integration.test_pipeline import _event as _collection_event

REGISTERED = "kobe-logistics"
MADE_UP = [f"made-up-{number:04d}" for number in range(6)]


def _leak(tenant: str) -> dict[str, Any]:
    """A use that violates the policy (an item the purpose may not use): an alert when decided."""
    use = _event("use", purpose="user_notification", data=["log_information"])
    return {**use, "tenant_id": tenant}


def _terminal(tenant: str) -> dict[str, object]:
    payload = {"terminal_id": "pc-0001", "terminal_type": "pc"}
    return _collection_event("terminal", HOLDER["id"], payload, tenant_id=tenant)


def _dead_reasons(pipeline: PipelineHarness, ids: list[str]) -> dict[str, str]:
    rows = pipeline.query(
        "SELECT event_id, reason FROM dead_letters WHERE event_id IN {ids:Array(String)}", {"ids": ids}
    ).rows
    return {row[0]: row[1] for row in rows}


def test_unregistered_tenants_are_refused_and_a_tenant_added_to_the_file_is_served(
    settings: Settings, tmp_path: Path
) -> None:
    register = tmp_path / "tenants.txt"
    register.write_text(f"# the tenants served\n{REGISTERED}\n")
    pipeline = PipelineHarness(
        settings.model_copy(update={"tenant_register": register, "tenant_register_check_s": 0.2})
    )
    pipeline.start()
    try:
        topics = pipeline.pipeline.topics
        collected = {tenant: _terminal(tenant) for tenant in [REGISTERED, *MADE_UP]}
        uses = {tenant: _leak(tenant) for tenant in [REGISTERED, *MADE_UP]}
        with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
            for tenant in [REGISTERED, *MADE_UP]:
                emitter.emit_raw(topics.collection_for("terminal"), orjson.dumps(collected[tenant]))
                emitter.emit_for_subject(topics.activity, orjson.dumps(uses[tenant]), tenant, HOLDER["id"])
        refused = [str(collected[t]["event_id"]) for t in MADE_UP] + [str(uses[t]["event_id"]) for t in MADE_UP]
        wait_for(lambda: len(_dead_reasons(pipeline, refused)) == len(refused), "the refusals stored")

        assert set(_dead_reasons(pipeline, refused).values()) == {"unknown_tenant"}
        lineage = pipeline.query("SELECT tenant_id FROM collection_lineage FINAL").rows
        assert lineage == [[REGISTERED]]
        wait_for(lambda: pipeline.query("SELECT count() FROM violations").rows[0][0] > 0, "the violation stored")
        violations = pipeline.query("SELECT DISTINCT tenant_id FROM violations").rows
        assert violations == [[REGISTERED]], "a made-up tenant's use is never decided, so never alerted on"
        wait_for(lambda: pipeline.query("SELECT count() FROM alerts").rows[0][0] > 0, "the alert recorded")
        assert pipeline.query("SELECT DISTINCT tenant_id FROM alerts").rows == [[REGISTERED]]
        registry = pipeline.pipeline.metrics.registry
        assert registry.get_sample_value("lineage_tenant_register_tenants") == 1
        dead_metric = registry.get_sample_value(
            "lineage_dead_letters_total", {"stage": "ingest", "reason": "unknown_tenant"}
        )
        assert dead_metric == len(refused)

        # A new customer: the file changes while the pipeline runs, and the next batches serve it.
        register.write_text(f"{REGISTERED}\n{MADE_UP[0]}\n")
        time.sleep(0.5)
        again = {**_terminal(MADE_UP[0]), "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat()}
        with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
            emitter.emit_raw(topics.collection_for("terminal"), orjson.dumps(again))
        wait_for(
            lambda: (
                pipeline.query(
                    "SELECT count() FROM collection_lineage WHERE toString(event_id) = {id:String}",
                    {"id": again["event_id"]},
                ).rows[0][0]
                == 1
            ),
            "the newly registered tenant's event stored",
        )
        assert registry.get_sample_value("lineage_tenant_register_tenants") == 2
    finally:
        pipeline.stop()
