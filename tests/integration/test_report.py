"""The purpose-limitation report and the provision records over the real store: exact counts, CLI and API agree."""

from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from services.api.app import create_api
from services.broker.local import free_port
from services.cli.main import cli
from services.cli.records import write_provision_csv
from services.metrics import PipelineMetrics
from services.monitor.rows import ACTIVITY_COLUMNS, PROVISION_COLUMNS, VIOLATION_COLUMNS
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy
from services.reports.model import PurposeReport
from services.reports.provisions import PROVISION_QUERY, provision_csv, provision_parameters
from services.reports.queries import build_report
from services.reports.render import ReportFormat, render
from services.settings import Settings
from services.sink.rows import DEAD_LETTER_COLUMNS, LINEAGE_COLUMNS, Row
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore

KOBE, NANIWA_WORKS = "kobe-logistics", "naniwa-works"
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
TOKEN = "report-test-token"
P1, P2, P3 = (f"{n:064x}" for n in (1, 2, 3))
NANIWA_BENEFITS = "株式会社なにわ福利厚生"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def lineage(
    kind: str,
    occurred_at: datetime,
    subject: str,
    categories: list[str],
    purposes: list[str],
    *,
    tenant: str = KOBE,
    service: str = "attendance-web",
    removed: tuple[tuple[str, str], ...] = (),
) -> Row:
    """A collection_lineage row as the sink writes it; ``removed`` holds (path, reason) pairs."""
    return (
        uuid.uuid4(), kind, 1, tenant, service, "analyzed_account_holder", subject, "k1", categories,
        [f"{c}.x" for c in categories], ["f"], purposes, ["published_purpose_of_use"] * len(purposes), "rakuro",
        "2022-06-01", [p for p, _ in removed], [12] * len(removed), [r for _, r in removed], occurred_at,
        occurred_at + timedelta(seconds=1), f"collection.{kind}", 0, 1, "", [], [],
    )  # fmt: skip


def activity(
    activity: str,
    occurred_at: datetime,
    subject: str,
    actor: str,
    purpose: str,
    data: list[str],
    recipient: tuple[str, str],
    codes: list[str],
    *,
    legal_basis: str | None = "published_purpose_of_use",
) -> tuple[uuid.UUID, Row]:
    """An activity_decisions row (allowed when ``codes`` is empty) and its event id."""
    event_id = uuid.uuid4()
    return event_id, (
        event_id, activity, KOBE, actor, subject, purpose, data, *recipient, not codes,
        legal_basis if not codes else None, "2022-06-01", codes, occurred_at, occurred_at + timedelta(seconds=1),
        activity, 0, 1,
    )  # fmt: skip


def violation(event: tuple[uuid.UUID, Row], code: str, article: str, severity: str) -> Row:
    event_id, row = event
    fields = dict(zip(ACTIVITY_COLUMNS, row, strict=True))
    return (
        event_id, code, article, severity, f"{code} (test)", KOBE, fields["actor"], fields["subject_pseudonym"],
        fields["purpose"], fields["recipient_id"], fields["occurred_at"], fields["decided_at"], fields["activity"],
        fields["recipient_kind"], fields["policy_version"],
    )  # fmt: skip


def dead_letter(offset: int, reason: str, size: int, when: datetime) -> Row:
    return ("collection.access_log", 0, offset, "ingest", reason, "refused (test)", None, None, size, when)


@dataclass(frozen=True)
class Stored:
    store: LineageStore
    engine: PolicyEngine


def _insert_scenario(store: LineageStore) -> None:
    """Realistic rows of November 2026, each table once more with re-delivered duplicates and out-of-period rows."""
    lineage_rows = [
        lineage("access_log", at(10), P1, ["log_information"], ["service_provision"],
                removed=(("payload.subject", "excluded_content"),)),
        lineage("user_profile", at(11), P2, ["user_information", "login_credentials"],
                ["service_provision", "user_notification"], service="profile-sync",
                removed=(("payload.favourite_colour", "not_allowed"),)),
        lineage("terminal", at(12), P1, ["terminal_information"], ["service_provision"], service="kiosk"),
        lineage("access_log", at(13), P3, ["log_information"], ["service_provision"], tenant=NANIWA_WORKS),
        lineage("access_log", START - timedelta(milliseconds=1), P1, ["log_information"], ["service_provision"]),
        lineage("access_log", END, P1, ["log_information"], ["service_provision"]),  # the end is exclusive
    ]  # fmt: skip
    a1 = activity(
        "use",
        at(10),
        P1,
        "attendance-tally",
        "service_provision",
        ["log_information.requested_at", "log_information.usage_situation"],
        ("internal", "rakuro"),
        [],
    )
    a2 = activity(
        "use",
        at(14),
        P1,
        "marketing-mailer",
        "related_service_notification",
        ["user_information.email_address"],
        ("internal", "rakuro"),
        ["subject_not_permitted_for_purpose"],
    )
    a3 = activity(
        "disclosure",
        at(15),
        P2,
        "web-analytics",
        "service_provision",
        ["cookie", "log_information.usage_situation"],
        ("collection_module", "google-analytics"),
        [],
    )
    a4 = activity(
        "disclosure",
        at(16),
        P2,
        "benefits-export",
        "service_provision",
        ["user_information.name"],
        ("third_party", "naniwa-benefits"),
        [],
        legal_basis="consent",
    )
    a5 = activity(
        "use",
        at(20),
        P2,
        "crm-mailer",
        "upsell",
        ["user_information.shoe_size"],
        ("internal", "rakuro"),
        ["unknown_purpose", "unknown_data"],
    )
    a6 = activity(
        "disclosure",
        at(21),
        P1,
        "helpdesk-bridge",
        "user_notification",
        ["user_information.email_address"],
        ("consignee", "hokuto-helpdesk"),
        [],
    )
    a7 = activity(
        "disclosure",
        at(22),
        P1,
        "web-analytics",
        "service_provision",
        ["log_information.ip_address"],
        ("collection_module", "google-analytics"),
        ["module_receives_identifiable_data"],
    )
    a_late = activity(
        "use",
        END + timedelta(days=4),
        P1,
        "attendance-tally",
        "service_provision",
        ["log_information"],
        ("internal", "rakuro"),
        [],
    )
    violations = [
        violation(a2, "subject_not_permitted_for_purpose", "Art. 3.1", "high"),
        violation(a5, "unknown_purpose", "Art. 3.1", "high"),
        violation(a5, "unknown_data", "Art. 2.1", "high"),
        violation(a7, "module_receives_identifiable_data", "Art. 6", "critical"),
    ]
    provision = (
        a4[0], KOBE, at(16), True, "cons-9", "naniwa-benefits", NANIWA_BENEFITS, "大阪府大阪市北区梅田1-1-1", P2,
        ["user_information.name"], "service_provision", "benefits-export", "2022-06-01", at(16, 10),
    )  # fmt: skip
    late_provision = (uuid.uuid4(), *provision[1:2], END, *provision[3:])
    dead_letters = [
        dead_letter(10, "invalid_json", 120, at(15)),
        dead_letter(11, "schema_violation", 300, at(16)),
        dead_letter(12, "schema_violation", 50, END + timedelta(days=1)),
    ]
    for _ in range(2):  # the second round is the re-delivery: every event must count once
        store.insert_rows("collection_lineage", LINEAGE_COLUMNS, lineage_rows)
        store.insert_rows("activity_decisions", ACTIVITY_COLUMNS, [e[1] for e in (a1, a2, a3, a4, a5, a6, a7, a_late)])
        store.insert_rows("violations", VIOLATION_COLUMNS, violations)
        store.insert_rows("provision_records", PROVISION_COLUMNS, [provision, late_provision])
        store.insert_rows("dead_letters", DEAD_LETTER_COLUMNS, dead_letters)


@pytest.fixture
def stored(settings: Settings) -> Iterator[Stored]:
    store = LineageStore(connect(settings), settings.clickhouse_database)
    store.migrate()
    _insert_scenario(store)
    try:
        yield Stored(store, PolicyEngine(load_policy(settings.policy)))
    finally:
        store.close()


@pytest.fixture
def report(stored: Stored) -> PurposeReport:
    return build_report(stored.store, stored.engine, START, END)


def _cells(rows: list[Any], *keys: str) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """Non-zero rows of a section as {key fields: counts}."""
    result: dict[tuple[Any, ...], tuple[int, ...]] = {}
    for row in rows:
        fields = row.model_dump()
        counts = tuple(v for k, v in fields.items() if k not in keys and isinstance(v, int) and not isinstance(v, bool))
        if any(counts):
            result[tuple(fields[k] for k in keys)] = counts
    return result


def test_collections_count_each_event_once_within_the_period(report: PurposeReport) -> None:
    collections = report.collections
    assert (collections.events, collections.subjects, collections.removed_fields) == (4, 3, 2)
    assert _cells(collections.by_category_and_purpose, "data_category", "purpose") == {
        ("user_information", "service_provision"): (1, 1),
        ("user_information", "user_notification"): (1, 1),
        ("login_credentials", "service_provision"): (1, 1),
        ("login_credentials", "user_notification"): (1, 1),
        ("terminal_information", "service_provision"): (1, 1),
        ("log_information", "service_provision"): (2, 2),
    }
    # Every category a purpose may use is listed, zero included: 18 cells for the Rakuro policy.
    assert len(collections.by_category_and_purpose) == 18
    assert [(k.kind, k.events, k.subjects, k.removed_fields) for k in collections.by_kind] == [
        ("access_log", 2, 2, 1),
        ("terminal", 1, 1, 0),
        ("user_profile", 1, 1, 1),
    ]
    assert [(r.reason, r.fields, r.events) for r in collections.removed_by_reason] == [
        ("excluded_content", 1, 1),
        ("not_allowed", 1, 1),
    ]


def test_purposes_list_every_purpose_of_the_policy_and_the_unknown_one(report: PurposeReport) -> None:
    purposes = {p.purpose: p for p in report.purposes}
    assert list(purposes) == [
        "service_provision", "user_notification", "related_service_notification", "statistics", "upsell",
    ]  # fmt: skip
    service = purposes["service_provision"]
    assert (service.collected_events, service.collected_subjects, service.uses_allowed) == (4, 3, 1)
    assert (service.disclosures_allowed, service.disclosures_denied, service.violations) == (2, 1, 1)
    assert (purposes["user_notification"].collected_events, purposes["user_notification"].disclosures_allowed) == (1, 1)
    related = purposes["related_service_notification"]
    assert (related.uses_denied, related.violations) == (1, 1)
    assert not purposes["statistics"].active
    assert purposes["statistics"].aggregate_only
    assert not purposes["upsell"].in_policy
    assert (purposes["upsell"].uses_denied, purposes["upsell"].violations) == (1, 2)


def test_uses_and_disclosures_by_category_purpose_and_recipient(report: PurposeReport) -> None:
    section = report.uses_and_disclosures
    assert [(c.activity, c.data_category, c.purpose, c.allowed, c.denied) for c in section.by_category_and_purpose] == [
        ("disclosure", "user_information", "service_provision", 1, 0),
        ("disclosure", "user_information", "user_notification", 1, 0),
        ("disclosure", "log_information", "service_provision", 1, 1),
        ("disclosure", "cookie", "service_provision", 1, 0),
        ("use", "user_information", "related_service_notification", 0, 1),
        ("use", "user_information", "upsell", 0, 1),
        ("use", "log_information", "service_provision", 1, 0),
    ]
    assert [
        (r.recipient_kind, r.recipient_id, r.name, r.registered, r.article, r.allowed, r.denied, r.subjects)
        for r in section.by_recipient
    ] == [
        ("internal", "rakuro", None, None, None, 1, 2, 2),
        ("third_party", "naniwa-benefits", None, None, "Art. 4", 1, 0, 1),
        ("consignee", "hokuto-helpdesk", "Hokuto Helpdesk Outsourcing Co., Ltd.", True, "Art. 5", 1, 0, 1),
        ("collection_module", "google-analytics", "Google Analytics", True, "Art. 6", 1, 1, 2),
    ]


def test_violations_gaps_dead_letters_and_provisions(report: PurposeReport) -> None:
    assert [(v.severity, v.code, v.article, v.actor, v.purpose, v.count, v.subjects) for v in report.violations] == [
        ("critical", "module_receives_identifiable_data", "Art. 6", "web-analytics", "service_provision", 1, 1),
        ("high", "subject_not_permitted_for_purpose", "Art. 3.1", "marketing-mailer",
         "related_service_notification", 1, 1),
        ("high", "unknown_data", "Art. 2.1", "crm-mailer", "upsell", 1, 1),
        ("high", "unknown_purpose", "Art. 3.1", "crm-mailer", "upsell", 1, 1),
    ]  # fmt: skip
    assert report.violations[0].first_occurred_at == at(22)
    assert [(g.stream, g.gap, g.name, g.events, g.services) for g in report.gaps] == [
        ("collection", "data", "payload.favourite_colour", 1, ["profile-sync"]),
        ("collection", "service", "kiosk", 1, ["kiosk"]),
        ("use", "data", "user_information.shoe_size", 1, ["crm-mailer"]),
        ("use", "purpose", "upsell", 1, ["crm-mailer"]),
        ("use", "service", "crm-mailer", 1, ["crm-mailer"]),
    ]
    assert [(d.stage, d.reason, d.count, d.payload_bytes) for d in report.dead_letters] == [
        ("ingest", "invalid_json", 1, 120),
        ("ingest", "schema_violation", 1, 300),
    ]
    provisions = report.provisions
    assert (provisions.article, provisions.retention_years, provisions.records) == ("Art. 4", 3, 1)
    assert [
        (p.recipient_id, p.recipient_name, p.records, p.subjects, p.data_items) for p in provisions.by_recipient
    ] == [("naniwa-benefits", NANIWA_BENEFITS, 1, 1, ["user_information.name"])]
    assert [v.version for v in report.header.versions_in_force] == ["2022-06-01"]


def test_a_tenant_sees_only_its_own_records_but_every_dead_letter(stored: Stored) -> None:
    report = build_report(stored.store, stored.engine, START, END, NANIWA_WORKS)

    assert report.header.tenant == NANIWA_WORKS
    assert (report.collections.events, report.collections.subjects) == (1, 1)
    assert report.uses_and_disclosures.by_recipient == []
    assert report.violations == []
    assert report.gaps == []
    assert report.provisions.records == 0
    assert sum(d.count for d in report.dead_letters) == 2


def test_markdown_report_shows_the_counts(report: PurposeReport) -> None:
    text = render(report, ReportFormat.MARKDOWN)

    assert "| log_information | service_provision | all | 2 | 2 |" in text
    assert "| statistics | Statistical information (aggregates only; no activity in the period) |" in text
    assert "| critical | module_receives_identifiable_data | Art. 6 | web-analytics |" in text
    assert "| collection | service | kiosk | 1 |" in text
    assert P1 not in text
    assert P2 not in text


@dataclass(frozen=True)
class Served:
    client: TestClient
    url: str


@pytest.fixture
def served(stored: Stored) -> Iterator[Served]:
    """The API over the test's store: in-process for direct calls, and on a port for the CLI to find."""
    async_store = AsyncLineageStore(stored.store)
    api = create_api(async_store, PipelineMetrics(CollectorRegistry()), TOKEN, engine=stored.engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="report-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    try:
        with TestClient(api, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield Served(client, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        async_store.close()  # also closes the store, which the stored fixture closes again (harmless)


def _without_generated_at(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "header": {k: v for k, v in document["header"].items() if k != "generated_at"}}


PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}


def test_api_report_is_the_same_report(served: Served, report: PurposeReport) -> None:
    response = served.client.get("/api/v1/report", params=PERIOD)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert _without_generated_at(response.json()) == _without_generated_at(report.model_dump(mode="json"))

    markdown = served.client.get("/api/v1/report", params={**PERIOD, "format": "markdown"})
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "| log_information | service_provision | all | 2 | 2 |" in markdown.text
    html = served.client.get("/api/v1/report", params={**PERIOD, "format": "html"})
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text.startswith("<!DOCTYPE html>")
    assert "<td>kiosk</td>" in html.text


def test_api_refuses_an_empty_period_and_a_missing_token(served: Served) -> None:
    backwards = served.client.get("/api/v1/report", params={"from": "2026-12-01", "to": "2026-11-01"})
    assert backwards.status_code == 422
    assert "before" in backwards.json()["detail"]
    anonymous = served.client.get("/api/v1/report", params=PERIOD, headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_api_without_the_policy_answers_503_for_the_report_only(stored: Stored) -> None:
    async_store = AsyncLineageStore(stored.store)
    api = create_api(async_store, PipelineMetrics(CollectorRegistry()))
    try:
        with TestClient(api) as client:
            assert client.get("/api/v1/report", params=PERIOD).status_code == 503
            assert client.get("/api/v1/records/third-party", params=PERIOD).status_code == 200
    finally:
        async_store.close()


def test_third_party_records_are_the_same_csv_from_store_api_and_cli(
    served: Served, stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    from_store = provision_csv(stored.store.query(PROVISION_QUERY, provision_parameters(START, END)))

    response = served.client.get("/api/v1/records/third-party", params=PERIOD)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text == from_store
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["provided_at"], r["recipient_name"], r["subject_pseudonym"], r["data_items"]) for r in rows] == [
        ("2026-11-16 09:00:00.000", NANIWA_BENEFITS, P2, "user_information.name")
    ]
    assert write_provision_csv(stored.store, START, END) == 1
    assert capsys.readouterr().out == from_store
    as_json = served.client.get("/api/v1/records/third-party", params={**PERIOD, "format": "json"}).json()
    assert as_json["columns"] == next(csv.reader(io.StringIO(from_store)))
    assert len(as_json["rows"]) == 1


def test_cli_report_reads_through_the_running_api(served: Served, report: PurposeReport, settings: Settings) -> None:
    env = {"LINEAGE_API_URL": served.url, "LINEAGE_API_TOKEN": TOKEN, "LINEAGE_POLICY": str(settings.policy)}
    runner = CliRunner()

    as_json = runner.invoke(cli, ["report", "--from", "2026-11-01", "--to", "2026-12-01", "--format", "json"], env=env)
    records = runner.invoke(cli, ["records", "third-party", "--from", "2026-11-01", "--to", "2026-12-01"], env=env)

    assert as_json.exit_code == 0, as_json.output
    through_api = PurposeReport.model_validate_json(as_json.stdout)
    assert _without_generated_at(through_api.model_dump(mode="json")) == _without_generated_at(
        report.model_dump(mode="json")
    )
    assert records.exit_code == 0, records.output
    csv_text = served.client.get("/api/v1/records/third-party", params=PERIOD).text
    assert records.stdout == csv_text.replace("\r\n", "\n")  # click's runner reports CRLF (RFC 4180) as LF


def _query_parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation["parameters"] if p["in"] == "query"}


def test_openapi_documents_the_report_records_and_trace_routes(served: Served) -> None:
    paths = served.client.get("/openapi.json").json()["paths"]

    report = paths["/api/v1/report"]["get"]
    assert _query_parameters(report) == {"from", "to", "tenant", "format"}
    assert all(p.get("description") for p in report["parameters"] if p["in"] == "query")
    assert {"application/json", "text/markdown; charset=utf-8", "text/html; charset=utf-8"} <= set(
        report["responses"]["200"]["content"]
    )
    assert report["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PurposeReport")
    assert "503" in report["responses"]
    assert report["summary"]
    records = paths["/api/v1/records/third-party"]["get"]
    assert _query_parameters(records) == {"from", "to", "tenant", "format"}
    assert "text/csv" in records["responses"]["200"]["content"]
    trace = paths["/api/v1/trace"]["post"]
    assert trace["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TraceRequest")
