"""`purpose-lineage report` refuses bad arguments before it opens any store (exit 2, one clear message)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from services.cli.main import cli

WIDE = {"COLUMNS": "250"}  # rich wraps help and errors to the terminal; a wide one keeps each on one line


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["report", *args], env={**WIDE, **(env or {})})


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store path that must never be created, and an API URL nothing answers at: refusals come first."""
    path = tmp_path / "never-created"
    monkeypatch.setenv("LINEAGE_CLICKHOUSE_PATH", str(path))
    monkeypatch.setenv("LINEAGE_API_URL", "http://127.0.0.1:9")
    return path


@pytest.mark.parametrize(
    ("start", "end"), [("2026-12-01", "2026-11-01"), ("2026-11-01", "2026-11-01")], ids=["backwards", "empty"]
)
def test_from_must_be_before_to(store_path: Path, start: str, end: str) -> None:
    result = run("--from", start, "--to", end)

    assert result.exit_code == 2
    assert "Invalid value for '--from': must be before --to" in result.output
    assert not store_path.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-01"], "Missing option '--to'"),
        (["--from", "November", "--to", "2026-12-01"], "Invalid value for '--from'"),
        (["--from", "2026-11-01", "--to", "2026-12-01", "--format", "pdf"], "Invalid value for '--format'"),
    ],
    ids=["missing-to", "not-a-date", "unknown-format"],
)
def test_bad_arguments_exit_2_with_the_option_named(store_path: Path, args: list[str], message: str) -> None:
    result = run(*args)

    assert result.exit_code == 2
    assert message in result.output
    assert not store_path.exists()


def test_an_unreadable_policy_exits_2_with_its_path(store_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"

    result = run("--from", "2026-11-01", "--to", "2026-12-01", env={"LINEAGE_POLICY": str(missing)})

    assert result.exit_code == 2
    assert result.stderr.startswith(f"{missing}: cannot read policy file")
    assert not store_path.exists()


def test_help_explains_every_option() -> None:
    result = run("--help")

    assert result.exit_code == 0
    for option in ("--from", "--to", "--tenant", "--format", "--output"):
        assert option in result.output
    assert "markdown|html|json" in result.output
    assert "exclusive" in result.output
