"""Open a clickhouse-connect client: HTTP for a server, the chdb interface for the embedded engine."""

from __future__ import annotations

from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ProgrammingError

from services.settings import Settings


class StoreUnavailable(RuntimeError):
    """The lineage store cannot be opened or reached."""


def connect(settings: Settings) -> Client:
    """A client for the configured store. The embedded engine is owned by one process alone."""
    if settings.clickhouse_url is None:
        path = settings.clickhouse_path.resolve()
        path.mkdir(parents=True, exist_ok=True)
        try:
            return clickhouse_connect.get_client(interface="chdb", path=str(path))
        except ProgrammingError as exc:
            raise StoreUnavailable(
                f"cannot open the embedded store at {path}: another process owns it "
                "(is `purpose-lineage up` running? then query through its API)"
            ) from exc
    url = urlparse(settings.clickhouse_url)
    return clickhouse_connect.get_client(
        interface=url.scheme or "http",
        host=url.hostname or "localhost",
        port=url.port or (8443 if url.scheme == "https" else 8123),
        username=url.username or "default",
        password=url.password or "",
    )
