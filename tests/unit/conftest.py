"""Shared builders for unit tests: valid collection events, source records and the real Rakuro policy.

Everything here is pure and in-memory: no broker, no ClickHouse, no network.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

import schemas
from schemas.events import SPEC, CollectionKind, SubjectType
from schemas.policy import Policy
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy
from services.pseudonymize import PartitionKey, PseudonymKey
from services.quarantine import QuarantineKey
from services.records import SourceRecord
from services.stages.collection import CollectionContext
from services.topics import Topics

POLICY_PATH = Path(schemas.__file__).parent / "policies" / "rakuro.yaml"
MAX_EVENT_BYTES = 64 * 1024

EXAMPLES = Path(schemas.__file__).parent / "examples"
# Payloads of the golden example events shipped with the contracts, one per kind.
_PAYLOADS: dict[CollectionKind, dict[str, Any]] = {
    kind: orjson.loads((EXAMPLES / f"{kind.value}.json").read_bytes())["payload"] for kind in CollectionKind
}


def make_event(
    kind: CollectionKind = CollectionKind.ACCESS_LOG,
    /,
    *,
    payload_extra: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid collection event of ``kind``; ``overrides`` replace top-level keys, ``payload_extra`` adds fields.

    ``kind`` is positional-only so that ``kind=...`` overrides just the envelope's field. The subject id is a
    realistic e-mail address, so tests can check that it never leaks.
    """
    event: dict[str, Any] = {
        "spec": SPEC,
        "event_id": str(uuid.uuid4()),
        "kind": kind.value,
        "kind_version": 1,
        "occurred_at": "2023-05-01T09:00:00+09:00",
        "tenant_id": "kobe-logistics",
        "source_service": "attendance-web",
        "subject": {"type": SubjectType.ANALYZED_ACCOUNT_HOLDER.value, "id": "taro.yamada@example.jp"},
        "payload": {**_PAYLOADS[kind], **(payload_extra or {})},
    }
    event.update(overrides)
    return event


def make_record(
    doc: Mapping[str, Any] | bytes | None, topic: str | None = None, *, partition: int = 0, offset: int = 0
) -> SourceRecord:
    """A consumed message carrying ``doc``; by default on the collection topic of the event's own kind."""
    if topic is None:
        kind = doc.get("kind") if isinstance(doc, Mapping) else None
        known = isinstance(kind, str) and kind in {k.value for k in CollectionKind}
        topic = Topics().collection(CollectionKind(kind) if known else CollectionKind.ACCESS_LOG)
    value = orjson.dumps(doc) if isinstance(doc, Mapping) else doc
    return SourceRecord(topic=topic, partition=partition, offset=offset, value=value)


@pytest.fixture(name="make_event", scope="session")
def make_event_fixture() -> Callable[..., dict[str, Any]]:
    return make_event


@pytest.fixture(name="make_record", scope="session")
def make_record_fixture() -> Callable[..., SourceRecord]:
    return make_record


@pytest.fixture(scope="session")
def topics() -> Topics:
    return Topics()


@pytest.fixture(scope="session")
def policy_path() -> Path:
    """The real policy file shipped with the package."""
    return POLICY_PATH


@pytest.fixture(scope="session")
def policy(policy_path: Path) -> Policy:
    return load_policy(policy_path)


@pytest.fixture(scope="session")
def engine(policy: Policy) -> PolicyEngine:
    return PolicyEngine(policy)


@pytest.fixture(scope="module")
def decider(engine: PolicyEngine) -> Decider:
    """The purpose decisions of the shipped policy (remembered per module, as the monitor remembers them)."""
    return Decider(engine)


@pytest.fixture(scope="session")
def key() -> PseudonymKey:
    return PseudonymKey(b"unit-test-pseudonym-key-0123456789")


@pytest.fixture(scope="session")
def quarantine() -> QuarantineKey:
    return QuarantineKey(bytes(range(32)))


@pytest.fixture(scope="session")
def partition_key() -> PartitionKey:
    return PartitionKey(b"unit-test-partition-key-0123456789")


@pytest.fixture(scope="session")
def context(
    engine: PolicyEngine, key: PseudonymKey, partition_key: PartitionKey, topics: Topics, quarantine: QuarantineKey
) -> CollectionContext:
    return CollectionContext(
        engine=engine,
        key=key,
        partition_key=partition_key,
        kind_of_topic=topics.kind_of_collection_topic,
        max_event_bytes=MAX_EVENT_BYTES,
        quarantine=quarantine,
    )
