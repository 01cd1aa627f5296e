"""The monitor on the real store and broker: no event, and no row already stored, holds back the others.

- An activity event over LINEAGE_MAX_EVENT_BYTES is dead-lettered as ``too_large`` (nothing of it kept); the
  rest of its batch is decided.
- One alert group whose stored violations the client cannot read (a time before year 1 in UTC, stored as year
  0000) does not stop the summaries of the other groups, and its window closes, so its next violation is alerted.
- A subject's Art. 8 trace answers every row, whatever time it was stored with.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from services.broker.admin import create_topics
from services.metrics import PipelineMetrics
from services.monitor.rows import ACTIVITY_COLUMNS, VIOLATION_COLUMNS
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy
from services.processors.monitor import MonitorWorker
from services.pseudonymize import PseudonymKey, PseudonymKeyring
from services.quarantine import QuarantineKey
from services.records import SourceRecord
from services.roles import topic_plan
from services.settings import Settings
from services.sink.writer import LineageWriter
from services.store.async_store import AsyncLineageStore
from services.store.trace import trace
from services.topics import Topics

TENANT = "kobe-logistics"
KEY = PseudonymKey(b"integration-monitor-robustness-key")
WINDOW = timedelta(minutes=5)
BEFORE_YEAR_ONE = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))  # 0000-12-31T10:00Z
AFTER_9999 = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))  # 10000-01-01T13:00Z


def _leak(actor: str, subject: str, **extra: Any) -> dict[str, Any]:
    """A disclosure of identifiable data to a collection module: a violation of the group of ``actor``."""
    return {
        "spec": "rakuro.disclosure/v1",
        "event_id": str(uuid.uuid4()),
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "tenant_id": TENANT,
        "source_service": actor,
        "subject": {"type": "analyzed_account_holder", "id": subject},
        "purpose": "service_provision",
        "data": ["cookie.cookie_id", "log_information.ip_address"],
        "recipient": {"kind": "collection_module", "id": "google-analytics"},
        **extra,
    }


async def _records(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message on ``topic``, read without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()


class Monitor:
    """A real MonitorWorker over the test's store and broker, fed batches as its consumer would feed them."""

    def __init__(self, settings: Settings, store: AsyncLineageStore, producer: AIOKafkaProducer, **options: Any):
        self.topics = Topics(settings.topic_prefix)
        self.store = store
        self.offset = 0
        metrics = PipelineMetrics.create()
        self.worker = MonitorWorker(
            Decider(PolicyEngine(load_policy(settings.policy))), KEY, QuarantineKey(bytes(range(32))), store,
            LineageWriter(store, metrics), producer, self.topics, metrics, WINDOW, **options,
        )  # fmt: skip

    async def handle(self, *values: bytes) -> list[int]:
        """Hand the values over as one batch; their offsets."""
        batch = [SourceRecord(self.topics.activity, 0, self.offset + i, value) for i, value in enumerate(values)]
        self.offset += len(values)
        await self.worker.handle(batch)
        return [record.offset for record in batch]


def _with_monitor(settings: Settings, store: AsyncLineageStore, scenario: Any, **options: Any) -> Any:
    create_topics(settings.bootstrap, topic_plan(settings))  # as `init` creates them, max.message.bytes included

    async def run() -> Any:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
        await producer.start()
        try:
            return await scenario(Monitor(settings, store, producer, **options))
        finally:
            await producer.stop()

    return asyncio.run(run())


def test_an_oversized_activity_event_is_dead_lettered_as_too_large_and_the_rest_decided(
    settings: Settings, store: AsyncLineageStore
) -> None:
    limit = 4096
    small = [orjson.dumps(_leak("job-a", f"emp-{n}")) for n in range(3)]
    large = orjson.dumps(_leak("job-a", "emp-large", padding="A" * limit))

    async def scenario(monitor: Monitor) -> list[int]:
        return await monitor.handle(small[0], large, *small[1:])

    offsets = _with_monitor(settings, store, scenario, max_event_bytes=limit)

    decided = {row[0] for row in store.store.query("SELECT source_offset FROM activity_decisions").rows}
    letters = asyncio.run(_records(settings.bootstrap, Topics(settings.topic_prefix).dead_letter))
    assert len(letters) == 1
    headers = {name: value.decode() for name, value in letters[0].headers}
    assert headers["lineage.errors.exception.class.name"] == "too_large"
    assert headers["lineage.errors.exception.message"] == f"{len(large)} bytes exceeds the limit of {limit}"
    assert "quarantine" not in orjson.loads(letters[0].value or b"{}")  # nothing of it is kept, not even sealed
    dead = {int(headers["lineage.errors.offset"])}
    assert decided == {offsets[0], *offsets[2:]}
    assert decided | dead == set(offsets)  # nothing lost


def test_a_group_whose_stored_violations_cannot_be_read_holds_back_no_other_summary(
    settings: Settings, store: AsyncLineageStore
) -> None:
    async def scenario(monitor: Monitor) -> tuple[list[Any], int, set[str]]:
        await monitor.handle(orjson.dumps(_leak("job-a", "emp-1")), orjson.dumps(_leak("job-b", "emp-1")))
        await monitor.handle(orjson.dumps(_leak("job-b", "emp-2")))  # counted in job-b's window
        # A violation of job-a's group already stored with a time the client cannot convert back.
        (stored,) = store.store.query(
            f"SELECT {', '.join(VIOLATION_COLUMNS)} FROM violations WHERE actor = 'job-a'"
        ).rows  # fmt: skip
        poisoned = dict(zip(VIOLATION_COLUMNS, stored, strict=True))
        start = monitor.worker.aggregator.open_windows()
        (opened,) = set(start.values())
        poisoned.update(event_id=uuid.uuid4(), occurred_at=BEFORE_YEAR_ONE, decided_at=opened + timedelta(seconds=1))
        store.store.insert_rows("violations", VIOLATION_COLUMNS, [tuple(poisoned.values())])

        summaries = await monitor.worker.summarize_closed_windows(opened + WINDOW + timedelta(seconds=2))
        still_open = {key.actor for key in monitor.worker.aggregator.open_windows()}
        await monitor.handle(orjson.dumps(_leak("job-a", "emp-3")))  # job-a's next violation
        return summaries, monitor.worker.unsummarized, still_open

    summaries, unsummarized, still_open = _with_monitor(settings, store, scenario)

    by_actor = {alert.key.actor: (alert.status.value, alert.count) for alert in summaries}
    assert by_actor["job-b"] == ("repeated", 1)  # whatever became of job-a's summary
    if "job-a" in by_actor:  # a store that reads the time back (clamped): job-a is summarized like any group
        expected = [("job-a", "new"), ("job-a", "repeated"), ("job-b", "new"), ("job-b", "repeated")]
        assert (by_actor["job-a"], unsummarized, still_open) == (("repeated", 1), 0, {"job-a", "job-b"})
    else:  # it cannot: job-a's window is closed without a summary and counted, so its next violation is alerted
        expected = [("job-a", "new"), ("job-a", "new"), ("job-b", "new"), ("job-b", "repeated")]
        assert (unsummarized, still_open) == (1, {"job-b"})
    published = [
        orjson.loads(record.value or b"{}")
        for record in asyncio.run(_records(settings.bootstrap, Topics(settings.topic_prefix).violations))
    ]
    assert sorted((a["actor"], a["status"]) for a in published) == expected
    recorded = store.store.query("SELECT actor, status FROM alerts FINAL").rows
    assert sorted(tuple(row) for row in recorded) == expected  # every alert recorded: windows survive a restart


def test_a_trace_answers_every_row_whatever_time_it_was_stored_with(store: AsyncLineageStore) -> None:
    keyring = PseudonymKeyring(KEY)
    (pseudonym,) = keyring.pseudonyms(TENANT, "emp-traced").values()
    normal = datetime(2026, 11, 27, 1, 2, 3, 456000, tzinfo=UTC)
    rows = [
        (
            uuid.UUID(int=offset + 1), "use", TENANT, "attendance-web", pseudonym, "service_provision", ["cookie"],
            "controller", "rakuro", True, "published_purpose_of_use", "2022-06-01", [], moment,
            datetime.now(UTC), "activity.v1", 0, offset,
        )
        for offset, moment in enumerate([normal, BEFORE_YEAR_ONE, AFTER_9999])
    ]  # fmt: skip
    store.store.insert_rows("activity_decisions", ACTIVITY_COLUMNS, rows)

    traced = trace(store.store, keyring, TENANT, "emp-traced")

    times = {row["event_id"]: row["occurred_at"] for row in traced["uses_and_disclosures"]}
    assert len(times) == 3
    assert times[str(uuid.UUID(int=1))] == normal.replace(tzinfo=None)  # as the client reads a time
    assert times[str(uuid.UUID(int=2))] == "0000-12-31T10:00:00.000"  # the store's own text
    assert isinstance(times[str(uuid.UUID(int=3))], datetime | str)


def test_a_use_sent_again_under_its_id_with_other_content_is_dead_lettered_not_redecided(
    settings: Settings, store: AsyncLineageStore
) -> None:
    """Fifth red-team pass: the second decision replaced the first in activity_decisions (the reports and the
    dashboard then counted the denied use as allowed, while the violation stayed)."""
    denied = _leak("job-a", "emp-1")
    rewritten = {**denied, "recipient": {"kind": "consignee", "id": "sakura-payroll"}, "data": ["cookie.cookie_id"]}

    async def scenario(monitor: Monitor) -> list[int]:
        offsets = await monitor.handle(orjson.dumps(denied))
        offsets += await monitor.handle(orjson.dumps(denied))  # the same event again: decided again, no conflict
        return offsets + await monitor.handle(orjson.dumps(rewritten))

    offsets = _with_monitor(settings, store, scenario)

    decisions = store.store.query(
        "SELECT allowed, source_offset FROM activity_decisions FINAL WHERE event_id = {id:UUID}",
        {"id": denied["event_id"]},
    ).rows
    assert decisions == [[False, offsets[1]]]
    letters = asyncio.run(_records(settings.bootstrap, Topics(settings.topic_prefix).dead_letter))
    assert [
        {n: v.decode() for n, v in letter.headers}["lineage.errors.exception.class.name"] for letter in letters
    ] == ["event_id_conflict"]
    assert int({n: v.decode() for n, v in letters[0].headers}["lineage.errors.offset"]) == offsets[2]


def test_a_consent_under_another_events_id_is_dead_lettered_before_it_changes_the_state(
    settings: Settings, store: AsyncLineageStore
) -> None:
    """A consent or rights event's identity was checked only within its own key's timeline: a grant under the
    id of another key's grant went through, and the disclosure it named was allowed (an Art. 4.2 record
    claiming consent). Every activity event's identity is now checked before the state is touched."""
    from tests.unit.monitor.test_evaluate import RECORD, THIRD_PARTY, H, disclosure, event

    grant = event("consent", at=H("09"), action="grant", consent_reference="cons-1", recipient_id=THIRD_PARTY["id"])
    forged = {**grant, "consent_reference": "cons-2"}  # the first grant's id, another consent's timeline
    provide = disclosure(
        THIRD_PARTY, ["user_information.name"], at=H("10"), legal_basis="consent", consent_reference="cons-2", **RECORD
    )

    async def scenario(monitor: Monitor) -> list[int]:
        offsets = await monitor.handle(orjson.dumps(grant))
        return offsets + await monitor.handle(orjson.dumps(forged), orjson.dumps(provide))

    offsets = _with_monitor(settings, store, scenario)

    decided = store.store.query(
        "SELECT allowed FROM activity_decisions FINAL WHERE event_id = {id:UUID}", {"id": provide["event_id"]}
    ).rows
    assert decided == [[False]]
    letters = asyncio.run(_records(settings.bootstrap, Topics(settings.topic_prefix).dead_letter))
    headers = [{n: v.decode() for n, v in letter.headers} for letter in letters]
    assert [(h["lineage.errors.exception.class.name"], int(h["lineage.errors.offset"])) for h in headers] == [
        ("event_id_conflict", offsets[1])
    ]
    claims = store.store.query(
        "SELECT count() FROM event_identity WHERE event_id = {id:UUID}", {"id": grant["event_id"]}
    ).rows
    assert claims == [[1]]


def test_a_trace_answers_the_subjects_consents_rights_requests_and_provision_records(
    settings: Settings, store: AsyncLineageStore
) -> None:
    """Sixth red-team pass: the Art. 8 trace answered collections and decisions only; the person's consents and
    rights requests (monitor_state) and the Art. 4.2 records of provisions of their data were left out."""
    from tests.unit.monitor.test_evaluate import RECORD, THIRD_PARTY, disclosure, event

    H = "2026-11-27T{}:00:00+09:00".format  # within the three years provision records are kept

    subject = {"type": "analyzed_account_holder", "id": "emp-00077"}
    grant = event("consent", at=H("09"), subject=subject, action="grant", consent_reference="cons-7",
                  recipient_id=THIRD_PARTY["id"])  # fmt: skip
    suspend = event("rights", at=H("10"), subject=subject, request="suspension_of_use")
    lift = event("rights", at=H("11"), subject=subject, request="suspension_of_use", lifted=True)
    provide = disclosure(THIRD_PARTY, ["user_information.name"], at=H("12"), subject=subject, legal_basis="consent",
                         consent_reference="cons-7", **RECORD)  # fmt: skip
    someone_else = event("consent", at=H("09"), action="grant", consent_reference="cons-8", recipient_id="x-corp")

    async def scenario(monitor: Monitor) -> None:
        await monitor.handle(*(orjson.dumps(d) for d in (grant, suspend, someone_else)))
        await monitor.handle(orjson.dumps(lift), orjson.dumps(provide))

    _with_monitor(settings, store, scenario)
    traced = trace(store.store, PseudonymKeyring(KEY), grant["tenant_id"], subject["id"])

    assert [(c["consent_reference"], c["action"], c["event_id"]) for c in traced["consents"]] == [
        ("cons-7", "grant", grant["event_id"])
    ]
    assert [(r["request"], r["lifted"]) for r in traced["rights_requests"]] == [
        ("suspension_of_use", False),
        ("suspension_of_use", True),
    ]
    (record,) = traced["provisions"]
    assert (record["event_id"], record["recipient_name"], record["consent_reference"]) == (
        provide["event_id"],
        RECORD["recipient_name"],
        "cons-7",
    )


def test_a_trace_says_where_a_consents_cut_timeline_begins(settings: Settings, store: AsyncLineageStore) -> None:
    """Twentieth red-team pass: a consent's timeline cut to its bounds was traced as if it had begun with its oldest
    kept change. The newest change the cut removed (its floor) is traced, marked: nothing before it is known."""
    from tests.unit.monitor.test_evaluate import CONSENT, WIDE, _at, event

    subject = {"type": "analyzed_account_holder", "id": "emp-00078"}
    changes = [
        event("consent", at=_at(60 * n), subject=subject, action="grant" if n % 2 else "withdraw", purposes=WIDE,
              **CONSENT)
        for n in range(40)
    ]  # fmt: skip

    async def scenario(monitor: Monitor) -> None:
        await monitor.handle(*(orjson.dumps(d) for d in changes))

    _with_monitor(settings, store, scenario)
    traced = trace(store.store, PseudonymKeyring(KEY), changes[0]["tenant_id"], subject["id"])

    listed = traced["consents"]
    assert 2 < len(listed) < 40
    assert [c["event_id"] for c in listed] == [d["event_id"] for d in changes[-len(listed) :]]
    assert listed[0]["older_not_kept"] is True
    assert not any(c.get("older_not_kept") for c in listed[1:])
    assert subject["id"] not in str(traced)
