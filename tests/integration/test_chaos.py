"""The fast variant of `make chaos`: real processes, real faults, small sizes; nothing lost, nothing doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.chaos import kill_role, sigterm_during_outage


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
