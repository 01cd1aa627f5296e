"""`purpose-lineage emit-demo`: the simulated attendance company's traffic, into a running stack's broker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Annotated

import typer
from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from services.broker.admin import BrokerUnavailable, ensure_topics
from services.demo.simulator import DemoTally, run_demo, topic_of
from services.emitter.client import Emitter, EmitterError
from services.settings import Settings
from services.topics import Topics

console = Console(stderr=True)


def summary_tables(tally: DemoTally, topics: Topics, elapsed_s: float) -> list[Table]:
    """Events per stream and topic; then what the demo broke on purpose (dead letters, policy violations)."""
    streams = Table(title=f"emit-demo: {tally.total} events in {elapsed_s:.1f} s")
    streams.add_column("stream")
    streams.add_column("topic")
    streams.add_column("events", justify="right")
    for kind, count in sorted(tally.streams.items()):
        streams.add_row(kind.value, topic_of(kind, topics), str(count))
    by_design = Table(title="broken on purpose")
    by_design.add_column("what")
    by_design.add_column("class or code")
    by_design.add_column("events", justify="right")
    for name, count in sorted(tally.malformed.items()):
        by_design.add_row("malformed (dead-lettered)", name, str(count))
    for code, count in sorted(tally.violations.items()):
        by_design.add_row("policy violation", code, str(count))
    return [streams, by_design] if by_design.row_count else [streams]


def emit_demo(
    employees: Annotated[
        int | None, typer.Option(min=1, help="Simulated employees (default: LINEAGE_DEMO_EMPLOYEES).")
    ] = None,
    rate: Annotated[float | None, typer.Option(min=0.1, help="Events per second (default: LINEAGE_DEMO_RATE).")] = None,
    duration: Annotated[float | None, typer.Option(min=0, help="Seconds to run (default: until Ctrl-C).")] = None,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap (default: the stack's).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same company and events.")] = 7,
) -> None:
    """Emit the simulated attendance company's events (collection, uses, disclosures, consents, rights)."""
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python logs record contents at DEBUG
    settings = Settings()
    topics = Topics(settings.topic_prefix)
    servers = bootstrap or settings.bootstrap
    try:
        ensure_topics(servers, [*topics.all_collection, *topics.all_activity], settings.topic_partitions, timeout=10)
    except BrokerUnavailable as exc:
        console.print(f"[red]cannot emit:[/red] {exc}")
        raise typer.Exit(code=2) from exc

    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(duration, stop.set) if duration is not None else None
    tally = DemoTally()
    started = time.monotonic()
    failed: Exception | None = None
    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        with Emitter(servers, source_service="demo", topics=topics) as emitter:
            run_demo(
                emitter,
                employees or settings.demo_employees,
                rate or settings.demo_rate,
                stop,
                seed,
                tally=tally,
            )
    except (EmitterError, KafkaError) as exc:
        failed = exc
    finally:
        if timer is not None:
            timer.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    out = Console()
    for table in summary_tables(tally, topics, time.monotonic() - started):
        out.print(table)
    if failed is not None:
        console.print(f"[red]the demo stopped early:[/red] {type(failed).__name__}: {failed}")
        raise typer.Exit(code=1)
