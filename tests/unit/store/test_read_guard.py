"""The read guard remembers the statements it passed, so repeating reads are checked once, in bounded memory.

The guard asks ClickHouse (its lexer and parser) about each new statement, ~4 ms a check; the dashboard's, the
reports' and the trace's statements repeat. The API accepts statements of 100,000 characters: counted in
statements (512), what the guard remembered could reach 51 MB, 205 MB in astral characters (nineteenth red-team
pass). A fake ClickHouse answers here as the real one does for a plain SELECT.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

from clickhouse_connect.driver.client import Client

from services.store.read_guard import ReadGuard
from tests.memory import most_held


class _ClickHouse:
    """Answers the guard's questions about any statement as ClickHouse does about a plain SELECT of a literal."""

    def __init__(self) -> None:
        self.asked = 0

    def query(self, sql: str, parameters: dict[str, Any] | None = None, settings: Any = None) -> SimpleNamespace:
        self.asked += 1
        if "normalizeQuery" in sql:
            answer: list[tuple[str]] = [("SELECT ?",)]  # literals become '?'
        elif "parseQueryToJSON" in sql:
            answer = [(json.dumps({"type": "SelectWithUnionQuery", "children": []}),)]
        else:  # the functions that reach past the database
            answer = [("file",), ("url",), ("s3",)]
        return SimpleNamespace(result_rows=answer)


def test_a_statement_passed_once_is_not_asked_about_again() -> None:
    clickhouse = _ClickHouse()
    guard = ReadGuard(cast(Client, clickhouse), timeout_s=1.0)
    guard.check("SELECT 1")
    asked = clickhouse.asked

    guard.check("SELECT 1")

    assert clickhouse.asked == asked


def test_new_statements_of_the_longest_the_api_accepts_hold_a_few_megabytes() -> None:
    guard = ReadGuard(cast(Client, _ClickHouse()), timeout_s=1.0)
    guard.check("SELECT 1")  # what the first check builds once

    def check(n: int) -> None:
        guard.check(f"SELECT '{n:08d}" + "\U00020000" * 99_980 + "'")  # 100,000 characters, 400 KB

    held = most_held(check, 100, every=10)

    assert held < 5_000_000, f"{held:,} bytes held after 100 new statements (40 MB in all)"
