"""What the store's query path runs: one plain read, checked by ClickHouse's own lexer and parser, under limits.

The embedded engine is clickhouse-local in this process: ``readonly=1`` there still lets INTO OUTFILE write any
file the process may, the file() function read any, and DESCRIBE run table functions. So every statement of
:meth:`services.store.lineage_store.LineageStore.query` passes :class:`ReadGuard` first, and travels with
:class:`QueryLimits`, which it cannot lift.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from schemas.memo import BoundedMemo, text_bytes
from services.settings import Settings
from services.store.client import StoreQueryError


@dataclass(frozen=True)
class QueryLimits:
    """What one read of :meth:`LineageStore.query` may take in ClickHouse, sent with every such read.

    They travel with ``readonly=1`` in the query's own settings, so the query cannot lift them: ClickHouse refuses
    a settings change in read-only mode, and the store refuses a SETTINGS clause before sending anything.
    """

    timeout_s: float
    max_memory_bytes: int
    max_result_rows: int
    max_result_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        """The limits configured by ``LINEAGE_QUERY_*``."""
        return cls(
            timeout_s=settings.query_timeout_s,
            max_memory_bytes=settings.query_max_memory_bytes,
            max_result_rows=settings.query_max_result_rows,
            max_result_bytes=settings.query_max_result_bytes,
        )

    def server_settings(self) -> dict[str, Any]:
        """The ClickHouse settings of a read: read-only, and stopped with an error (never cut short) at a limit."""
        return {
            "readonly": 1,
            "max_execution_time": self.timeout_s,
            "timeout_overflow_mode": "throw",
            "max_memory_usage": self.max_memory_bytes,
            "max_result_rows": self.max_result_rows,
            "max_result_bytes": self.max_result_bytes,
            "result_overflow_mode": "throw",
        }


DEFAULT_QUERY_LIMITS = QueryLimits.from_settings(Settings.model_construct())  # the documented defaults, no env


# What the query path runs: a read, checked by ClickHouse's own lexer and parser before it is sent (see
# LineageStore.query). The embedded engine is clickhouse-local in this process: readonly=1 there still lets
# INTO OUTFILE write any file the process may, the file() function read any, and DESCRIBE run table functions.
_READ_STATEMENTS = frozenset({"SelectWithUnionQuery", "SelectIntersectExceptQuery", "ExplainQuery", "ShowTablesQuery"})
_READ_NODES = _READ_STATEMENTS | {"SelectQuery", "TablesInSelectQuery"}
_OUTFILE_FLAGS = ("is_outfile_append", "is_outfile_truncate", "is_into_outfile_with_stdout")
_TABLE_FUNCTIONS = frozenset({"numbers", "numbers_mt", "generate_series", "generateseries", "values", "view"})
"""Table functions a read may use: generated or inline rows, subqueries. Every other one reads files, other
servers or services (file, url, s3, remote, mysql, python, …)."""
_HARMLESS_CALLS = _TABLE_FUNCTIONS | {"format"}  # format(): a string function, and a table function of inline data
_OUTSIDE_FUNCTIONS_SQL = (
    "SELECT lower(name) FROM system.table_functions "
    "UNION ALL SELECT lower(name) FROM system.functions WHERE match(name, '^(ai|AI)[A-Z]')"
)
"""Functions that reach past the database: every table function (also callable as `x IN file(…)`), file() as a
function (it reads any file), and the AI functions (they call an endpoint a query may name)."""
_SYSTEM_TABLES = frozenset({"one", "numbers", "zeros", "databases", "tables", "columns", "parts", "functions"})
"""System tables a read may name: what the database holds and can do. The others can hold other callers'
statements and the values bound to them (errors, processes, query_log, …) or the store's file paths."""
_PATH_COLUMNS = frozenset({"path", "data_path", "data_paths", "metadata_path", "metadata_path_in_zookeeper"})
"""Columns of the system tables a read may name that hold the store's file paths (a home folder, a user name):
refused by name, and with them ``*`` over a statement that reads a system table."""
_SYSTEM_TABLE = re.compile(r"(?<![A-Za-z0-9_])[`\"]?system[`\"]?\s*\.\s*[`\"]?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_INTO_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)
_NAME_PARAMETER = re.compile(r"\{[^{}:]*:[^{}]*identifier[^{}]*\}", re.IGNORECASE)
_NAMES_AS_PARAMETERS = "a name passed as a parameter ({name:Identifier}; the names a read uses are checked as written)"
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[`\"]?\s*\(")
_CLAUSE = re.compile(r"\bFORMAT\s+[`\"]?[A-Za-z]|\bSETTINGS\b", re.IGNORECASE)
_NAME = r"(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`)"
_DESCRIBE_TABLE = re.compile(rf"DESCRIBE TABLE (?:{_NAME}\.)?{_NAME}")
_BAD_ARGUMENTS = 36  # parseQueryToJSON: a statement it cannot serialize (DESCRIBE, EXISTS, SHOW CREATE, …)
_UNKNOWN_FUNCTION = 46  # parseQueryToJSON itself: a ClickHouse before 26.x
_CHECKED_READS_BYTES = 4 << 20
"""Bytes of statements remembered as reads: the dashboard's, reports' and trace's repeat (~4 ms a check), ~1,700
of the longest of them (2,200 characters). Counted in statements (512), the API's longest (100,000 characters)
could hold 51 MB, 205 MB in astral characters (nineteenth red-team pass)."""
_READ_ENTRY_BYTES = 128  # a remembered statement's slot in the memo, beside its text


def refused(what: str) -> StoreQueryError:
    return StoreQueryError(f"Code: 164. the query path runs reads only: {what} is refused. (READONLY)", code=164)


_OTHER_SYSTEM_TABLE = "a system table other than one, numbers, zeros, databases, tables, columns, parts or functions"
_STORE_PATHS = "the store's file paths (a path column of a system table, or * in a statement reading one)"


def _first_refusal(tree: Any, outside: frozenset[str]) -> str | None:
    """Why the parsed statement ``tree`` (parseQueryToJSON) is not a plain read, or None: walked iteratively, so
    no depth the parser accepts can exhaust Python's stack."""
    if not isinstance(tree, dict) or tree.get("type") not in _READ_STATEMENTS:
        return "a statement other than SELECT, WITH, EXPLAIN, SHOW TABLES or DESCRIBE TABLE"
    stack: list[Any] = [tree]
    reads_system = wide = names_path = False  # a system table; *, t.* or COLUMNS(...); a path column
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if "out_file" in node or any(node.get(flag) for flag in _OUTFILE_FLAGS):
            return "INTO OUTFILE"
        if "format_ast" in node:
            return "a FORMAT clause"
        if kind == "SetQuery":
            return "a SETTINGS clause (the store sets a read's settings)"
        if isinstance(kind, str) and kind.endswith("Query") and kind not in _READ_NODES:
            return "a statement other than a read"
        function = node.get("table_function")
        if isinstance(function, dict) and str(function.get("name", "")).lower() not in _TABLE_FUNCTIONS:
            return "a table function other than numbers, values, view or generate_series"
        if kind == "QueryParameter" and "identifier" in str(node.get("param_type", "")).lower():
            return _NAMES_AS_PARAMETERS  # bound after this check: `{d:Identifier}.{t:Identifier}` hid system.errors
        if kind == "Function" and str(node.get("name", "")).lower() in outside:
            return "a function that reads files or reaches other services"
        parts = node.get("name_parts")
        if not (kind in {"TableIdentifier", "Identifier"} and isinstance(parts, list) and len(parts) >= 2):
            parts = None
        if parts is not None and str(parts[0]).lower() == "system":
            if str(parts[1]).lower() not in _SYSTEM_TABLES:
                return _OTHER_SYSTEM_TABLE
            reads_system = True
        if kind == "Identifier" and str(node.get("name", "")).rsplit(".", 1)[-1].lower() in _PATH_COLUMNS:
            names_path = True
        if isinstance(kind, str) and (kind.endswith("Asterisk") or "Matcher" in kind):
            wide = True
        # EXPLAIN's own options (json = 1, indexes = 1) are parsed as settings, but are not the query's.
        stack.extend(value for key, value in node.items() if not (kind == "ExplainQuery" and key == "settings"))
    if reads_system and (wide or names_path):
        return _STORE_PATHS
    return None


class ReadGuard:
    """Refuses, before anything is sent, every statement that is not a plain read. One per store client."""

    def __init__(self, client: Client, timeout_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._outside: frozenset[str] | None = None  # functions reaching past the database, read once
        self._parses_to_json = True  # False on a ClickHouse without parseQueryToJSON (before 26.x)
        # Statements check() passed (values travel apart, as parameters).
        self._reads: BoundedMemo[str, bool] = BoundedMemo(_CHECKED_READS_BYTES)

    def check(self, sql: str) -> None:
        """Refuse ``sql`` unless it is a plain read (raises :class:`StoreQueryError`; a syntax error is the store's).

        Two checks, each by ClickHouse itself on the text as a string parameter (nothing of it runs): its lexer
        (normalizeQuery drops comments and turns literals into ``?``) for INTO OUTFILE and calls of functions that
        reach past the database, however spelled; then its parser (parseQueryToJSON), whose tree says what the
        statement is, and whether INTO OUTFILE, FORMAT, SETTINGS or a table function appear anywhere in it. A
        ClickHouse server without parseQueryToJSON keeps the first check and refuses FORMAT and SETTINGS by
        keyword; it refuses INTO OUTFILE over HTTP itself, and its users' grants bound the rest.
        """
        if sql in self._reads:
            return
        normalized = self._scalar("SELECT normalizeQuery({q:String})", sql)
        if _INTO_OUTFILE.search(normalized):
            raise refused("INTO OUTFILE")
        if _NAME_PARAMETER.search(normalized):
            raise refused(_NAMES_AS_PARAMETERS)
        outside = self._outside_functions()
        if any(name.lower() in outside for name in _CALL.findall(normalized)):
            raise refused("a function that reads files or reaches other services")
        if any(name.lower() not in _SYSTEM_TABLES for name in _SYSTEM_TABLE.findall(normalized)):
            raise refused(_OTHER_SYSTEM_TABLE)
        if not self._parses_to_json:
            if _CLAUSE.search(normalized):
                raise refused("a FORMAT or SETTINGS clause")
            self._passed(sql)
            return
        try:
            tree = json.loads(self._scalar("SELECT parseQueryToJSON({q:String})", sql))
        except DatabaseError as exc:
            if exc.code == _UNKNOWN_FUNCTION:
                self._parses_to_json = False
                self.check(sql)
                return
            if exc.code != _BAD_ARGUMENTS:
                raise
            # Statements the parser cannot serialize: of them, DESCRIBE of a named table is a read.
            if not _DESCRIBE_TABLE.fullmatch(self._scalar("SELECT formatQuerySingleLine({q:String})", sql)):
                raise refused("a statement other than SELECT, WITH, EXPLAIN, SHOW TABLES or DESCRIBE TABLE") from None
            self._passed(sql)
            return
        except RecursionError:
            raise refused("a statement nested this deep") from None
        refusal = _first_refusal(tree, outside)
        if refusal is not None:
            raise refused(refusal)
        self._passed(sql)

    def _passed(self, sql: str) -> None:
        self._reads.remember(sql, True, text_bytes(sql) + _READ_ENTRY_BYTES)

    def _scalar(self, sql: str, text: str) -> str:
        """One string ClickHouse computes from ``text``, passed as a parameter (read-only, in the time limit)."""
        result = self._client.query(sql, parameters={"q": text}, settings=self._check_settings())
        return str(result.result_rows[0][0])

    def _check_settings(self) -> dict[str, Any]:
        """The store's own checks run read-only and in the time limit; the result limits are the caller's."""
        return {"readonly": 1, "max_execution_time": self._timeout_s, "timeout_overflow_mode": "throw"}

    def _outside_functions(self) -> frozenset[str]:
        if self._outside is None:
            result = self._client.query(_OUTSIDE_FUNCTIONS_SQL, settings=self._check_settings())
            # file() as a function reads any file; getServerSetting('path') names the store's folder.
            names = {str(row[0]) for row in result.result_rows} | {"file", "getserversetting"}
            self._outside = frozenset(names - _HARMLESS_CALLS)
        return self._outside
