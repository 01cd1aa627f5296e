"""The observer on real stage output: golden events through the collection pipeline and the monitor, emitted
through a real FileTransport, read back as the JSON lines a lineage backend would get."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import schemas
from schemas.events import CollectionKind
from services.monitor.evaluate import Evaluated, MonitorResult, monitor_batch
from services.openlineage.client import build_client
from services.openlineage.layout import JobName, PipelineLayout, pipeline_layout
from services.openlineage.observer import LineageObserver
from services.openlineage.tally import MAX_REMOVED_PATHS, PolicyTerms, Tally
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.pseudonymize import PseudonymKey
from services.records import RemovedField, SourceRecord, StageResult, TaggedRecord
from services.stages.collection import CollectionContext, process_collection_batch
from services.topics import Topics

SCHEMAS = Path(schemas.__file__).parent
EXAMPLES = SCHEMAS / "examples"
FACET_SCHEMA = SCHEMAS / "openlineage" / "PurposeLineageFacet.json"
SPEC_SUBSET = Path(__file__).parent / "openlineage_spec_subset.json"

AT = datetime(2024, 1, 15, 3, 0, tzinfo=UTC)
BOOTSTRAP = "broker-1:9092"
KAFKA = "kafka://broker-1:9092"
EXCLUDED_TEXT = "残業の件でご相談があります"
ATTACHMENT_NAME = "給与明細_2023-04.pdf"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64)"
FREE_TEXT_PURPOSE = "gift-for-taro-yamada"  # an undeclared purpose naming a person, in a term's shape
JOBS = [JobName.COLLECT.value, JobName.STORE.value, JobName.MONITOR.value]


def golden(name: str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((EXAMPLES / f"{name}.json").read_bytes())
    return document


def strings(node: Any, *, keys: bool = True) -> Iterator[str]:
    """Every string value in a JSON document, and every key unless ``keys`` is false."""
    if isinstance(node, dict):
        for key, value in node.items():
            if keys:
                yield key
            yield from strings(value, keys=keys)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, keys=keys)
    elif isinstance(node, str):
        yield node


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def dataset(event: dict[str, Any], side: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in event[side] if d["name"] == name)
    return found


@pytest.fixture(scope="module")
def collection_documents() -> list[dict[str, Any]]:
    """One golden event per kind, and the access-log event again with fields minimization must remove."""
    with_removals = golden("access_log")
    with_removals["payload"] |= {
        "email_body": EXCLUDED_TEXT,
        "attachment": {"file_name": ATTACHMENT_NAME},
        "user_agent": USER_AGENT,
    }
    return [*(golden(kind.value) for kind in CollectionKind), with_removals]


@pytest.fixture(scope="module")
def collected(
    collection_documents: list[dict[str, Any]], context: CollectionContext, topics: Topics
) -> StageResult[TaggedRecord]:
    batch = [
        SourceRecord(topics.collection_for(doc["kind"]), 0, offset, orjson.dumps(doc))
        for offset, doc in enumerate(collection_documents)
    ]
    truncated = orjson.dumps(golden("access_log"))[:-9]  # a dead letter whose bytes carry a subject id
    batch.append(SourceRecord(topics.collection(CollectionKind.ACCESS_LOG), 0, len(batch), truncated))
    result = process_collection_batch(batch, context, AT)
    assert len(result.ok) == len(collection_documents)
    assert len(result.dead) == 1
    return result


@pytest.fixture(scope="module")
def activity_documents() -> list[dict[str, Any]]:
    unknown_purpose = golden("use") | {"purpose": FREE_TEXT_PURPOSE}
    return [golden("use"), golden("disclosure"), unknown_purpose]


@pytest.fixture(scope="module")
def monitored(activity_documents: list[dict[str, Any]], engine: PolicyEngine, key: PseudonymKey) -> MonitorResult:
    documents = [*activity_documents, golden("use") | {"data": []}]  # the last one breaks its contract
    batch = [SourceRecord("activity", 0, offset, orjson.dumps(doc)) for offset, doc in enumerate(documents)]
    result = monitor_batch(batch, {}, {}, Decider(engine), key)
    assert len(result.evaluated) == len(activity_documents)
    assert len(result.dead) == 1
    return result


@pytest.fixture(scope="module")
def evaluated(monitored: MonitorResult) -> list[Evaluated]:
    return monitored.evaluated


@pytest.fixture(scope="module")
def layout(topics: Topics) -> PipelineLayout:
    return pipeline_layout("purpose-lineage", topics, BOOTSTRAP, None, "lineage")


@pytest.fixture(scope="module")
def terms(engine: PolicyEngine) -> PolicyTerms:
    return PolicyTerms.of(engine)


def make_observer(path: Path, layout: PipelineLayout, terms: PolicyTerms) -> LineageObserver:
    client = build_client(path, None, None)
    assert client is not None
    return LineageObserver(client, layout, terms, clock=lambda: AT)


@pytest.fixture(scope="module")
def events(
    tmp_path_factory: pytest.TempPathFactory,
    layout: PipelineLayout,
    terms: PolicyTerms,
    collected: StageResult[TaggedRecord],
    monitored: MonitorResult,
) -> list[dict[str, Any]]:
    """A whole run: start, one batch through every job, a flush, complete."""
    path = tmp_path_factory.mktemp("lineage") / "events.jsonl"
    observer = make_observer(path, layout, terms)
    observer.start()
    observer.observe_collection(collected.ok, collected.dead)
    observer.observe_store(len(collected.ok), len(collected.dead))
    observer.observe_monitor(monitored.evaluated, monitored.dead)
    observer.flush()
    observer.complete()
    assert observer.emit_errors == 0
    return read_events(path)


def running(events: list[dict[str, Any]], job: JobName) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in events if e["eventType"] == "RUNNING" and e["job"]["name"] == job.value)
    return found


def test_each_job_runs_start_running_complete_under_one_run_id(events: list[dict[str, Any]]) -> None:
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        *(("START", job) for job in JOBS),
        *(("RUNNING", job) for job in JOBS),
        *(("COMPLETE", job) for job in JOBS),
    ]
    run_ids: dict[str, set[str]] = {job: set() for job in JOBS}
    for event in events:
        run_ids[event["job"]["name"]].add(event["run"]["runId"])
    assert all(len(ids) == 1 for ids in run_ids.values())
    assert len(set.union(*run_ids.values())) == len(JOBS)
    assert {UUID(next(iter(ids))).version for ids in run_ids.values()} == {7}
    assert {e["job"]["namespace"] for e in events} == {"purpose-lineage"}
    assert {e["eventTime"] for e in events} == {AT.isoformat()}


def test_every_event_names_its_jobs_inputs_and_outputs(events: list[dict[str, Any]], layout: PipelineLayout) -> None:
    for event in events:
        spec = layout.jobs[JobName(event["job"]["name"])]
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [(d.namespace, d.name) for d in spec.inputs]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [(d.namespace, d.name) for d in spec.outputs]


def test_collect_facet_carries_the_purposes_legal_bases_and_counts_of_the_tagged_records(
    events: list[dict[str, Any]], collected: StageResult[TaggedRecord]
) -> None:
    facet = running(events, JobName.COLLECT)["run"]["facets"]["purposeLineage"]

    records = collected.ok
    assert facet["policyId"] == "rakuro"
    assert facet["policyVersions"] == sorted({r.policy_version for r in records})
    assert facet["purposes"] == sorted({p for r in records for p in r.purposes})
    assert facet["legalBases"] == sorted({b for r in records for b in r.legal_bases})
    assert facet["dataCategories"] == sorted({c for r in records for c in r.data_categories})
    assert facet["records"] == len(records) + len(collected.dead)
    assert facet["removedFields"] == {"excluded_content": 2, "not_allowed": 1}
    assert facet["deadLetters"] == {"malformed_json": 1}
    assert facet["_schemaURL"].endswith("/1-0-0/PurposeLineageFacet.json#/$defs/PurposeLineageFacet")


def test_each_tagged_topic_carries_its_own_share_of_the_facet(
    events: list[dict[str, Any]], collected: StageResult[TaggedRecord], topics: Topics
) -> None:
    event = running(events, JobName.COLLECT)

    for kind in CollectionKind:
        facet = dataset(event, "outputs", topics.tagged(kind))["facets"]["purposeLineage"]
        of_kind = [r for r in collected.ok if r.kind == kind.value]
        assert facet["records"] == len(of_kind)
        assert facet["purposes"] == sorted({p for r in of_kind for p in r.purposes})
        assert facet["dataCategories"] == sorted({c for r in of_kind for c in r.data_categories})
    dead_letters = dataset(event, "outputs", topics.dead_letter)["facets"]["purposeLineage"]
    assert dead_letters["deadLetters"] == {"malformed_json": 1}


def leaf_paths(document: dict[str, Any], prefix: str) -> Iterator[str]:
    for name, value in document.items():
        if isinstance(value, dict):
            yield from leaf_paths(value, f"{prefix}.{name}")
        else:
            yield f"{prefix}.{name}"


def test_column_lineage_names_exactly_the_payload_fields_that_were_kept(
    events: list[dict[str, Any]], collected: StageResult[TaggedRecord], topics: Topics
) -> None:
    event = running(events, JobName.COLLECT)

    for kind in CollectionKind:
        lineage = dataset(event, "outputs", topics.tagged(kind))["facets"]["columnLineage"]
        kept = {path for r in collected.ok if r.kind == kind.value for path in leaf_paths(r.payload, "payload")}
        assert {f for f in lineage["fields"] if f.startswith("payload.")} == kept


def test_kept_fields_are_identity_copies_and_the_pseudonym_a_masking_transformation(
    events: list[dict[str, Any]], topics: Topics
) -> None:
    event = running(events, JobName.COLLECT)
    lineage = dataset(event, "outputs", topics.tagged(CollectionKind.USER_PROFILE))["facets"]["columnLineage"]
    source = topics.collection(CollectionKind.USER_PROFILE)

    identity = [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]
    account = lineage["fields"]["payload.bank_account.account_number"]["inputFields"]
    assert account == [
        {
            "namespace": KAFKA,
            "name": source,
            "field": "payload.bank_account.account_number",
            "transformations": identity,
        }
    ]
    assert lineage["fields"]["tenant_id"]["inputFields"][0]["field"] == "tenant_id"
    (pseudonym,) = lineage["fields"]["subject.pseudonym"]["inputFields"]
    assert pseudonym["field"] == "subject.id"
    assert pseudonym["transformations"] == [
        {"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "keyed HMAC-SHA256 pseudonym", "masking": True}
    ]
    assert "subject.id" not in lineage["fields"]


def test_removed_fields_are_listed_as_masked_filtered_inputs_with_their_reason(
    events: list[dict[str, Any]], topics: Topics
) -> None:
    event = running(events, JobName.COLLECT)
    lineage = dataset(event, "outputs", topics.tagged(CollectionKind.ACCESS_LOG))["facets"]["columnLineage"]

    removed = {(f["field"], t["description"]) for f in lineage["dataset"] for t in f["transformations"]}
    assert removed == {
        ("payload.attachment", "removed: excluded_content"),
        ("payload.email_body", "removed: excluded_content"),
        ("payload.user_agent", "removed: not_allowed"),
    }
    for field in lineage["dataset"]:
        assert field["name"] == topics.collection(CollectionKind.ACCESS_LOG)
        assert [(t["type"], t["subtype"], t["masking"]) for t in field["transformations"]] == [
            ("INDIRECT", "FILTER", True)
        ]
    assert not {"payload.attachment", "payload.email_body", "payload.user_agent"} & set(lineage["fields"])


def test_no_field_value_subject_id_or_pseudonym_appears_in_any_event(
    events: list[dict[str, Any]],
    collection_documents: list[dict[str, Any]],
    activity_documents: list[dict[str, Any]],
    collected: StageResult[TaggedRecord],
    evaluated: list[Evaluated],
) -> None:
    # Long or non-ASCII values only: a short value like "pc" or "0001" could occur in a run id by chance.
    payloads = [doc["payload"] for doc in collection_documents]
    values = {v for payload in payloads for v in strings(payload, keys=False) if len(v) >= 8 or not v.isascii()}
    values |= {doc["subject"]["id"] for doc in [*collection_documents, *activity_documents]}
    values |= {r.subject_pseudonym for r in collected.ok} | {e.subject_pseudonym for e in evaluated}
    values |= {FREE_TEXT_PURPOSE, golden("disclosure")["recipient_name"], golden("disclosure")["consent_reference"]}
    assert {"10.1.2.3", EXCLUDED_TEXT, ATTACHMENT_NAME, USER_AGENT, "週次定例ミーティング", "t.yamada"} <= values

    emitted = [s for event in events for s in strings(event)]
    leaked = {value for value in values for s in emitted if value in s}
    assert leaked == set()


def test_monitor_facet_keeps_only_the_policys_own_purposes_and_counts_violations(
    events: list[dict[str, Any]], topics: Topics
) -> None:
    event = running(events, JobName.MONITOR)
    facet = event["run"]["facets"]["purposeLineage"]

    assert facet["records"] == 4  # three decisions, one dead letter
    assert facet["purposes"] == ["service_provision"]
    assert facet["violations"]["unknown_purpose"] == 1
    assert set(facet["dataCategories"]) == {"log_information", "terminal_information", "user_information"}
    assert dataset(event, "inputs", topics.activity)["facets"]["purposeLineage"]["records"] == 3
    assert dataset(event, "outputs", topics.dead_letter)["facets"]["purposeLineage"]["deadLetters"] == {
        "schema_invalid": 1
    }


def test_store_facet_counts_the_rows_inserted(
    events: list[dict[str, Any]], collected: StageResult[TaggedRecord]
) -> None:
    event = running(events, JobName.STORE)

    assert event["run"]["facets"]["purposeLineage"]["records"] == len(collected.ok) + len(collected.dead)
    assert dataset(event, "outputs", "lineage.dead_letters")["facets"]["purposeLineage"]["records"] == 1


def test_observing_emits_nothing_until_a_flush_and_a_flush_only_for_jobs_that_saw_something(
    tmp_path: Path, layout: PipelineLayout, terms: PolicyTerms, collected: StageResult[TaggedRecord]
) -> None:
    path = tmp_path / "events.jsonl"
    observer = make_observer(path, layout, terms)
    observer.start()
    observer.observe_collection(collected.ok)
    assert len(read_events(path)) == len(JOBS)

    observer.flush()
    observer.flush()  # nothing seen since the last flush: nothing to say

    flushed = read_events(path)[len(JOBS) :]
    assert [(e["eventType"], e["job"]["name"]) for e in flushed] == [("RUNNING", "collect")]
    assert flushed[0]["run"]["facets"]["purposeLineage"]["records"] == len(collected.ok)


def test_fail_ends_every_run_with_the_message_only_and_nothing_follows(
    tmp_path: Path, layout: PipelineLayout, terms: PolicyTerms, collected: StageResult[TaggedRecord]
) -> None:
    path = tmp_path / "events.jsonl"
    observer = make_observer(path, layout, terms)
    observer.start()
    observer.observe_collection(collected.ok)

    observer.fail("lineage store unreachable")
    observer.flush()
    observer.complete()

    failed = read_events(path)[len(JOBS) :]
    assert [(e["eventType"], e["job"]["name"]) for e in failed] == [("FAIL", job) for job in JOBS]
    for event in failed:
        error = event["run"]["facets"]["errorMessage"]
        assert {k: v for k, v in error.items() if not k.startswith("_")} == {
            "message": "lineage store unreachable",
            "programmingLanguage": "python",
        }


def test_a_failing_transport_never_raises_into_the_pipeline_and_is_counted(
    tmp_path: Path,
    layout: PipelineLayout,
    terms: PolicyTerms,
    collected: StageResult[TaggedRecord],
    caplog: pytest.LogCaptureFixture,
) -> None:
    observer = make_observer(tmp_path, layout, terms)  # a directory: every append fails

    with caplog.at_level(logging.WARNING, logger="services.openlineage.observer"):
        observer.start()
        observer.observe_collection(collected.ok, collected.dead)
        observer.flush()
        observer.complete()

    assert observer.emit_errors == len(JOBS) + 1 + len(JOBS)
    assert caplog.records
    assert all("not emitted (RuntimeError)" in r.getMessage() for r in caplog.records)


def test_removed_paths_are_capped_per_dataset_but_every_removal_is_counted(
    collected: StageResult[TaggedRecord],
) -> None:
    many = tuple(RemovedField(f"payload.extra_{i}", 1) for i in range(MAX_REMOVED_PATHS + 50))
    record = msgspec.structs.replace(collected.ok[0], removed=many)
    tally = Tally()

    tally.add_tagged(record)

    assert len(tally.removed_fields) == MAX_REMOVED_PATHS
    assert tally.removed_by_reason == {"not_allowed": MAX_REMOVED_PATHS + 50}


def spec_registry() -> Registry[Any]:
    """The stand-in OpenLineage schemas and the shipped facet schema, each under the URL events refer to it by."""
    documents: dict[str, Any] = json.loads(SPEC_SUBSET.read_text(encoding="utf-8"))["resources"]
    facet = json.loads(FACET_SCHEMA.read_text(encoding="utf-8"))
    documents[facet["$id"]] = facet
    return Registry().with_resources((uri, DRAFT202012.create_resource(doc)) for uri, doc in documents.items())


def validate(instance: Any, schema_url: str, registry: Registry[Any]) -> None:
    Draft202012Validator({"$ref": schema_url}, registry=registry, format_checker=FormatChecker()).validate(instance)


def facets_of(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    holders = [event["run"], event["job"], *event["inputs"], *event["outputs"]]
    for holder in holders:
        yield from holder.get("facets", {}).items()


def test_every_event_and_facet_conforms_to_the_schema_it_names(
    events: list[dict[str, Any]], tmp_path: Path, layout: PipelineLayout, terms: PolicyTerms
) -> None:
    failed_path = tmp_path / "failed.jsonl"
    observer = make_observer(failed_path, layout, terms)
    observer.fail("worker stopped")
    registry = spec_registry()
    checked: set[str] = set()

    for event in [*events, *read_events(failed_path)]:
        validate(event, event["schemaURL"], registry)
        datetime.fromisoformat(event["eventTime"])
        for name, facet in facets_of(event):
            base = facet["_schemaURL"].split("#")[0]
            if base in registry:  # the client's own facets (jobType, tags, ...) are only checked as base facets
                validate(facet, facet["_schemaURL"], registry)
                checked.add(name)

    assert checked == {"purposeLineage", "columnLineage", "errorMessage"}


@pytest.mark.parametrize(
    "change",
    [
        {"purposes": ["taro.yamada@example.jp"]},
        {"dataCategories": ["Log Information"]},
        {"removedFields": {"leaked": 1}},
        {"payload": {"ip_address": "10.1.2.3"}},
    ],
)
def test_facet_schema_admits_policy_names_and_counts_only(events: list[dict[str, Any]], change: dict[str, Any]) -> None:
    facet = running(events, JobName.COLLECT)["run"]["facets"]["purposeLineage"]
    registry = spec_registry()
    validate(facet, facet["_schemaURL"], registry)

    with pytest.raises(ValidationError):
        validate(facet | change, facet["_schemaURL"], registry)
