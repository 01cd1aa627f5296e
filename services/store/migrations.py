"""Versioned schema migrations, applied in order on start, each exactly once per database."""

from __future__ import annotations

import re
from importlib import resources

from clickhouse_connect.driver.client import Client

DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("services.store") / "migrations"
    scripts = sorted(
        (item.name, item.read_text(encoding="utf-8")) for item in folder.iterdir() if item.name.endswith(".sql")
    )
    return scripts


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def migrate(client: Client, database: str) -> list[str]:
    """Create ``database`` and apply pending migrations; return the names applied now."""
    if not DATABASE_NAME.match(database):
        raise ValueError(f"invalid database name {database!r}")
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY name"
    )
    done = {row[0] for row in client.query(f"SELECT name FROM {database}.schema_migrations").result_rows}
    applied: list[str] = []
    for name, script in _migrations():
        if name in done:
            continue
        for statement in _statements(script.replace("{db}", database)):
            client.command(statement)
        client.insert(f"{database}.schema_migrations", [(name,)], column_names=["name"])
        applied.append(name)
    return applied
