"""`purpose-lineage dead-letters ...`: inspect refused events and re-submit them to their origin topics.

The dead-letter topic holds, per refused event, reason headers in the clear and the event itself sealed with
the quarantine key (:mod:`services.quarantine`). ``show`` lists the reasons — nothing personal unless
``--reveal`` — and ``replay`` opens the sealed events and produces them, with their original Kafka keys, back
to the topics they came from.

Reading the topic and the pure parts (header parsing, selection, when a read is complete) live in
:mod:`services.cli.dead_letter_reader`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import orjson
import typer
from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import ValidationError

from services.cli.dead_letter_reader import (
    DEFAULT_QUIET_S,
    DEFAULT_TIMEOUT_S,
    Coordinates,
    DeadLetterView,
    ReadProgress,
    matches,
    original_line,
    printable,
    read_dead_letters,
    select,
    shown_bytes,
    unmatched,
)
from services.cli.output import JsonFlag
from services.quarantine import QuarantineError, QuarantineKey, QuarantineKeyError, load_quarantine_key, unseal
from services.settings import Settings
from services.stages.errors import describe_validation_error, vocabulary_of
from services.topics import Topics

REPLAY_HEADER = "lineage.replay.dead_letter"
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
_PERSONAL_DATA_WARNING = (
    "warning: --reveal shows refused events as they were sent; they may contain personal data. "
    "Do not paste them into tickets or chats."
)

dead_letters_cli = typer.Typer(
    help="Inspect refused events on the dead-letter topic and re-submit them to their origin topics.\n\n"
    "To fix events by hand: `purpose-lineage dead-letters show --reveal --originals > fix.jsonl`, edit the lines, "
    "then `purpose-lineage replay fix.jsonl` (which accounts for every line). "
    "`show --reveal --json > letters.jsonl` keeps each original next to its coordinates and reason.",
    no_args_is_help=True,
)


# --- commands ---------------------------------------------------------------------------------------------

ReasonOption = Annotated[
    list[str] | None,
    typer.Option("--reason", "-r", help="Only dead letters with this reason (repeatable), e.g. malformed_json."),
]
BootstrapOption = Annotated[
    str | None, typer.Option(help="Kafka bootstrap (default: LINEAGE_KAFKA_BOOTSTRAP or the local broker).")
]
TimeoutOption = Annotated[
    float, typer.Option(min=0.1, help="Give up reading the dead-letter topic after this many seconds.")
]
QuietOption = Annotated[
    float,
    typer.Option(
        "--quiet-s", min=0.1, help="The read is complete once at the end offsets and quiet for this many seconds."
    ),
]


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=code)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise _fail(f"invalid settings: {describe_validation_error(exc, vocabulary=vocabulary_of(Settings))}") from exc


def _key(settings: Settings) -> QuarantineKey:
    try:
        # Never generate a key here: a fresh key opens nothing, and would hide a missing configuration.
        return load_quarantine_key(settings, create=False)
    except QuarantineKeyError as exc:
        raise _fail(f"cannot load the quarantine key: {exc}") from exc


def _broker_error(exc: Exception, bootstrap: str) -> typer.Exit:
    return _fail(f"cannot read the dead-letter topic at {bootstrap}: {type(exc).__name__}")


def _describe(view: DeadLetterView) -> str:
    origin = str(view.origin) if view.origin is not None else "(unknown origin)"
    lines = [
        f"{view.at}  from {origin}  stage={view.stage or '-'}  reason={view.reason or '-'}  "
        f"bytes={view.original_bytes if view.original_bytes is not None else '-'}"
    ]
    if view.event_id or view.kind:
        lines.append(f"  event_id={view.event_id or '-'}  kind={view.kind or '-'}")
    if view.message:
        lines.append(f"  message: {view.message}")
    if view.value_problem:
        lines.append(f"  value: {view.value_problem}")
    elif view.sealed is None:
        lines.append("  not kept (the event was never read, or was empty)")
    return printable("\n".join(lines))


@dead_letters_cli.command()
def show(
    reason: ReasonOption = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many (the oldest first).")] = None,
    reveal: Annotated[
        bool, typer.Option(help="Open each sealed event with the quarantine key and print it (personal data!).")
    ] = False,
    raw_base64: Annotated[bool, typer.Option(help="With --reveal: print the original bytes as base64.")] = False,
    originals: Annotated[
        bool,
        typer.Option(help="With --reveal: print only the original values, one per line, for `replay FILE`."),
    ] = False,
    json_output: JsonFlag = False,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
    quiet_s: QuietOption = DEFAULT_QUIET_S,
) -> None:
    """List dead letters: origin coordinates, stage, reason, message, event id, kind and size.

    Nothing personal is printed unless --reveal, which opens each sealed event with the quarantine key.

    --json prints JSON Lines, one object per dead letter; with --reveal, "value" and "key" hold the original.

    Exit 1 when the read timed out or an event did not open.
    """
    if (raw_base64 or originals) and not reveal:
        raise _fail("--raw-base64 and --originals need --reveal")
    settings = _settings()
    key = _key(settings) if reveal else None
    if reveal:
        typer.echo(_PERSONAL_DATA_WARNING, err=True)
    server = bootstrap or settings.bootstrap
    progress = ReadProgress()
    failed = shown = 0
    letters = read_dead_letters(
        server, Topics(settings.topic_prefix).dead_letter, progress, quiet_s=quiet_s, timeout_s=timeout
    )
    try:
        for view in letters:
            if not matches(view, reason or ()):
                continue
            value, original_key, error = _open(view, key) if key is not None else (None, None, None)
            failed += error is not None
            shown += 1
            _print(
                view, value, original_key, error, json_output=json_output, raw_base64=raw_base64, originals=originals
            )
            if limit is not None and shown >= limit:
                progress.complete = True  # everything asked for was read
                break
    except (KafkaError, OSError) as exc:
        raise _broker_error(exc, server) from exc
    finally:
        letters.close()
    typer.echo(f"{shown} dead letter(s) shown, {progress.read} read", err=True)
    if not progress.complete:
        typer.echo(f"warning: stopped after {timeout:g} s; the listing may be incomplete", err=True)
    if failed or not progress.complete:
        raise typer.Exit(code=EXIT_FAILED)


def _open(view: DeadLetterView, key: QuarantineKey) -> tuple[bytes | None, bytes | None, str | None]:
    """(value, key, None) when the sealed event opens, else (None, None, why); the reason is content-free."""
    if view.sealed is None:
        return None, None, None
    if view.aad is None:
        return None, None, "no origin coordinates: the sealed event cannot be checked"
    try:
        value, original_key = unseal(key, view.sealed, view.aad)
    except QuarantineError as exc:
        return None, None, str(exc)
    return value, original_key, None


def _print(
    view: DeadLetterView,
    value: bytes | None,
    original_key: bytes | None,
    error: str | None,
    *,
    json_output: bool,
    raw_base64: bool,
    originals: bool,
) -> None:
    if error is not None:
        typer.echo(f"{view.at}: {error}", err=True)
    if originals:
        if value:
            typer.echo(original_line(value))
        else:
            typer.echo(f"{view.at}: no original value to print", err=True)
        return
    if json_output:
        document = view.summary()
        if value is not None or original_key is not None or error is not None:
            document.update(
                value=shown_bytes(value, raw_base64=raw_base64),
                key=shown_bytes(original_key, raw_base64=raw_base64),
                encoding="base64" if raw_base64 else "utf-8",
                reveal_error=error,
            )
        typer.echo(orjson.dumps(document).decode())
        return
    typer.echo(_describe(view))
    if value is not None or original_key is not None:
        typer.echo(printable(f"  key: {shown_bytes(original_key, raw_base64=raw_base64)}"))
        typer.echo(printable(f"  value: {shown_bytes(value, raw_base64=raw_base64)}"))


@dataclass
class ReplayOutcome:
    """What a replay did with the selected dead letters."""

    selected: int = 0
    resubmitted: int = 0
    not_kept: int = 0
    failed: int = 0


@dead_letters_cli.command()
def replay(
    reason: ReasonOption = None,
    offset: Annotated[
        list[str] | None,
        typer.Option(
            help="Only this dead letter (repeatable): TOPIC:PARTITION:OFFSET of its origin, or of the dead letter "
            "itself on the dead-letter topic."
        ),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead letter (no --reason or --offset).")] = False,
    dry_run: Annotated[bool, typer.Option(help="Open the selected events but produce nothing.")] = False,
    json_output: JsonFlag = False,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
    quiet_s: QuietOption = DEFAULT_QUIET_S,
) -> None:
    """Re-submit dead letters as they were sent: each original value and Kafka key, back to its origin topic.

    For when the fix is in the pipeline (policy, schema). When the events themselves need fixing, use
    `show --reveal --originals > fix.jsonl` (or `show --reveal --json` to keep coordinates), edit the lines,
    then `purpose-lineage replay fix.jsonl`.

    Exit 1 when a selected event cannot be opened (wrong key) or re-submitted, or an --offset was not found.
    """
    try:
        refs = [Coordinates.parse(text) for text in offset or ()]
    except ValueError as exc:
        raise _fail(f"--offset {exc}") from exc
    if not (reason or refs or replay_all):
        raise _fail("say which dead letters to replay: --reason, --offset or --all")
    settings = _settings()
    key = _key(settings)
    server = bootstrap or settings.bootstrap
    progress = ReadProgress()
    topic = Topics(settings.topic_prefix).dead_letter
    try:
        letters = list(read_dead_letters(server, topic, progress, quiet_s=quiet_s, timeout_s=timeout))
    except (KafkaError, OSError) as exc:
        raise _broker_error(exc, server) from exc
    if not progress.complete:
        typer.echo(f"warning: stopped reading after {timeout:g} s; some dead letters may be missing", err=True)
    selected = select(letters, reason or (), refs)
    missing = unmatched(refs, selected)
    for ref in missing:
        typer.echo(f"{ref}: no such dead letter", err=True)
    outcome = _resubmit(selected, key, server, dry_run=dry_run)
    summary = {
        "selected": outcome.selected,
        "resubmitted": outcome.resubmitted,
        "not_kept": outcome.not_kept,
        "failed": outcome.failed,
        "not_found": [str(ref) for ref in missing],
        "dry_run": dry_run,
        "complete_read": progress.complete,
    }
    if json_output:
        typer.echo(orjson.dumps(summary).decode())
    else:
        verb = "would re-submit" if dry_run else "re-submitted"
        typer.echo(
            f"{verb} {outcome.resubmitted} of {outcome.selected} selected dead letter(s); "
            f"{outcome.not_kept} not kept, {outcome.failed} failed, {len(missing)} not found"
        )
    if outcome.failed or missing:
        raise typer.Exit(code=EXIT_FAILED)


def _resubmit(views: Sequence[DeadLetterView], key: QuarantineKey, bootstrap: str, *, dry_run: bool) -> ReplayOutcome:
    """Open every view and (unless ``dry_run``) produce it to its origin; wait for every acknowledgement."""
    outcome = ReplayOutcome(selected=len(views))
    ready: list[tuple[DeadLetterView, Coordinates, bytes | None, bytes | None]] = []
    for view in views:
        if view.sealed is None:
            outcome.not_kept += 1
            typer.echo(f"{view.at}: skipped, the event was not kept (reason {view.reason or '-'})", err=True)
            continue
        value, original_key, error = _open(view, key)
        if error is not None or view.origin is None:
            outcome.failed += 1
            typer.echo(f"{view.at}: skipped, {error or 'no origin topic'}", err=True)
            continue
        if value is None and original_key is None:
            # Kafka cannot carry a record with neither, and such an event holds nothing to process anyway.
            outcome.not_kept += 1
            typer.echo(f"{view.at}: skipped, the event had neither value nor key", err=True)
            continue
        ready.append((view, view.origin, value, original_key))
    if dry_run or not ready:
        outcome.resubmitted = len(ready)
        return outcome
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="purpose-lineage-dead-letters")
    except KafkaError as exc:
        raise _fail(f"cannot reach the broker at {bootstrap}: {type(exc).__name__}") from exc
    try:
        # The origin's partition follows from the original key (as first produced) unless the topic was resized.
        pending = []
        for view, origin, value, original_key in ready:
            # Marks the copy as a replay (the stages ignore headers), so the new record is traceable to its letter.
            headers = [(REPLAY_HEADER, str(view.at).encode())]
            pending.append((view, producer.send(origin.topic, value=value, key=original_key, headers=headers)))
        producer.flush()
        for view, future in pending:
            try:
                future.get(timeout=30)
            except KafkaError as exc:
                outcome.failed += 1
                typer.echo(f"{view.at}: not re-submitted ({type(exc).__name__})", err=True)
            else:
                outcome.resubmitted += 1
    finally:
        producer.close()
    return outcome
