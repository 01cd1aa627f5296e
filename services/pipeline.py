"""Assemble the running pipeline from settings: policy, key, store, faust processors and sink."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from functools import partial

import faust

from services.broker.admin import ensure_topics
from services.keys import load_keyring
from services.metrics import PipelineMetrics
from services.openlineage.client import build_client
from services.openlineage.layout import pipeline_layout
from services.openlineage.observer import LineageObserver
from services.openlineage.tally import PolicyTerms
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy
from services.processors.app import create_processor_app
from services.processors.lag import LagProbe, agents_by_topic
from services.processors.monitor import changelog_topics
from services.quarantine import load_quarantine_key
from services.settings import Settings
from services.sink.writer import LineageWriter
from services.stages.pipeline import CollectionContext
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore
from services.topics import Topics

log = logging.getLogger(__name__)


class Pipeline:
    """The collection processors and the lineage sink over one broker and one store."""

    def __init__(self, settings: Settings, metrics: PipelineMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or PipelineMetrics.create()
        self.topics = Topics(settings.topic_prefix)
        engine = PolicyEngine(load_policy(settings.policy))
        current = engine.policy.versions[-1].version
        self.metrics.policy_info.labels(engine.policy_id, current).set(1)
        self.keyring = load_keyring(settings)
        self.context = CollectionContext(
            engine=engine,
            key=self.keyring.current,
            kind_of_topic=self.topics.kind_of_collection_topic,
            max_event_bytes=settings.max_event_bytes,
            quarantine=load_quarantine_key(settings),
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
        )
        self.store: AsyncLineageStore | None = None
        self.app: faust.App | None = None
        self._lag_task: asyncio.Task[None] | None = None
        self.observer: LineageObserver | None = None

    async def start(self) -> None:
        """Create topics, open and migrate the store, start the faust agents."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        # Refused events stay, sealed, only on the dead-letter topic, and only for a short, documented while.
        retention_ms = str(int(settings.dead_letter_retention_h * 3_600_000))
        configs = {self.topics.dead_letter: {"retention.ms": retention_ms}}
        names = [*self.topics.all, *changelog_topics(settings)]
        create = partial(ensure_topics, settings.bootstrap, names, settings.topic_partitions, configs=configs)
        created = await loop.run_in_executor(None, create)
        if created:
            log.info("created %d topics", len(created))
        lineage_store = LineageStore(connect(settings), settings.clickhouse_database)
        applied = await loop.run_in_executor(None, lineage_store.migrate)
        if applied:
            log.info("applied migrations %s", ", ".join(applied))
        self.store = AsyncLineageStore(lineage_store)
        writer = LineageWriter(self.store, self.metrics)
        self.observer = self._lineage_observer()
        if self.observer is not None:
            await loop.run_in_executor(None, self.observer.start)
        decider = Decider(self.context.engine)
        self.app = create_processor_app(settings, self.context, writer, self.metrics, decider, self.observer)
        await self.app.start()
        self._lag_task = asyncio.create_task(self._measure_lag(), name="consumer-lag")

    def _lineage_observer(self) -> LineageObserver | None:
        """The OpenLineage observer of the settings' transport, or None when no transport is configured."""
        settings = self.settings
        api_key = settings.openlineage_api_key.get_secret_value() if settings.openlineage_api_key else None
        client = build_client(settings.openlineage_file, settings.openlineage_url, api_key)
        if client is None:
            return None
        layout = pipeline_layout(
            settings.openlineage_namespace,
            self.topics,
            settings.bootstrap,
            settings.clickhouse_url,
            settings.clickhouse_database,
        )
        return LineageObserver(client, layout, PolicyTerms.of(self.context.engine))

    async def _measure_lag(self) -> None:
        """Publish the consumer group's lag per topic as a gauge, every ``lag_interval_s``."""
        agents = agents_by_topic(self.topics)
        probe = LagProbe(self.settings.bootstrap, self.settings.app_id, list(agents))
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    lag = await loop.run_in_executor(None, probe.measure)
                except Exception as exc:  # noqa: BLE001 - a missed measurement must not stop the pipeline
                    log.warning("consumer lag not measured (%s)", type(exc).__name__)
                else:
                    for topic, messages in lag.items():
                        self.metrics.consumer_lag.labels(agents[topic], topic).set(messages)
                await asyncio.sleep(self.settings.lag_interval_s)
        finally:
            await loop.run_in_executor(None, probe.close)

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop consuming (committing what was processed), then close the store.

        A broker that is already gone can leave the consumer's shutdown waiting forever: past ``timeout_s``
        the stop goes on; uncommitted events are delivered again and the sink's idempotence absorbs them.
        """
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
            self._lag_task = None
        if self.app is not None:
            try:
                await asyncio.wait_for(self.app.stop(), timeout_s)
            except TimeoutError:
                log.warning(
                    "the processors did not stop within %.0f s; their last offsets may be re-delivered", timeout_s
                )
            self.app = None
        if self.observer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.observer.complete)
            self.observer = None
        if self.store is not None:
            self.store.close()
            self.store = None
