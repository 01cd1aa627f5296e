"""`purpose-lineage policy check | show | evaluate | export` through the real command tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fideslang.models import DataCategory, DataSubject, DataUse, Policy
from typer.testing import CliRunner

from services.cli.main import cli

SECRET = "taro.yamada@example.jp"
WIDE = {"COLUMNS": "250"}  # rich wraps to the terminal; a wide one keeps each cell on one line

REQUEST: dict[str, Any] = {
    "action": "use",
    "at": "2026-11-27T10:00:00+09:00",
    "purpose": "related_service_notification",
    "data": ["user_information.email_address"],
    "subject_type": "person_in_charge",
    "actor": "marketing-mailer",
}


@pytest.fixture
def run(policy_path):
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(
            cli, ["policy", *args], input=stdin, env={"LINEAGE_POLICY": str(policy_path), **(env or {})}
        )

    return invoke


def edited_policy(policy_path: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The shipped policy with ``old`` replaced once by ``new``; returns the file and the line of the change."""
    text = policy_path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "edited.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, text[: text.index(old)].count("\n") + 1


def test_check_summarizes_the_configured_policy(run):
    result = run("check")

    assert result.exit_code == 0, result.output
    assert "policy rakuro (Rakuro Privacy Policy, Rakuro Inc.): OK" in result.stdout
    assert "2022-06-01  effective from 2022-06-01  (in force)" in result.stdout
    assert "7 data categories, 26 items, 4 purposes, 2 data subjects, 16 violation codes" in result.stdout


def test_check_of_a_file_with_a_duplicate_key_exits_2_with_file_and_line(run, policy_path, tmp_path):
    path, line = edited_policy(policy_path, tmp_path, "title: Rakuro Privacy Policy\n", "title: A\ntitle: B\n")

    result = run("check", str(path))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:{line + 1}: duplicate key 'title'")


def test_check_of_a_file_with_an_unknown_category_exits_2_with_file_and_line(run, policy_path, tmp_path):
    path, line = edited_policy(
        policy_path,
        tmp_path,
        "data: [user_information, login_credentials]\n",
        "data: [user_information, biometrics]\n",
    )

    result = run("check", str(path))

    assert result.exit_code == 2
    assert f"{path}:{line}: purposes.user_notification.data.1: unknown data category or item 'biometrics'" in (
        result.stderr
    )


def test_check_of_a_missing_file_exits_2(run, tmp_path):
    result = run("check", str(tmp_path / "absent.yaml"))

    assert result.exit_code == 2
    assert "cannot read policy file" in result.stderr


def test_show_draws_purposes_by_categories_with_the_bank_account_restriction(run):
    result = run("show", env=WIDE)

    assert result.exit_code == 0, result.output
    for purpose in ("service_provision", "user_notification", "related_service_notification", "statistics"):
        assert purpose in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ user_information"))
    assert "5/7 items: name, department, email_address, telephone_number, organization_information" in row
    assert "(not bank_account_information, other_specified_information)" in result.stdout
    assert "Art. 3.1 table, row 3" in result.stdout


def test_show_json_has_the_same_matrix_and_each_purposes_subjects_and_basis(run):
    result = run("show", "--format", "json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    grant = shown["data_categories"]["user_information"]["purposes"]["related_service_notification"]
    assert grant["scope"] == "some"
    assert "bank_account_information" in grant["not_items"]
    assert "bank_account_information" not in grant["items"]
    assert shown["data_categories"]["login_credentials"]["purposes"]["statistics"]["scope"] == "none"
    assert shown["purposes"]["related_service_notification"] == {
        "name": "Notification of related services",
        "data_subjects": ["person_in_charge", "analyzed_account_holder"],
        "legal_basis": "published_purpose_of_use",
        "article": "Art. 3.1 table, row 3",
        "aggregate_only": False,
        "subject_limits": {
            f"user_information.{item}": ["person_in_charge"]
            for item in ("name", "department", "email_address", "telephone_number", "organization_information")
        },
    }


def test_evaluate_an_allowed_use_prints_the_decision_and_exits_0(run):
    result = run("evaluate", stdin=json.dumps(REQUEST))

    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["allowed"] is True
    assert decision["legal_basis"] == "published_purpose_of_use"
    assert decision["policy_version"] == "2022-06-01"


def test_evaluate_marketing_to_an_analyzed_account_holder_exits_3_with_the_violation(run):
    request = {**REQUEST, "subject_type": "analyzed_account_holder"}

    result = run("evaluate", stdin=json.dumps(request))

    assert result.exit_code == 3
    decision = json.loads(result.stdout)
    assert decision["allowed"] is False
    assert [v["code"] for v in decision["violations"]] == ["subject_not_permitted_for_purpose"]


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (f'{{"actor": "{SECRET}", "purpose": ', "invalid JSON at line 1 column"),
        (f'{{"actor": "{SECRET}"}} {{"actor": "{SECRET}"}}', "invalid JSON at line 1 column"),
        (json.dumps([{**REQUEST, "actor": SECRET}]), "invalid request: expected one JSON object"),
        ("", "empty input"),
    ],
    ids=["truncated", "two-objects", "a-list", "empty"],
)
def test_evaluate_invalid_json_exits_2_without_echoing_input(run, stdin, message):
    result = run("evaluate", stdin=stdin)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert SECRET not in result.output


def test_evaluate_an_invalid_request_exits_2_naming_fields_not_values(run):
    request = {**REQUEST, "at": SECRET, "purpose": "", "subject_state": {"deleted": SECRET}, SECRET: SECRET}

    result = run("evaluate", stdin=json.dumps(request))

    assert result.exit_code == 2
    assert result.stderr.startswith("invalid request: ")
    assert "at: datetime_from_date_parsing" in result.stderr
    assert "subject_state.deleted: bool_parsing" in result.stderr
    assert "?: extra_forbidden" in result.stderr
    assert SECRET not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def load_fideslang(text: str) -> dict[str, list[Any]]:
    document = yaml.safe_load(text)
    models = {"data_category": DataCategory, "data_use": DataUse, "data_subject": DataSubject, "policy": Policy}
    return {kind: [models[kind].model_validate(resource) for resource in document[kind]] for kind in models}


def test_export_fideslang_writes_yaml_that_fideslang_loads(run):
    result = run("export", "--format", "fideslang")

    assert result.exit_code == 0, result.output
    loaded = load_fideslang(result.stdout)
    categories = {c.fides_key for c in loaded["data_category"]}
    assert {"user.rakuro.user_information.email_address", "user.rakuro.excluded_content.email_body"} <= categories
    uses = {u.fides_key: u.parent_key for u in loaded["data_use"]}
    assert uses["marketing.communications.rakuro_related_service_notification"] == "marketing.communications"
    rules = {rule.name for rule in loaded["policy"][0].rules}
    assert {"excluded_content", "subject_not_permitted_for_purpose.related_service_notification"} <= rules


def test_export_to_a_file_writes_the_same_document(run, tmp_path):
    target = tmp_path / "rakuro.fides.yaml"

    to_file = run("export", "--format", "fideslang", "--output", str(target))
    to_stdout = run("export", "--format", "fideslang")

    assert to_file.exit_code == 0, to_file.output
    assert to_file.stdout == ""
    assert target.read_text(encoding="utf-8") == to_stdout.stdout


def test_export_that_does_not_validate_exits_2_with_the_reason(run, policy_path, tmp_path):
    # A category named like the excluded-content branch would give two resources one fides_key.
    clash = (
        "  excluded_content:\n    description: Clash\n    article: Art. 0\n"
        "    items:\n      x: {description: X, personally_identifiable: false}\n"
    )
    path, _ = edited_policy(
        policy_path, tmp_path, "  cookie:\n    description: Cookies", clash + "  cookie:\n    description: Cookies"
    )

    result = run("export", "--format", "fideslang", "--file", str(path))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("the fideslang export does not validate: ")
    assert "data_category user.rakuro.excluded_content: duplicate fides_key" in result.stderr
