"""Assemble the running pipeline from settings: policy, key, store and the roles (collect, store, monitor).

Each role is its own consumer group consuming batches on :class:`BatchConsumer`, committed only once its output
is acknowledged. ``up`` runs all three in one process; ``run <role>`` runs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from services.broker.admin import TopicSpec, create_topics
from services.keys import load_keyring, load_partition_key
from services.metrics import PipelineMetrics
from services.openlineage.client import build_client
from services.openlineage.layout import pipeline_layout
from services.openlineage.observer import LineageObserver
from services.openlineage.tally import PolicyTerms
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy
from services.processors.batch_consumer import BatchConsumer, ConsumerConfig, ConsumerHealth
from services.processors.hot_path import collect_handler, store_handler
from services.processors.lag import LagProbe
from services.processors.monitor import MonitorWorker
from services.quarantine import load_quarantine_key
from services.settings import Settings
from services.sink.writer import LineageWriter
from services.stages.collection import CollectionContext
from services.store.async_store import AsyncLineageStore
from services.store.lineage_store import LineageStore
from services.tenants import TenantRegister
from services.topics import Topics

log = logging.getLogger(__name__)


class Role(StrEnum):
    COLLECT = "collect"
    STORE = "store"
    MONITOR = "monitor"


ALL_ROLES = frozenset(Role)


def consumer_group(settings: Settings, role: Role) -> str:
    """The consumer group of ``role``: every instance of one role shares it, each role has its own."""
    return f"{settings.app_id}-{role.value}"


def role_topics(topics: Topics, role: Role) -> list[str]:
    """The topics ``role`` consumes."""
    if role is Role.COLLECT:
        return topics.all_collection
    if role is Role.STORE:
        return [*topics.all_tagged, topics.dead_letter]
    return topics.all_activity


MESSAGE_GROWTH = 16
"""How many times its size a message the pipeline writes for one accepted event can be, at most.

A tagged record keeps at most the event's payload, and names every removed field (path, size, reason). A dead
letter seals the whole event (base64 of the AES-GCM ciphertext: 4/3) and lists every field of a payload that
parsed (path, size, disposition): about 60 bytes of inventory for a field that takes 6 or 7 (``"ab":0,``), more
when the path repeats a branch the policy names. Payloads made of nothing but such fields give dead letters of
8.6 (flat) to 11.4 (inside a named branch) times the event (tests/unit/test_message_limits.py replays them);
this bound keeps a margin over that. An alert is a few kilobytes whatever the event."""
MESSAGE_HEADROOM = 64 * 1024
"""What a message and its record batch carry besides what grows with the event: envelope metadata, reason
headers, key, record and batch framing."""


def max_message_bytes(max_event_bytes: int) -> int:
    """The largest message the pipeline can write for an event it accepts (``LINEAGE_MAX_EVENT_BYTES``): every
    topic takes it (``max.message.bytes``), so no batch is ever refused by the broker for an output's size.

    The input topics take it too: an event over the limit then reaches the pipeline and is dead-lettered as
    ``too_large`` (with nothing of it kept), instead of being refused at the emitter with no trace in the store.
    """
    return MESSAGE_GROWTH * max_event_bytes + MESSAGE_HEADROOM


def topic_plan(settings: Settings) -> list[TopicSpec]:
    """Every topic of the pipeline, laid out as the settings say: the one place topics are specified.

    Refused events stay, sealed, only on the dead-letter topic, and only for a short, documented while. The
    monitor keeps its state in the store (table monitor_state), not in changelog topics. Every topic takes the
    largest message the pipeline can write (:func:`max_message_bytes`): a broker's default (1 MiB) is less
    than a dead letter of an event near ``LINEAGE_MAX_EVENT_BYTES``.
    """
    topics = Topics(settings.topic_prefix)
    common: dict[str, str] = {}
    if settings.topic_min_insync_replicas is not None:
        common["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
    common["max.message.bytes"] = str(max_message_bytes(settings.max_event_bytes))
    retention = {"retention.ms": str(int(settings.dead_letter_retention_h * 3_600_000))}
    configs = {topics.dead_letter: {**common, **retention}}
    names = topics.all
    replicas = settings.topic_replication_factor
    return [TopicSpec(name, settings.topic_partitions, replicas, configs.get(name, common)) for name in names]


def _off_loop(function: Callable[[], None], name: str) -> asyncio.Future[None]:
    """Run ``function`` (blocking lineage I/O) on a daemon thread of its own; the future ends with it.

    Not the loop's executor: its threads are joined when the process ends, so an OpenLineage endpoint that
    answers slowly (a drip of bytes defeats per-read timeouts) held the stop past every deadline (fifth red-team
    pass: 97 s). A daemon thread is abandoned at exit; a lineage event lost that way is only a side channel's.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    def run() -> None:
        try:
            function()  # the observer counts and logs its own failures; it never raises
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                loop.call_soon_threadsafe(finished)

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


class Pipeline:
    """The collection processors and the lineage sink over one broker and one store."""

    def __init__(
        self, settings: Settings, metrics: PipelineMetrics | None = None, roles: frozenset[Role] = ALL_ROLES
    ) -> None:
        self.settings = settings
        self.roles = roles
        self.metrics = metrics or PipelineMetrics.create()
        self.topics = Topics(settings.topic_prefix)
        engine = PolicyEngine(load_policy(settings.policy))
        current = engine.policy.versions[-1].version
        self.metrics.policy_info.labels(engine.policy_id, current).set(1)
        self.keyring = load_keyring(settings)
        self.tenant_register = self._tenant_register()
        self.context = CollectionContext(
            engine=engine,
            key=self.keyring.current,
            partition_key=load_partition_key(settings),
            kind_of_topic=self.topics.kind_of_collection_topic,
            max_event_bytes=settings.max_event_bytes,
            quarantine=load_quarantine_key(settings),
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
            tenants=self.tenant_register.tenants if self.tenant_register is not None else None,
        )
        self.store: AsyncLineageStore | None = None
        self.consumers: dict[str, BatchConsumer] = {}  # by name: collect, store, monitor, monitor-2, ...
        self._producer: AIOKafkaProducer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.observer: LineageObserver | None = None
        self._broker: tuple[str, str | None] = ("ok", None)  # the last broker probe: state, and what is wrong

    async def start(self) -> None:
        """Create topics, open and migrate the store, start the faust agents."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        created = await loop.run_in_executor(None, create_topics, settings.bootstrap, topic_plan(settings))
        if created:
            log.info("created %d topics", len(created))
        writer: LineageWriter | None = None
        if self.roles != {Role.COLLECT}:  # collect alone touches no store; the API alone (no roles) reads it
            lineage_store = LineageStore.open(settings)
            applied = await loop.run_in_executor(None, lineage_store.migrate)
            if applied:
                log.info("applied migrations %s", ", ".join(applied))
            # Reads on a connection and a thread of their own (see AsyncLineageStore).
            self.store = AsyncLineageStore(lineage_store, reader=LineageStore.open_reader(settings))
            writer = LineageWriter(self.store, self.metrics)
        self.observer = self._lineage_observer()
        if self.observer is not None:  # START is sent in the background: consumers never wait for the backend
            _off_loop(self.observer.start, "openlineage-start")
        if self.roles & {Role.COLLECT, Role.MONITOR}:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=settings.bootstrap,
                client_id=f"{settings.app_id}-producer",
                acks="all",
                linger_ms=5,
                max_batch_size=1_048_576,
                max_request_size=max_message_bytes(settings.max_event_bytes),
            )
            await self._producer.start()
        if Role.COLLECT in self.roles:
            assert self._producer is not None
            handle = collect_handler(
                self.context, self._producer, self.topics, self.metrics, self.observer, self.tenant_register
            )
            self.consumers["collect"] = BatchConsumer(
                "collect", self._consumer_config(Role.COLLECT, settings.batch_size, settings.batch_window_s), handle
            )
        if Role.STORE in self.roles:
            assert writer is not None
            assert self.store is not None
            config = self._consumer_config(Role.STORE, settings.sink_batch_size, settings.sink_batch_window_s)
            self.consumers["store"] = BatchConsumer(
                "store",
                config,
                store_handler(writer, self.topics, self.metrics, self.keyring.seal_digest, self.observer),
            )
        if Role.MONITOR in self.roles:
            assert writer is not None
            assert self.store is not None
            assert self._producer is not None
            decider = Decider(self.context.engine)
            config = self._consumer_config(Role.MONITOR, settings.batch_size, settings.monitor_batch_window_s)
            interval = min(settings.alert_window_s, 5.0)
            for number in range(1, settings.monitor_consumers + 1):  # members of one group, each with its state
                worker = MonitorWorker(
                    decider,
                    self.context.key,
                    self.context.quarantine,
                    self.store,
                    writer,
                    self._producer,
                    self.topics,
                    self.metrics,
                    timedelta(seconds=settings.alert_window_s),
                    self.observer,
                    max_event_bytes=settings.max_event_bytes,
                    max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
                    state_keys_held=settings.monitor_state_keys,
                    state_bytes_held=settings.monitor_state_bytes,
                    alert_groups_per_tenant=settings.alert_groups_per_tenant,
                    alert_groups=settings.alert_groups,
                    retired_keys=self.keyring.retired,
                    tenant_register=self.tenant_register,
                )
                name = "monitor" if number == 1 else f"monitor-{number}"
                self.consumers[name] = BatchConsumer(name, config, worker.handle, worker.forget)
                self._tasks.append(asyncio.create_task(worker.close_alert_windows(interval), name=f"{name}-alerts"))
        # Each joins its own group: a join on Tansu takes ~5 s, so together.
        await asyncio.gather(*(consumer.start() for consumer in self.consumers.values()))
        self._tasks.append(asyncio.create_task(self._measure_lag(), name="consumer-lag"))
        if self.observer is not None:
            self._tasks.append(asyncio.create_task(self._flush_lineage(self.observer), name="openlineage-flush"))

    def _tenant_register(self) -> TenantRegister | None:
        """The tenant register the settings name, read now (an unreadable one stops the start), or None; only
        the roles that read events sent by services (collect, monitor) use it."""
        path = self.settings.tenant_register
        if path is None or not self.roles & {Role.COLLECT, Role.MONITOR}:
            return None
        failures = self.metrics.tenant_register_failures
        register = TenantRegister(path, self.settings.tenant_register_check_s, on_failure=failures.inc)
        self.metrics.tenant_register_tenants.set_function(lambda: len(register.tenants))
        log.info("tenant register: %d tenants", len(register.tenants))
        return register

    def _consumer_config(self, role: Role, batch_size: int, window_s: float) -> ConsumerConfig:
        settings = self.settings
        return ConsumerConfig(
            bootstrap=settings.bootstrap,
            group_id=consumer_group(settings, role),
            topics=role_topics(self.topics, role),
            batch_size=batch_size,
            batch_window_s=window_s,
            session_timeout_s=settings.consumer_session_timeout_s,
            rebalance_timeout_s=settings.consumer_rebalance_timeout_s,
            max_message_bytes=max_message_bytes(settings.max_event_bytes),
        )

    async def failure(self) -> str:
        """Wait until a role's consumer stops consuming on its own; say which and why."""
        if not self.consumers:
            await asyncio.Event().wait()  # the API alone: nothing to fail
        waits = {asyncio.create_task(consumer.died.wait()): name for name, consumer in self.consumers.items()}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        name = waits[next(iter(done))]
        return f"the {name} consumer stopped consuming ({self.consumers[name].death})"

    def health(self) -> list[ConsumerHealth]:
        """Each consumer's health now: whether it consumes and commits (what /healthz reports)."""
        now = time.monotonic()
        return [consumer.health(now, self.settings.unhealthy_after_s) for consumer in self.consumers.values()]

    def health_report(self) -> dict[str, dict[str, Any]]:
        """The roles' health as /healthz shows it: consumer name -> state, and the broker as the lag probe saw it."""
        report = {health.name: health.document() for health in self.health()}
        if self.consumers:
            state, reason = self._broker
            report["broker"] = {"state": state, "healthy": reason is None, "reason": reason}
        return report

    def _broker_seen(self, state: str, reason: str | None) -> None:
        """Record what the last probe of the broker found; log each change once, not each probe."""
        if state != self._broker[0]:
            if reason is None:
                log.info("the broker answers again with every topic")
            else:
                log.error("%s", reason)
        self._broker = (state, reason)

    def assignment(self) -> set[TopicPartition]:
        """The partitions every role of this process owns right now."""
        return {tp for consumer in self.consumers.values() for tp in consumer.assignment()}

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
        agents = {topic: role.value for role in self.roles for topic in role_topics(self.topics, role)}
        groups = {consumer_group(self.settings, role): role_topics(self.topics, role) for role in self.roles}
        probe = LagProbe(self.settings.bootstrap, groups)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    lag = await loop.run_in_executor(None, probe.measure)
                except Exception as exc:  # noqa: BLE001 - a missed measurement must not stop the pipeline
                    self._broker_seen(
                        "unreachable",
                        f"the broker does not answer ({type(exc).__name__}); consumption resumes by itself once "
                        "it is back",
                    )
                else:
                    for topic, messages in lag.items():
                        self.metrics.consumer_lag.labels(agents[topic], topic).set(messages)
                    missing = probe.missing or []
                    if missing:
                        self._broker_seen(
                            "topics_missing",
                            f"{len(missing)} of the {len(agents)} topics this process reads are gone from the "
                            "broker (a broker that restarted empty loses them): restart this process, which "
                            "creates them",
                        )
                    else:
                        self._broker_seen("ok", None)
                await asyncio.sleep(self.settings.lag_interval_s)
        finally:
            await loop.run_in_executor(None, probe.close)

    async def _flush_lineage(self, observer: LineageObserver) -> None:
        """Forever: hand what every role reported to the OpenLineage transport (file or HTTP: off the loop)."""
        while True:
            await asyncio.sleep(self.settings.openlineage_interval_s)
            await _off_loop(observer.flush, "openlineage-flush")

    @staticmethod
    async def _bounded(stopping: Coroutine[Any, Any, None], deadline: float, what: str) -> None:
        """Run one part's stop until ``deadline``; whatever it ends in, the stop of the other parts goes on."""
        try:
            await asyncio.wait_for(stopping, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            log.warning("the %s did not stop in time; its last offsets may be re-delivered", what)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this stop itself is cancelled
            # aiokafka's consumer re-raises the cancellation of its own fetch task when the broker is gone.
            log.warning("the %s's stop ended cancelled (a lost broker); its last offsets may be re-delivered", what)
        except Exception as exc:  # noqa: BLE001 - one part failing to stop must not keep the others running
            log.warning("the %s's stop failed (%s); its last offsets may be re-delivered", what, type(exc).__name__)

    async def stop(self, timeout_s: float | None = None) -> None:
        """Stop consuming (committing what was processed), then close the store; all within ``timeout_s``
        (default ``LINEAGE_STOP_TIMEOUT_S``), however many parts there are to stop.

        A broker that is already gone can leave the consumer's shutdown waiting forever: past the deadline the
        stop goes on; uncommitted events are delivered again and the sink's idempotence absorbs them.
        """
        deadline = time.monotonic() + (self.settings.stop_timeout_s if timeout_s is None else timeout_s)
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # the lag probe closes its client on the way out, which a lost broker can hold up
            await asyncio.wait(self._tasks, timeout=max(0.0, deadline - time.monotonic()))
        self._tasks = []
        # Upstream first: what collect published while store stops is read again by the next store.
        for name in sorted(
            self.consumers, key=lambda n: ("collect", "store").index(n) if n in ("collect", "store") else 2
        ):
            await self._bounded(self.consumers[name].stop(), deadline, name)
        self.consumers = {}
        if self._producer is not None:
            await self._bounded(self._producer.stop(), deadline, "producer")
            self._producer = None
        if self.observer is not None:  # COMPLETE, within the stop's deadline (LINEAGE_STOP_TIMEOUT_S)
            completing = _off_loop(self.observer.complete, "openlineage-complete")
            try:
                await asyncio.wait_for(completing, max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("the OpenLineage COMPLETE events were not sent in time; stopping without them")
            self.observer = None
        if self.store is not None:
            self.store.close()
            self.store = None
