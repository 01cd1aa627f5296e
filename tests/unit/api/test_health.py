"""/healthz answers with the roles' health: 200 while all consume and commit, 503 naming what is wrong."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from fastapi.testclient import TestClient

from services.api.app import create_api
from services.metrics import PipelineMetrics
from services.processors.batch_consumer import BatchConsumer, ConsumerConfig
from services.store.async_store import AsyncLineageStore

CONFIG = ConsumerConfig("127.0.0.1:9", "g", ["t"], 10, 0.1, 6.0, 5.0)


async def _nothing(batch: object) -> None:
    return None


def _api(report: dict[str, dict[str, Any]]) -> TestClient:
    return TestClient(create_api(cast(AsyncLineageStore, object()), PipelineMetrics.create(), health=lambda: report))


def test_healthz_is_200_while_every_role_is_healthy_and_503_naming_the_one_that_is_not() -> None:
    ok = {"state": "ok", "healthy": True, "reason": None, "partitions": 1, "last_commit_age_s": 0.4}
    failing = {**ok, "state": "failing", "healthy": False, "reason": "store refused (for 20 s)"}

    healthy = _api({"collect": ok, "store": ok}).get("/healthz")
    unhealthy = _api({"collect": ok, "store": failing}).get("/healthz")

    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"
    assert unhealthy.status_code == 503
    assert unhealthy.json() == {"status": "unhealthy", "roles": {"collect": ok, "store": failing}}


def test_an_api_without_roles_is_healthy() -> None:
    response = TestClient(create_api(cast(AsyncLineageStore, object()), PipelineMetrics.create())).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "roles": {}}


def test_a_consumer_is_failing_but_healthy_during_a_blip_then_unhealthy_then_stalled_when_idle() -> None:
    async def scenario() -> list[tuple[str, bool]]:
        consumer = BatchConsumer("store", CONFIG, _nothing)
        consumer._launch(asyncio.sleep(60))
        now = time.monotonic()
        states = [consumer.health(now, 15.0)]
        consumer.failing, consumer.failing_since, consumer.failure = True, now - 5, "store refused"
        states.append(consumer.health(now, 15.0))  # a 5 s blip is not an outage
        consumer.failing_since = now - 20
        states.append(consumer.health(now, 15.0))
        consumer.failing, consumer.failing_since, consumer.failure = False, None, None
        consumer.last_progress = now - 31  # neither fetched nor attempted a batch for twice the limit
        states.append(consumer.health(now, 15.0))
        await consumer.stop(grace_s=0.1)
        return [(h.state, h.healthy) for h in states]

    assert asyncio.run(scenario()) == [("ok", True), ("failing", True), ("failing", False), ("stalled", False)]


def test_a_dead_consumer_is_unhealthy_with_its_exception_class_only() -> None:
    async def broken() -> None:
        raise ConnectionResetError("the broker went away with emp-00042's message in flight")

    async def scenario() -> tuple[str, bool, str | None]:
        consumer = BatchConsumer("collect", CONFIG, _nothing)
        consumer._launch(broken())
        await asyncio.wait_for(consumer.died.wait(), 5)
        health = consumer.health(time.monotonic(), 15.0)
        return health.state, health.healthy, health.reason

    assert asyncio.run(scenario()) == ("dead", False, "ConnectionResetError")
