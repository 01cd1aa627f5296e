"""POST /api/v1/query and `purpose-lineage sql` answer a failed read with ClickHouse's code and name only.

ClickHouse's own message quotes the query and the values bound to it (the way to look something up by an
e-mail address is to bind it): neither reaches the answer, the CLI's output or the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.api.app import create_api
from services.broker.local import free_port
from services.cli.main import cli
from services.metrics import PipelineMetrics
from services.settings import Settings
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore

VALUE = "needle.person@example.com"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    shared = AsyncLineageStore(store, separate_reads=False)  # reads and writes on one thread
    try:
        yield TestClient(create_api(shared, PipelineMetrics.create()), raise_server_exceptions=False)
    finally:
        shared.close()


@pytest.mark.parametrize(
    ("sql", "parameters"),
    [
        ("SELECT toUInt32({id:String})", {"id": VALUE}),
        ("SELECT * FROM activity_decisions WHERE subject_pseudonym = {p:UUID}", {"p": VALUE}),
        ("SELECT toIPv6({v:String})", {"v": VALUE}),
        ("SELECT CAST({v:String} AS Enum('a' = 1))", {"v": VALUE}),
        ("SELECT CAST({v:String} AS Map(String, UInt8))", {"v": VALUE}),
        (f"SELECT toUInt32('{VALUE}')", {}),
        (f"SELECT 1 1 '{VALUE}'\n'{VALUE}'", {}),
    ],
)
def test_a_failed_query_is_answered_by_code_and_name_without_its_values(
    api: TestClient, sql: str, parameters: dict[str, Any]
) -> None:
    response = api.post("/api/v1/query", json={"sql": sql, "parameters": parameters})

    assert response.status_code == 400
    assert VALUE not in response.text
    assert response.json()["detail"].startswith("ClickHouse error ")


def test_a_syntax_error_says_where_it_failed(api: TestClient) -> None:
    response = api.post("/api/v1/query", json={"sql": f"SELECT 1 1 '{VALUE}'"})

    assert response.json() == {"detail": "ClickHouse error 62 (SYNTAX_ERROR) at position 10"}


def test_a_refused_statement_is_named_but_not_repeated(api: TestClient, tmp_path: Path) -> None:
    target = tmp_path / "out.txt"

    response = api.post("/api/v1/query", json={"sql": f"SELECT '{VALUE}' INTO OUTFILE '{target}'"})

    assert response.status_code == 400
    assert "INTO OUTFILE is refused" in response.json()["detail"]
    assert VALUE not in response.text
    assert str(target) not in response.text
    assert not target.exists()


def test_a_result_the_client_cannot_convert_is_a_clear_refusal(api: TestClient) -> None:
    response = api.post("/api/v1/query", json={"sql": "SELECT toDateTime64(-62135683200, 3) AS before_year_one"})

    assert response.status_code == 400
    assert "cannot convert" in response.json()["detail"]


@pytest.mark.parametrize(
    ("sql", "parameters"),
    [
        ("SELECT '%(" + VALUE + ")s'", {"a": 1}),  # the client's %-binding: a KeyError naming the placeholder
        ("SELECT %(a)d", {"a": VALUE}),  # a TypeError quoting the value's type
        ("SELECT %(a)s, %(b)s", {"a": 1}),
    ],
)
def test_a_parameter_the_client_cannot_bind_is_a_clear_refusal_not_a_500(
    api: TestClient, sql: str, parameters: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Sixth red-team pass: these escaped as HTTP 500, the placeholder's name (from the request) in the log."""
    response = api.post("/api/v1/query", json={"sql": sql, "parameters": parameters})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("the query or its result holds a value the client cannot convert")
    assert VALUE not in response.text + caplog.text


def test_bytes_that_are_not_utf8_are_answered_escaped_not_a_500(api: TestClient) -> None:
    response = api.post("/api/v1/query", json={"sql": "SELECT toFixedString(unhex('ff41'), 2), [unhex('ff')]"})

    assert response.status_code == 200
    assert response.json()["rows"][0][0] == "\\xffA"


def test_the_sql_command_prints_code_and_name_without_the_values(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LINEAGE_API_URL", f"http://127.0.0.1:{free_port()}")  # no API: the command opens the store
    target = tmp_path / "out.txt"
    runner = CliRunner()

    failed = runner.invoke(cli, ["sql", f"SELECT toUInt32('{VALUE}')"])
    refused = runner.invoke(cli, ["sql", f"SELECT '{VALUE}' INTO OUTFILE '{target}' APPEND"])
    answered = runner.invoke(cli, ["sql", "SELECT 41 + 1 AS answer", "--json"])

    assert failed.exit_code == 2
    assert "ClickHouse error 6 (CANNOT_PARSE_TEXT)" in " ".join(failed.output.split())  # as wrapped by rich
    assert refused.exit_code == 2
    assert "INTO OUTFILE is refused" in " ".join(refused.output.split())
    for result in (failed, refused):
        assert VALUE not in "".join(result.output.split())
    assert not target.exists()
    assert answered.exit_code == 0, answered.output
    assert "42" in answered.output
