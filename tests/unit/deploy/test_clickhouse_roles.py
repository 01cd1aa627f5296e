"""deploy/clickhouse: least-privilege roles that parse, name only real tables, and grant each role what its code
reads and writes, nothing more.

chDB has no access storage to run CREATE ROLE and GRANT in, so every statement is parsed by its ClickHouse
parser instead, and the tables are checked against a store built by the real migrations.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from tests.unit.store.run_chdb import run_in_child

ROOT = Path(__file__).resolve().parents[3]
ROLES_SQL = ROOT / "deploy" / "clickhouse" / "roles.sql"
USERS_SH = ROOT / "deploy" / "clickhouse" / "create-users.sh"
GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<database>\w+|\*)\.(?P<table>\w+|\*) TO (?P<role>\w+)$")


def _statements() -> list[str]:
    lines = [line for line in ROLES_SQL.read_text().splitlines() if not line.lstrip().startswith("--")]
    return [" ".join(part.split()) for part in "\n".join(lines).split(";") if part.strip()]


def _grants() -> dict[str, dict[str, set[str]]]:
    """role -> table (or '*') -> privileges."""
    grants: dict[str, dict[str, set[str]]] = {}
    for statement in _statements():
        if (grant := GRANT.match(statement)) is not None:
            privileges = {p.strip() for p in grant["privileges"].split(",")}
            table = grant["table"] if grant["database"] == "lineage" else f"{grant['database']}.{grant['table']}"
            grants.setdefault(grant["role"], {}).setdefault(table, set()).update(privileges)
    return grants


def _chdb() -> dict[str, Any]:
    return run_in_child(tuple(_statements()))


def _written(source: Path, pattern: str) -> set[str]:
    return set(re.findall(pattern, source.read_text()))


def test_every_statement_parses_in_clickhouse() -> None:
    statements = _statements()
    parsed = _chdb()["parsed"]
    assert len(statements) > 20
    assert [s for s, (ok, _) in zip(statements, parsed, strict=True) if not ok] == []


def test_every_granted_table_is_a_table_of_the_migrations() -> None:
    tables = set(_chdb()["tables"])
    named = {table for role in _grants().values() for table in role if table not in {"*", "*.*"}}
    assert named
    unknown = {table for table in named if table.removesuffix("_local") not in tables}
    assert unknown == set()
    # Cluster deployments write through the Distributed table to <table>_local: every grant names both.
    plain = {table for table in named if not table.endswith("_local")}
    assert {f"{t}_local" for t in plain if t != "schema_migrations"} <= named


def test_store_and_monitor_insert_exactly_the_tables_their_code_writes() -> None:
    grants = _grants()
    inserted = {
        role: {t for t, p in tables.items() if "INSERT" in p and not t.endswith("_local")}
        for role, tables in grants.items()
    }
    writer = ROOT / "services" / "sink" / "writer.py"
    # Each role's own tables, and the dead letters of its rows the store refuses (LineageWriter, for both).
    refusals = _written(writer, r'REFUSALS_TABLE = "(\w+)"')
    sink = _written(writer, r'"(\w+)": TableRows\(') | refusals
    monitor = (
        _written(ROOT / "services" / "processors" / "monitor.py", r'"(\w+)": TableRows\(\s*\w+_COLUMNS') | refusals
    )
    assert refusals == {"dead_letters"}
    assert sink == {"event_identity", "collection_lineage", "dead_letters", "redeliveries"}
    assert monitor == {
        "event_identity",
        "activity_decisions",
        "violations",
        "provision_records",
        "monitor_state",
        "alerts",
        "dead_letters",
    }
    assert inserted["lineage_store"] == sink
    assert inserted["lineage_monitor"] == monitor


def test_store_and_monitor_read_what_their_code_reads() -> None:
    grants = _grants()
    store = (ROOT / "services" / "store" / "lineage_store.py").read_text()

    def reads(role: str) -> set[str]:
        return {t for t, p in grants[role].items() if "SELECT" in p and not t.endswith("_local")}

    for method, table in (("monitor_state", "monitor_state"), ("open_alert_windows", "alerts")):
        assert f"def {method}(" in store
        assert table in reads("lineage_monitor")
    assert "violations" in reads("lineage_monitor")  # violation_summary counts a window from it
    assert "event_identity" in reads("lineage_monitor")  # stored_digests: activity events' claimed identities
    assert "event_identity" in reads("lineage_store")  # stored_digests: the claimed identities
    assert "collection_lineage" in reads("lineage_store")  # landed: whether a claim's row is stored
    assert {"schema_migrations"} <= reads("lineage_store") & reads("lineage_monitor")


def test_only_the_migrator_changes_the_schema_and_the_reader_only_reads() -> None:
    grants = _grants()
    assert set(grants) == {"lineage_store", "lineage_monitor", "lineage_reader", "lineage_migrator"}
    schema = {"CREATE DATABASE", "CREATE TABLE", "ALTER TABLE", "DROP TABLE", "TRUNCATE", "ALL", "CLUSTER"}
    for role in ("lineage_store", "lineage_monitor", "lineage_reader"):
        privileges = set().union(*grants[role].values())
        assert privileges <= {"SELECT", "INSERT"}, role
        assert not privileges & schema
    assert grants["lineage_reader"] == {"*": {"SELECT"}}
    assert {"CREATE TABLE", "ALTER TABLE"} <= grants["lineage_migrator"]["*"]


def test_the_users_script_holds_no_password_and_checks_its_syntax() -> None:
    result = subprocess.run(["bash", "-n", str(USERS_SH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    text = USERS_SH.read_text()
    assert re.findall(r"BY '([^']*)'", text) == ["$password"]
    roles = set(re.findall(r"^create_user \w+ (\w+) CLICKHOUSE_\w+_PASSWORD$", text, re.MULTILINE))
    assert roles == set(_grants())
