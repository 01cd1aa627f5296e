"""Run ClickHouse queries against a freshly migrated, empty embedded store; print the failures as JSON.

Reads ``{"name": "sql", ...}`` as JSON on stdin and writes ``{"name": "error", ...}`` (only the failures) on
stdout. Run in its own process (``python -m tests.unit.deploy.run_queries``): the embedded engine belongs to
one process, and the test process may open another store later.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from services.settings import Settings
from services.store.client import connect
from services.store.lineage_store import LineageStore


def main() -> None:
    """Migrate an empty store in a temporary directory and run every query read-only."""
    queries: dict[str, str] = json.load(sys.stdin)
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(clickhouse_url=None, clickhouse_path=Path(tmp) / "chdb", clickhouse_database="lineage")
        store = LineageStore(connect(settings), settings.clickhouse_database)
        try:
            store.migrate()
            for name, sql in queries.items():
                try:
                    store.query(sql)
                except Exception as exc:  # noqa: BLE001 - every failure is reported, with its query's name
                    failures[name] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:500]}"
        finally:
            store.close()
    json.dump(failures, sys.stdout)


if __name__ == "__main__":
    main()
