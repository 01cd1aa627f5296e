"""LINEAGE_OPENLINEAGE_URL: https (or http to loopback), no user or password; no setting's value in an error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.settings import Settings


@pytest.mark.parametrize(
    "url", ["https://marquez.example:5000", "http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000"]
)
def test_https_and_loopback_http_are_taken(url: str) -> None:
    assert Settings(openlineage_url=url).openlineage_url == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://u:pa55w0rd@marquez.example", "user or password"),
        ("https://token@marquez.example", "user or password"),
        ("http://marquez.example:5000", "https"),
        ("ftp://marquez.example", "https"),
        ("marquez.example:5000", "https"),
    ],
)
def test_other_urls_are_refused_without_echoing_them(url: str, why: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(openlineage_url=url)

    assert why in str(raised.value)
    assert "pa55w0rd" not in str(raised.value)
    assert "marquez.example" not in str(raised.value)
