"""The provisioned Grafana dashboards load as Grafana dashboards and query only what exists.

The schema is Grafana's own, as published in the grafana-foundation-sdk models (generated from Grafana's schema
for the version the SDK release names): every key a dashboard file sets must be one the schema knows, with a
value of the schema's type. ClickHouse queries run against an empty store migrated with the real migrations.
"""

from __future__ import annotations

import enum
import json
import re
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from tests.unit.deploy.metric_names import ROOT, SCRAPE_SERIES, exported_metrics, metric_names, variable_query_metrics

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
MIGRATIONS = ROOT / "services" / "store" / "migrations"
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"

CLICKHOUSE = "grafana-clickhouse-datasource"
BUILTIN_DATASOURCES = {"-- Grafana --": "grafana"}
# Variables Grafana itself defines; the ClickHouse plugin's macros are expanded before the query runs.
GLOBAL_VARIABLES = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__all"}
# The ClickHouse plugin's macros, as it expands them (a fixed period and interval for the test).
MACROS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\$__conditionalAll\((.+?),\s*\$\w+\)"), r"\1"),
    (re.compile(r"\$__timeFilter\((\w+)\)"), r"\1 >= toDateTime(1764547200) AND \1 <= toDateTime(1764633600)"),
    (re.compile(r"\$__timeInterval\((\w+)\)"), r"toStartOfInterval(toDateTime(\1), INTERVAL 60 second)"),
    (re.compile(r"\$\{tenant:singlequote\}"), "'kobe-logistics'"),
]
TABLE_REFERENCE = re.compile(r"(?<!ARRAY )\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)", re.IGNORECASE)
CREATED_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS \{db\}\.(\w+)")
COUNTED_PSEUDONYMS = re.compile(r"uniqExact\(subject_pseudonym\)")
MACRO_NAMES = {"__conditionalAll", "__timeFilter", "__timeInterval"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those inside rows."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def _targets(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(panel["title"], target) for panel in _panels(dashboard) for target in panel.get("targets", [])]


def _provisioned() -> dict[str, str]:
    """uid -> plugin type of every provisioned data source."""
    config = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))
    return {source["uid"]: source["type"] for source in config["datasources"]}


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard.get("templating", {}).get("list", [])}


# --- the schema ----------------------------------------------------------------------------------------------


def _is_model(value: object) -> bool:
    return callable(getattr(value, "to_json", None)) and hasattr(type(value), "__annotations__")


def _instance_of(value: object, hint: Any) -> bool:
    kind = typing.get_origin(hint) or hint
    return isinstance(kind, type) and isinstance(value, kind)


def _type_errors(value: object, hint: Any, path: str) -> list[str]:
    """Where ``value`` (decoded by the SDK) does not have the schema's type ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any or hint is object:
        return _model_errors(value, path) if _is_model(value) else []
    if origin is typing.Union or origin is types.UnionType:
        candidates = [_type_errors(value, arg, path) for arg in args]
        if any(not errors for errors in candidates):
            return []
        # Report against the member the value was decoded as, when there is one.
        matching = [errors for arg, errors in zip(args, candidates, strict=True) if _instance_of(value, arg)]
        return matching[0] if matching else [f"{path}: {value!r} is none of {args}"]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [error for i, item in enumerate(value) for error in _type_errors(item, args[0], f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return [error for key, item in value.items() for error in _type_errors(item, args[1], f"{path}.{key}")]
    if not isinstance(hint, type):
        return [f"{path}: unsupported schema type {hint!r}"]
    if issubclass(hint, enum.Enum):
        member = isinstance(value, hint) or value in {m.value for m in hint}
        return [] if member else [f"{path}: {value!r} not in {hint.__name__}"]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if hint in (int, float):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        whole = isinstance(value, int) or hint is float
        return [] if numeric and whole else [f"{path}: expected {hint.__name__}, got {value!r}"]
    if hint is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    if isinstance(value, dict) and callable(getattr(hint, "from_json", None)):
        # Kept raw by the parent's decoder (links, transformations): decode and check it the same way.
        return _schema_errors(value, hint, path)
    if not isinstance(value, hint):
        return [f"{path}: expected {hint.__name__}, got {value!r}"]
    return _model_errors(value, path)


def _model_errors(model: object, path: str) -> list[str]:
    hints = typing.get_type_hints(type(model))
    errors: list[str] = []
    for name, hint in hints.items():
        errors += _type_errors(getattr(model, name), hint, f"{path}.{name}")
    return errors


def _dropped(original: object, encoded: object, path: str) -> list[str]:
    """Keys of ``original`` that did not survive decoding and encoding: the schema does not know them."""
    errors: list[str] = []
    if isinstance(original, dict) and isinstance(encoded, dict):
        for key, value in original.items():
            if key in encoded:
                errors += _dropped(value, encoded[key], f"{path}.{key}")
            else:
                errors.append(f"{path}.{key}: not in the schema")
    elif isinstance(original, list) and isinstance(encoded, list) and len(original) == len(encoded):
        for i, (item, encoded_item) in enumerate(zip(original, encoded, strict=True)):
            errors += _dropped(item, encoded_item, f"{path}[{i}]")
    elif original != encoded:
        errors.append(f"{path}: {original!r} became {encoded!r}")
    return errors


def _schema_errors(document: dict[str, Any], model: Any, path: str) -> list[str]:
    try:
        decoded = model.from_json(document)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return [f"{path}: does not decode as {model.__name__} ({type(exc).__name__}: {exc})"]
    encoded = json.loads(json.dumps(decoded, cls=JSONEncoder))
    return _dropped(document, encoded, path) + _model_errors(decoded, path)


def test_dashboards_are_provisioned() -> None:
    providers = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))["providers"]
    assert [provider["type"] for provider in providers] == ["file"]
    assert {path.stem for path in DASHBOARDS} == {
        "pipeline-health",
        "lineage-flows",
        "purpose-matrix",
        "violations",
        "dead-letters",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_dashboard_is_a_valid_grafana_dashboard(path: Path) -> None:
    register_default_plugins()
    dashboard = _load(path)
    assert _schema_errors(dashboard, Dashboard, path.stem) == []
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["title"]
    assert "purpose-lineage" in dashboard["tags"]
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique within a dashboard"


def test_dashboard_uids_and_titles_are_unique() -> None:
    dashboards = [_load(path) for path in DASHBOARDS]
    uids = [dashboard["uid"] for dashboard in dashboards]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid) for uid in uids)
    assert len({dashboard["title"] for dashboard in dashboards}) == len(dashboards)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in _panels(_load(path)):
        grid = panel["gridPos"]
        assert 0 <= grid["x"] < grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(grid["y"] + dy, grid["x"] + dx) for dy in range(grid["h"]) for dx in range(grid["w"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_datasource_is_provisioned(path: Path) -> None:
    dashboard, provisioned = _load(path), _provisioned()
    variables = _variables(dashboard)
    references = [panel["datasource"] for panel in _panels(dashboard) if "datasource" in panel]
    references += [target["datasource"] for _, target in _targets(dashboard)]
    references += [variable["datasource"] for variable in variables.values() if "datasource" in variable]
    references += [annotation["datasource"] for annotation in dashboard["annotations"]["list"]]
    assert references
    for reference in references:
        uid, plugin = reference["uid"], reference["type"]
        if uid in BUILTIN_DATASOURCES:
            assert plugin == BUILTIN_DATASOURCES[uid]
            continue
        name = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", uid)
        if name:
            variable = variables[name.group(1) or name.group(2)]
            assert variable["type"] == "datasource"
            assert variable["query"] == plugin, f"{uid} selects {variable['query']} sources, used as {plugin}"
            uid = variable["current"]["value"]
        assert provisioned.get(uid) == plugin, f"{uid} ({plugin}) is not a provisioned data source"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_variable_used_is_defined(path: Path) -> None:
    dashboard = _load(path)
    defined = set(_variables(dashboard)) | GLOBAL_VARIABLES
    for title, target in _targets(dashboard):
        query = target.get("expr") or target.get("rawSql") or ""
        used = {a or b for a, b in VARIABLE.findall(query)} - MACRO_NAMES
        assert used <= defined, f"{title}: undefined variables {used - defined}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_prometheus_queries_use_exported_metrics(path: Path) -> None:
    dashboard = _load(path)
    known = exported_metrics() | SCRAPE_SERIES
    queries = [(title, t["expr"]) for title, t in _targets(dashboard) if t["datasource"]["type"] == "prometheus"]
    for title, expr in queries:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= known, f"{title}: unknown metrics {names - known}"
    for variable in _variables(dashboard).values():
        if variable.get("datasource", {}).get("type") == "prometheus":
            assert variable_query_metrics(variable["query"]) <= known


def _tables() -> set[str]:
    return {name for path in MIGRATIONS.glob("*.sql") for name in CREATED_TABLE.findall(path.read_text("utf-8"))}


def _clickhouse_queries() -> dict[str, str]:
    """Every ClickHouse query of the dashboards (panels and variables) and of the runbook, by where it is."""
    queries: dict[str, str] = {}
    for path in DASHBOARDS:
        dashboard = _load(path)
        for title, target in _targets(dashboard):
            if target["datasource"]["type"] == CLICKHOUSE:
                queries[f"{path.stem}: {title} ({target['refId']})"] = target["rawSql"]
        for name, variable in _variables(dashboard).items():
            if variable.get("datasource", {}).get("type") == CLICKHOUSE:
                queries[f"{path.stem}: variable {name}"] = variable["query"]
    for i, sql in enumerate(re.findall(r'purpose-lineage sql "([^"]+)"', RUNBOOK.read_text("utf-8"))):
        queries[f"RUNBOOK query {i + 1}"] = sql
    return queries


def test_clickhouse_queries_read_only_lineage_tables() -> None:
    tables, queries = _tables(), _clickhouse_queries()
    assert {"collection_lineage", "dead_letters", "activity_decisions", "violations"} <= tables
    assert len(queries) >= 20
    for where, sql in queries.items():
        referenced = set(TABLE_REFERENCE.findall(sql))
        assert referenced or where.startswith("RUNBOOK"), f"{where}: reads no table"
        assert referenced <= tables, f"{where}: unknown tables {referenced - tables}"


def test_clickhouse_queries_count_pseudonyms_but_never_show_them() -> None:
    for where, sql in _clickhouse_queries().items():
        assert "subject_pseudonym" not in COUNTED_PSEUDONYMS.sub("", sql), f"{where} shows pseudonyms"


def _expand(sql: str) -> str:
    for pattern, replacement in MACROS:
        sql = pattern.sub(replacement, sql)
    assert "$" not in sql, f"unexpanded macro or variable in {sql}"
    return sql


def test_clickhouse_queries_run_on_the_migrated_schema() -> None:
    queries = {where: _expand(sql) for where, sql in _clickhouse_queries().items()}
    result = subprocess.run(
        [sys.executable, "-m", "tests.unit.deploy.run_queries"],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {}
