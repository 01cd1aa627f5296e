"""The Prometheus alert rules: every alert is routable, explained, tested, and reads only exported metrics.

promtool (Debian package ``prometheus``) checks the rules and the configuration and runs the rule unit tests in
deploy/prometheus/tests; without it these tests fail rather than skip, since CI installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.metric_names import ROOT, SCRAPE_SERIES, exported_labels, exported_metrics, metric_names

PROMETHEUS = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"

SEVERITIES = {"critical", "warning", "info"}
EXPECTED_ALERTS = {
    "PurposeViolation",
    "ViolationRateHigh",
    "PolicyGapDetected",
    "DeadLetterRateHigh",
    "StageFailed",
    "UnknownTenant",
    "TenantRegisterUnreadable",
    "SinkFailing",
    "SinkBackpressure",
    "ConsumerLagHigh",
    "PipelineStale",
    "PipelineDown",
}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance"}
RUNBOOK_URL = re.compile(r"deploy/RUNBOOK\.md#([a-z0-9-]+)")
TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")


def _rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    ]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of ``markdown``."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed: `apt-get install prometheus` (Debian) provides /usr/bin/promtool, "
            "which checks the rules and runs deploy/prometheus/tests"
        )
    return promtool


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


def test_every_expected_alert_is_defined() -> None:
    assert {alert["alert"] for alert in _alerts()} == EXPECTED_ALERTS


@pytest.mark.parametrize("alert", _alerts(), ids=lambda alert: alert["alert"])
def test_alert_has_severity_summary_description_and_runbook(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in SEVERITIES
    annotations = alert["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    runbook = RUNBOOK_URL.fullmatch(annotations["runbook_url"])
    assert runbook, f"runbook_url {annotations['runbook_url']!r} is not deploy/RUNBOOK.md#section"
    assert runbook.group(1) in _anchors(RUNBOOK.read_text(encoding="utf-8"))


@pytest.mark.parametrize("alert", _alerts(), ids=lambda alert: alert["alert"])
def test_alert_text_names_only_metric_labels(alert: dict[str, Any]) -> None:
    """Annotations quote bounded policy and pipeline terms (code, purpose, agent...), never anything else."""
    allowed = exported_labels() | TARGET_LABELS
    for text in [*alert["annotations"].values(), *alert["labels"].values()]:
        assert set(TEMPLATE_LABEL.findall(text)) <= allowed


def test_rules_read_only_exported_metrics() -> None:
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    known = exported_metrics() | SCRAPE_SERIES | recorded
    assert "lineage_purpose_violations_total" in known
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, f"no metric found in {rule['expr']}"
        assert names <= known, f"{rule.get('alert') or rule['record']}: unknown metrics {names - known}"


def test_recorded_names_follow_the_convention() -> None:
    for rule in _rules():
        if "record" in rule:
            assert re.fullmatch(r"lineage:[a-z_]+:[a-z0-9_]+", rule["record"]), rule["record"]


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    groups = [group["name"] for path in RULE_FILES for group in yaml.safe_load(path.read_text("utf-8"))["groups"]]
    for path in TEST_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        # Records first, so that a test does not depend on the order Prometheus happens to run the groups in.
        assert document["group_eval_order"] == sorted(groups, key=lambda name: not name.endswith(".records"))
        for case in (c for test in document["tests"] for c in test.get("alert_rule_test", [])):
            (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    assert firing >= EXPECTED_ALERTS, f"no firing test for {EXPECTED_ALERTS - firing}"
    assert quiet >= EXPECTED_ALERTS, f"no not-firing test for {EXPECTED_ALERTS - quiet}"


def test_promtool_accepts_the_rules() -> None:
    _run([_promtool(), "check", "rules", *(str(path.relative_to(ROOT)) for path in RULE_FILES)], ROOT)


@pytest.mark.parametrize("cwd", ["repository", "elsewhere"])
def test_promtool_accepts_the_configuration_and_finds_its_rules(cwd: str, tmp_path: Path) -> None:
    """rule_files are relative to prometheus.yml, wherever promtool runs."""
    config = PROMETHEUS / "prometheus.yml"
    path, where = (config.relative_to(ROOT), ROOT) if cwd == "repository" else (config, tmp_path)
    _run([_promtool(), "check", "config", str(path)], where)


def test_promtool_rule_unit_tests_pass() -> None:
    assert TEST_FILES
    _run([_promtool(), "test", "rules", *(str(path.relative_to(ROOT)) for path in TEST_FILES)], ROOT)
