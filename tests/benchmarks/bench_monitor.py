"""Throughput and latency of the purpose monitor on the local broker and store.

Two figures: a backlog of demo uses, disclosures, consents and rights requests drained into activity_decisions
(events/s), and the decision latency of a use sent while consent and rights messages keep flowing (the
monitor waits for the state sent before each batch). Run with `python -m tests.benchmarks.bench_monitor`.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from schemas.events import CollectionKind
from services.broker.admin import ensure_topics
from services.broker.local import LocalBroker, free_port
from services.demo.simulator import demo_stream
from services.emitter.client import Emitter
from services.processors.monitor import changelog_topics
from services.roles import Pipeline
from services.settings import Settings
from tests.benchmarks.bench_pipeline import bench_settings
from tests.integration.harness import PipelineHarness


def _decided(harness: PipelineHarness) -> int:
    return int(harness.query("SELECT count() FROM activity_decisions").rows[0][0])


def bench_monitor(events: int, workdir: Path) -> None:
    with LocalBroker(free_port(), log_file=workdir / "tansu.log") as broker:
        settings = bench_settings(broker.bootstrap, workdir)
        topics = Pipeline(settings).topics
        ensure_topics(settings.bootstrap, [*topics.all, *changelog_topics(settings)], settings.topic_partitions)
        activity = [
            e for e in itertools.islice(demo_stream(3, 500), events * 10) if not isinstance(e.kind, CollectionKind)
        ]
        activity = activity[:events]
        decisions = sum(1 for e in activity if e.kind in ("use", "disclosure"))
        with Emitter(settings.bootstrap, source_service="bench", topics=topics) as emitter:
            for event in activity:
                emitter.emit_raw(event.topic(topics), event.value, event.key)
        harness = PipelineHarness(settings)
        harness.start()
        try:
            started = time.perf_counter()
            while _decided(harness) < decisions and time.perf_counter() - started < 600:
                time.sleep(0.2)
            drain_s = time.perf_counter() - started
            print(
                f"monitor: backlog of {len(activity)} activity events ({decisions} uses and disclosures) decided in "
                f"{drain_s:.2f} s = {len(activity) / drain_s:,.0f} events/s"
            )
            latencies = _live_latency(harness, settings)
        finally:
            harness.stop()
    print(
        f"monitor: decision latency with state flowing, {len(latencies)} uses: median "
        f"{statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
        f"(LINEAGE_MONITOR_STATE_QUIET_S={settings.monitor_state_quiet_s})"
    )


def _live_latency(harness: PipelineHarness, settings: Settings) -> list[float]:
    """Send a demo-rate stream (consents and rights included) and time each use until it is decided."""
    topics = harness.pipeline.topics
    latencies: list[float] = []
    stream = (e for e in demo_stream(4, 100) if not isinstance(e.kind, CollectionKind))
    with Emitter(settings.bootstrap, source_service="bench", topics=topics) as emitter:
        for _ in range(20):
            before = _decided(harness)
            sent = 0
            for event in itertools.islice(stream, 10):
                emitter.emit_raw(event.topic(topics), event.value, event.key)
                sent += event.kind in ("use", "disclosure")
            emitter.flush()
            started = time.perf_counter()
            while _decided(harness) < before + sent and time.perf_counter() - started < 30:
                time.sleep(0.02)
            latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        bench_monitor(args.events, Path(workdir))


if __name__ == "__main__":
    main()
