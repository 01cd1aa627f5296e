"""`purpose-lineage dead-letters ...`: inspect refused events and re-submit them to their origin topics.

The dead-letter topic holds, per refused event, reason headers in the clear and the event itself sealed with
the quarantine key (:mod:`services.quarantine`). ``show`` lists the reasons — nothing personal unless
``--reveal`` — and ``replay`` opens the sealed events and produces them, with their original Kafka keys, back
to the topics they came from.

The pure parts (header parsing, selection, when a read of the topic is complete) are plain functions, so that
they are tested without a broker.
"""

from __future__ import annotations

import base64
import enum
import time
from collections.abc import Callable, Collection, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import orjson
import typer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from services.cli.output import JsonFlag
from services.quarantine import QuarantineError, QuarantineKey, QuarantineKeyError, load_quarantine_key, unseal
from services.settings import Settings
from services.stages.errors import describe_validation_error
from services.topics import Topics

HEADER_PREFIX = "lineage.errors."  # the prefix services.stages.messages writes (Kafka Connect's convention)
REPLAY_HEADER = "lineage.replay.dead_letter"
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_QUIET_S = 1.5
DEFAULT_TIMEOUT_S = 60.0
_POLL_MS = 200
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


# --- pure parts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coordinates:
    """A record's place: ``topic[partition]@offset``."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Coordinates:
        """``TOPIC:PARTITION:OFFSET`` (Kafka topic names cannot hold a colon, so the last two colons split)."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0]:
            raise ValueError(f"{text!r} is not TOPIC:PARTITION:OFFSET")
        try:
            partition, offset = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"{text!r}: partition and offset must be integers") from None
        if partition < 0 or offset < 0:
            raise ValueError(f"{text!r}: partition and offset must not be negative")
        return cls(parts[0], partition, offset)


@dataclass(frozen=True)
class DeadLetterView:
    """One dead letter as read from the topic: where it is, where it came from, why, and its sealed event.

    Every field but ``sealed`` is content-free by construction of the stages; ``sealed`` opens only with the
    quarantine key.
    """

    at: Coordinates
    origin: Coordinates | None
    stage: str | None
    reason: str | None
    message: str | None
    event_id: str | None
    kind: str | None
    original_bytes: int | None
    sealed: Mapping[str, Any] | None
    redacted: Mapping[str, Any]
    value_problem: str | None = None

    @property
    def aad(self) -> bytes | None:
        """The associated data the event was sealed with: its origin coordinates."""
        return str(self.origin).encode() if self.origin is not None else None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description without the sealed event."""
        return {
            "dead_letter": str(self.at),
            "origin": str(self.origin) if self.origin is not None else None,
            "origin_topic": self.origin.topic if self.origin is not None else None,
            "origin_partition": self.origin.partition if self.origin is not None else None,
            "origin_offset": self.origin.offset if self.origin is not None else None,
            "stage": self.stage,
            "reason": self.reason,
            "message": self.message,
            "event_id": self.event_id,
            "kind": self.kind,
            "original_bytes": self.original_bytes,
            "sealed": self.sealed is not None,
            "key_id": self.sealed.get("key_id") if self.sealed is not None else None,
            "value_problem": self.value_problem,
            "redacted": dict(self.redacted),
        }


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_dead_letter(
    at: Coordinates, headers: Iterable[tuple[str, bytes | None]] | None, value: bytes | None
) -> DeadLetterView:
    """The view of one dead-letter record from its headers and value; never raises on malformed input."""
    fields: dict[str, str | None] = {}
    for name, raw in headers or ():
        if name.startswith(HEADER_PREFIX):
            fields[name.removeprefix(HEADER_PREFIX)] = _text(raw)
    origin_topic, partition, offset = fields.get("topic"), _int(fields.get("partition")), _int(fields.get("offset"))
    origin = (
        Coordinates(origin_topic, partition, offset)
        if origin_topic and partition is not None and offset is not None
        else None
    )
    sealed: Mapping[str, Any] | None = None
    redacted: dict[str, Any] = {}
    problem = None
    if value:
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            document, problem = None, "value is not JSON"
        if isinstance(document, dict):
            quarantine = document.pop("quarantine", None)
            if isinstance(quarantine, Mapping):
                sealed = quarantine
            elif quarantine is not None:
                problem = "quarantine field is not an object"
            redacted = document
        elif problem is None:
            problem = "value is not a JSON object"
    return DeadLetterView(
        at=at,
        origin=origin,
        stage=fields.get("stage"),
        reason=fields.get("exception.class.name"),
        message=fields.get("exception.message"),
        event_id=fields.get("event_id"),
        kind=fields.get("kind"),
        original_bytes=_int(fields.get("original_bytes")),
        sealed=sealed,
        redacted=redacted,
        value_problem=problem,
    )


def matches(view: DeadLetterView, reasons: Collection[str] = (), refs: Collection[Coordinates] = ()) -> bool:
    """True when ``view`` has one of ``reasons`` (any, if none) and is one of ``refs`` (any, if none).

    A reference names either the dead letter itself (its topic is the dead-letter topic) or its origin.
    """
    if reasons and (view.reason or "").lower() not in {r.lower() for r in reasons}:
        return False
    return not refs or view.at in refs or view.origin in refs


def select(
    views: Iterable[DeadLetterView],
    reasons: Collection[str] = (),
    refs: Collection[Coordinates] = (),
    limit: int | None = None,
) -> list[DeadLetterView]:
    """The first ``limit`` (all, if None) views that :func:`matches` selects, in topic order."""
    selected: list[DeadLetterView] = []
    for view in views:
        if limit is not None and len(selected) >= limit:
            break
        if matches(view, reasons, refs):
            selected.append(view)
    return selected


def unmatched(refs: Iterable[Coordinates], views: Iterable[DeadLetterView]) -> list[Coordinates]:
    """The references no view answers to (asked for, but not on the topic)."""
    found = {c for view in views for c in (view.at, view.origin) if c is not None}
    return [ref for ref in refs if ref not in found]


class ReadDecision(enum.Enum):
    CONTINUE = "continue"
    DONE = "done"
    TIMED_OUT = "timed_out"


def read_decision(
    positions: Mapping[Any, int],
    end_offsets: Mapping[Any, int],
    *,
    now: float,
    started_at: float,
    last_message_at: float,
    quiet_s: float,
    timeout_s: float,
) -> ReadDecision:
    """Whether a read from the beginning has reached the real end of the topic.

    Done when every partition is at or past its reported end offset *and* nothing arrived for ``quiet_s``:
    Tansu reports end offsets that can lag far behind the records it still delivers, so the offsets alone
    would stop early. ``last_message_at`` starts as ``started_at``, so an empty topic is done after one quiet
    period. Past ``timeout_s`` the read gives up, even while records keep coming.
    """
    at_end = all(positions.get(partition, 0) >= end for partition, end in end_offsets.items())
    if at_end and now - last_message_at >= quiet_s:
        return ReadDecision.DONE
    if now - started_at >= timeout_s:
        return ReadDecision.TIMED_OUT
    return ReadDecision.CONTINUE


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so that a refused event cannot drive the operator's terminal."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text)


def shown_bytes(data: bytes | None, *, raw_base64: bool) -> str | None:
    """Original bytes as shown: UTF-8 (undecodable bytes replaced) or base64."""
    if data is None:
        return None
    return base64.b64encode(data).decode("ascii") if raw_base64 else data.decode("utf-8", errors="replace")


def original_line(value: bytes) -> str:
    """An original value on one line for `purpose-lineage replay FILE`.

    Line breaks become spaces: outside JSON strings they are whitespace, and inside one they were invalid JSON
    anyway (which is one of the things an operator fixes).
    """
    return value.decode("utf-8", errors="replace").replace("\r", " ").replace("\n", " ")


# --- the broker -------------------------------------------------------------------------------------------


class Consumer(Protocol):
    """What the read loop needs of kafka-python's ``KafkaConsumer`` (assigned, positioned at the beginning)."""

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Any, Sequence[Any]]: ...

    def position(self, partition: Any) -> int: ...

    def end_offsets(self, partitions: Sequence[Any]) -> Mapping[Any, int]: ...


@dataclass
class ReadProgress:
    """How a read went: ``complete`` once the real end was reached (false after a timeout)."""

    read: int = 0
    complete: bool = False


def drain(
    consumer: Consumer,
    partitions: Sequence[Any],
    progress: ReadProgress,
    *,
    quiet_s: float = DEFAULT_QUIET_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[DeadLetterView, None, None]:
    """Every dead letter from the consumer's positions to the real end (see :func:`read_decision`)."""
    ends = dict(consumer.end_offsets(list(partitions)))
    started = last = clock()
    while True:
        batch = consumer.poll(timeout_ms=_POLL_MS, max_records=500)
        now = clock()
        for records in batch.values():
            for record in records:
                last = now
                progress.read += 1
                at = Coordinates(record.topic, record.partition, record.offset)
                yield parse_dead_letter(at, record.headers, record.value)
        decision = read_decision(
            {partition: consumer.position(partition) for partition in partitions},
            ends,
            now=clock(),
            started_at=started,
            last_message_at=last,
            quiet_s=quiet_s,
            timeout_s=timeout_s,
        )
        if decision is not ReadDecision.CONTINUE:
            progress.complete = decision is ReadDecision.DONE
            return


def read_dead_letters(
    bootstrap: str, topic: str, progress: ReadProgress, *, quiet_s: float, timeout_s: float
) -> Generator[DeadLetterView, None, None]:
    """Read ``topic`` from the beginning: no consumer group, every partition assigned, nothing committed."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="purpose-lineage-dead-letters",
    )
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:  # no such topic yet: nothing was ever refused
            progress.complete = True
            return
        partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        yield from drain(consumer, partitions, progress, quiet_s=quiet_s, timeout_s=timeout_s)
    finally:
        consumer.close()


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
        raise _fail(f"invalid settings: {describe_validation_error(exc)}") from exc


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
    return _printable("\n".join(lines))


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
        typer.echo(_printable(f"  key: {shown_bytes(original_key, raw_base64=raw_base64)}"))
        typer.echo(_printable(f"  value: {shown_bytes(value, raw_base64=raw_base64)}"))


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
