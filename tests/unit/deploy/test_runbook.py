"""The runbook and the deployment files name only commands, options and settings that exist."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

from services.cli.main import cli
from services.settings import Settings
from tests.unit.deploy.metric_names import ROOT

DEPLOY = ROOT / "deploy"
RUNBOOK = DEPLOY / "RUNBOOK.md"
INLINE_COMMAND = re.compile(r"`(purpose-lineage [^`]+)`")
BLOCK_COMMAND = re.compile(r"^\s*(purpose-lineage .+)$", re.MULTILINE)
SETTING = re.compile(r"\bLINEAGE_([A-Z0-9_]+)")


def _commands() -> list[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    return sorted(set(INLINE_COMMAND.findall(text)) | set(BLOCK_COMMAND.findall(text)))


def _subcommands(command: Any) -> dict[str, Any]:
    subcommands: dict[str, Any] = getattr(command, "commands", {})
    return subcommands


def _resolve(tokens: list[str]) -> tuple[Any, list[str]]:
    """The CLI command (typer's click object) a command line runs, and the rest of its words."""
    command: Any = typer.main.get_command(cli)
    rest = tokens[1:]
    while rest and rest[0] in _subcommands(command):
        command, rest = _subcommands(command)[rest[0]], rest[1:]
    return command, rest


def test_runbook_shows_commands() -> None:
    commands = _commands()
    assert {shlex.split(c)[1] for c in commands} >= {"sql", "trace", "report", "records"}


@pytest.mark.parametrize("line", _commands())
def test_runbook_command_exists_with_its_options(line: str) -> None:
    command, rest = _resolve(shlex.split(line))
    assert not _subcommands(command), f"{line}: no such command"
    options = {option for param in command.params for option in param.opts}
    used = {word.split("=")[0] for word in rest if word.startswith("-")}
    assert used <= options, f"{line}: unknown options {used - options}"


def test_deployment_files_name_only_real_settings() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    for path in (p for p in DEPLOY.rglob("*") if p.is_file()):
        named = set(SETTING.findall(path.read_text(encoding="utf-8")))
        assert named <= settings, f"{path.relative_to(ROOT)} names unknown settings {named - settings}"
