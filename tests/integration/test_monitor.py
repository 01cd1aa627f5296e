"""The purpose monitor in the running pipeline: violations on the topic, in ClickHouse and in the metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from prometheus_client import generate_latest

from services.cli.records import write_provision_csv
from services.emitter.client import Emitter
from services.settings import Settings
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import read_all

TENANT = "kobe-logistics"
START = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=9)))
HOLDER = {"type": "analyzed_account_holder", "id": "hanako.sato@kobe-logistics.example"}
IN_CHARGE = {"type": "person_in_charge", "id": "hr-admin-01"}
NANIWA = {"kind": "third_party", "id": "naniwa-benefits"}
RECORD = {
    "recipient_name": "株式会社なにわ福利厚生",
    "recipient_address_or_representative": "大阪府大阪市北区梅田1-1-1",
}


_SECONDS = iter(range(10_000))


def _event(spec: str, subject: dict[str, str] = HOLDER, **body: Any) -> dict[str, Any]:
    """An activity event, each one a second after the previous: the monitor compares by event time."""
    return {
        "spec": f"rakuro.{spec}/v1",
        "event_id": str(uuid.uuid4()),
        "occurred_at": (START + timedelta(seconds=next(_SECONDS))).isoformat(),
        "tenant_id": TENANT,
        "source_service": "crm-mailer",
        "subject": subject,
        **body,
    }


# (topic attribute, document, expected violation codes): in stream order, per subject.
SCENARIO: list[tuple[str, dict[str, Any], list[str]]] = [
    ("use", _event("use", purpose="related_service_notification", data=["user_information.email_address"]),
     ["subject_not_permitted_for_purpose"]),
    ("disclosure", _event("disclosure", purpose="service_provision", data=["log_information.ip_address"],
                          recipient={"kind": "collection_module", "id": "google-analytics"}),
     ["module_receives_identifiable_data"]),
    ("disclosure", _event("disclosure", purpose="service_provision", data=["user_information.name"],
                          recipient=NANIWA, legal_basis="consent", **RECORD),
     ["third_party_without_consent"]),
    ("use", _event("use", purpose="user_notification", data=["log_information"]), ["data_not_permitted_for_purpose"]),
    ("use", _event("use", purpose="service_provision", data=["log_information"]), []),
    ("disclosure", _event("disclosure", purpose="service_provision", data=["cookie", "log_information.usage_situation"],
                          recipient={"kind": "collection_module", "id": "google-analytics"}), []),
    ("consent", _event("consent", action="grant", consent_reference="cons-1", recipient_id="naniwa-benefits"), []),
    ("disclosure", _event("disclosure", purpose="service_provision", data=["user_information.name"], recipient=NANIWA,
                          legal_basis="consent", consent_reference="cons-1", **RECORD), []),
    ("use", _event("use", subject=IN_CHARGE, purpose="related_service_notification",
                   data=["user_information.email_address"]), []),
    ("rights", _event("rights", request="suspension_of_use"), []),
    ("use", _event("use", purpose="service_provision", data=["log_information"]), ["use_after_suspension"]),
]  # fmt: skip


def _emit_in_order(pipeline: PipelineHarness, settings: Settings, scenario: list[tuple[str, dict[str, Any]]]) -> None:
    """Send the scenario as a service would, in order and without pauses.

    Every kind goes to the one activity topic keyed by subject: the monitor decides each use with the state
    sent before it because the partition orders them (services/processors/monitor.py).
    """
    topics = pipeline.pipeline.topics
    with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
        for _, document in scenario:
            emitter.emit_for_subject(topics.activity, orjson.dumps(document), TENANT, document["subject"]["id"])


def test_forbidden_uses_and_disclosures_raise_exactly_the_expected_violations(
    pipeline: PipelineHarness, settings: Settings
) -> None:
    topics = pipeline.pipeline.topics
    _emit_in_order(pipeline, settings, [(t, d) for t, d, _ in SCENARIO])
    decided = [d for t, d, _ in SCENARIO if t in ("use", "disclosure")]
    expected = {d["event_id"]: codes for t, d, codes in SCENARIO if t in ("use", "disclosure")}

    rows: list[list[Any]] = []
    deadline = time.monotonic() + 90
    while len(rows) < len(decided) and time.monotonic() < deadline:
        time.sleep(0.3)
        rows = pipeline.query("SELECT toString(event_id), allowed, violation_codes FROM activity_decisions FINAL").rows
    assert {row[0]: row[2] for row in rows} == expected
    assert {row[0] for row in rows if row[1]} == {e for e, codes in expected.items() if not codes}

    stored = pipeline.query("SELECT toString(event_id), code, article, severity FROM violations FINAL").rows
    assert sorted((r[0], r[1]) for r in stored) == sorted((e, c) for e, codes in expected.items() for c in codes)
    assert all(r[2].startswith("Art.") and r[3] in {"critical", "high", "medium", "low"} for r in stored)

    blobs = asyncio.run(read_all(settings.bootstrap, [topics.violations]))  # keys, values and headers
    alerts = [orjson.loads(blob) for blob in blobs if blob.startswith(b"{")]
    # Each violation here is of its own kind, so each is a new alert of one.
    assert sorted(eid for a in alerts for eid in a["event_ids"]) == sorted(e for e, codes in expected.items() if codes)
    assert {(a["status"], a["count"]) for a in alerts} == {("new", 1)}
    assert all(a["article"].startswith("Art.") and a["actor"] == "crm-mailer" for a in alerts)
    raw_ids = (HOLDER["id"].encode(), IN_CHARGE["id"].encode())
    assert not any(raw in orjson.dumps(p) for p in alerts for raw in raw_ids)

    records = pipeline.query(
        "SELECT recipient_id, recipient_name, consent_reference, data_items, length(subject_pseudonym) "
        "FROM provision_records FINAL"
    ).rows
    assert records == [["naniwa-benefits", RECORD["recipient_name"], "cons-1", ["user_information.name"], 64]]

    metrics = generate_latest(pipeline.pipeline.metrics.registry).decode()
    for codes in expected.values():
        for code in codes:
            assert f'code="{code}"' in metrics
    assert 'lineage_decisions_total{activity="use",allowed="true"} 2.0' in metrics
    assert HOLDER["id"] not in metrics
    # crm-mailer is in no service register: every use and disclosure it makes is a gap.
    registry = pipeline.pipeline.metrics.registry
    gaps = sum(registry.get_sample_value("lineage_policy_gaps_total", {"stream": s, "gap": "service"}) or 0
               for s in ("use", "disclosure"))  # fmt: skip
    assert gaps == len(decided)


def test_redelivered_events_leave_one_row_each(pipeline: PipelineHarness, settings: Settings) -> None:
    """A consumer restarted before its commit delivers events again: the store keeps one row per event."""
    document = _event("use", purpose="service_provision", data=["log_information"])
    collection = orjson.loads(
        orjson.dumps(
            {
                "spec": "rakuro.collection/v1",
                "event_id": str(uuid.uuid4()),
                "kind": "terminal",
                "kind_version": 1,
                "occurred_at": "2026-11-27T10:00:00+09:00",
                "tenant_id": TENANT,
                "source_service": "kiosk",
                "subject": HOLDER,
                "payload": {"terminal_id": "kiosk-1", "terminal_type": "tablet"},
            }
        )
    )
    topics = pipeline.pipeline.topics
    with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
        for _ in range(3):
            emitter.emit_raw(topics.activity, orjson.dumps(document))
            emitter.emit_raw(topics.collection_for("terminal"), orjson.dumps(collection))

    registry = pipeline.pipeline.metrics.registry

    def inserted(table: str) -> float:
        return registry.get_sample_value("lineage_sink_rows_total", {"table": table}) or 0.0

    deadline = time.monotonic() + 90

    def redelivered() -> float:
        return registry.get_sample_value("lineage_redeliveries_total") or 0.0

    while (redelivered() < 2 or inserted("activity_decisions") < 3) and time.monotonic() < deadline:
        time.sleep(0.3)
    # The store role recognizes a collection event it already holds and inserts it once ...
    assert (inserted("collection_lineage"), redelivered()) == (1, 2)
    # ... while every decision reaches the table, which keeps one row per event.
    assert inserted("activity_decisions") == 3, "every delivery reached the store"
    lineage = pipeline.query("SELECT count() FROM collection_lineage FINAL").rows[0][0]
    decisions = pipeline.query("SELECT count() FROM activity_decisions FINAL").rows[0][0]
    assert (lineage, decisions) == (1, 1)

    traced = pipeline.call(pipeline.pipeline.store.trace(pipeline.pipeline.keyring, TENANT, HOLDER["id"]))
    assert [c["kind"] for c in traced["collections"]] == ["terminal"]
    assert [u["purpose"] for u in traced["uses_and_disclosures"]] == ["service_provision"]
    assert HOLDER["id"] not in str(traced)


def test_third_party_records_export_as_csv(
    pipeline: PipelineHarness, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    grant = _event("consent", action="grant", consent_reference="cons-9", recipient_id="naniwa-benefits")
    provide = _event("disclosure", purpose="service_provision", data=["user_information.name"], recipient=NANIWA,
                     legal_basis="consent", consent_reference="cons-9", **RECORD)  # fmt: skip
    _emit_in_order(pipeline, settings, [("consent", grant), ("disclosure", provide)])
    deadline = time.monotonic() + 90
    while not pipeline.query("SELECT count() FROM provision_records").rows[0][0] and time.monotonic() < deadline:
        time.sleep(0.3)

    count = write_provision_csv(pipeline, datetime(2026, 1, 1), datetime(2027, 1, 1))

    lines = capsys.readouterr().out.splitlines()
    assert count == 1
    assert lines[0].startswith("provided_at,tenant_id,consent_obtained,consent_reference,recipient_id,recipient_name")
    assert "cons-9" in lines[1]
    assert RECORD["recipient_name"] in lines[1]
    assert HOLDER["id"] not in "\n".join(lines)
    assert write_provision_csv(pipeline, datetime(2027, 1, 1), datetime(2028, 1, 1)) == 0


@pytest.fixture
def quick_alerts(settings: Settings) -> Iterator[PipelineHarness]:
    """The pipeline with a 2-second alert window, so a test can see a window close."""
    harness = PipelineHarness(settings.model_copy(update={"alert_window_s": 2.0}))
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


def test_a_flood_of_identical_violations_is_one_alert_then_one_summary_per_window(
    quick_alerts: PipelineHarness, settings: Settings
) -> None:
    """A misconfigured tag sends the IP address of 60 people: 60 violations recorded, a handful of alerts."""
    analytics = {"kind": "collection_module", "id": "google-analytics"}
    data = ["cookie.cookie_id", "log_information.ip_address"]
    floods = [
        _event("disclosure", subject={"type": "analyzed_account_holder", "id": f"p{i}@example.jp"},
               purpose="service_provision", data=data, recipient=analytics)
        for i in range(60)
    ]  # fmt: skip
    topics = quick_alerts.pipeline.topics
    with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter:
        for document in floods:
            emitter.emit_for_subject(topics.activity, orjson.dumps(document), TENANT, document["subject"]["id"])

    alerts: list[dict[str, Any]] = []
    deadline = time.monotonic() + 90
    while sum(a["count"] for a in alerts) < len(floods) and time.monotonic() < deadline:
        time.sleep(0.5)
        blobs = asyncio.run(read_all(settings.bootstrap, [topics.violations]))
        alerts = [orjson.loads(blob) for blob in blobs if blob.startswith(b"{")]

    assert sum(a["count"] for a in alerts) == len(floods)
    assert [a["status"] for a in alerts].count("new") == 1
    assert len(alerts) < len(floods) / 10, "identical violations must not flood the topic"
    assert {a["code"] for a in alerts} == {"module_receives_identifiable_data"}
    # Alerts are published once the batch's rows are inserted; wait for the table all the same.
    stored = 0
    while stored < len(floods) and time.monotonic() < deadline:
        stored = quick_alerts.query("SELECT count() FROM violations FINAL").rows[0][0]
        time.sleep(0.2)
    assert stored == len(floods), "the table still records every violation"
    registry = quick_alerts.pipeline.metrics.registry
    labels = {"code": "module_receives_identifiable_data", "severity": "critical", "purpose": "service_provision"}
    assert registry.get_sample_value("lineage_purpose_violations_total", labels) == len(floods)


def test_a_provision_right_after_its_consent_is_not_flagged_while_consents_queue_up(
    pipeline: PipelineHarness, settings: Settings
) -> None:
    """A thousand consents of other subjects ahead of ours; the provision comes right after our consent.

    The provision must be decided with the consent sent just before it, however many messages are queued.
    """
    backlog = [
        ("consent", _event("consent", subject={"type": "analyzed_account_holder", "id": f"other-{i}@example.jp"},
                           action="grant", consent_reference=f"other-{i}", recipient_id="naniwa-benefits"))
        for i in range(1000)
    ]  # fmt: skip
    grant = _event("consent", action="grant", consent_reference="cons-7", recipient_id="naniwa-benefits")
    provide = _event("disclosure", purpose="service_provision", data=["user_information.name"], recipient=NANIWA,
                     legal_basis="consent", consent_reference="cons-7", **RECORD)  # fmt: skip
    _emit_in_order(pipeline, settings, [*backlog, ("consent", grant), ("disclosure", provide)])

    rows: list[list[Any]] = []
    deadline = time.monotonic() + 90
    while not rows and time.monotonic() < deadline:
        time.sleep(0.3)
        rows = pipeline.query("SELECT allowed, violation_codes FROM activity_decisions FINAL").rows
    assert rows == [[True, []]]


def test_alert_grouping_survives_a_restart_and_summaries_count_what_the_store_holds(settings: Settings) -> None:
    """A flood before and after a restart: one ``new`` alert in all, then one summary of everything after it."""
    slow = settings.model_copy(update={"alert_window_s": 30.0})
    analytics = {"kind": "collection_module", "id": "google-analytics"}

    def flood(count: int, tag: str) -> list[dict[str, Any]]:
        return [
            _event("disclosure", subject={"type": "analyzed_account_holder", "id": f"{tag}{i}@example.jp"},
                   purpose="service_provision", data=["cookie.cookie_id", "log_information.ip_address"],
                   recipient=analytics)
            for i in range(count)
        ]  # fmt: skip

    def emit(harness: PipelineHarness, documents: list[dict[str, Any]]) -> None:
        topics = harness.pipeline.topics
        with Emitter(slow.bootstrap, source_service="test", topics=topics) as emitter:
            for document in documents:
                emitter.emit_for_subject(topics.activity, orjson.dumps(document), TENANT, document["subject"]["id"])

    def alerts_until(predicate: Any, timeout_s: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            blobs = asyncio.run(read_all(slow.bootstrap, [topics.violations]))
            alerts = [orjson.loads(blob) for blob in blobs if blob.startswith(b"{")]
            if predicate(alerts) or time.monotonic() > deadline:
                return alerts
            time.sleep(0.5)

    first = PipelineHarness(slow)
    first.start()
    topics = first.pipeline.topics
    try:
        emit(first, flood(5, "before"))
        alerts = alerts_until(lambda a: len(a) >= 1, 60)
        assert [(a["status"], a["count"]) for a in alerts] == [("new", 5)]
    finally:
        first.stop()  # what SIGTERM does

    second = PipelineHarness(slow)
    second.start()
    try:
        emit(second, flood(7, "after"))
        alerts = alerts_until(lambda a: len(a) >= 2, 90)
        stored = second.query("SELECT count() FROM alerts FINAL").rows[0][0]
    finally:
        second.stop()
    assert [a["status"] for a in alerts] == ["new", "repeated"], "the restart did not announce the group again"
    assert (alerts[1]["count"], alerts[1]["subjects"]) == (7, 7), "the summary counts what the store holds"
    assert alerts[1]["window_start"] == alerts[0]["published_at"], "the window the first alert opened"
    assert stored == 2, "every published alert is recorded"
