"""Fixtures of the monitor's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from services.monitor.evaluate import Evaluated, monitor_batch
from services.policy.decide import Decider
from services.pseudonymize import PseudonymKey
from services.records import SourceRecord


@pytest.fixture(scope="module")
def decide(engine: Any, key: PseudonymKey) -> Callable[..., list[Evaluated]]:
    """Decide activity documents as one batch, with no state: their evaluated uses and disclosures."""
    decider = Decider(engine)

    def run(*documents: dict[str, Any]) -> list[Evaluated]:
        batch = [SourceRecord("t", 0, i, orjson.dumps(d)) for i, d in enumerate(documents)]
        return monitor_batch(batch, {}, {}, decider, key).evaluated

    return run
