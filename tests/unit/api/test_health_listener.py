"""The health listener of a process without the API: /healthz as the API answers it, /livez, /metrics only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from services.api.app import create_health_app
from services.metrics import PipelineMetrics

OK = {"state": "ok", "healthy": True, "reason": None}


def _client(report: dict[str, dict[str, Any]]) -> TestClient:
    return TestClient(create_health_app(lambda: report, PipelineMetrics.create()))


def test_healthz_is_the_roles_report_with_the_apis_semantics() -> None:
    stalled = {"state": "stalled", "healthy": False, "reason": "no batch fetched for 31 s"}

    healthy = _client({"collect": OK, "broker": OK}).get("/healthz")
    unhealthy = _client({"collect": stalled, "broker": OK}).get("/healthz")

    assert (healthy.status_code, healthy.json()) == (200, {"status": "ok", "roles": {"collect": OK, "broker": OK}})
    assert unhealthy.status_code == 503
    assert unhealthy.json() == {"status": "unhealthy", "roles": {"collect": stalled, "broker": OK}}


def test_livez_stays_200_while_the_roles_are_unready() -> None:
    client = _client({"collect": {"state": "dead", "healthy": False, "reason": "ConnectionResetError"}})

    assert client.get("/healthz").status_code == 503
    response = client.get("/livez")
    assert (response.status_code, response.json()) == (200, {"status": "alive"})


def test_the_listener_serves_health_and_metrics_only() -> None:
    client = _client({"collect": OK})

    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "# HELP lineage_collection_events_total" in metrics.text
    for path in ("/api/v1/summary", "/api/v1/query", "/docs", "/openapi.json", "/"):
        assert client.get(path).status_code == 404, path
