"""Migrate an empty embedded store twice and parse statements with its engine; print what happened as JSON.

Reads ``{"parse": [sql, ...]}`` on stdin; writes ``{"first": [...], "second": [...], "second_commands": [...],
"tables": {name: engine_full}, "parsed": [[ok, formatted or error], ...]}``. Run in its own process
(``python -m tests.unit.store.run_chdb``): the embedded engine belongs to one process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from services.settings import Settings
from services.store.client import connect
from services.store.migrations import migrate


class _Recording:
    """The client, with every DDL command it is asked to run recorded (reads pass through)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.commands: list[str] = []

    def command(self, statement: str) -> Any:
        self.commands.append(statement)
        return self.client.command(statement)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@cache
def run_in_child(parse: tuple[str, ...]) -> dict[str, Any]:
    """What :func:`main` reports for ``parse``, from a process of its own (the tests' own process may hold another
    embedded store)."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.unit.store.run_chdb"],
        input=json.dumps({"parse": list(parse)}),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def main() -> None:
    """Migrate, migrate again (recording the commands), list the tables, parse the given statements."""
    request: dict[str, list[str]] = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(clickhouse_url=None, clickhouse_path=Path(tmp) / "chdb")
        client = connect(settings)
        try:
            first = migrate(client, "lineage")
            recording = _Recording(client)
            second = migrate(recording, "lineage")  # type: ignore[arg-type]  # a proxy of the client
            tables = {
                row[0]: row[1]
                for row in client.query(
                    "SELECT name, engine_full FROM system.tables WHERE database = 'lineage' ORDER BY name"
                ).result_rows
            }
            parsed: list[tuple[bool, str]] = []
            for sql in request.get("parse", []):
                try:
                    text = client.query("SELECT formatQuery({q:String})", parameters={"q": sql}).result_rows[0][0]
                    parsed.append((True, text))
                except Exception as exc:  # noqa: BLE001 - each refusal is reported with its statement
                    parsed.append((False, str(exc).strip().splitlines()[0][:300]))
        finally:
            client.close()
    json.dump(
        {"first": first, "second": second, "second_commands": recording.commands, "tables": tables, "parsed": parsed},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
