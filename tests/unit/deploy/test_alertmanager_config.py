"""The example Alertmanager configuration: valid for amtool, and routing each alert where the runbook says.

amtool (Debian package ``prometheus-alertmanager``) validates the file and resolves routes; without it these
tests fail rather than skip, since CI installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.unit.deploy.metric_names import ROOT

CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))


def _amtool() -> str:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail(
            "amtool is not installed: `apt-get install prometheus-alertmanager` (Debian) provides /usr/bin/amtool, "
            "which validates deploy/alertmanager/alertmanager.yml"
        )
    return amtool


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return config


def _alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_amtool_accepts_the_configuration() -> None:
    result = subprocess.run(
        [_amtool(), "check-config", str(CONFIG)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"alertname": "PurposeViolation", "severity": "critical", "code": "excluded_content"}, "compliance-page"),
        ({"alertname": "PurposeViolation", "severity": "warning", "code": "unknown_purpose"}, "compliance"),
        ({"alertname": "ViolationRateHigh", "severity": "warning"}, "compliance"),
        ({"alertname": "PolicyGapDetected", "severity": "info"}, "compliance"),
        ({"alertname": "PipelineDown", "severity": "critical"}, "operators-page"),
        ({"alertname": "SinkBackpressure", "severity": "critical"}, "operators-page"),
        ({"alertname": "ConsumerLagHigh", "severity": "warning"}, "operators"),
        ({"alertname": "DeadLetterRateHigh", "severity": "warning"}, "operators"),
        ({"alertname": "UnknownTenant", "severity": "warning"}, "operators"),
        ({"alertname": "TenantRegisterUnreadable", "severity": "warning"}, "operators"),
    ],
    ids=lambda value: value if isinstance(value, str) else f"{value['alertname']}-{value['severity']}",
)
def test_alert_reaches_its_receiver(labels: dict[str, str], receiver: str) -> None:
    command = [
        _amtool(),
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={receiver}",
        *(f"{name}={value}" for name, value in labels.items()),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{labels} went to {result.stdout.strip()}, not {receiver}"


def test_routes_group_by_alert_code_and_purpose() -> None:
    assert _config()["route"]["group_by"] == ["alertname", "code", "purpose"]


def test_inhibitions_name_existing_alerts() -> None:
    """PipelineDown silences the stale and lag alerts it causes; every name matched is a rule's."""
    alerts = _alert_names()
    inhibitions = _config()["inhibit_rules"]
    down = [rule for rule in inhibitions if rule["source_matchers"] == ['alertname = "PipelineDown"']]
    assert [rule["target_matchers"] for rule in down] == [['alertname =~ "PipelineStale|ConsumerLagHigh"']]
    for rule in inhibitions:
        for matcher in [*rule["source_matchers"], *rule["target_matchers"]]:
            names = matcher.split('"')[1].split("|")
            assert set(names) <= alerts, f"{matcher} names no alert rule"


def test_every_receiver_address_is_marked_as_an_example() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    addresses = [line for line in lines if re.search(r"^\s*-? ?(url|to):", line)]
    assert len(addresses) == len(_config()["receivers"]) + 1  # compliance-page has a webhook and a mail
    assert all(line.endswith("# example") or "# example:" in line for line in addresses)
