"""What a request can cause past its validation is answered with a 4xx or 503 that holds no value of it.

No 500 with a traceback: the traceback would carry the store's message, which quotes the query and its values,
into the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from fastapi.testclient import TestClient

from services.api.app import create_api
from services.metrics import PipelineMetrics
from services.policy.engine import PolicyEngine
from services.store.async_store import AsyncLineageStore
from services.store.lineage_store import Accounting, QueryResult

VALUE = "needle.person@example.com"
QUOTING_ERROR = DatabaseError(
    f"Code: 6. DB::Exception: Cannot parse string '{VALUE}' as UInt32: In scope SELECT toUInt32('{VALUE}'). "
    "(CANNOT_PARSE_TEXT)",
    code=6,
)


class _Reader:
    """The blocking store: every read fails with ``error``, or answers one row of zeros."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        del sql, parameters
        if self.error is not None:
            raise self.error
        return QueryResult(columns=[f"c{i}" for i in range(8)], rows=[[0] * 8])


class _Store:
    """The API's view of the store (AsyncLineageStore) over a :class:`_Reader`."""

    def __init__(self, error: Exception | None = None) -> None:
        self.reader = _Reader(error)

    async def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return self.reader.query(sql, parameters)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(self.reader, *args)

    async def accounting(self, deliveries: Any) -> Accounting:
        del deliveries
        return Accounting(stored=set(), dead_lettered=set())


def _client(store: _Store, engine: PolicyEngine | None = None) -> TestClient:
    api = create_api(cast(AsyncLineageStore, store), PipelineMetrics.create(), engine=engine)
    return TestClient(api, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "delivery",
    [["t", 2**40, 0, None], ["t", 0, -1, None], ["t", -1, 0, None], ["t", 0, 2**64, None]],
)
def test_accounting_coordinates_outside_kafka_are_refused_as_invalid(delivery: list[Any]) -> None:
    response = _client(_Store()).post("/api/v1/accounting", json={"deliveries": [delivery]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "deliveries"]


@pytest.mark.parametrize(
    "until",
    ["0001-01-01T00:10:00", "0001-01-01T00:10:00+05:00", "9999-12-31T23:00:00-05:00", "9999-12-31T00:00:00"],
)
def test_a_dashboard_window_outside_the_store_is_refused_as_invalid(engine: PolicyEngine, until: str) -> None:
    store = _Store()

    response = _client(store, engine).get("/api/v1/dashboard", params={"until": until})

    assert response.status_code == 422
    assert "1970" in response.text or "out of range" in response.text


def test_a_dashboard_window_inside_the_store_is_read(engine: PolicyEngine) -> None:
    response = _client(_Store(), engine).get("/api/v1/dashboard", params={"until": "2026-12-01T00:00:00"})

    assert response.status_code == 200
    assert response.json()["window"]["until"] == "2026-12-01T00:00:00+00:00"


def test_a_query_the_store_refuses_is_answered_with_its_code_and_name_only() -> None:
    response = _client(_Store(QUOTING_ERROR)).post("/api/v1/query", json={"sql": "SELECT toUInt32({id:String})"})

    assert response.status_code == 400
    assert response.json() == {"detail": "ClickHouse error 6 (CANNOT_PARSE_TEXT)"}


def test_a_read_the_store_fails_is_a_503_logged_without_values(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        response = _client(_Store(QUOTING_ERROR)).get("/api/v1/lineage/recent")

    assert response.status_code == 503
    assert response.json() == {"detail": "the store did not answer: ClickHouse error 6 (CANNOT_PARSE_TEXT)"}
    assert VALUE not in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
