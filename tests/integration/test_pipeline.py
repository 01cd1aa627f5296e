"""The whole collection path on a real broker and a real ClickHouse engine."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.events import SPEC, CollectionKind, Subject, SubjectType
from services.emitter.client import Emitter
from services.replay import account, produce_lines
from services.settings import Settings
from services.stages.messages import DEAD_LETTER_HEADER_PREFIX
from tests.integration.harness import PipelineHarness

RAW_IDS = ["taro.yamada@kobe-logistics.example", "hanako.sato-0042", "emp-9999-secret"]


def _event(kind: str, subject_id: str, payload: dict[str, object], **overrides: object) -> dict[str, object]:
    document: dict[str, object] = {
        "spec": SPEC,
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "kind_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "tenant_id": "kobe-logistics",
        "source_service": "attendance-web",
        "subject": {"type": "analyzed_account_holder", "id": subject_id},
        "payload": payload,
    }
    document.update(overrides)
    return document


def _good_lines(count: int) -> list[bytes]:
    lines = []
    for number in range(count):
        subject = RAW_IDS[number % len(RAW_IDS)]
        if number % 2:
            payload: dict[str, object] = {"terminal_id": f"pc-{number:04d}", "terminal_type": "pc", "os": "Windows 11"}
            lines.append(orjson.dumps(_event("terminal", subject, payload)))
        else:
            payload = {
                "ip_address": "192.0.2.10",
                "requested_at": datetime.now(UTC).isoformat(),
                "operation": "clock_in",
                "email_subject": "Re: 残業申請",
            }
            lines.append(orjson.dumps(_event("access_log", subject, payload)))
    return lines


BAD_LINES = [
    b"{not json at all",
    b"\xff\xfe not utf-8",
    b"[1, 2, 3]",
    orjson.dumps(_event("terminal", RAW_IDS[0], {"terminal_id": "pc-1"})),  # terminal_type missing
    orjson.dumps(_event("access_log", RAW_IDS[1], {"ip_address": "192.0.2.1"}, kind_version=9)),
    orjson.dumps(
        _event(
            "terminal",
            RAW_IDS[2],
            {"terminal_id": "pc-2", "terminal_type": "pc"},
            occurred_at=(datetime(2017, 1, 1, tzinfo=UTC)).isoformat(),
        )
    ),
]


def _replay(pipeline: PipelineHarness, settings: Settings, lines: list[bytes], tmp_path: Path) -> dict[str, int]:
    file = tmp_path / "events.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")
    with (
        Emitter(settings.bootstrap, source_service="test", topics=pipeline.pipeline.topics) as emitter,
        file.open("rb") as handle,
    ):
        produced = produce_lines(emitter, handle, default_kind=CollectionKind.ACCESS_LOG)
    report = account(pipeline, produced, timeout_s=90)
    assert report.unaccounted == [], f"lines never accounted for: {report.unaccounted}"
    return {"produced": report.produced, "lineage": report.in_lineage, "dead": report.dead_lettered}


def test_good_and_malformed_events_all_end_in_lineage_or_dead_letters(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    counts = _replay(pipeline, settings, _good_lines(40) + BAD_LINES, tmp_path)

    assert counts == {"produced": 46, "lineage": 40, "dead": 6}
    reasons = dict(
        (row[0], row[1])
        for row in pipeline.query("SELECT reason, count() FROM dead_letters FINAL GROUP BY reason").rows
    )
    assert reasons == {
        "malformed_json": 1,
        "invalid_utf8": 1,
        "not_an_object": 1,
        "schema_invalid": 1,
        "unsupported_version": 1,
        "no_policy_in_force": 1,
    }


def test_lineage_rows_carry_purposes_policy_version_and_removal_evidence(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    _replay(pipeline, settings, _good_lines(10), tmp_path)

    rows = pipeline.query(
        "SELECT kind, purposes, legal_bases, policy_version, fields_kept, removed_paths, data_categories, data_items "
        "FROM collection_lineage FINAL ORDER BY kind"
    ).rows
    assert len(rows) == 10
    by_kind = {row[0]: row for row in rows}
    access, terminal = by_kind["access_log"], by_kind["terminal"]
    assert access[1] == ["service_provision"]
    assert access[2] == ["published_purpose_of_use"]
    assert access[3] == "2022-06-01"
    assert access[4] == ["ip_address", "operation", "requested_at"]
    assert access[5] == ["payload.email_subject"]
    assert access[6] == ["log_information"]
    assert access[7] == [
        "log_information.ip_address",
        "log_information.operation_history",
        "log_information.requested_at",
    ]
    assert terminal[4] == ["terminal_id", "terminal_type"]
    assert terminal[5] == ["payload.os"]


def test_typed_emitter_events_reach_lineage(pipeline: PipelineHarness, settings: Settings) -> None:
    subject = Subject(type=SubjectType.PERSON_IN_CHARGE, id=RAW_IDS[0])
    ids = [uuid.uuid4() for _ in range(3)]
    with Emitter(settings.bootstrap, source_service="attendance-web", topics=pipeline.pipeline.topics) as emitter:
        emitter.terminal(
            tenant_id="naha-clinic", subject=subject, terminal_id="mb-01", terminal_type="mobile", event_id=ids[0]
        )
        emitter.access_log(
            tenant_id="naha-clinic",
            subject=subject,
            ip_address="2001:db8::1",
            operation="clock_out",
            requested_at=datetime.now(UTC) - timedelta(seconds=1),
            screen="timesheet",
            event_id=ids[1],
        )
        emitter.access_log(
            tenant_id="naha-clinic",
            subject=subject,
            ip_address="192.0.2.7",
            operation="clock_in",
            requested_at=datetime.now(UTC),
            event_id=ids[2],
        )
    wanted = {str(i) for i in ids}
    found: set[str] = set()
    for _ in range(300):
        found = {
            row[0]
            for row in pipeline.query(
                "SELECT toString(event_id) FROM collection_lineage WHERE event_id IN {ids:Array(UUID)}",
                {"ids": sorted(wanted)},
            ).rows
        }
        if found == wanted:
            break
        time.sleep(0.2)
    assert found == wanted
    subjects = pipeline.query("SELECT DISTINCT subject_pseudonym, subject_type FROM collection_lineage").rows
    assert len(subjects) == 1
    assert subjects[0][1] == "person_in_charge"


async def read_all(bootstrap: str, topics: list[str]) -> list[bytes]:
    """Every message on ``topics`` (key, value and headers as bytes), read without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        blobs: list[bytes] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    blobs.append(record.key or b"")
                    blobs.append(record.value or b"")
                    blobs.extend(value for _, value in record.headers)
        return blobs
    finally:
        await consumer.stop()


def test_no_raw_subject_identifier_reaches_clickhouse_or_tagged_topics(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    _replay(pipeline, settings, _good_lines(30) + BAD_LINES, tmp_path)

    stored: list[str] = []
    for (table,) in pipeline.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows:
        stored.extend(str(row) for row in pipeline.query(f"SELECT * FROM {table}").rows)
    tagged = asyncio.run(read_all(settings.bootstrap, pipeline.pipeline.topics.all_tagged))

    assert stored, "the check must have stored rows to look at"
    assert tagged, "the check must have tagged messages to look at"
    for raw in RAW_IDS:
        assert not any(raw in text for text in stored), f"raw subject id found in ClickHouse: {raw}"
        assert not any(raw.encode() in blob for blob in tagged), f"raw subject id found on a tagged topic: {raw}"
    assert not any("残業申請" in text for text in stored)
    assert not any("残業申請".encode() in blob for blob in tagged)


def test_dead_letter_topic_carries_reason_headers(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    _replay(pipeline, settings, BAD_LINES[:2], tmp_path)

    async def headers() -> list[dict[str, bytes]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partition = TopicPartition(pipeline.pipeline.topics.dead_letter, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            batch = await consumer.getmany(partition, timeout_ms=5000)
            return [dict(record.headers) for record in batch.get(partition, [])]
        finally:
            await consumer.stop()

    found = asyncio.run(headers())
    assert len(found) == 2
    reasons = sorted(h[DEAD_LETTER_HEADER_PREFIX + "exception.class.name"] for h in found)
    assert reasons == [b"invalid_utf8", b"malformed_json"]
    for h in found:
        assert h[DEAD_LETTER_HEADER_PREFIX + "stage"] == b"ingest"
        assert h[DEAD_LETTER_HEADER_PREFIX + "topic"].decode().endswith("collection.access_log.v1")
        assert h[DEAD_LETTER_HEADER_PREFIX + "offset"].isdigit()


def test_a_batch_spanning_every_month_since_the_policy_began_is_stored(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    # The lineage table is partitioned by month: one insert over more than 100 months used to fail forever.
    first = datetime(2018, 7, 15, tzinfo=UTC)
    months = (datetime.now(UTC).year - 2018) * 12 + datetime.now(UTC).month - 7
    lines = [
        orjson.dumps(
            _event(
                "terminal",
                RAW_IDS[month % len(RAW_IDS)],
                {"terminal_id": f"pc-{month:04d}", "terminal_type": "pc"},
                occurred_at=(first + timedelta(days=30.44 * month)).isoformat(),
            )
        )
        for month in range(months)
    ]
    assert months > 100

    counts = _replay(pipeline, settings, lines, tmp_path)

    assert counts == {"produced": months, "lineage": months, "dead": 0}
    (spread,) = pipeline.query("SELECT uniqExact(toYYYYMM(occurred_at)) FROM collection_lineage").rows
    assert spread[0] > 100
