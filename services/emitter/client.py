"""Typed, safe-by-default emission of collection events (kafka-python, acks=all).

Usage::

    with Emitter("kafka:9092", source_service="attendance-web") as emitter:
        emitter.terminal(tenant_id="acme", subject=Subject(type=SubjectType.PERSON_IN_CHARGE, id="emp-1"),
                         terminal_id="pc-42", terminal_type="pc")
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.producer.future import FutureRecordMetadata

from schemas.events import SPEC, CollectionEnvelope, CollectionKind, Subject, payload_model
from services.topics import Topics


class EmitterError(RuntimeError):
    """An event could not be handed to Kafka."""


class EmitterBufferFull(EmitterError):
    """The bounded send buffer stayed full for ``max_block_ms``: the broker is slow or unreachable."""


def partition_key(tenant_id: str, subject_id: str) -> bytes:
    """Key by subject so one person's events stay in order, without putting the raw id in the key."""
    return hashlib.sha256(f"{tenant_id}\x1f{subject_id}".encode()).hexdigest()[:32].encode()


class Emitter:
    """Emit collection events to ``collection.<kind>.v1``; flushes and closes on exit."""

    def __init__(
        self,
        bootstrap: str,
        *,
        source_service: str,
        topics: Topics | None = None,
        max_buffered: int = 100_000,
        max_block_ms: int = 5_000,
        **producer_config: Any,
    ) -> None:
        self.source_service = source_service
        self.topics = topics or Topics()
        self._max_block_ms = max_block_ms
        # Bounds the events sent but not yet acknowledged; a slot is freed by the ack or the failure.
        self._slots = threading.BoundedSemaphore(max_buffered)
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            retries=10,
            linger_ms=5,
            # At-least-once: idempotent producers are not available on every broker (Tansu); the sink dedupes.
            enable_idempotence=False,
            max_block_ms=max_block_ms,
            client_id=f"emitter-{source_service}",
            **producer_config,
        )

    def emit(self, envelope: CollectionEnvelope) -> FutureRecordMetadata:
        """Send a validated event; returns the future of its broker acknowledgement."""
        value = orjson.dumps(envelope.model_dump(mode="json"))
        key = partition_key(envelope.tenant_id, envelope.subject.id)
        return self.emit_raw(self.topics.collection(envelope.kind), value, key)

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
        model = payload_model(kind, 1)
        assert model is not None  # every kind has a version-1 contract
        model.model_validate(payload)  # fail in the caller, not in the pipeline
        envelope = CollectionEnvelope(
            spec=SPEC,
            event_id=event_id or uuid.uuid4(),
            kind=kind,
            kind_version=1,
            occurred_at=occurred_at or datetime.now(UTC),
            tenant_id=tenant_id,
            source_service=self.source_service,
            subject=subject,
            payload=payload,
        )
        return self.emit(envelope)

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
        payload = {"terminal_id": terminal_id, "terminal_type": terminal_type}
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
            "requested_at": requested_at.isoformat(),
            "operation": operation,
        }
        if screen is not None:
            payload["screen"] = screen
        return self._event(CollectionKind.ACCESS_LOG, tenant_id, subject, payload, occurred_at, event_id)

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
