"""`purpose-lineage report`: the purpose-limitation report of a period, for regulators."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from clickhouse_connect.driver.exceptions import ClickHouseError
from pydantic import ValidationError
from rich.console import Console

from services.api.client import ApiError
from services.cli.output import JsonFlag
from services.cli.readers import open_reader
from services.policy.engine import PolicyEngine
from services.policy.loader import PolicyFileError, load_policy
from services.reports.period import InvalidPeriod, check_period
from services.reports.queries import build_report
from services.reports.render import ReportFormat, render
from services.settings import Settings
from services.stages.errors import describe_validation_error, vocabulary_of

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def report(
    start: Annotated[
        datetime,
        typer.Option("--from", help="Start of the period, inclusive: a day (2026-11-01) or an instant, in UTC."),
    ],
    end: Annotated[
        datetime,
        typer.Option("--to", help="End of the period, exclusive: a day (2026-12-01) or an instant, in UTC."),
    ],
    tenant: Annotated[
        str | None, typer.Option(help="Report on this Registered User (tenant) only. Default: every tenant.")
    ] = None,
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="markdown (GitHub tables), html (one self-contained page) or json."),
    ] = ReportFormat.MARKDOWN,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write the report here instead of stdout.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """The purpose-limitation report of a period, for regulators (Markdown, HTML or JSON).

    Collections by data category and purpose, uses and disclosures, violations, gaps in the policy.
    Dead letters, and provisions to third parties (Art. 4) by recipient.
    Reads through the running stack's API when one answers, else the lineage store itself.
    """
    try:
        check_period(start, end)
    except InvalidPeriod as exc:
        raise typer.BadParameter(f"must be before --to ({start} is not before {end})", param_hint="'--from'") from exc
    try:
        settings = Settings()
        engine = PolicyEngine(load_policy(settings.policy))
    except ValidationError as exc:
        typer.echo(f"invalid settings: {describe_validation_error(exc, vocabulary=vocabulary_of(Settings))}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from exc
    except PolicyFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from exc
    if json_output:
        output_format = ReportFormat.JSON
    reader, owned = open_reader(settings)  # the API while a stack runs, else the store
    try:
        with Console(stderr=True).status("querying the lineage store…"):
            purpose_report = build_report(reader, engine, start, end, tenant)
    except (ApiError, ClickHouseError) as exc:
        typer.echo(f"cannot read the lineage store: {str(exc).strip().splitlines()[0][:500]}", err=True)
        raise typer.Exit(code=EXIT_FAILED) from exc
    finally:
        if owned is not None:
            owned.close()
    text = render(purpose_report, output_format)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"{output}: cannot write ({exc.strerror})", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from exc
    typer.echo(f"wrote the {output_format} report of {start} to {end} to {output}", err=True)
