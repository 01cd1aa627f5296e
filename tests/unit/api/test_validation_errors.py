"""A request the API refuses is answered without echoing what it held (a body can carry anything)."""

from __future__ import annotations

from typing import cast

from fastapi.testclient import TestClient

from services.api.app import create_api
from services.metrics import PipelineMetrics
from services.store.async_store import AsyncLineageStore


def test_a_refused_request_names_the_field_and_the_rule_but_not_the_input() -> None:
    api = create_api(cast(AsyncLineageStore, object()), PipelineMetrics.create())
    secret = "emp-00042@kobe-logistics.example"

    response = TestClient(api).post("/api/v1/accounting", json={"deliveries": [["t", 0, 1, secret]] * 100_001})

    assert response.status_code == 422
    assert secret not in response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "deliveries"]
    assert error["type"] == "too_long"
