"""Throughput and latency of the purpose monitor on the local broker and store (part of `make bench`).

Two figures: a backlog of demo uses, disclosures, consents and rights requests drained into activity_decisions
(decisions/s, topic to tables), and the decision latency of uses and disclosures sent at a steady rate while
consents and rights requests keep flowing with them. Prints and returns figures; asserts nothing about time.

The monitor part alone: `.venv/bin/python -m tests.benchmarks.bench_monitor [--events N] [--latency-s S]`.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from pathlib import Path

import orjson

from schemas.events import CollectionKind
from services.broker.admin import ensure_topics
from services.broker.local import LocalBroker, free_port
from services.demo.simulator import demo_stream
from services.demo.world import DemoEvent
from services.emitter.client import Emitter
from services.roles import Role
from services.runtime import settle_heap
from tests.benchmarks.bench_pipeline import _drain_rate, bench_settings, watch
from tests.integration.harness import PipelineHarness

DECIDED = ("use", "disclosure")


def _activity(seed: int, count: int) -> list[DemoEvent]:
    stream = (e for e in demo_stream(seed, 500) if not isinstance(e.kind, CollectionKind))
    return list(itertools.islice(stream, count))


def _decided(harness: PipelineHarness) -> int:
    return int(harness.query("SELECT count() FROM activity_decisions").rows[0][0])


def bench_monitor(
    events: int, workdir: Path, latency_rate: float = 2_000.0, latency_s: float = 10.0
) -> dict[str, float]:
    """Drain a backlog of ``events`` activity events, then time decisions at ``latency_rate`` events/s."""
    with LocalBroker(free_port(), log_file=workdir / "tansu-monitor.log") as broker:
        settings = bench_settings(broker.bootstrap, workdir / "monitor")
        harness = PipelineHarness(settings, roles=frozenset({Role.MONITOR}))
        backlog = _activity(3, events)
        decisions = sum(1 for e in backlog if e.kind in DECIDED)
        topics = harness.pipeline.topics
        ensure_topics(settings.bootstrap, topics.all, settings.topic_partitions)
        with Emitter(settings.bootstrap, source_service="bench", topics=topics) as emitter:  # the backlog first
            for event in backlog:
                emitter.emit_for_subject(event.topic(topics), event.value, *event.subject)
        harness.start()
        settle_heap()  # as a role process does after start-up (services/stack.py)
        try:
            rate, drain_s, _ = _drain_rate(lambda: _decided(harness), decisions)
            figures = {"monitor_decisions_s": rate}
            print(
                f"monitor: backlog of {len(backlog):,} activity events ({decisions:,} uses and disclosures), "
                f"steady state {rate:,.0f} decisions/s over {drain_s:.2f} s"
            )
            figures |= _latency(harness, latency_rate, latency_s)
        finally:
            harness.stop()
    return figures


def _latency(harness: PipelineHarness, rate: float, seconds: float) -> dict[str, float]:
    """Send activity (consents and rights included) at ``rate``; time each use or disclosure until decided."""
    topics = harness.pipeline.topics
    stream = _activity(4, int(rate * seconds))
    sent: dict[str, float] = {}
    wanted = {orjson.loads(e.value)["event_id"] for e in stream if e.kind in DECIDED}

    def produce() -> None:
        started = time.perf_counter()
        with Emitter(harness.settings.bootstrap, source_service="bench", topics=topics) as emitter:
            for number, event in enumerate(stream, start=1):
                event_id = orjson.loads(event.value)["event_id"]
                sent[event_id] = time.time()  # wall clock, as the rows' stored_at
                emitter.emit_for_subject(event.topic(topics), event.value, *event.subject)
                if number % 50 == 0 and (ahead := number / rate - (time.perf_counter() - started)) > 0:
                    time.sleep(ahead)

    producer = threading.Thread(target=produce, name="monitor-latency-producer")
    producer.start()
    seen = watch(harness, "activity_decisions", wanted, time.perf_counter() + seconds + 30, 0.5)
    producer.join()
    latencies = sorted(seen[e] - sent[e] for e in seen if e in sent and e in wanted)
    if not latencies:
        return {"monitor_latency_events": 0}
    p50, p99 = latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"monitor latency at {rate:,.0f} activity events/s (consents and rights flowing): produce -> decided "
        f"p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms ({len(latencies):,} decisions, "
        f"{len(wanted) - len(latencies):,} not seen in time)"
    )
    return {
        "monitor_latency_rate_events_s": rate,
        "monitor_latency_events": len(latencies),
        "monitor_latency_missing": len(wanted) - len(latencies),
        "monitor_latency_p50_s": p50,
        "monitor_latency_p99_s": p99,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="The monitor part of make bench, alone.")
    parser.add_argument("--events", type=int, default=50_000, help="activity events in the backlog drained")
    parser.add_argument("--latency-rate", type=float, default=2_000.0, help="activity events/s of the latency run")
    parser.add_argument("--latency-s", type=float, default=10.0, help="how long the latency run sends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        bench_monitor(args.events, Path(workdir), args.latency_rate, args.latency_s)


if __name__ == "__main__":
    main()
