"""An overflow group's window is summarized from the store by its scope: the tenant's violations of its code but
those of the tenant's open groups, taken before any window of the pass closes. The real store's half is in
tests/integration/test_alert_overflow.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from aiokafka import AIOKafkaProducer

from services.metrics import PipelineMetrics
from services.monitor.alerts import OVERFLOW, AlertAggregator
from services.policy.decide import Decider
from services.processors.monitor import MonitorWorker
from services.quarantine import QuarantineKey
from services.sink.writer import LineageWriter
from services.store.async_store import AsyncLineageStore
from services.topics import Topics
from tests.unit.processors.test_alert_summaries import _leak
from tests.unit.processors.test_monitor_worker import MemoryProducer, MemoryStore

WINDOW = timedelta(minutes=5)
TENANT, CODE = "kobe-logistics", "module_receives_identifiable_data"


class ScopedStore(MemoryStore):
    """Records which summary each window was asked for; every group had one violation in its window."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[Any, ...]] = []

    def _one(self, now: datetime) -> tuple[Any, ...]:
        return (1, 1, ("5d7e6f0a-1b2c-4d3e-8f90-a1b2c3d4e500",), now, now, "critical", "Art. 6", "m", "2022-06-01")

    async def violation_summary(
        self, key: Sequence[str], after: datetime, until: datetime, sample_size: int
    ) -> tuple[Any, ...] | None:
        self.asked.append(("group", key[3]))
        return self._one(until)

    async def overflow_summary(
        self,
        tenant_id: str | None,
        code: str,
        after: datetime,
        until: datetime,
        sample_size: int,
        excluded: Sequence[Sequence[str]],
    ) -> tuple[Any, ...] | None:
        self.asked.append(("overflow", tenant_id, code, tuple(group[3] for group in excluded)))
        return self._one(until)


def test_an_overflow_window_is_summarized_by_its_scope_and_a_groups_by_its_key(engine: Any, key: Any) -> None:
    store, metrics = ScopedStore(), PipelineMetrics.create()
    worker = MonitorWorker(
        Decider(engine), key, QuarantineKey(bytes(32)), cast(AsyncLineageStore, store),
        LineageWriter(cast(AsyncLineageStore, store), metrics), cast(AIOKafkaProducer, MemoryProducer()),
        Topics("t."), metrics, WINDOW,
    )  # fmt: skip
    worker.aggregator = AlertAggregator(WINDOW, max_groups_per_tenant=2)
    asyncio.run(worker.handle([_leak(actor, n) for n, actor in enumerate(("job-a", "job-b", "job-c", "job-d"))]))
    (opened,) = set(worker.aggregator.open_windows().values())

    alerts = asyncio.run(worker.summarize_closed_windows(opened + WINDOW))

    assert sorted(store.asked, key=str) == [
        ("group", "job-a"),
        ("group", "job-b"),
        ("overflow", TENANT, CODE, ("job-a", "job-b")),
    ]
    assert sorted((alert.key.actor, alert.status.value, alert.count) for alert in alerts) == [
        (OVERFLOW, "repeated", 1),
        ("job-a", "repeated", 1),
        ("job-b", "repeated", 1),
    ]
