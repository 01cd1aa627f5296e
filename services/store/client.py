"""Open a clickhouse-connect client: HTTP for a server, the chdb interface for the embedded engine."""

from __future__ import annotations

from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from services.settings import Settings


def connect(settings: Settings) -> Client:
    """A client for the configured store. The embedded engine is owned by this process alone."""
    if settings.clickhouse_url is None:
        settings.clickhouse_path.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(interface="chdb", path=str(settings.clickhouse_path.resolve()))
    url = urlparse(settings.clickhouse_url)
    return clickhouse_connect.get_client(
        interface=url.scheme or "http",
        host=url.hostname or "localhost",
        port=url.port or (8443 if url.scheme == "https" else 8123),
        username=url.username or "default",
        password=url.password or "",
    )
