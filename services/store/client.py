"""Open a clickhouse-connect client: HTTP for a server, the chdb interface for the embedded engine."""

from __future__ import annotations

import logging
import re
import struct
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, ProgrammingError

from services.errors import LineageError
from services.settings import Settings


class StoreUnavailable(LineageError, RuntimeError):
    """The lineage store cannot be opened or reached."""


class StoreQueryError(LineageError, DatabaseError):
    """The query path refused a statement before sending it, or could not convert what the store answered.

    A ``DatabaseError`` like the store's own refusals, so callers catch both alike; its message is written here
    and never holds the query's text or values (it is shown as it is).
    """


def connect(settings: Settings) -> Client:
    """A client for the configured store. The embedded engine is owned by one process alone."""
    # The driver logs a row it cannot serialize at ERROR with the value in the text (a FixedString's bytes in
    # hex): the writer reports such rows itself, by column and without values.
    logging.getLogger("clickhouse_connect.driver.transform").setLevel(logging.CRITICAL)
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
        # No server session: the store's writing and reading threads share this client concurrently, and a
        # session admits one query at a time. Nothing here relies on session state (no temporary tables).
        autogenerate_session_id=False,
    )


# ClickHouse error codes that refuse the rows themselves (a value that does not parse, fit or convert), as
# opposed to a store that is down, full or missing a table: those are retried, these are isolated.
_DATA_ERROR_CODES = frozenset({6, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321, 349})
_ERROR_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)[\s.]*$")
"""ClickHouse ends its message with the error's name; what comes before may quote the query, across lines."""
_VERSION = re.compile(r"\s*\(version [0-9][^()]*(?:\([^()]*\))?[^()]*\)")
_SYNTAX_POSITION = re.compile(r"Syntax error: failed at position (\d+)")
_SYNTAX_ERROR = 62
_COLUMN = re.compile(r"column\s+(?:name:\s*)?[`']([A-Za-z_][A-Za-z0-9_]*)[`']")


def refuses_data(exc: BaseException) -> bool:
    """True when the rows themselves were refused (by the client serializing them or by ClickHouse)."""
    if isinstance(exc, DatabaseError) and not isinstance(exc, DataError):
        return getattr(exc, "code", None) in _DATA_ERROR_CODES
    return isinstance(exc, DataError | UnicodeEncodeError | OverflowError | struct.error | TypeError | ValueError)


def describe_store_error(exc: BaseException) -> str:
    """What the store said, without the values ClickHouse and the client quote in their messages.

    A server error is its code and name, and a syntax error also where it failed (a character position);
    a :class:`StoreQueryError` is its own message, which holds no query text or value.
    """
    if isinstance(exc, StoreQueryError):
        return str(exc)
    code = getattr(exc, "code", None)
    text = str(exc)
    if isinstance(exc, DatabaseError) and isinstance(code, int) and code:
        name = _ERROR_NAME.search(_VERSION.sub("", text))
        described = f"ClickHouse error {code}" + (f" ({name.group(1)})" if name else "")
        position = _SYNTAX_POSITION.search(text) if code == _SYNTAX_ERROR else None
        return described + (f" at position {position.group(1)}" if position else "")
    column = _COLUMN.search(text)
    where = f" in column {column.group(1)}" if column else ""
    return f"a value the store cannot take{where} ({type(exc).__name__})"
