"""Migrations: the single-node DDL exactly as the files say (run for real on chDB), the cluster rendering of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.settings import Settings
from services.store.migrations import (
    LOCAL_SUFFIX,
    MigrationFormUnknown,
    bootstrap_statements,
    render_statements,
)
from tests.unit.store.run_chdb import run_in_child

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = sorted((ROOT / "services" / "store" / "migrations").glob("*.sql"))
CLUSTER = "lineage_cluster"
CREATED = re.compile(r"^CREATE TABLE IF NOT EXISTS lineage\.(\w+)")


def _cluster_statements() -> list[str]:
    return [
        *bootstrap_statements("lineage", CLUSTER),
        *(s for path in MIGRATIONS for s in render_statements(path.read_text(), "lineage", CLUSTER)),
    ]


def test_single_node_statements_are_the_files_verbatim() -> None:
    for path in MIGRATIONS:
        script = path.read_text()
        rendered = render_statements(script, "lineage")
        # Every statement of the file (comments aside), in order, with only {db} filled in.
        body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
        expected = [part.strip() for part in body.replace("{db}", "lineage").split(";") if part.strip()]
        assert rendered == expected, path.name
        assert all("ON CLUSTER" not in s and "Replicated" not in s for s in rendered)
    assert bootstrap_statements("lineage") == [
        "CREATE DATABASE IF NOT EXISTS lineage",
        "CREATE TABLE IF NOT EXISTS lineage.schema_migrations "
        "(name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY name",
    ]


def test_single_node_migrations_run_on_chdb_once_then_only_read() -> None:
    outcome = run_in_child(())
    assert outcome["first"] == [path.name for path in MIGRATIONS]
    assert outcome["second"] == []
    assert outcome["second_commands"] == []  # nothing pending: no DDL, so a SELECT-only user can start
    tables = outcome["tables"]
    assert set(tables) == {
        "schema_migrations", "collection_lineage", "dead_letters", "activity_decisions", "violations",
        "provision_records", "redeliveries", "monitor_state", "alerts", "event_identity",
    }  # fmt: skip
    for name, engine in tables.items():
        assert not engine.startswith(("Replicated", "Distributed")), name
        if name != "schema_migrations":  # single-node tables keep the window of deduplication tokens
            assert "non_replicated_deduplication_window = 10000" in engine, name


def test_cluster_rendering_runs_every_statement_on_the_cluster_with_replicated_engines() -> None:
    statements = _cluster_statements()
    # A backfill (INSERT ... SELECT) runs once, through the Distributed tables: every other statement on the cluster.
    backfills = [s for s in statements if s.startswith("INSERT INTO ")]
    assert [s.split(" (")[0] for s in backfills] == ["INSERT INTO lineage.event_identity"]
    assert all(LOCAL_SUFFIX not in s for s in backfills)
    assert all(f"ON CLUSTER `{CLUSTER}`" in s.splitlines()[0] for s in statements if s not in backfills)
    assert not any("non_replicated" in s for s in statements)
    created = {m[1]: s for s in statements if (m := CREATED.match(s))}
    single = {m[1] for p in MIGRATIONS for s in render_statements(p.read_text(), "lineage") if (m := CREATED.match(s))}
    assert single, "no table found in the migrations"
    for table in single:
        local = created[table + LOCAL_SUFFIX]
        assert re.search(
            r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/\{database\}/\{table\}', '\{replica\}'",
            local,
        ), table
        front = created[table]
        assert f"ENGINE = Distributed('{CLUSTER}', 'lineage', '{table}{LOCAL_SUFFIX}', cityHash64(" in front
        assert "INDEX " not in front
    assert (
        "ReplicatedMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{replica}')"
        in (created["schema_migrations"])
    )
    # A replacing table keeps its version column; the sharding key is its ORDER BY (one key, one shard: FINAL holds).
    lineage = created["collection_lineage" + LOCAL_SUFFIX]
    assert "'{replica}', ingested_at)" in lineage
    assert "cityHash64(tenant_id, subject_pseudonym, event_id)" in created["collection_lineage"]


def test_cluster_rendering_adds_columns_to_both_tables_and_indexes_to_the_local_one() -> None:
    statements = _cluster_statements()
    added = [s for s in statements if "ADD COLUMN IF NOT EXISTS content_digest" in s]
    assert [s.split(" ON CLUSTER")[0] for s in added] == [
        "ALTER TABLE lineage.collection_lineage_local",
        "ALTER TABLE lineage.collection_lineage",
    ]
    indexes = [s for s in statements if "ADD INDEX" in s]
    assert indexes
    assert all(s.startswith("ALTER TABLE lineage.collection_lineage_local ") for s in indexes)


def test_cluster_statements_parse_in_clickhouse() -> None:
    statements = tuple(_cluster_statements())
    parsed = run_in_child(statements)["parsed"]
    refused = [(s.splitlines()[0], error) for s, (ok, error) in zip(statements, parsed, strict=True) if not ok]
    assert refused == []
    assert len(parsed) == len(statements)


def test_a_statement_form_without_a_cluster_rendering_is_refused() -> None:
    with pytest.raises(MigrationFormUnknown):
        render_statements("DROP TABLE {db}.collection_lineage;", "lineage", CLUSTER)
    with pytest.raises(ValueError, match="invalid cluster name"):
        render_statements("SELECT 1;", "lineage", "bad name; DROP")


def test_the_cluster_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAGE_CLICKHOUSE_CLUSTER", raising=False)
    assert Settings().clickhouse_cluster is None
    monkeypatch.setenv("LINEAGE_CLICKHOUSE_CLUSTER", CLUSTER)
    assert Settings().clickhouse_cluster == CLUSTER
