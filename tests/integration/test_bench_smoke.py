"""`make bench` at toy sizes: every benchmark runs end to end and reports its figures (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.benchmarks.bench_monitor import bench_monitor
from tests.benchmarks.bench_pipeline import (
    bench_end_to_end,
    bench_minimize,
    bench_processes,
    bench_stages,
    bench_stages_fresh,
    up_rounds,
)


def test_the_benchmarks_run_and_report_every_figure(tmp_path: Path) -> None:
    assert bench_minimize(300) > 0
    assert bench_stages(300) > 0
    assert bench_stages_fresh(2300) > 0
    assert bench_stages_fresh(2300, uuid_ids=True) > 0

    figures = bench_end_to_end(400, tmp_path)

    for name in ("raw_relay_events_s", "faust_pass_through_events_s", "full_path_events_s", "peak_rss_mb"):
        assert figures[name] > 0, name
    assert figures["latency_events"] > 0
    assert figures["latency_missing"] == 0

    processes = bench_processes(400, tmp_path)
    assert processes["full_path_processes_events_s"] > 0
    assert processes["collect_peak_rss_mb"] > 0
    baselines = {name: figures[name] for name in ("raw_relay_events_s", "faust_pass_through_events_s")}
    up = up_rounds(400, tmp_path, 2, baselines)  # round 2 measures its own baselines next to its `up`
    assert up["up_rounds"][0]["raw_relay_events_s"] == figures["raw_relay_events_s"]
    for measured in up["up_rounds"]:
        assert measured["raw_relay_events_s"] > 0
        assert measured["faust_pass_through_events_s"] > 0
        assert measured["full_path_up_over_faust"] == (
            measured["full_path_up_events_s"] / measured["faust_pass_through_events_s"]
        )
        assert measured["up_latency_events"] > 0  # produce -> queryable measured on `up` too
        assert measured["up_latency_missing"] == 0
    assert up["full_path_up_events_s"] > 0
    assert up["up_process_peak_rss_mb"] > 0


def test_the_monitor_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    figures = bench_monitor(300, tmp_path, latency_rate=100, latency_s=3)

    assert figures["monitor_decisions_s"] > 0  # nan (a backlog stored in one poll) fails too
    assert figures["monitor_latency_events"] > 0
    assert figures["monitor_latency_missing"] == 0


def test_the_identity_lookup_benchmark_runs_and_reports_its_figures() -> None:
    # Its own process: the embedded engine of this one is the integration tests'.
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_identity", "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "identity lookup at 10,000 rows over 24 months: 2,000 new ids" in done.stdout
