"""`purpose-lineage dead-letters show|replay` against a real broker, on dead letters sealed here."""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from typer.testing import CliRunner

from services.broker.admin import ensure_topics
from services.cli.dead_letters import REPLAY_HEADER, dead_letters_cli
from services.quarantine import QuarantineKey, seal
from services.settings import Settings
from services.topics import Topics

KEY = QuarantineKey(bytes(range(32)))
OTHER = QuarantineKey(b"\xee" * 32)
EVENT = b'{"kind": "user_profile", "subject": {"id": "taro.yamada@example.jp"}, "payload": {'
ORIGINAL_KEY = b"kobe-logistics/taro.yamada@example.jp"


def _headers(origin: str, partition: int, offset: int, reason: str, size: int) -> list[tuple[str, bytes]]:
    return [
        ("lineage.errors.stage", b"ingest"),
        ("lineage.errors.exception.class.name", reason.encode()),
        ("lineage.errors.exception.message", b"content-free reason"),
        ("lineage.errors.topic", origin.encode()),
        ("lineage.errors.partition", str(partition).encode()),
        ("lineage.errors.offset", str(offset).encode()),
        ("lineage.errors.original_bytes", str(size).encode()),
    ]


def _dead_letter(origin: str, offset: int, reason: str, key: QuarantineKey | None) -> tuple[bytes | None, list]:
    value = None
    if key is not None:
        sealed = seal(key, EVENT, ORIGINAL_KEY, f"{origin}[0]@{offset}".encode())
        value = orjson.dumps({"spec": "purpose-lineage.dead-letter/v1", "quarantine": sealed})
    return value, _headers(origin, 0, offset, reason, len(EVENT))


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("LINEAGE_QUARANTINE_KEY_FILE", "LINEAGE_LOCAL_QUARANTINE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return {
        "LINEAGE_KAFKA_BOOTSTRAP": settings.bootstrap,
        "LINEAGE_TOPIC_PREFIX": settings.topic_prefix,
        "LINEAGE_QUARANTINE_KEY": KEY.secret.hex(),
    }


def _origin_records(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        records: list = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def test_show_and_replay_sealed_dead_letters(settings: Settings, environment: dict[str, str]) -> None:
    topics = Topics(settings.topic_prefix)
    origin = topics.collection_for("user_profile")
    ensure_topics(settings.bootstrap, [topics.dead_letter, origin], partitions=1)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    try:
        for offset, reason, key in [
            (10, "schema_invalid", KEY),
            (11, "malformed_json", KEY),
            (12, "schema_invalid", OTHER),
            (13, "too_large", None),
        ]:
            value, headers = _dead_letter(origin, offset, reason, key)
            # Keyed as the stages key dead letters (by pseudonym): Kafka refuses a record with neither key nor value.
            producer.send(topics.dead_letter, key=b"pseudonym", value=value, headers=headers).get(timeout=30)
    finally:
        producer.close()
    runner = CliRunner()

    # Right after producing: the read must not stop at end offsets the broker has not caught up with yet.
    listed = runner.invoke(dead_letters_cli, ["show", "--json", "--timeout", "30"], env=environment)
    assert listed.exit_code == 0, listed.output
    letters = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [letter["origin_offset"] for letter in letters] == [10, 11, 12, 13]
    assert [letter["sealed"] for letter in letters] == [True, True, True, False]
    assert "taro" not in listed.output

    revealed = runner.invoke(
        dead_letters_cli, ["show", "--reveal", "--json", "--reason", "malformed_json"], env=environment
    )
    assert revealed.exit_code == 0, revealed.output
    (letter,) = [orjson.loads(line) for line in revealed.stdout.splitlines()]
    assert letter["value"] == EVENT.decode()
    assert letter["key"] == ORIGINAL_KEY.decode()

    replayed = runner.invoke(
        dead_letters_cli,
        ["replay", "--json", "--offset", f"{origin}:0:11", "--reason", "malformed_json"],
        env=environment,
    )
    assert replayed.exit_code == 0, replayed.output
    assert orjson.loads(replayed.stdout)["resubmitted"] == 1
    (record,) = _origin_records(settings.bootstrap, origin, expected=1)
    assert (record.value, record.key) == (EVENT, ORIGINAL_KEY)
    assert (REPLAY_HEADER, f"{topics.dead_letter}[0]@1".encode()) in record.headers

    everything = runner.invoke(dead_letters_cli, ["replay", "--all", "--dry-run", "--json"], env=environment)
    assert everything.exit_code == 1  # the one sealed under another key does not open
    summary = orjson.loads(everything.stdout)
    assert (summary["selected"], summary["resubmitted"], summary["not_kept"], summary["failed"]) == (4, 2, 1, 1)
