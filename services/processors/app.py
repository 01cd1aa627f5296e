"""The faust app: the purpose monitor (its tables and changelogs are where faust pays) and lineage flushing.

Collection and storage run on :mod:`services.processors.batch_consumer` instead: batches straight from
aiokafka, without faust's per-event stream machinery, committed only once their output is acknowledged.
"""

from __future__ import annotations

import asyncio

import faust

from services.metrics import PipelineMetrics
from services.openlineage.observer import LineageObserver
from services.policy.decide import Decider
from services.processors.monitor import add_monitor_agent
from services.pseudonymize import PseudonymKey
from services.quarantine import QuarantineKey
from services.settings import Settings
from services.sink.writer import LineageWriter


def create_processor_app(
    settings: Settings,
    key: PseudonymKey,
    quarantine: QuarantineKey,
    writer: LineageWriter,
    metrics: PipelineMetrics,
    decider: Decider,
    observer: LineageObserver | None = None,
) -> faust.App:
    """Build (not start) the monitor's faust app for ``settings``; nothing runs until ``await app.start()``.

    With an ``observer``, a timer flushes what every role reported as OpenLineage events.
    """
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,  # the stack creates its topics explicitly, with the right partition count
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        broker_session_timeout=settings.consumer_session_timeout_s,
        broker_rebalance_timeout=settings.consumer_rebalance_timeout_s,
        broker_heartbeat_interval=settings.consumer_session_timeout_s / 5,
        producer_acks=-1,
        producer_max_batch_size=1_048_576,
        producer_linger=0.005,
        stream_wait_empty=False,
    )
    add_monitor_agent(app, settings, decider, key, quarantine, writer, metrics, observer)
    if observer is not None:

        async def flush_lineage_events() -> None:
            await asyncio.to_thread(observer.flush)  # file or HTTP I/O: off the event loop

        app.timer(interval=settings.openlineage_interval_s, name="openlineage-flush")(flush_lineage_events)
    return app
