"""`up`'s worker processes: restarted when they exit, given up on when they keep failing, stopped on shutdown;
their metrics merged with the parent's."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services import workers
from services.metrics import MergingRegistry, PipelineMetrics, merge_families
from services.settings import Settings
from services.workers import CollectWorkers


def _settings() -> Settings:
    return Settings(pseudonym_key="k" * 32, quarantine_key="00" * 32, topic_prefix="t.", batch_window_s=0.3)


def _families(registry: CollectorRegistry) -> list[object]:
    return list(text_string_to_metric_families(generate_latest(registry).decode()))


def _child_registry() -> CollectorRegistry:
    child = CollectorRegistry()
    events = Counter("lineage_collection_events", "Events.", ["topic_kind"], registry=child)
    events.labels("cookie").inc(7)
    events.labels("terminal").inc(2)
    Gauge("lineage_sink_backpressure", "Paused.", registry=child).set(1)
    Histogram("lineage_batch_seconds", "Batch.", buckets=(0.1, 1.0), registry=child).observe(0.05)
    return child


def test_counters_and_histograms_add_up_gauges_take_the_highest_and_new_series_are_kept() -> None:
    parent = MergingRegistry()
    events = Counter("lineage_collection_events", "Events.", ["topic_kind"], registry=parent)
    events.labels("cookie").inc(3)
    Gauge("lineage_sink_backpressure", "Paused.", registry=parent).set(0)
    Histogram("lineage_batch_seconds", "Batch.", buckets=(0.1, 1.0), registry=parent).observe(0.5)
    child = _child_registry()
    parent.include(lambda: _families(child))

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(parent).decode())
        for s in family.samples
    }

    assert samples[("lineage_collection_events_total", (("topic_kind", "cookie"),))] == 10
    assert samples[("lineage_collection_events_total", (("topic_kind", "terminal"),))] == 2
    assert samples[("lineage_sink_backpressure", ())] == 1
    assert samples[("lineage_batch_seconds_count", ())] == 2
    assert samples[("lineage_batch_seconds_bucket", (("le", "0.1"),))] == 1
    assert samples[("lineage_batch_seconds_bucket", (("le", "1.0"),))] == 2
    # One HELP and TYPE per family: the exposition stays valid with the child's families in it.
    exposition = generate_latest(parent).decode()
    assert exposition.count("# TYPE lineage_collection_events_total counter") == 1
    assert exposition.count("# TYPE lineage_collection_events_created gauge") == 1
    assert exposition.count("# TYPE lineage_batch_seconds_created gauge") == 1
    names = [family.name for family in text_string_to_metric_families(exposition)]
    assert len(names) == len(set(names))


def test_merge_without_other_processes_is_the_registry_itself() -> None:
    parent = PipelineMetrics.create()
    parent.events_consumed.labels("cookie").inc(4)
    alone = generate_latest(parent.registry)
    merged = merge_families(parent.registry.collect(), [])
    assert sum(s.value for f in merged for s in f.samples if s.name == "lineage_collection_events_total") == 4
    assert b"lineage_collection_events_total" in alone


def test_only_a_merging_registry_includes_other_processes() -> None:
    with pytest.raises(TypeError):
        PipelineMetrics.create(CollectorRegistry()).include(list)


def test_settings_reach_a_child_through_its_environment() -> None:
    settings = _settings()
    environment = settings.environment()
    assert environment["LINEAGE_TOPIC_PREFIX"] == "t."
    assert environment["LINEAGE_PSEUDONYM_KEY"] == "k" * 32
    previous = {k: v for k, v in os.environ.items() if k.startswith("LINEAGE_")}
    try:
        for key in previous:
            del os.environ[key]
        os.environ.update(environment)
        assert Settings() == settings
    finally:
        for key in environment:
            os.environ.pop(key, None)
        os.environ.update(previous)


async def _until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def test_a_worker_that_exits_is_restarted(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    # First start exits at once; the restarted one sleeps (the marker file tells how often it started).
    script = (
        f"import os, sys, time\nstarts = open({str(marker)!r}, 'a+')\nstarts.write('x'); starts.close()\n"
        f"sys.exit(3) if len(open({str(marker)!r}).read()) == 1 else time.sleep(60)"
    )
    pool = CollectWorkers(_settings(), 1, command=[sys.executable, "-c", script])

    async def scenario() -> None:
        pool.start()
        supervising = asyncio.create_task(pool.supervise(poll_s=0.05))
        await _until(lambda: marker.exists() and marker.read_text() == "xx")  # the second start is running
        assert pool.health()["collect-1"]["restarts"] == 1
        assert len(pool.pids()) == 1
        assert pool.health()["collect-1"]["state"] == "running"
        await pool.stop(timeout_s=5)
        supervising.cancel()

    asyncio.run(scenario())
    assert marker.read_text() == "xx"
    assert pool.pids() == []


def test_a_worker_that_keeps_failing_fails_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "RESTART_DELAY_S", 0.01)
    pool = CollectWorkers(_settings(), 1, command=[sys.executable, "-c", "import sys; sys.exit(3)"])

    async def scenario() -> str:
        pool.start()
        supervising = asyncio.create_task(pool.supervise(poll_s=0.02))
        reason = await asyncio.wait_for(pool.failure(), timeout=60)
        await pool.stop(timeout_s=5)
        supervising.cancel()
        return reason

    reason = asyncio.run(scenario())
    assert reason == f"collect-1 exited {workers.MAX_RESTARTS + 1} times within 60 s (last exit code 3)"


def test_stop_terminates_workers_and_kills_those_that_ignore_it() -> None:
    ignoring = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"
    )
    pool = CollectWorkers(_settings(), 2, command=[sys.executable, "-c", ignoring])

    async def scenario() -> float:
        pool.start()
        await asyncio.sleep(1.0)  # both have set their handler
        started = asyncio.get_running_loop().time()
        await pool.stop(timeout_s=1.0)
        return asyncio.get_running_loop().time() - started

    took = asyncio.run(scenario())
    assert pool.pids() == []
    assert 1.0 <= took < 10
    assert all(report["state"] == "stopped" for report in pool.health().values())
