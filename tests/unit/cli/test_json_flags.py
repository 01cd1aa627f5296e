"""Every reporting command speaks JSON with --json, and says so in its --help."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import cli

REPORTING = [
    ["sql"],
    ["trace"],
    ["replay"],
    ["report"],
    ["records", "third-party"],
    ["policy", "check"],
    ["policy", "show"],
]


@pytest.mark.parametrize("command", REPORTING, ids=" ".join)
def test_reporting_command_offers_json(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert "--json" in result.output
    assert "machine-readable JSON" in result.output


def test_policy_check_json_is_one_document_naming_the_version_in_force() -> None:
    result = CliRunner().invoke(cli, ["policy", "check", "--json"])

    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.output)
    assert summary["policy_id"] == "rakuro"
    assert summary["valid"] is True
    assert summary["in_force"] == summary["versions"][-1]["version"]
    assert summary["counts"]["services"] > 0


def test_policy_show_json_equals_its_format_json() -> None:
    flagged = CliRunner().invoke(cli, ["policy", "show", "--json"])
    formatted = CliRunner().invoke(cli, ["policy", "show", "--format", "json"])

    assert flagged.exit_code == formatted.exit_code == 0
    assert orjson.loads(flagged.output) == orjson.loads(formatted.output)
