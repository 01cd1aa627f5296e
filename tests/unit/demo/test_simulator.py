"""Demo traffic: reproducible per seed, and every event of it ends tagged or dead-lettered without leaking."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from itertools import islice

import orjson
import pytest

from schemas.events import CollectionKind
from services.demo.simulator import demo_stream
from services.stages.messages import encode_tagged
from services.stages.pipeline import process_collection_batch
from services.stages.records import DeadLetterReason, SourceRecord, StageResult, TaggedRecord

EVENTS = 2000
EMPLOYEES = 50
# Events are stamped with the current time; everything else must depend on the seed alone.
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+00:00")


def take(seed: int, count: int) -> list[tuple[CollectionKind, bytes | None, bytes]]:
    return [(e.kind, e.key, _TIMESTAMP.sub(b"<time>", e.value)) for e in islice(demo_stream(seed, EMPLOYEES), count)]


@pytest.fixture(scope="module")
def demo_batch(topics) -> list[SourceRecord]:
    return [
        SourceRecord(topics.collection(event.kind), 0, offset, event.value, key=event.key)
        for offset, event in enumerate(islice(demo_stream(7, EMPLOYEES), EVENTS))
    ]


@pytest.fixture(scope="module")
def demo_result(demo_batch, context) -> StageResult[TaggedRecord]:
    return process_collection_batch(demo_batch, context, datetime.now(UTC))


def test_same_seed_gives_the_same_stream():
    assert take(7, 300) == take(7, 300)


def test_different_seeds_give_different_streams():
    assert take(7, 50) != take(8, 50)


def test_stream_mixes_both_kinds_removable_fields_and_malformed_events(demo_batch):
    kinds = Counter(r.topic for r in demo_batch)
    parsed = _objects(demo_batch)

    assert kinds["collection.terminal.v1"] > 0
    assert kinds["collection.access_log.v1"] > 0
    assert any("email_subject" in doc["payload"] for doc in parsed)
    assert any("user_agent" in doc["payload"] for doc in parsed)
    assert len(parsed) < len(demo_batch)  # some were truncated in transit
    assert any("subject" not in doc for doc in parsed)


def test_every_demo_event_ends_tagged_or_dead_lettered_exactly_once(demo_result):
    outputs = sorted([r.source.offset for r in demo_result.ok] + [d.source.offset for d in demo_result.dead])

    assert outputs == list(range(EVENTS))
    assert demo_result.ok
    assert demo_result.dead
    assert {d.reason for d in demo_result.dead} <= {
        DeadLetterReason.MALFORMED_JSON,
        DeadLetterReason.INVALID_UTF8,
        DeadLetterReason.SCHEMA_INVALID,
    }


def test_no_tagged_demo_event_carries_an_email_subject_or_a_raw_subject_id(demo_batch, demo_result, topics):
    raw_ids = {doc["subject"]["id"].encode() for doc in _objects(demo_batch) if "subject" in doc}

    removed_subjects = 0
    for record in demo_result.ok:
        assert "email_subject" not in record.payload
        removed_subjects += "payload.email_subject" in {r.path for r in record.removed}
        value = encode_tagged(record, topics.tagged_for(record.kind)).value
        assert "残業".encode() not in value
        assert not any(raw_id in value for raw_id in raw_ids)
    assert raw_ids
    assert removed_subjects > 0


def _objects(batch: list[SourceRecord]) -> list[dict]:
    documents = []
    for record in batch:
        try:
            documents.append(orjson.loads(record.value))
        except orjson.JSONDecodeError:
            continue
    return documents
