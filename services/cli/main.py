"""`purpose-lineage`: run the stack, replay files, query lineage."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi.encoders import jsonable_encoder
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from schemas.events import CollectionKind
from services.api.client import ApiError, ApiLineageReader, api_is_up
from services.broker.admin import BrokerUnavailable
from services.cli.dead_letters import dead_letters_cli
from services.cli.demo import emit_demo
from services.cli.output import JsonFlag
from services.cli.policy import policy_cli
from services.cli.readers import open_reader as _reader
from services.cli.records import records_cli
from services.cli.report import report
from services.emitter.client import Emitter
from services.errors import LineageError
from services.keys import load_keyring
from services.logfilter import RepeatFilter, quiet_closed_transports
from services.replay import account, produce_lines
from services.settings import Settings
from services.store.client import StoreUnavailable, describe_store_error
from services.store.lineage_store import LineageStore
from services.store.trace import trace as trace_subject
from services.topics import Topics

cli = typer.Typer(help="Real-time privacy lineage for the Rakuro attendance service.", no_args_is_help=True)
cli.add_typer(policy_cli, name="policy")
cli.add_typer(records_cli, name="records")
cli.add_typer(dead_letters_cli, name="dead-letters")
cli.command(name="emit-demo")(emit_demo)
cli.command(name="report")(report)
console = Console(stderr=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("aiokafka", "kafka", "faust", "mode", "uvicorn", "openlineage", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_closed_transports()
    repeats = RepeatFilter()  # a lost broker: one line a minute from the Kafka clients, not hundreds a second
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeats)


def _until_signalled(serve: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``serve(stop)`` until SIGINT or SIGTERM sets ``stop``; a start refused for a reason exits 2 with it."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(stop)

    try:
        asyncio.run(main())
    except LineageError as exc:  # bad settings, policy or key files, no broker, a store owned elsewhere
        console.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(code=2) from exc


@cli.command()
def up(
    demo: Annotated[bool, typer.Option(help="Also run a simulated attendance company emitting events.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Start broker (local unless LINEAGE_KAFKA_BOOTSTRAP), processors, sink and API; Ctrl-C stops cleanly."""
    from services.stack import run_stack  # heavy imports only for the command that needs them

    _logging(verbose)
    settings = Settings()

    _until_signalled(lambda stop: run_stack(settings, stop, demo=demo, collect_processes=settings.collect_processes))


@cli.command()
def init(
    store: Annotated[bool, typer.Option(help="Also create the database and apply pending migrations.")] = True,
) -> None:
    """Create the topics (partitions, replicas, compaction where state lives) and migrate the store; idempotent.

    Existing topics are checked, never changed: a partition count other than the settings' is refused (exit 2).
    Topics need a running broker (LINEAGE_KAFKA_BOOTSTRAP); `up` creates its embedded broker's topics itself.
    """
    from services.broker.admin import TopicMismatch, check_topics, create_topics
    from services.roles import topic_plan

    settings = Settings()
    try:
        if settings.embedded_broker:
            console.print("no LINEAGE_KAFKA_BOOTSTRAP: topics skipped (`up` creates its embedded broker's topics)")
        else:
            plan = topic_plan(settings)
            created = create_topics(settings.bootstrap, plan)
            check_topics(settings.bootstrap, plan)
            console.print(f"topics: {len(created)} created, {len(plan) - len(created)} already there and as specified")
        if store:
            lineage_store = LineageStore.open(settings)
            applied = lineage_store.migrate()
            lineage_store.close()
            console.print(f"store {settings.clickhouse_database}: {len(applied)} migration(s) applied")
    except (TopicMismatch, BrokerUnavailable, StoreUnavailable) as exc:
        console.print(f"[red]init refused:[/red] {exc}")
        raise typer.Exit(code=2) from exc


@cli.command()
def run(
    roles: Annotated[list[str], typer.Argument(help="One or more of: collect, store, monitor, api.")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Run some roles as this process, against the broker of LINEAGE_KAFKA_BOOTSTRAP; each role is its own group.

    Start as many processes of a role as it has partitions: the group spreads them. The embedded ClickHouse
    engine belongs to one process: with it, run store, monitor and api together (or use `up`).
    """
    from services.roles import Role
    from services.stack import run_stack

    known = {role.value for role in Role} | {"api"}
    unknown = sorted(set(roles) - known)
    if unknown:
        console.print(f"[red]unknown role {', '.join(unknown)}:[/red] choose from {', '.join(sorted(known))}")
        raise typer.Exit(code=2)
    _logging(verbose)
    settings = Settings()
    chosen = frozenset(Role(role) for role in roles if role != "api")

    _until_signalled(lambda stop: run_stack(settings, stop, roles=chosen, api="api" in roles))


@cli.command()
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines, one event per line.")],
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap (default: the running stack's).")] = None,
    default_kind: Annotated[
        CollectionKind, typer.Option(help="Topic kind for lines whose kind cannot be read.")
    ] = CollectionKind.ACCESS_LOG,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every event to be accounted for.")] = 120.0,
    output: Annotated[OutputFormat, typer.Option("--format", help="Summary format.")] = OutputFormat.TABLE,
    json_output: JsonFlag = False,
) -> None:
    """Produce each line as an event and wait until every one is in lineage or in the dead letters.

    Exit 0 when every line is accounted for, 1 when some are not within --timeout (their line numbers are listed).
    """
    output = OutputFormat.JSON if json_output else output
    settings = Settings()
    reader, owned = _reader(settings)
    with file.open("rb") as counting:
        total = sum(1 for line in counting if line.strip())
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=output is OutputFormat.JSON, transient=False,
    )  # fmt: skip
    try:
        emitter = Emitter(
            bootstrap or settings.bootstrap, source_service="replay", topics=Topics(settings.topic_prefix)
        )
        with progress, emitter, file.open("rb") as lines:
            sending = progress.add_task("produced", total=total)
            produced = produce_lines(emitter, lines, default_kind, on_line=lambda: progress.advance(sending))
            accounting = progress.add_task("accounted for", total=len(produced))
            report = account(
                reader, produced, timeout, on_progress=lambda done, _: progress.update(accounting, completed=done)
            )
    finally:
        if owned is not None:
            owned.close()
    summary = {
        "file": str(file),
        "produced": report.produced,
        "in_lineage": report.in_lineage,
        "dead_lettered": report.dead_lettered,
        "unaccounted": len(report.unaccounted),
        "unaccounted_lines": report.unaccounted[:50],
        "waited_s": round(report.waited_s, 2),
    }
    if output is OutputFormat.JSON:
        typer.echo(orjson.dumps(summary).decode())
    else:
        table = Table(title=f"replay of {file.name}")
        for column in ("produced", "in_lineage", "dead_lettered", "unaccounted", "waited_s"):
            table.add_column(column, justify="right")
        table.add_row(
            *(str(summary[c]) for c in ("produced", "in_lineage", "dead_lettered", "unaccounted", "waited_s"))
        )
        Console().print(table)
        if report.unaccounted:
            console.print(f"[red]lines not accounted for after {timeout:.0f} s:[/red] {report.unaccounted[:50]}")
    if not report.complete:
        raise typer.Exit(code=1)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else "no reason given"


def _print_rows(columns: list[str], rows: list[list[Any]], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        records = [dict(zip(columns, row, strict=True)) for row in jsonable_encoder(rows)]
        typer.echo(orjson.dumps(records).decode())
        return
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in jsonable_encoder(rows):
        table.add_row(*("" if value is None else str(value) for value in row))
    Console().print(table)


@cli.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="A read-only ClickHouse query, e.g. SELECT count() FROM collection_lineage")
    ],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    json_output: JsonFlag = False,
) -> None:
    """Query the lineage store read-only (through the API while the stack runs).

    Tables: collection_lineage, dead_letters, activity_decisions, violations, provision_records.
    """
    output = OutputFormat.JSON if json_output else output
    settings = Settings()
    reader, owned = _reader(settings)
    try:
        result = reader.query(query)
    except (ApiError, ClickHouseError) as exc:
        # The API's reason is already value-free; the store's own text quotes the query and its values.
        reason = describe_store_error(exc) if isinstance(exc, ClickHouseError) else _first_line(str(exc))
        console.print(f"[red]query refused:[/red] {escape(reason)}")
        raise typer.Exit(code=2) from exc
    finally:
        if owned is not None:
            owned.close()
    _print_rows(result.columns, result.rows, output)


@cli.command()
def trace(
    subject_id: Annotated[str, typer.Argument(help="The tenant's own id of the person (pseudonymized, never stored).")],
    tenant: Annotated[str, typer.Option(help="The Registered User (tenant) the person belongs to.")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = OutputFormat.TABLE,
    json_output: JsonFlag = False,
) -> None:
    """Everything recorded about one subject, for a disclosure request (Art. 8).

    The id is pseudonymized under every key of the keyring and never stored; the answer names the person
    only by pseudonyms: their collections (with purposes, legal bases and what was removed), uses and disclosures,
    the records of provisions to third parties, their consents and rights requests.
    """
    output = OutputFormat.JSON if json_output else output
    settings = Settings()
    if api_is_up(settings.resolved_api_url):
        token = settings.api_token.get_secret_value() if settings.api_token else None
        result = ApiLineageReader(settings.resolved_api_url, token=token).trace(tenant, subject_id)
    else:
        reader, owned = _reader(settings)
        assert isinstance(reader, LineageStore)
        try:
            result = trace_subject(reader, load_keyring(settings), tenant, subject_id)
        finally:
            if owned is not None:
                owned.close()
    if output is OutputFormat.JSON:
        typer.echo(orjson.dumps(jsonable_encoder(result)).decode())
        return
    _print_trace(result)


def _when(value: Any) -> str:
    return str(value).replace("T", " ")[:19]


def _print_trace(result: dict[str, Any]) -> None:
    """The trace as readable tables; --json has every field."""
    out = Console()
    keys = ", ".join(f"{key}: {pseudonym[:16]}…" for key, pseudonym in result["pseudonyms"].items())
    out.print(f"tenant [bold]{result['tenant_id']}[/bold]; pseudonym by key {keys}")
    collections = Table(title=f"collections ({len(result['collections'])})")
    for column in ("occurred (UTC)", "kind", "service", "data categories", "purposes", "removed"):
        collections.add_column(column, overflow="fold")
    for row in result["collections"]:
        reasons = ", ".join(sorted(set(row["removed_reasons"])))
        removed = f"{len(row['removed_paths'])} ({reasons})" if row["removed_paths"] else ""
        collections.add_row(
            _when(row["occurred_at"]), row["kind"], row["source_service"], ", ".join(row["data_categories"]),
            ", ".join(row["purposes"]), removed,
        )  # fmt: skip
    out.print(collections)
    activity = Table(title=f"uses and disclosures ({len(result['uses_and_disclosures'])})")
    for column in ("occurred (UTC)", "activity", "actor", "purpose", "data", "recipient", "decision"):
        activity.add_column(column, overflow="fold")
    for row in result["uses_and_disclosures"]:
        decision = "allowed" if row["allowed"] else "[red]" + ", ".join(row["violation_codes"]) + "[/red]"
        activity.add_row(
            _when(row["occurred_at"]), row["activity"], row["actor"], row["purpose"], ", ".join(row["data"]),
            f"{row['recipient_kind']}: {row['recipient_id']}", decision,
        )  # fmt: skip
    out.print(activity)
    provisions = result.get("provisions", [])
    records = Table(title=f"provisions to third parties, Art. 4.2 records ({len(provisions)})")
    for column in ("provided (UTC)", "recipient", "data", "purpose", "consent"):
        records.add_column(column, overflow="fold")
    for row in provisions:
        consent = row["consent_reference"] if row["consent_obtained"] else "not obtained"
        records.add_row(
            _when(row["provided_at"]), escape(f"{row['recipient_id']}: {row['recipient_name']}"),
            ", ".join(row["data_items"]), row["purpose"], escape(consent),
        )  # fmt: skip
    out.print(records)
    consents, requests = result.get("consents", []), result.get("rights_requests", [])
    changes = Table(title=f"consents and rights requests ({len(consents) + len(requests)})")
    for column in ("at (UTC)", "what", "detail"):
        changes.add_column(column, overflow="fold")
    for row in consents:
        detail = f"{row['consent_reference']} for {row['recipient_id']}"
        if row.get("older_not_kept"):
            detail += " (its changes before this one are no longer kept)"
        changes.add_row(_when(row["at"]), f"consent {row['action']}", detail)
    for row in requests:
        changes.add_row(_when(row["at"]), row["request"], "lifted" if row["lifted"] else "in force")
    out.print(changes)


def main() -> None:
    """Console-script entry point."""
    cli()
