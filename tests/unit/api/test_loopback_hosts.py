"""Without a token the API answers loopback host names only: a web page cannot reach it by DNS rebinding."""

from __future__ import annotations

from typing import cast

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from services.api.app import create_api, is_loopback_host
from services.metrics import PipelineMetrics
from services.store.async_store import AsyncLineageStore


def _client(loopback_hosts_only: bool) -> TestClient:
    api = create_api(
        cast(AsyncLineageStore, object()), PipelineMetrics.create(), loopback_hosts_only=loopback_hosts_only
    )
    return TestClient(api, base_url="http://127.0.0.1:8765")


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "127.0.0.1", "LOCALHOST"])
def test_loopback_names_are_served(host: str) -> None:
    response = _client(True).get("/livez", headers={"host": host})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "rebind.attacker.example:8765",  # a page's own name, resolved to 127.0.0.1 by its DNS
        "127.0.0.1.nip.io:8765",
        "localhost.attacker.example",
        "127.0.0.1@attacker.example",
        "[::1",
        "127.0.0.1:port",
        "",
    ],
)
@pytest.mark.parametrize("path", ["/metrics", "/api/v1/query", "/", "/static/dashboard.js", "/healthz", "/docs"])
def test_any_other_host_name_is_refused_on_every_route(host: str, path: str) -> None:
    response = _client(True).get(path, headers={"host": host})

    assert response.status_code == 421
    assert "loopback" in response.text


def test_with_a_token_the_api_answers_any_host_name() -> None:
    response = _client(False).get("/livez", headers={"host": "lineage-api.lineage.svc:8765"})

    assert response.status_code == 200


@given(st.text(max_size=60))
def test_only_loopback_names_pass_whatever_the_header(host: str) -> None:
    if is_loopback_host(host):
        lowered = host.lower()
        assert any(name in lowered for name in ("localhost", "127.0.0.1", "::1"))
        assert "@" not in host
        assert "." not in lowered.replace("127.0.0.1", "")
