"""The emitter SDK without a broker: payloads are validated in the caller, events keyed by a hash of the subject.

A fake producer stands in for kafka-python's (constructing a real one blocks for 30 s trying to bootstrap).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError
from pydantic import ValidationError

import schemas
from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.events import (
    AlliedRecordType,
    BankAccount,
    CollectionEnvelope,
    CollectionKind,
    Organization,
    Subject,
    SubjectType,
    TransmissionRecordType,
    payload_model,
)
from services.emitter import client as client_module
from services.emitter.client import Emitter, EmitterBufferFull, EmitterError, build_envelope
from services.pseudonymize import PartitionKey
from services.topics import Topics

EXAMPLES = Path(schemas.__file__).parent / "examples"
JST = timezone(timedelta(hours=9))
AT = datetime(2026, 11, 27, 9, 0, 3, tzinfo=JST)
TENANT = "kobe-logistics"
KEY = PartitionKey(b"emitter-test-partition-key")
SUBJECT = Subject(type=SubjectType.ANALYZED_ACCOUNT_HOLDER, id="taro.yamada@kobe-logistics.example")


@dataclass
class FakeFuture:
    callbacks: list[Any] = field(default_factory=list)

    def add_both(self, callback: Any) -> None:
        self.callbacks.append(callback)

    def resolve(self) -> None:
        for callback in self.callbacks:
            callback("metadata")


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    futures: list[FakeFuture] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_with: Exception | None = None

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> FakeFuture:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((topic, key, value))
        self.futures.append(FakeFuture())
        return self.futures[-1]

    def flush(self, timeout: float | None = None) -> None:
        self.calls.append("flush")

    def close(self, timeout: float | None = None) -> None:
        self.calls.append("close")


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture
def emitter(producer: FakeProducer) -> Emitter:
    return Emitter(
        "127.0.0.1:9", source_service="attendance-web", topics=Topics("t."), producer=producer, partition_key=KEY
    )


def sent_event(producer: FakeProducer) -> tuple[str, bytes | None, dict[str, Any]]:
    topic, key, value = producer.sent[-1]
    assert value is not None
    return topic, key, orjson.loads(value)


def assert_collection_event(producer: FakeProducer, kind: CollectionKind) -> dict[str, Any]:
    """The last send is a valid ``kind`` event on its topic, keyed by the hashed subject; returns its payload."""
    topic, key, document = sent_event(producer)
    envelope = CollectionEnvelope.model_validate(document)
    model = payload_model(kind, 1)
    assert model is not None
    model.model_validate(envelope.payload)
    assert topic == f"t.collection.{kind.value}.v1"
    assert envelope.kind is kind
    assert envelope.source_service == "attendance-web"
    assert key == KEY.of(TENANT, SUBJECT.id)
    assert SUBJECT.id.encode() not in key
    return envelope.payload


def test_partition_key_is_stable_per_subject_keyed_and_never_the_raw_id():
    key = KEY.of(TENANT, "emp-00042")

    assert key == KEY.of(TENANT, "emp-00042")
    assert key != KEY.of("sapporo-foods", "emp-00042")
    assert key != KEY.of(TENANT, "emp-00043")
    assert key != PartitionKey(b"another-partition-key").of(TENANT, "emp-00042")  # keyed: not guessable
    assert key != hashlib.sha256(f"{TENANT}\x1femp-00042".encode()).hexdigest()[:32].encode()
    assert b"emp-00042" not in key
    assert len(key) == 32


def test_the_emitter_takes_the_partition_key_the_settings_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LINEAGE_PARTITION_KEY", "a-partition-key-from-the-env")

    emitter = Emitter("127.0.0.1:9", source_service="s", producer=FakeProducer())

    assert emitter.partition_key == PartitionKey(b"a-partition-key-from-the-env")


def test_build_envelope_validates_the_payload_and_leaves_out_none():
    envelope = build_envelope(
        CollectionKind.ACCESS_LOG,
        tenant_id=TENANT,
        subject=SUBJECT,
        payload={"ip_address": "192.0.2.10", "requested_at": AT, "operation": "clock_in", "screen": None},
        source_service="attendance-web",
        occurred_at=AT,
    )

    assert envelope.payload == {
        "ip_address": "192.0.2.10",
        "requested_at": "2026-11-27T09:00:03+09:00",
        "operation": "clock_in",
    }
    assert envelope.kind_version == 1
    assert envelope.occurred_at == AT


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (CollectionKind.TERMINAL, {"terminal_id": "pc-1", "terminal_type": "toaster"}),
        (CollectionKind.ACCESS_LOG, {"ip_address": "999.0.0.1", "requested_at": AT, "operation": "clock_in"}),
        (CollectionKind.ACCESS_LOG, {"ip_address": "192.0.2.1", "requested_at": "2026-11-27T09:00", "operation": "x"}),
        (CollectionKind.USER_PROFILE, {"name": ""}),
        (CollectionKind.COOKIE, {"cookie_id": "has spaces"}),
        (CollectionKind.ALLIED, {"record_type": "fax", "occurred_at": AT}),
        (CollectionKind.TRANSMISSION, {"record_type": "clock_in", "at": AT}),
    ],
)
def test_build_envelope_refuses_a_payload_that_breaks_its_contract(kind, payload):
    with pytest.raises(ValidationError):
        build_envelope(kind, tenant_id=TENANT, subject=SUBJECT, payload=payload, source_service="attendance-web")


def test_build_envelope_refuses_a_bad_tenant_id():
    with pytest.raises(ValidationError):
        build_envelope(
            CollectionKind.COOKIE,
            tenant_id="kobe logistics",
            subject=SUBJECT,
            payload={"cookie_id": "ck-1"},
            source_service="attendance-web",
        )


def test_user_profile_sends_the_profile_with_nested_organization_and_bank_account(emitter, producer):
    future = emitter.user_profile(
        tenant_id=TENANT,
        subject=SUBJECT,
        name="山田 太郎",
        department="総務部",
        email_address="taro.yamada@kobe-logistics.example",
        organization=Organization(name="Kobe Logistics K.K."),
        bank_account=BankAccount(
            bank_code="0001", branch_code="123", account_type="ordinary", account_number="1234567"
        ),
        login_id="t.yamada",
    )

    payload = assert_collection_event(producer, CollectionKind.USER_PROFILE)
    assert future is producer.futures[-1]
    assert payload == {
        "name": "山田 太郎",
        "department": "総務部",
        "email_address": "taro.yamada@kobe-logistics.example",
        "organization": {"name": "Kobe Logistics K.K."},
        "bank_account": {
            "bank_code": "0001",
            "branch_code": "123",
            "account_type": "ordinary",
            "account_number": "1234567",
        },
        "login_id": "t.yamada",
    }


def test_terminal_and_access_log_keep_their_behaviour(emitter, producer):
    emitter.terminal(tenant_id=TENANT, subject=SUBJECT, terminal_id="pc-0a1b2c3d", terminal_type="pc")
    assert assert_collection_event(producer, CollectionKind.TERMINAL) == {
        "terminal_id": "pc-0a1b2c3d",
        "terminal_type": "pc",
    }

    emitter.access_log(
        tenant_id=TENANT, subject=SUBJECT, ip_address="192.0.2.10", operation="clock_in", requested_at=AT
    )
    assert assert_collection_event(producer, CollectionKind.ACCESS_LOG) == {
        "ip_address": "192.0.2.10",
        "requested_at": "2026-11-27T09:00:03+09:00",
        "operation": "clock_in",
    }


def test_cookie(emitter, producer):
    emitter.cookie(tenant_id=TENANT, subject=SUBJECT, cookie_id="ck-7f3a9b2e", first_seen_at=AT)

    payload = assert_collection_event(producer, CollectionKind.COOKIE)
    assert payload == {"cookie_id": "ck-7f3a9b2e", "first_seen_at": "2026-11-27T09:00:03+09:00"}


@pytest.mark.parametrize("record_type", list(AlliedRecordType))
def test_allied_takes_every_record_type_with_its_time_as_the_payload_occurred_at(emitter, producer, record_type):
    emitter.allied(
        tenant_id=TENANT,
        subject=SUBJECT,
        record_type=record_type,
        at=AT,
        application="calendar",
        title="週次定例ミーティング" if record_type is AlliedRecordType.SCHEDULER_ENTRY else None,
        occurred_at=AT + timedelta(seconds=5),
    )

    payload = assert_collection_event(producer, CollectionKind.ALLIED)
    assert payload["record_type"] == record_type.value
    assert payload["occurred_at"] == "2026-11-27T09:00:03+09:00"
    assert sent_event(producer)[2]["occurred_at"] == "2026-11-27T09:00:08+09:00"
    assert ("title" in payload) == (record_type is AlliedRecordType.SCHEDULER_ENTRY)


def test_allied_email_record_carries_metadata_only(emitter, producer):
    emitter.allied(
        tenant_id=TENANT,
        subject=SUBJECT,
        record_type=AlliedRecordType.EMAIL_TRANSMISSION,
        at=AT,
        recipient_count=3,
        has_attachments=True,
        size_bytes=40_000,
        application="Outlook",
    )

    payload = assert_collection_event(producer, CollectionKind.ALLIED)
    assert set(payload) == {
        "record_type",
        "occurred_at",
        "recipient_count",
        "has_attachments",
        "size_bytes",
        "application",
    }


@pytest.mark.parametrize("record_type", list(TransmissionRecordType))
def test_transmission(emitter, producer, record_type):
    emitter.transmission(
        tenant_id=TENANT,
        subject=SUBJECT,
        record_type=record_type,
        at=AT,
        personal_name="山田 太郎",
        department="物流部",
    )

    payload = assert_collection_event(producer, CollectionKind.TRANSMISSION)
    assert payload == {
        "record_type": record_type.value,
        "at": "2026-11-27T09:00:03+09:00",
        "personal_name": "山田 太郎",
        "department": "物流部",
    }


@pytest.mark.parametrize(
    "send",
    [
        lambda e: e.terminal(tenant_id=TENANT, subject=SUBJECT, terminal_id="pc 1", terminal_type="pc"),
        lambda e: e.access_log(tenant_id=TENANT, subject=SUBJECT, ip_address="10.0.0", operation="x", requested_at=AT),
        lambda e: e.user_profile(tenant_id=TENANT, subject=SUBJECT, name="山田", email_address="not-an-address"),
        lambda e: e.cookie(tenant_id=TENANT, subject=SUBJECT, cookie_id=""),
        lambda e: e.allied(tenant_id=TENANT, subject=SUBJECT, record_type="fax", at=AT),
        lambda e: e.allied(
            tenant_id=TENANT, subject=SUBJECT, record_type=AlliedRecordType.SYSTEM_USAGE, at=AT, duration_s=-1
        ),
        lambda e: e.transmission(
            tenant_id=TENANT, subject=SUBJECT, record_type=TransmissionRecordType.ARRIVAL, at=AT, personal_name=""
        ),
        lambda e: e.transmission(
            tenant_id=TENANT,
            subject=SUBJECT,
            record_type=TransmissionRecordType.ARRIVAL,
            at=datetime(2026, 11, 27, 9, 0),  # naive: no time zone
            personal_name="山田 太郎",
        ),
    ],
)
def test_invalid_payload_fails_in_the_caller_and_nothing_is_sent(emitter, producer, send):
    with pytest.raises(ValidationError):
        send(emitter)

    assert producer.sent == []


def example(name: str) -> dict[str, Any]:
    return orjson.loads((EXAMPLES / f"{name}.json").read_bytes())


@pytest.mark.parametrize(
    ("method", "model", "topic"),
    [
        ("use", UseEvent, "t.activity.v1"),
        ("disclosure", DisclosureEvent, "t.activity.v1"),
        ("consent", ConsentEvent, "t.activity.v1"),
        ("rights", RightsRequestEvent, "t.activity.v1"),
    ],
)
def test_activity_events_go_to_the_activity_topic_keyed_by_partition_key(emitter, producer, method, model, topic):
    event = model.model_validate(example(method))

    future = getattr(emitter, method)(event)

    sent_topic, key, document = sent_event(producer)
    assert future is producer.futures[-1]
    assert sent_topic == topic
    assert model.model_validate(document) == event
    assert key == KEY.of(event.tenant_id, event.subject.id)
    assert event.subject.id.encode() not in key


def test_activity_event_built_without_validation_fails_in_the_caller(emitter, producer):
    valid = UseEvent.model_validate(example("use"))
    unchecked = UseEvent.model_construct(**{**dict(valid), "data": []})  # data needs at least one entry

    with pytest.raises(ValidationError):
        emitter.use(unchecked)

    assert producer.sent == []


def test_activity_event_of_the_wrong_type_fails_in_the_caller(emitter, producer):
    disclosure = DisclosureEvent.model_validate(example("disclosure"))

    with pytest.raises(ValidationError):
        emitter.use(disclosure)  # type: ignore[arg-type]

    assert producer.sent == []


def test_full_buffer_raises_after_max_block_ms_and_an_ack_frees_a_slot(producer):
    emitter = Emitter("127.0.0.1:9", source_service="s", max_buffered=2, max_block_ms=10, producer=producer)
    emitter.emit_raw("t", b"1")
    emitter.emit_raw("t", b"2")

    with pytest.raises(EmitterBufferFull):
        emitter.emit_raw("t", b"3")

    producer.futures[0].resolve()
    emitter.emit_raw("t", b"3")
    assert [value for _, _, value in producer.sent] == [b"1", b"2", b"3"]


@pytest.mark.parametrize(
    ("error", "raised"), [(KafkaTimeoutError(), EmitterBufferFull), (KafkaConnectionError(), EmitterError)]
)
def test_producer_errors_become_emitter_errors_and_release_their_slot(producer, error, raised):
    emitter = Emitter("127.0.0.1:9", source_service="s", max_buffered=1, max_block_ms=10, producer=producer)
    producer.fail_with = error

    with pytest.raises(raised):
        emitter.emit_raw("t", b"1")

    producer.fail_with = None
    emitter.emit_raw("t", b"1")  # the slot came back
    assert len(producer.sent) == 1


def test_leaving_the_with_block_flushes_then_closes(producer):
    with Emitter("127.0.0.1:9", source_service="s", producer=producer) as emitter:
        emitter.cookie(tenant_id=TENANT, subject=SUBJECT, cookie_id="ck-1")

    assert producer.calls == ["flush", "close"]


def test_default_producer_acks_all_retries_and_is_not_idempotent(monkeypatch):
    configs: list[dict[str, Any]] = []
    monkeypatch.setattr(client_module, "KafkaProducer", lambda **config: configs.append(config) or FakeProducer())

    Emitter("127.0.0.1:9", source_service="attendance-web", max_block_ms=1234, linger_ms=20)

    (config,) = configs
    assert config["bootstrap_servers"] == "127.0.0.1:9"
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is False
    assert config["retries"] > 0
    assert config["max_block_ms"] == 1234
    assert config["linger_ms"] == 20
    assert config["client_id"] == "emitter-attendance-web"


def test_default_occurred_at_is_now_in_utc(emitter, producer):
    before = datetime.now(UTC)
    emitter.cookie(tenant_id=TENANT, subject=SUBJECT, cookie_id="ck-1")

    occurred_at = datetime.fromisoformat(sent_event(producer)[2]["occurred_at"])
    assert before <= occurred_at <= datetime.now(UTC)


def test_acks_cannot_be_weakened(monkeypatch):
    monkeypatch.setattr(client_module, "KafkaProducer", lambda **config: FakeProducer())

    with pytest.raises(TypeError):
        Emitter("127.0.0.1:9", source_service="s", acks=1)
