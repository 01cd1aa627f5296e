"""Every topic takes the largest message the pipeline writes for an event it accepts, so no output is ever
refused by the broker (a batch refused for its size is retried forever and holds back its partition).

The largest messages come from payloads made of nothing but the shortest distinct fields (``"ab":0,``): a tagged
record names each removed one, a dead letter lists each one and seals the whole event. They are replayed here,
at a small limit and at the default one, through the real stages and encoders."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from schemas.events import CollectionKind
from services.monitor.evaluate import monitor_batch
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.pseudonymize import PartitionKey, PseudonymKey
from services.quarantine import QuarantineKey
from services.records import SourceRecord
from services.roles import Pipeline, Role, max_message_bytes, topic_plan
from services.settings import Settings
from services.stages.collection import CollectionContext, process_collection_batch
from services.stages.messages import OutgoingMessage, encode_dead_letter, encode_tagged
from services.topics import Topics
from tests.unit.conftest import make_event, make_record

DEFAULT = Settings.model_fields["max_event_bytes"].default
LIMITS = [16 * 1024, DEFAULT]
_PRINTABLE = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\']


def _names() -> Iterator[str]:
    """Distinct key names, shortest first."""
    for length in itertools.count(1):
        for letters in itertools.product(_PRINTABLE, repeat=length):
            yield "".join(letters)


def _filled(event: dict[str, Any], into: dict[str, Any], limit: int) -> bytes:
    """``event`` with as many one-byte fields added to ``into`` (a part of it) as ``limit`` bytes allow."""
    size = len(orjson.dumps(event))
    for name in _names():
        grows = len(name.encode()) + 5  # "name":0,
        if size + grows > limit:
            break
        if name not in into:
            into[name] = 0
            size += grows
    raw = orjson.dumps(event)
    assert limit - 64 < len(raw) <= limit
    return raw


def _bytes_on_the_wire(message: OutgoingMessage) -> int:
    """What the broker compares with max.message.bytes: a record batch holding this one message."""
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(message.key, message.value, message.headers)
    return size


def _collection_outputs(raw: bytes, topic: str, limit: int, engine: PolicyEngine) -> list[int]:
    quarantine = QuarantineKey(bytes(range(32)))
    context = CollectionContext(
        engine, PseudonymKey(b"k" * 32), PartitionKey(b"p" * 32), Topics().kind_of_collection_topic, limit, quarantine
    )
    result = process_collection_batch([make_record(raw, topic)], context, datetime.now(UTC))
    messages = [encode_tagged(record, "tagged") for record in result.ok]
    messages += [encode_dead_letter(letter, "dlq", quarantine) for letter in result.dead]
    assert len(messages) == 1
    return [_bytes_on_the_wire(message) for message in messages]


def _shapes(limit: int) -> Iterator[tuple[str, bytes, str]]:
    """(what it is, the event, its topic): the largest outputs an accepted event can have."""
    topics = Topics()
    flat = make_event(CollectionKind.ACCESS_LOG)
    yield "flat, tagged", _filled(flat, flat["payload"], limit), topics.collection(CollectionKind.ACCESS_LOG)
    broken = make_event(CollectionKind.ACCESS_LOG, kind_version="1")
    yield "flat, refused", _filled(broken, broken["payload"], limit), topics.collection(CollectionKind.ACCESS_LOG)
    profile = make_event(CollectionKind.USER_PROFILE, kind_version="1")
    branch = profile["payload"].setdefault("bank_account", {})
    yield "in a named branch, refused", _filled(profile, branch, limit), topics.collection(CollectionKind.USER_PROFILE)


@pytest.mark.parametrize("limit", LIMITS)
def test_every_topic_is_planned_to_take_the_largest_message_of_an_accepted_event(limit: int) -> None:
    settings = Settings(max_event_bytes=limit)

    planned = {spec.name: spec.configs.get("max.message.bytes") for spec in topic_plan(settings)}

    assert set(planned) == set(Topics().all)
    assert set(planned.values()) == {str(max_message_bytes(limit))}


@pytest.mark.parametrize("limit", LIMITS)
def test_no_collection_event_within_the_limit_gives_a_message_over_it(limit: int, engine: PolicyEngine) -> None:
    allowed = max_message_bytes(limit)
    for shape, raw, topic in _shapes(limit):
        for size in _collection_outputs(raw, topic, limit, engine):
            assert size <= allowed, f"{shape}: {size} bytes from {len(raw)} > {allowed}"


@pytest.mark.parametrize("limit", LIMITS)
def test_no_activity_event_within_the_limit_gives_a_dead_letter_over_it(limit: int, engine: PolicyEngine) -> None:
    use = {
        "spec": "rakuro.use/v1", "event_id": str(uuid.uuid4()), "occurred_at": "2026-11-27T10:00:00+09:00",
        "tenant_id": "kobe-logistics", "source_service": "x", "subject": {"type": "analyzed_account_holder", "id": "a"},
        "purpose": "service_provision", "data": ["cookie"],
    }  # fmt: skip
    padded = {**use, "padding": ""}
    padded["padding"] = "A" * (limit - len(orjson.dumps(padded)))  # an unknown key: schema_invalid, sealed whole
    many = dict(use)
    for raw in (orjson.dumps(padded), _filled(many, many, limit)):
        assert len(raw) <= limit
        result = monitor_batch(
            [SourceRecord("activity.v1", 0, 0, raw, b"k")], {}, {}, Decider(engine), PseudonymKey(b"k" * 32)
        )
        (letter,) = result.dead
        message = encode_dead_letter(letter, "dlq", QuarantineKey(bytes(32)))
        assert _bytes_on_the_wire(message) <= max_message_bytes(limit)


def test_the_store_fetches_and_the_producer_sends_the_largest_message(tmp_path: Path) -> None:
    settings = Settings(
        max_event_bytes=2 * DEFAULT,
        local_key_file=tmp_path / "p.key",
        local_quarantine_key_file=tmp_path / "q.key",
        local_partition_key_file=tmp_path / "k.key",
    )
    pipeline = Pipeline(settings)

    for role in Role:
        config = pipeline._consumer_config(role, 10, 0.1)
        assert config.max_message_bytes == max_message_bytes(2 * DEFAULT)
