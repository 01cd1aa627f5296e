"""The fast variant of `make chaos`: real processes, real faults, small sizes; nothing lost, nothing doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.chaos import DiskUnavailable, disk_full, kill_role, poison_rows, sigterm_during_outage


@pytest.mark.parametrize("role", ["collect", "store"])
def test_kill_9_of_a_role_twice_during_production_loses_and_doubles_nothing(role: str, tmp_path: Path) -> None:
    figures = kill_role(tmp_path, role, kills=2, events=2_000, interval_s=5.0)

    assert figures.faults == 2
    assert figures.produced == 2_000
    assert figures.lost == 0, f"{figures.lost} events lost; logs in {tmp_path}"
    assert figures.stored + figures.dead_lettered == figures.produced
    assert figures.physical_duplicates == 0


def test_sigterm_of_the_store_during_an_outage_loses_nothing(tmp_path: Path) -> None:
    figures = sigterm_during_outage(tmp_path, events=500)

    assert figures.lost == 0, f"{figures.lost} events lost; logs in {tmp_path}"
    assert figures.stored + figures.dead_lettered == figures.produced == 500
    assert figures.physical_duplicates == 0


def test_the_stores_disk_full_pauses_the_store_which_then_catches_up_by_itself(tmp_path: Path) -> None:
    try:
        figures = disk_full(tmp_path, events=1_500, full_s=15.0, size_mb=256)
    except DiskUnavailable as exc:  # no privilege to mount a tmpfs on this machine: the scenario cannot run
        pytest.skip(str(exc))

    assert figures.lost == 0, f"{figures.lost} events lost; logs in {tmp_path}"
    assert figures.stored + figures.dead_lettered == figures.produced == 1_500
    assert figures.physical_duplicates == 0
    assert figures.unhealthy_s, "/healthz never said the store was failing while its disk was full"


def test_poison_rows_are_dead_lettered_and_nothing_else_waits(tmp_path: Path) -> None:
    figures = poison_rows(tmp_path, events=500)

    assert figures.faults == 10
    assert figures.lost == 0, f"{figures.lost} events lost; logs in {tmp_path}"
    assert figures.stored + figures.dead_lettered == figures.produced == 510
    assert figures.physical_duplicates == 0
