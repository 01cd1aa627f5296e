"""`purpose-lineage policy ...`: check, show, evaluate and export the policy file."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from schemas.decisions import UseRequest
from schemas.policy import Policy
from services.cli.output import JsonFlag, echo_json
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.fideslang_export import FideslangExportError, to_fideslang, validate_fideslang
from services.policy.loader import PolicyFileError, load_policy
from services.settings import Settings
from services.stages.errors import describe_validation_error, vocabulary_of

policy_cli = typer.Typer(
    help="Check, show, evaluate against and export the policy file (default: LINEAGE_POLICY).",
    no_args_is_help=True,
)

EXIT_BAD_INPUT = 2
EXIT_VIOLATIONS = 3
_NONE = "—"

FileOption = Annotated[
    Path | None, typer.Option("--file", "-f", dir_okay=False, help="Policy file (default: LINEAGE_POLICY).")
]


class ShowFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ExportFormat(StrEnum):
    FIDESLANG = "fideslang"


def _fail(message: str) -> typer.Exit:
    """Print one line to stderr; the caller raises the returned exit (code 2: bad input)."""
    typer.echo(message, err=True)
    return typer.Exit(code=EXIT_BAD_INPUT)


def _load(file: Path | None) -> Policy:
    """The policy at ``file``, or at the configured path; exit 2 with the loader's ``file:line: reason``."""
    try:
        path = file if file is not None else Settings().policy
    except ValidationError as exc:
        raise _fail(f"invalid settings: {describe_validation_error(exc, vocabulary=vocabulary_of(Settings))}") from exc
    try:
        return load_policy(path)
    except PolicyFileError as exc:
        raise _fail(str(exc)) from exc


@policy_cli.command()
def check(
    file: Annotated[Path | None, typer.Argument(help="Policy file (default: LINEAGE_POLICY).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Load and validate the policy; print a summary (exit 0) or file:line: reason (exit 2)."""
    policy = _load(file)
    in_force = PolicyEngine(policy).version_at(datetime.now(UTC))
    items = sum(len(category.items) for category in policy.data_categories.values())
    if json_output:
        echo_json(
            {
                "policy_id": policy.policy_id,
                "title": policy.title,
                "controller": policy.controller,
                "valid": True,
                "versions": [{"version": v.version, "effective_from": v.effective_from} for v in policy.versions],
                "in_force": in_force.version if in_force else None,
                "counts": {
                    "data_categories": len(policy.data_categories),
                    "items": items,
                    "purposes": len(policy.purposes),
                    "data_subjects": len(policy.data_subjects),
                    "violation_codes": len(policy.violations),
                    "services": len(policy.services),
                },
            }
        )
        return
    lines = [f"policy {policy.policy_id} ({policy.title}, {policy.controller}): OK", "versions:"]
    for version in policy.versions:
        marker = "  (in force)" if version is in_force else ""
        lines.append(f"  {version.version}  effective from {version.effective_from}{marker}")
    lines.append(
        f"{len(policy.data_categories)} data categories, {items} items, {len(policy.purposes)} purposes, "
        f"{len(policy.data_subjects)} data subjects, {len(policy.violations)} violation codes"
    )
    typer.echo("\n".join(lines))


def _matrix(policy: Policy) -> dict[str, Any]:
    """Purposes x data categories: per category and purpose, which items the purpose may use."""
    engine = PolicyEngine(policy)
    categories: dict[str, Any] = {}
    for name, category in policy.data_categories.items():
        row: dict[str, Any] = {}
        for purpose in policy.purposes:
            allowed = [item for item in category.items if f"{name}.{item}" in engine.purpose_items[purpose]]
            denied = [item for item in category.items if item not in allowed]
            scope = "all" if not denied else "none" if not allowed else "some"
            row[purpose] = {"scope": scope, "items": allowed, "not_items": denied}
        categories[name] = {"items": list(category.items), "purposes": row}
    purposes = {
        key: {
            "name": purpose.name,
            "data_subjects": purpose.data_subjects,
            "legal_basis": purpose.legal_basis,
            "article": purpose.article,
            "aggregate_only": purpose.aggregate_only,
            "subject_limits": purpose.subject_limits,
        }
        for key, purpose in policy.purposes.items()
    }
    return {"policy_id": policy.policy_id, "data_categories": categories, "purposes": purposes}


def _cell(grant: dict[str, Any], total: int) -> str:
    if grant["scope"] == "all":
        return "all"
    if grant["scope"] == "none":
        return _NONE
    allowed, denied = grant["items"], grant["not_items"]
    return f"{len(allowed)}/{total} items: {', '.join(allowed)}\n(not {', '.join(denied)})"


@policy_cli.command()
def show(
    file: FileOption = None,
    output: Annotated[ShowFormat, typer.Option("--format", help="table or json")] = ShowFormat.TABLE,
    json_output: JsonFlag = False,
) -> None:
    """Which data categories each purpose may use, and each purpose's subjects, legal basis and article."""
    policy = _load(file)
    matrix = _matrix(policy)
    if output is ShowFormat.JSON or json_output:
        typer.echo(orjson.dumps(matrix, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"policy {policy.policy_id}: what each purpose may use", show_lines=True)
    # Fold rather than cut: a narrow terminal must not hide which items a purpose may use.
    table.add_column("data category", overflow="fold")
    for purpose in policy.purposes:
        table.add_column(purpose, overflow="fold")
    for name, row in matrix["data_categories"].items():
        total = len(row["items"])
        label = f"{name} ({total} item{'s' if total != 1 else ''})"
        table.add_row(label, *(_cell(row["purposes"][p], total) for p in policy.purposes))
    purposes = Table(title="purposes")
    for column in ("purpose", "data subjects", "legal basis", "article"):
        purposes.add_column(column, overflow="fold")
    for key, spec in matrix["purposes"].items():
        label = f"{key}\n(aggregates only)" if spec["aggregate_only"] else key
        subjects = ", ".join(spec["data_subjects"])
        limits = [f"{ref}: {', '.join(only)} only" for ref, only in spec["subject_limits"].items()]
        if limits:
            subjects += "\n" + "\n".join(limits)
        purposes.add_row(label, subjects, spec["legal_basis"], spec["article"])
    console = Console()
    console.print(table)
    console.print(purposes)


def _read_request() -> UseRequest:
    """One UseRequest from stdin; exit 2 with a message that names positions and rules, never input values."""
    stdin = typer.get_binary_stream("stdin")
    if stdin.isatty():
        raise _fail("pipe one JSON UseRequest on stdin, e.g. policy evaluate < request.json")
    text = stdin.read()
    if not text.strip():
        raise _fail("empty input: pipe one JSON UseRequest on stdin")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"invalid JSON at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(document, dict):
        raise _fail("invalid request: expected one JSON object (a UseRequest)")
    try:
        return UseRequest.model_validate(document)
    except ValidationError as exc:
        raise _fail(f"invalid request: {describe_validation_error(exc, vocabulary=vocabulary_of(UseRequest))}") from exc


@policy_cli.command()
def evaluate(file: FileOption = None) -> None:
    """Decide one UseRequest (JSON on stdin); print the Decision as JSON. Exit 0 allowed, 3 violations, 2 bad input."""
    policy = _load(file)
    request = _read_request()
    decision = Decider(PolicyEngine(policy)).decide(request)
    typer.echo(decision.to_json().decode())
    if not decision.allowed:
        raise typer.Exit(code=EXIT_VIOLATIONS)


@policy_cli.command()
def export(
    output_format: Annotated[ExportFormat, typer.Option("--format", help="Target format.")],
    file: FileOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export the policy as fideslang resources (YAML), checked with fideslang's own models first."""
    policy = _load(file)
    document = to_fideslang(policy)
    try:
        validate_fideslang(document)
    except FideslangExportError as exc:
        raise _fail(f"the fideslang export does not validate: {exc}") from exc
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{output}: cannot write ({exc.strerror})") from exc
    typer.echo(f"wrote {output_format} export of policy {policy.policy_id} to {output}", err=True)
