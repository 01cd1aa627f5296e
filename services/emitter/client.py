"""Typed, safe-by-default emission of collection and activity events (kafka-python, acks=all).

Usage::

    with Emitter("kafka:9092", source_service="attendance-web") as emitter:
        emitter.terminal(tenant_id="acme", subject=Subject(type=SubjectType.PERSON_IN_CHARGE, id="emp-1"),
                         terminal_id="pc-42", terminal_type="pc")

Every typed method validates its payload against the kind's contract before anything is sent, so a bad event
fails in the service that built it (``pydantic.ValidationError``), not in the pipeline.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.producer.future import FutureRecordMetadata

from schemas.events import (
    SPEC,
    AlliedRecordType,
    BankAccount,
    CollectionEnvelope,
    CollectionKind,
    Organization,
    Subject,
    TransmissionRecordType,
    payload_model,
)
from services.emitter.activity import ActivityEmitter
from services.errors import LineageError
from services.keys import load_partition_key
from services.pseudonymize import PartitionKey
from services.settings import Settings
from services.topics import Topics


class EmitterError(LineageError, RuntimeError):
    """An event could not be handed to Kafka."""


class EmitterBufferFull(EmitterError):
    """The bounded send buffer stayed full for ``max_block_ms``: the broker is slow or unreachable."""


class Producer(Protocol):
    """What the emitter needs of a Kafka producer (kafka-python's ``KafkaProducer``)."""

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> FutureRecordMetadata: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


def build_envelope(
    kind: CollectionKind,
    *,
    tenant_id: str,
    subject: Subject,
    payload: dict[str, Any],
    source_service: str,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> CollectionEnvelope:
    """A version-1 collection event around ``payload``; raises ``ValidationError`` when either breaks its contract.

    ``None`` fields are left out, and the payload is carried as its contract serializes it (ISO timestamps).
    """
    model = payload_model(kind, 1)
    assert model is not None  # every kind has a version-1 contract
    validated = model.model_validate({name: value for name, value in payload.items() if value is not None})
    return CollectionEnvelope(
        spec=SPEC,
        event_id=event_id or uuid.uuid4(),
        kind=kind,
        kind_version=1,
        occurred_at=occurred_at or datetime.now(UTC),
        tenant_id=tenant_id,
        source_service=source_service,
        subject=subject,
        payload=validated.model_dump(mode="json", exclude_none=True),
    )


class Emitter(ActivityEmitter):
    """Emit collection events to ``collection.<kind>.v1`` and activity events to theirs; flushes on exit.

    ``producer`` replaces the kafka-python producer built from ``bootstrap`` (tests, a shared producer).
    ``partition_key`` keys every message by subject (HMAC): by default the one the settings name
    (``LINEAGE_PARTITION_KEY`` or its file), the same key the pipeline uses.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        source_service: str,
        topics: Topics | None = None,
        max_buffered: int = 100_000,
        max_block_ms: int = 5_000,
        producer: Producer | None = None,
        partition_key: PartitionKey | None = None,
        **producer_config: Any,
    ) -> None:
        self.source_service = source_service
        self.partition_key = partition_key or load_partition_key(Settings())
        self.topics = topics or Topics()
        self._max_block_ms = max_block_ms
        # Bounds the events sent but not yet acknowledged; a slot is freed by the ack or the failure.
        self._slots = threading.BoundedSemaphore(max_buffered)
        # Tuning may be overridden; acks and idempotence may not (passing them is a TypeError).
        tuning = {"retries": 10, "linger_ms": 5, "client_id": f"emitter-{source_service}", **producer_config}
        self._producer: Producer = producer or KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            # At-least-once: idempotent producers are not available on every broker (Tansu); the sink dedupes.
            enable_idempotence=False,
            max_block_ms=max_block_ms,
            **tuning,
        )

    def emit(self, envelope: CollectionEnvelope) -> FutureRecordMetadata:
        """Send a validated event; returns the future of its broker acknowledgement."""
        value = orjson.dumps(envelope.model_dump(mode="json"))
        return self.emit_for_subject(
            self.topics.collection(envelope.kind), value, envelope.tenant_id, envelope.subject.id
        )

    def emit_for_subject(self, topic: str, value: bytes, tenant_id: str, subject_id: str) -> FutureRecordMetadata:
        """Send ``value`` keyed by the subject's partition key (an HMAC: never the raw id)."""
        return self.emit_raw(topic, value, self.partition_key.of(tenant_id, subject_id))

    def emit_raw(self, topic: str, value: bytes, key: bytes | None = None) -> FutureRecordMetadata:
        """Send bytes as they are (replay, tests of bad input)."""
        if not self._slots.acquire(timeout=self._max_block_ms / 1000):
            raise EmitterBufferFull(f"send buffer full for {self._max_block_ms} ms: the broker is slow or unreachable")
        try:
            future = self._producer.send(topic, value=value, key=key)
        except KafkaTimeoutError as exc:
            self._slots.release()
            raise EmitterBufferFull(f"no metadata for {topic} within {self._max_block_ms} ms") from exc
        except KafkaError as exc:
            self._slots.release()
            raise EmitterError(f"cannot send to {topic}: {type(exc).__name__}") from exc
        future.add_both(self._release)
        return future

    def _release(self, _outcome: object) -> None:
        self._slots.release()

    def _event(
        self,
        kind: CollectionKind,
        tenant_id: str,
        subject: Subject,
        payload: dict[str, Any],
        occurred_at: datetime | None,
        event_id: uuid.UUID | None,
    ) -> FutureRecordMetadata:
        envelope = build_envelope(
            kind,
            tenant_id=tenant_id,
            subject=subject,
            payload=payload,
            source_service=self.source_service,
            occurred_at=occurred_at,
            event_id=event_id,
        )
        return self.emit(envelope)

    def user_profile(
        self,
        *,
        tenant_id: str,
        subject: Subject,
        name: str,
        department: str | None = None,
        email_address: str | None = None,
        telephone_number: str | None = None,
        organization: Organization | None = None,
        bank_account: BankAccount | None = None,
        login_id: str | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> FutureRecordMetadata:
        """Information of User and login ID. There is no password parameter: a password is never collected."""
        payload: dict[str, Any] = {
            "name": name,
            "department": department,
            "email_address": email_address,
            "telephone_number": telephone_number,
            "organization": organization,
            "bank_account": bank_account,
            "login_id": login_id,
        }
        return self._event(CollectionKind.USER_PROFILE, tenant_id, subject, payload, occurred_at, event_id)

    def terminal(
        self,
        *,
        tenant_id: str,
        subject: Subject,
        terminal_id: str,
        terminal_type: Literal["pc", "mobile", "tablet"],
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> FutureRecordMetadata:
        """Terminal information: the ID of the terminal the subject uses."""
        payload: dict[str, Any] = {"terminal_id": terminal_id, "terminal_type": terminal_type}
        return self._event(CollectionKind.TERMINAL, tenant_id, subject, payload, occurred_at, event_id)

    def access_log(
        self,
        *,
        tenant_id: str,
        subject: Subject,
        ip_address: str,
        operation: str,
        requested_at: datetime,
        screen: str | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> FutureRecordMetadata:
        """Log Information: IP address, request time, operation and where it happened."""
        payload: dict[str, Any] = {
            "ip_address": ip_address,
            "requested_at": requested_at,
            "operation": operation,
            "screen": screen,
        }
        return self._event(CollectionKind.ACCESS_LOG, tenant_id, subject, payload, occurred_at, event_id)

    def cookie(
        self,
        *,
        tenant_id: str,
        subject: Subject,
        cookie_id: str,
        first_seen_at: datetime | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> FutureRecordMetadata:
        """Cookie: the browser identifier seen with the subject's session."""
        payload: dict[str, Any] = {"cookie_id": cookie_id, "first_seen_at": first_seen_at}
        return self._event(CollectionKind.COOKIE, tenant_id, subject, payload, occurred_at, event_id)

    def allied(
        self,
        *,
        tenant_id: str,
        subject: Subject,
        record_type: AlliedRecordType,
        at: datetime,
        computer_name: str | None = None,
        logged_out_at: datetime | None = None,
        recipient_count: int | None = None,
        has_attachments: bool | None = None,
        size_bytes: int | None = None,
        application: str | None = None,
        duration_s: int | None = None,
        title: str | None = None,
        ends_at: datetime | None = None,
        channel_type: Literal["chat", "social_media"] | None = None,
        message_count: int | None = None,
        file_type: str | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> FutureRecordMetadata:
        """Allied Data: one usage record from an allied service, ``at`` being when it happened there.

        Only usage metadata has a parameter: message subjects, texts and attachment contents are never collected.
        """
        payload: dict[str, Any] = {
            "record_type": record_type,
            "occurred_at": at,
            "computer_name": computer_name,
            "logged_out_at": logged_out_at,
            "recipient_count": recipient_count,
            "has_attachments": has_attachments,
            "size_bytes": size_bytes,
            "application": application,
            "duration_s": duration_s,
            "title": title,
            "ends_at": ends_at,
            "channel_type": channel_type,
            "message_count": message_count,
            "file_type": file_type,
        }
        return self._event(CollectionKind.ALLIED, tenant_id, subject, payload, occurred_at, event_id)

    def transmission(
        self,
        *,
        tenant_id: str,
        subject: Subject,
        record_type: TransmissionRecordType,
        at: datetime,
        personal_name: str,
        department: str | None = None,
        telephone_number: str | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> FutureRecordMetadata:
        """Transmission Data: a clock-in/out or arrival/departure at ``at``, with the person's name."""
        payload: dict[str, Any] = {
            "record_type": record_type,
            "at": at,
            "personal_name": personal_name,
            "department": department,
            "telephone_number": telephone_number,
        }
        return self._event(CollectionKind.TRANSMISSION, tenant_id, subject, payload, occurred_at, event_id)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every buffered event was acknowledged."""
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush, then release the connection."""
        self._producer.flush(timeout=timeout)
        self._producer.close(timeout=timeout)

    def __enter__(self) -> Emitter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
