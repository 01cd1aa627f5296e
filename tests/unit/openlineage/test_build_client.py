"""The client factory: the settings pick the transport, and OpenLineage's own discovery never does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from openlineage.client.transport.file import FileTransport

from services.openlineage.client import BoundedHttpTransport, FanOutTransport, build_client


def test_no_path_and_no_url_means_no_client() -> None:
    assert build_client(None, None, None) is None


def test_a_path_gives_a_file_transport_appending_to_that_one_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lineage.jsonl"

    client = build_client(path, None, None)

    assert client is not None
    assert isinstance(client.transport, FileTransport)
    assert client.transport.config.append
    assert client.transport.config.log_file_path == str(path)
    assert path.parent.is_dir()


def test_a_url_gives_an_http_transport_with_the_api_key_as_bearer() -> None:
    client = build_client(None, "http://marquez.internal:5000", "k-123")

    assert client is not None
    assert isinstance(client.transport, BoundedHttpTransport)
    assert client.transport.url == "http://marquez.internal:5000/api/v1/lineage"
    assert client.transport.headers["Authorization"] == "Bearer k-123"
    assert client.transport.session.trust_env is False


def test_a_path_and_a_url_send_to_both(tmp_path: Path) -> None:
    client = build_client(tmp_path / "lineage.jsonl", "http://marquez.internal:5000", None)

    assert client is not None
    assert isinstance(client.transport, FanOutTransport)
    assert [type(t) for t in client.transport.transports] == [FileTransport, BoundedHttpTransport]


def test_openlineage_environment_and_config_files_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "openlineage.yml"
    config.write_text(
        "transport: {type: console}\nfacets: {environment_variables: [HOME]}\ndataset: {reducing_enabled: true}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    monkeypatch.setenv("OPENLINEAGE_URL", "http://elsewhere.example:5000")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    environment = dict(os.environ)

    client = build_client(tmp_path / "lineage.jsonl", None, None)

    assert client is not None
    assert isinstance(client.transport, FileTransport)
    assert client.config.facets.environment_variables == []
    assert not client.config.dataset.reducing_enabled
    assert client.config.facets.source_code_location.disabled
    assert dict(os.environ) == environment  # upstream would have added OPENLINEAGE__TRANSPORT__TRANSPORTS__...
