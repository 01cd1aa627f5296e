"""The hostile corpus replayed through the real stack: no excluded content and no raw subject id passes it.

~400 events (see :mod:`tests.hostile_corpus`) go to the collection topics of a running pipeline on the local
broker and the embedded ClickHouse. Once every event is in lineage or in the dead letters, everything the
pipeline wrote or answers is searched for every sentinel, encoded form and raw subject id: every topic it
writes (values, keys, headers), every table of its database, the log records and stdout/stderr of the run, its
Prometheus exposition and its HTTP API. The allowed values must still be on the tagged topics.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import generate_latest

from services.api.app import create_api
from services.quarantine import QuarantineKey, unseal
from services.settings import Settings
from services.stages.messages import DEAD_LETTER_HEADER_PREFIX
from services.store.lineage_store import Delivery
from tests.hostile_corpus import LINEAGE, Corpus, CorpusEvent, build_corpus
from tests.integration.harness import PipelineHarness

SEED, SIZE = 20250303, 400
TOKEN = "hostile-corpus-token"
Coordinates = tuple[str, int, int]
# What a dead letter may say in the clear: envelope metadata, the subject's pseudonym, a content-free inventory
# of the payload, and the input sealed.
DEAD_LETTER_FIELDS = {"spec", "original_spec", "event_id", "kind", "kind_version", "occurred_at", "tenant_id",
                      "source_service", "subject", "payload_fields", "quarantine"}  # fmt: skip
INVENTORY_FIELDS = {"path", "size", "disposition"}
SEALED_FIELDS = {"alg", "key_id", "nonce", "ciphertext"}
# Shapes whose removal must be evidenced as excluded content, not merely as a field outside the allow-list.
CONTENT_SHAPES = ("encoded", "foreign-title", "marker", "headers", "tolerated")
MAX_REPORTED = 25


class Scanner:
    """Search labelled blobs for every forbidden string; remember each hit with its origin and place."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.hits: list[str] = []
        self.scanned: Counter[str] = Counter()

    def scan(self, place: str, blobs: Iterable[tuple[str, bytes]]) -> None:
        labelled = [(label, blob) for label, blob in blobs if blob]
        self.scanned[place] += len(labelled)
        joined = b"\n\x00\n".join(blob for _, blob in labelled)  # one search per needle, then find the blob
        for needle in self.corpus.sentinels:
            if needle not in joined:
                continue
            for label, blob in labelled:
                if (at := blob.find(needle)) >= 0:
                    context = blob[max(0, at - 40) : at + len(needle) + 40]
                    origin = self.corpus.origins[needle]
                    self.hits.append(f"{origin!r} leaked to {place} [{label}]: …{context!r}…")

    def scan_text(self, place: str, texts: Iterable[tuple[str, str]]) -> None:
        self.scan(place, ((label, text.encode("utf-8", "surrogatepass")) for label, text in texts))


def produce(bootstrap: str, pipeline: PipelineHarness, corpus: Corpus) -> list[Coordinates]:
    """Send every event, as the attendance services would, and return where the broker put each."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,  # not available on Tansu; the sink deduplicates redeliveries
        max_request_size=4 * 1024 * 1024,  # the too-large event must reach the pipeline to be refused there
        linger_ms=5,
    )
    try:
        topics = pipeline.pipeline.topics
        futures = [producer.send(topics.collection(e.kind), value=e.value, key=e.key) for e in corpus.events]
        producer.flush(timeout=60)
        sent = [future.get(timeout=30) for future in futures]
    finally:
        producer.close(timeout=10)
    return [(m.topic, m.partition, m.offset) for m in sent]


def await_accounting(
    pipeline: PipelineHarness, corpus: Corpus, coordinates: Sequence[Coordinates], stall_s: float = 15.0
) -> tuple[set[Coordinates], set[Coordinates]]:
    """Poll until every event is stored or dead-lettered (both by its coordinates), or nothing more arrives
    for ``stall_s``: then the rest is lost, which the caller reports with everything else it finds."""
    deliveries = [Delivery(*where, e.event_id) for e, where in zip(corpus.events, coordinates, strict=True)]
    accounted, changed = -1, time.monotonic()
    while True:
        found = pipeline.accounting(deliveries)
        now = sum(where in found.stored or where in found.dead_lettered for where in coordinates)
        if now == len(corpus.events) or time.monotonic() - changed > stall_s:
            return found.stored, found.dead_lettered
        if now != accounted:
            accounted, changed = now, time.monotonic()
        time.sleep(0.5)


def read_topics(bootstrap: str, topics: Sequence[str], quiet_s: float = 2.0) -> dict[str, list[ConsumerRecord]]:
    """Every message on ``topics`` from the beginning, without a consumer group.

    The local broker may report end offsets behind the real end, so reading stops only once the end offsets are
    reached *and* nothing new arrived for ``quiet_s``.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or {0}]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: dict[str, list[ConsumerRecord]] = {topic: [] for topic in topics}
        last_new, deadline = time.monotonic(), time.monotonic() + 60
        while time.monotonic() < deadline:
            for partition, batch in consumer.poll(timeout_ms=200).items():
                records[partition.topic].extend(batch)
                last_new = time.monotonic() if batch else last_new
            at_end = all(consumer.position(p) >= ends[p] for p in partitions)
            if at_end and time.monotonic() - last_new >= quiet_s:
                return records
        raise AssertionError(f"topics not read to their end offsets {ends} within 60 s")
    finally:
        consumer.close()


def message_blobs(topic: str, records: Sequence[ConsumerRecord]) -> Iterable[tuple[str, bytes]]:
    for record in records:
        where = f"{topic} p{record.partition} o{record.offset}"
        yield f"{where} key", record.key or b""
        yield f"{where} value", record.value or b""
        for name, value in record.headers:
            yield f"{where} header {name}", value or b""


def cells(value: Any) -> Iterable[str]:
    """Every scalar inside a ClickHouse value, as text (arrays and maps flattened, bytes decoded)."""
    if isinstance(value, list | tuple):
        for item in value:
            yield from cells(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from cells(item)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    else:
        yield str(value)


def at_path(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


def dead_letter_problems(
    records: Sequence[ConsumerRecord], produced: dict[Coordinates, CorpusEvent], quarantine: QuarantineKey
) -> list[str]:
    """What a dead letter holds beyond the content-free inventory and the input sealed (which must open to it)."""
    problems = []
    for record in records:
        headers = {name: value.decode() for name, value in record.headers}
        source = tuple(headers.get(DEAD_LETTER_HEADER_PREFIX + h, "") for h in ("topic", "partition", "offset"))
        coordinates = f"{source[0]}[{source[1]}]@{source[2]}"  # what the seal is bound to
        where = f"dead letter of {coordinates}"
        event = produced.get((source[0], int(source[1] or -1), int(source[2] or -1)))
        if event is None:
            problems.append(f"{where}: of no produced event")
            continue
        if record.value is None:
            problems.append(f"{where}: no value for {event.shape} (the broker refuses a message without key and value)")
            continue
        document = orjson.loads(record.value)
        if event.expected == "too_large":
            # Never read, so nothing is sealed: the document says only that the event was not kept.
            if document != {"spec": "purpose-lineage.dead-letter/v1", "not_kept": "over the size limit"}:
                problems.append(f"{where}: an over-large event's dead letter holds {sorted(document)}")
            continue
        sealed = document.get("quarantine") if isinstance(document, dict) else None
        if not isinstance(sealed, dict) or set(sealed) != SEALED_FIELDS:
            problems.append(f"{where}: not an object with a sealed quarantine blob ({event.shape})")
            continue
        if unseal(quarantine, sealed, coordinates.encode()) != (event.value, event.key):
            problems.append(f"{where}: the sealed blob does not open to the input ({event.shape})")
        if extra := set(document) - DEAD_LETTER_FIELDS:
            problems.append(f"{where}: fields beyond the inventory: {sorted(extra)} ({event.shape})")
        if set(document.get("subject") or {}) - {"type", "pseudonym", "key_id"}:
            problems.append(f"{where}: subject holds more than type, pseudonym and key id ({event.shape})")
        for entry in document.get("payload_fields", []):
            if set(entry) != INVENTORY_FIELDS or not isinstance(entry["size"], int):
                problems.append(f"{where}: inventory entry beyond path, size and disposition: {sorted(entry)}")
    return problems


def api_answers(pipeline: PipelineHarness, corpus: Corpus) -> Iterable[tuple[str, str]]:
    """What the HTTP API built over the running pipeline's own store answers, route by route."""
    running = pipeline.pipeline
    assert running.store is not None
    api = create_api(running.store, running.metrics, TOKEN, running.keyring, running.context.engine)
    period = {"from": "2018-07-01", "to": "2100-01-01"}  # every occurred_at the policy knows
    with TestClient(api, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        gets = [
            ("/api/v1/summary", {}),
            ("/api/v1/dashboard", {"minutes": 60}),
            ("/api/v1/report", period),
            ("/api/v1/report", {**period, "format": "markdown"}),
            ("/api/v1/report", {**period, "format": "html"}),
            ("/api/v1/lineage/recent", {"limit": 1000}),
            ("/api/v1/records/third-party", period),
            ("/metrics", {}),
        ]
        for route, parameters in gets:
            response = client.get(route, params=parameters)
            assert response.status_code == 200, f"GET {route}: {response.status_code} {response.text[:300]}"
            yield f"GET {route} {parameters.get('format', '')}".strip(), response.text
        for tenant, subject in corpus.subjects[:3] + corpus.subjects[-2:]:
            response = client.post("/api/v1/trace", json={"tenant_id": tenant, "subject_id": subject})
            assert response.status_code == 200, f"POST /api/v1/trace: {response.status_code}"
            assert response.json()["collections"], "the trace must find the subject's collections to prove anything"
            yield f"POST /api/v1/trace ({tenant})", response.text


def crash(record: logging.LogRecord) -> str:
    error = repr(record.exc_info[1]) if record.exc_info else ""
    return f"{record.name}: {record.getMessage()[:160]} {error}"


def report(findings: dict[str, list[str]]) -> str:
    sections = []
    for title, problems in findings.items():
        if problems:
            shown = "\n    ".join(problems[:MAX_REPORTED])
            more = f"\n    … and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
            sections.append(f"{title}: {len(problems)}\n    {shown}{more}")
    return "\n  ".join(["the hostile corpus was not handled safely:", *sections])


@pytest.mark.timeout(240)
def test_hostile_corpus_leaves_no_excluded_content_or_raw_subject_id_anywhere_and_keeps_allowed_values(
    pipeline: PipelineHarness,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # The Kafka clients' DEBUG protocol traces print raw record batches by design (kafka-python here is the
    # test's own producer and reader, standing in for an attendance service; aiokafka is faust's client): the
    # README keeps kafka-python at INFO, and `purpose-lineage up` both at WARNING even with --verbose. Everything
    # of the pipeline itself (services, faust, mode) is searched at DEBUG.
    caplog.set_level(logging.INFO, logger="kafka")
    caplog.set_level(logging.INFO, logger="aiokafka")
    caplog.set_level(logging.DEBUG)  # last: it also sets the capturing handler's level
    started = time.monotonic()
    corpus = build_corpus(SEED, SIZE)
    events = corpus.events
    topics = pipeline.pipeline.topics
    # Every check runs and reports, so one failure does not hide the others (a lost batch hides no leak).
    findings: dict[str, list[str]] = {}

    coordinates = produce(settings.bootstrap, pipeline, corpus)
    stored, dead_lettered = await_accounting(pipeline, corpus, coordinates)

    # Nothing lost, nothing counted twice, each event where its shape says.
    lineage_counts = dict(
        pipeline.query("SELECT toString(event_id), count() FROM collection_lineage FINAL GROUP BY event_id").rows
    )
    dead_rows = pipeline.query(
        "SELECT source_topic, source_partition, source_offset, any(reason), count() FROM dead_letters FINAL "
        "GROUP BY source_topic, source_partition, source_offset"
    ).rows
    dead_reasons = {(r[0], int(r[1]), int(r[2])): r[3] for r in dead_rows}
    outcomes = []
    for event, where in zip(events, coordinates, strict=True):
        outcome = [LINEAGE] if where in stored else []
        outcome += [dead_reasons.get(where, "?")] if where in dead_lettered else []
        if outcome != [event.expected]:
            outcomes.append(f"{event.shape} at {where}: expected {event.expected}, got {outcome or 'nothing (lost)'}")
    findings["events not accounted for exactly once, as expected"] = outcomes
    findings["stored twice"] = [f"lineage {i}: {n} rows" for i, n in lineage_counts.items() if n != 1] + [
        f"dead letter {r[:3]}: {r[4]} rows" for r in dead_rows if r[4] != 1
    ]
    expected_ids = {e.event_id for e in events if e.expected == LINEAGE}
    findings["lineage rows of no expected event"] = sorted(set(lineage_counts) - expected_ids)
    tolerated = [(e, where) for e, where in zip(events, coordinates, strict=True) if e.shape.startswith("tolerated:")]
    assert {e.shape for e, _ in tolerated} == {"tolerated:bom", "tolerated:lone-surrogate"}
    findings["tolerated oddities not minimized into lineage"] = [
        e.shape for e, where in tolerated if where not in stored
    ]

    # Every removal is evidenced, as excluded content where content was sent.
    removals = {
        str(row[0]): list(row[1])
        for row in pipeline.query("SELECT event_id, removed_reasons FROM collection_lineage FINAL").rows
    }
    findings["hostile events without removal evidence (excluded_content for content shapes)"] = [
        e.shape
        for e in events
        if e.expected == LINEAGE
        and not e.shape.startswith("plain:")
        and (reasons := removals.get(str(UUID(e.event_id)))) is not None
        and (not reasons or (e.shape.startswith(CONTENT_SHAPES) and "excluded_content" not in reasons))
    ]

    # Read every topic of this deployment; the pipeline writes none of the collection topics, only reads them.
    everything = KafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=None)
    try:
        ours = sorted(t for t in everything.topics() if t.startswith((settings.topic_prefix, settings.app_id)))
    finally:
        everything.close()
    written = [t for t in ours if t not in topics.all_collection]
    assert set(topics.all) - set(topics.all_collection) <= set(written)
    messages = read_topics(settings.bootstrap, ours)
    produced_per_topic = Counter(topic for topic, _, _ in coordinates)
    findings["collection topics holding more than was produced"] = [
        f"{t}: {len(messages[t])} messages, {produced_per_topic[t]} produced"
        for t in topics.all_collection
        if len(messages[t]) != produced_per_topic[t]
    ]

    scanner = Scanner(corpus)
    for topic in written:
        scanner.scan(f"topic {topic}", message_blobs(topic, messages[topic]))
    tables = [r[0] for r in pipeline.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows]
    assert {"collection_lineage", "dead_letters"} <= set(tables)
    for table in tables:
        rows = pipeline.query(f"SELECT * FROM {table}").rows
        scanner.scan_text(f"table {table}", ((f"row {n}", "\x1f".join(cells(row))) for n, row in enumerate(rows)))
    scanner.scan_text("metrics", [("exposition", generate_latest(pipeline.pipeline.metrics.registry).decode())])
    scanner.scan_text("API", api_answers(pipeline, corpus))
    records = [*caplog.get_records("setup"), *caplog.records]
    assert records, "the run must have logged something to look at"
    scanner.scan_text("logs", ((f"{r.name}:{r.lineno}", caplog.handler.format(r)) for r in records))
    out, err = capfd.readouterr()
    scanner.scan_text("stdout/stderr", [("stdout", out), ("stderr", err)])
    findings["leaks (sentinel: shape -> where)"] = scanner.hits
    findings["pipeline errors logged"] = [
        crash(r) for r in records if r.levelno >= logging.ERROR or "crash" in str(r.msg)
    ]

    # Allowed values are still kept, on the tagged topics, in the event they came with.
    tagged = {
        document["event_id"]: document
        for topic in topics.all_tagged
        for record in messages[topic]
        if (document := orjson.loads(record.value))
    }
    findings["tagged records of no expected event"] = sorted(set(tagged) - expected_ids)
    findings["allowed values lost from tagged records"] = [
        f"{p} of {i}: expected {v!r}, got {at_path(tagged[i], p)!r}"
        for i, p, v in corpus.kept
        if i in tagged and at_path(tagged[i], p) != v
    ]
    findings["expected lineage events missing from the tagged topics"] = sorted(expected_ids - set(tagged))
    findings["dead letters holding more than the sealed input and the inventory"] = dead_letter_problems(
        messages[topics.dead_letter], dict(zip(coordinates, events, strict=True)), pipeline.pipeline.context.quarantine
    )

    print(
        f"corpus: {len(events)} events {dict(corpus.shape_counts())}, {len(corpus.sentinels)} sentinels; "
        f"{len(stored)} in lineage, {len(dead_lettered)} dead-lettered; scanned {dict(scanner.scanned)}; "
        f"{time.monotonic() - started:.1f} s"
    )
    if any(findings.values()):
        pytest.fail(report(findings), pytrace=False)  # the report says it all; no megabytes of introspection
