"""Each alert group's window is summarized on its own: a group whose summary fails holds back no other.

The store is the in-memory stand-in of test_monitor_worker.py, with a summary per group that answers, fails as a
store that is down fails (the window stays open), or fails as rows the client cannot read fail (the window closes,
so that the group's next violation is alerted instead of falling silent). The real store's half is in
tests/integration/test_monitor_robustness.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.metrics import PipelineMetrics
from services.policy.decide import Decider
from services.processors.monitor import MonitorWorker
from services.quarantine import QuarantineKey
from services.records import SourceRecord
from services.sink.writer import LineageWriter
from services.store.async_store import AsyncLineageStore
from services.topics import Topics
from tests.unit.processors.test_monitor_worker import TOPIC, MemoryProducer, MemoryStore

WINDOW = timedelta(minutes=5)
SECRET = "emp-summary-4711"


class SummarizingStore(MemoryStore):
    """Answers each group's summary as ``answers`` says, by actor: a row, or an exception to raise."""

    def __init__(self, answers: dict[str, tuple[Any, ...] | Exception]) -> None:
        super().__init__()
        self.answers = answers

    async def violation_summary(
        self, key: Sequence[str], after: datetime, until: datetime, sample_size: int
    ) -> tuple[Any, ...] | None:
        answer = self.answers[key[3]]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _leak(actor: str, offset: int) -> SourceRecord:
    document = {
        "spec": "rakuro.disclosure/v1",
        "event_id": f"5d7e6f0a-1b2c-4d3e-8f90-a1b2c3d4e5{offset:02x}",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "tenant_id": "kobe-logistics",
        "source_service": actor,
        "subject": {"type": "analyzed_account_holder", "id": SECRET},
        "purpose": "service_provision",
        "data": ["cookie.cookie_id", "log_information.ip_address"],
        "recipient": {"kind": "collection_module", "id": "google-analytics"},
    }
    return SourceRecord(TOPIC, 0, offset, orjson.dumps(document))


def test_a_failing_group_holds_back_no_other_and_only_an_unreadable_one_is_closed(
    engine: Any, key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    summary = (2, 2, ("5d7e6f0a-1b2c-4d3e-8f90-a1b2c3d4e500",), now, now, "critical", "Art. 6", "m", "2022-06-01")
    store = SummarizingStore(
        {
            "job-unreadable": ValueError(f"year 0 is out of range ({SECRET})"),
            "job-down": ConnectionError(f"store down ({SECRET})"),
            "job-fine": summary,
        }
    )
    producer = MemoryProducer()
    metrics = PipelineMetrics.create()
    worker = MonitorWorker(
        Decider(engine), key, QuarantineKey(bytes(32)), cast(AsyncLineageStore, store),
        LineageWriter(cast(AsyncLineageStore, store), metrics), cast(AIOKafkaProducer, producer), Topics("t."),
        metrics, WINDOW,
    )  # fmt: skip
    asyncio.run(worker.handle([_leak(actor, n) for n, actor in enumerate(("job-unreadable", "job-down", "job-fine"))]))
    (opened,) = set(worker.aggregator.open_windows().values())
    caplog.set_level(logging.DEBUG)

    alerts = asyncio.run(worker.summarize_closed_windows(opened + WINDOW))

    assert [(alert.key.actor, alert.status.value, alert.count) for alert in alerts] == [("job-fine", "repeated", 2)]
    assert {k.actor for k in worker.aggregator.open_windows()} == {"job-down", "job-fine"}
    assert worker.unsummarized == 2
    assert len(store.rows["alerts"]) == 4  # three new, one repeated: recorded
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("services")]
    assert len(messages) == 1  # one line for the pass, not one per group
    assert "ConnectionError x1" in messages[0]
    assert "ValueError x1" in messages[0]
    assert SECRET not in str(messages)
