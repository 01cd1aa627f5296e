"""Versioned schema migrations, applied in order on start, each exactly once per database.

The SQL files under ``migrations/`` are the one place the tables are defined, written for a single node (the
embedded engine, one ClickHouse server). For a ClickHouse cluster (``LINEAGE_CLICKHOUSE_CLUSTER``) the same
statements are rendered by :func:`render_statements`, one small transform per statement form:

- ``CREATE TABLE db.t (...) ENGINE = XMergeTree(args) ...`` becomes ``db.t_local ON CLUSTER c`` with
  ``ReplicatedXMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', args)`` (the macros are
  ClickHouse's, filled in per server), plus ``db.t ON CLUSTER c`` with ``Distributed(c, db, t_local, key)`` in
  front of it, so every reader and writer keeps using ``t``. The sharding key hashes the table's ``ORDER BY``
  columns: every row of one replacing key lands on one shard, where ``FINAL`` collapses it.
- ``ALTER TABLE db.t ADD COLUMN`` runs ``ON CLUSTER`` on both tables; ``ADD INDEX`` on the local table only.
- ``non_replicated_deduplication_window`` is dropped wherever it appears: replicated tables deduplicate inserts
  by default (through Keeper, so one ``insert_deduplication_token`` holds across replicas).
- ``INSERT INTO db.t ... SELECT ... FROM db.u`` (a backfill) runs once, as written: through the Distributed
  tables it reads every shard and writes each row to its own.

Any other statement form is refused while rendering for a cluster, so a new migration cannot silently stay
single-node. Without a cluster the statements are exactly those of the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

from clickhouse_connect.driver.client import Client

DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
CLUSTER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
LOCAL_SUFFIX = "_local"
"""The replicated table behind each Distributed table: ``collection_lineage_local`` behind ``collection_lineage``."""
REPLICA_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
MIGRATIONS_TABLE = "schema_migrations"


class MigrationFormUnknown(ValueError):
    """A migration statement that the cluster rendering has no transform for."""


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("services.store") / "migrations"
    scripts = sorted(
        (item.name, item.read_text(encoding="utf-8")) for item in folder.iterdir() if item.name.endswith(".sql")
    )
    return scripts


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def _check_names(database: str, cluster: str | None) -> None:
    if not DATABASE_NAME.match(database):
        raise ValueError(f"invalid database name {database!r}")
    if cluster is not None and not CLUSTER_NAME.match(cluster):
        raise ValueError(f"invalid cluster name {cluster!r}")


def bootstrap_statements(database: str, cluster: str | None = None) -> list[str]:
    """The database and the table recording which migrations were applied."""
    _check_names(database, cluster)
    if cluster is None:
        return [
            f"CREATE DATABASE IF NOT EXISTS {database}",
            f"CREATE TABLE IF NOT EXISTS {database}.{MIGRATIONS_TABLE} "
            "(name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY name",
        ]
    # One replicated table across the whole cluster (no {shard} in its path): whichever server a client reaches
    # sees every migration applied.
    return [
        f"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER `{cluster}`",
        f"CREATE TABLE IF NOT EXISTS {database}.{MIGRATIONS_TABLE} ON CLUSTER `{cluster}` "
        "(name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        f"ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{{database}}/{MIGRATIONS_TABLE}', '{{replica}}') "
        "ORDER BY name",
    ]


def render_statements(script: str, database: str, cluster: str | None = None) -> list[str]:
    """The statements of one migration script for ``database``: as written, or for ``cluster``."""
    _check_names(database, cluster)
    statements = _statements(script.replace("{db}", database))
    if cluster is None:
        return statements
    return [rendered for statement in statements for rendered in _on_cluster(statement, cluster)]


_CREATE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<table>\w+)\s*(?P<body>\(.*\))\s*"
    r"ENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^()]*)\))?(?P<rest>.*)$",
    re.DOTALL,
)
_INSERT_SELECT = re.compile(r"^INSERT INTO \w+\.\w+ \([\w, ]+\)\s+SELECT\b", re.DOTALL)
_ALTER = re.compile(r"^ALTER TABLE (?P<db>\w+)\.(?P<table>\w+) (?P<action>.*)$", re.DOTALL)
_ORDER_BY = re.compile(r"\bORDER BY\s+(?:\((?P<columns>[^()]*)\)|(?P<column>\w+))")
_SETTINGS = re.compile(r"\s*\bSETTINGS\s+(?P<settings>.*)$", re.DOTALL)
_NON_REPLICATED = re.compile(r"^\s*non_replicated_\w+\s*=")


def _on_cluster(statement: str, cluster: str) -> Iterator[str]:
    if (create := _CREATE.match(statement)) is not None:
        yield from _create_on_cluster(create, cluster)
        return
    if _INSERT_SELECT.match(statement) is not None:
        yield statement
        return
    if (alter := _ALTER.match(statement)) is not None:
        db, table, action = alter["db"], alter["table"], alter["action"]
        if action.startswith("MODIFY SETTING "):
            kept = [s for s in action.removeprefix("MODIFY SETTING ").split(",") if not _NON_REPLICATED.match(s)]
            if kept:
                yield f"ALTER TABLE {db}.{table}{LOCAL_SUFFIX} ON CLUSTER `{cluster}` MODIFY SETTING {','.join(kept)}"
            return
        if action.startswith(("ADD INDEX ", "DROP INDEX ")):  # skip indexes live with the data, not the Distributed
            yield f"ALTER TABLE {db}.{table}{LOCAL_SUFFIX} ON CLUSTER `{cluster}` {action}"
            return
        if action.startswith("ADD COLUMN "):
            yield f"ALTER TABLE {db}.{table}{LOCAL_SUFFIX} ON CLUSTER `{cluster}` {action}"
            yield f"ALTER TABLE {db}.{table} ON CLUSTER `{cluster}` {action}"
            return
    raise MigrationFormUnknown(f"no cluster rendering for this statement: {statement.splitlines()[0][:120]}")


def _create_on_cluster(create: re.Match[str], cluster: str) -> Iterator[str]:
    db, table, body, engine = create["db"], create["table"], create["body"], create["engine"]
    rest = create["rest"]
    settings = _SETTINGS.search(rest)
    if settings is not None:
        kept = [s.strip() for s in settings["settings"].split(",") if not _NON_REPLICATED.match(s)]
        rest = rest[: settings.start()] + (f"\nSETTINGS {', '.join(kept)}" if kept else "")
    order = _ORDER_BY.search(rest)
    if order is None:
        raise MigrationFormUnknown(f"table {table} has no ORDER BY to shard by")
    key = order["columns"] or order["column"]
    args = ", ".join(part for part in (f"'{REPLICA_PATH}'", "'{replica}'", create["args"] or "") if part)
    local = f"{table}{LOCAL_SUFFIX}"
    yield (
        f"CREATE TABLE IF NOT EXISTS {db}.{local} ON CLUSTER `{cluster}`\n{body}\n"
        f"ENGINE = Replicated{engine}({args}){rest}"
    )
    # The Distributed table has the columns only: skip indexes belong to the tables that hold the data.
    columns = [line for line in body[1:-1].splitlines() if not line.strip().startswith("INDEX ")]
    distributed_body = "(" + "\n".join(columns).rstrip().rstrip(",") + "\n)"
    yield (
        f"CREATE TABLE IF NOT EXISTS {db}.{table} ON CLUSTER `{cluster}`\n{distributed_body}\n"
        f"ENGINE = Distributed('{cluster}', '{db}', '{local}', cityHash64({key.strip()}))"
    )


def _applied(client: Client, database: str) -> set[str] | None:
    """The migrations recorded as applied, or None when the database has no record of them yet."""
    exists = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {table:String}",
        parameters={"db": database, "table": MIGRATIONS_TABLE},
    ).result_rows[0][0]
    if not exists:
        return None
    return {row[0] for row in client.query(f"SELECT name FROM {database}.{MIGRATIONS_TABLE}").result_rows}


def migrate(client: Client, database: str, cluster: str | None = None) -> list[str]:
    """Create ``database`` and apply pending migrations (``ON CLUSTER`` when ``cluster``); return those applied now.

    With every migration applied already, nothing but two reads is run: a least-privilege user (SELECT on
    ``schema_migrations``) starts its role without any DDL grant; ``purpose-lineage init`` migrates as admin.
    """
    _check_names(database, cluster)
    scripts = _migrations()
    done = _applied(client, database)
    if done is not None and all(name in done for name, _ in scripts):
        return []
    for statement in bootstrap_statements(database, cluster):
        client.command(statement)
    done = _applied(client, database) or set()
    applied: list[str] = []
    for name, script in scripts:
        if name in done:
            continue
        for statement in render_statements(script, database, cluster):
            client.command(statement)
        client.insert(f"{database}.{MIGRATIONS_TABLE}", [(name,)], column_names=["name"])
        applied.append(name)
    return applied
