"""A hand-built purpose-limitation report, and canned query results as the store and the API return them.

Pure data: no store, no network.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.reports.model import (
    ActivityCell,
    ActivitySection,
    CollectionCell,
    CollectionSection,
    DeadLetterCount,
    GapGroup,
    KindTotal,
    PolicyVersionInForce,
    ProvisionCount,
    ProvisionSection,
    PurposeActivity,
    PurposeReport,
    RecipientCount,
    RemovalCount,
    ReportHeader,
    Scope,
    ViolationGroup,
)
from services.reports.queries import PERIOD_QUERIES
from services.store.lineage_store import QueryResult

HOSTILE = '<script>alert("x")</script> | a&b'
"""A name an event could carry: it must reach no report as markup or as a table column break."""

NOV_10 = datetime(2026, 11, 10, 9, tzinfo=UTC)


def sample_report() -> PurposeReport:
    """A small report of every section, with a hostile name where events can put one."""
    return PurposeReport(
        header=ReportHeader(
            policy_id="rakuro",
            title="Rakuro Privacy Policy",
            controller="Rakuro Inc.",
            timezone="Asia/Tokyo",
            versions_in_force=[
                PolicyVersionInForce(
                    version="2022-06-01", published_on=date(2022, 6, 1), effective_from=date(2022, 6, 1)
                )
            ],
            period_start=datetime(2026, 11, 1, tzinfo=UTC),
            period_end=datetime(2026, 12, 1, tzinfo=UTC),
            tenant="kobe-logistics",
            generated_at=datetime(2026, 12, 1, 3, tzinfo=UTC),
        ),
        purposes=[
            PurposeActivity(
                purpose="service_provision",
                in_policy=True,
                name="Provision, maintenance and improvement of the Services",
                article="Art. 3.1 table, row 1",
                legal_basis="published_purpose_of_use",
                collected_events=3,
                collected_subjects=2,
                uses_allowed=1,
            ),
            PurposeActivity(
                purpose="statistics",
                in_policy=True,
                name="Statistical information",
                article="Art. 3.4",
                legal_basis="statistical_processing",
                aggregate_only=True,
            ),
            PurposeActivity(purpose="upsell", in_policy=False, uses_denied=1, violations=1),
        ],
        collections=CollectionSection(
            events=3,
            subjects=2,
            removed_fields=1,
            by_category_and_purpose=[
                CollectionCell(
                    data_category="log_information", purpose="service_provision", scope=Scope.ALL, events=3, subjects=2
                ),
                CollectionCell(data_category="cookie", purpose="statistics", scope=Scope.ALL, events=0, subjects=0),
            ],
            by_kind=[KindTotal(kind="access_log", events=3, subjects=2, removed_fields=1)],
            removed_by_reason=[RemovalCount(reason="excluded_content", fields=1, events=1)],
        ),
        uses_and_disclosures=ActivitySection(
            by_category_and_purpose=[
                ActivityCell(
                    activity="use",
                    data_category="log_information",
                    purpose="service_provision",
                    allowed=1,
                    denied=0,
                    subjects=1,
                )
            ],
            by_recipient=[
                RecipientCount(recipient_kind="internal", recipient_id="rakuro", allowed=1, denied=1, subjects=1)
            ],
        ),
        violations=[
            ViolationGroup(
                code="unknown_purpose",
                severity="high",
                article="Art. 3.1",
                actor="crm-mailer",
                purpose="upsell",
                recipient_id="rakuro",
                count=1,
                subjects=1,
                first_occurred_at=NOV_10,
                last_occurred_at=NOV_10,
            )
        ],
        gaps=[
            GapGroup(
                stream="use",
                gap="service",
                name=HOSTILE,
                events=1,
                first_seen=NOV_10,
                last_seen=NOV_10,
                services=[HOSTILE],
            )
        ],
        dead_letters=[
            DeadLetterCount(
                stage="ingest",
                reason="invalid_json",
                count=2,
                payload_bytes=240,
                first_dead_lettered_at=NOV_10,
                last_dead_lettered_at=NOV_10,
            )
        ],
        provisions=ProvisionSection(
            article="Art. 4",
            retention_years=3,
            records=1,
            by_recipient=[
                ProvisionCount(
                    recipient_id="naniwa-benefits",
                    recipient_name=HOSTILE,
                    records=1,
                    subjects=1,
                    data_items=["user_information.name"],
                )
            ],
        ),
    )


def _result(columns: str, *rows: list[Any]) -> QueryResult:
    return QueryResult(columns=columns.split(), rows=[list(row) for row in rows])


CANNED: dict[str, QueryResult] = {
    "collection_totals": _result("events subjects removed_fields", [3, 2, 1]),
    "collection_matrix": _result(
        "data_category purpose events subjects",
        ["", "", 1, 1],  # a record that kept no data, so no purpose either
        ["cookie", "user_notification", 1, 1],  # a cell the policy does not permit
        ["log_information", "service_provision", 2, 2],
    ),
    "collection_kinds": _result("kind events subjects removed_fields", ["access_log", 3, 2, 1]),
    "collection_removals": _result("reason fields events", ["not_allowed", 1, 1]),
    "collection_purposes": _result("purpose events subjects", ["service_provision", 2, 2]),
    "activity_matrix": _result(
        "activity data_category purpose allowed denied subjects",
        ["use", "log_information", "service_provision", 1, 0, 1],
        ["use", "user_information", "upsell", 0, 1, 1],
    ),
    "activity_purposes": _result(
        "purpose activity allowed denied", ["service_provision", "use", 1, 0], ["upsell", "use", 0, 1]
    ),
    "recipients": _result(
        "recipient_kind recipient_id allowed denied subjects",
        ["collection_module", "web-beacon", 0, 1, 1],
        ["internal", "rakuro", 1, 1, 2],
    ),
    "third_party_bases": _result("legal_basis provisions subjects", ["consent", 3, 2], ["laws_and_regulations", 1, 1]),
    "violations": _result(
        "code severity article actor purpose recipient_id count subjects first_occurred_at last_occurred_at",
        # As the API returns them: ISO text, no offset. The store returns naive datetimes: both are UTC.
        ["unknown_purpose", "high", "Art. 3.1", "crm-mailer", "upsell", "rakuro", 1, 1, *["2026-11-10T09:00:00"] * 2],
        [
            "module_not_registered",
            "critical",
            "Art. 6",
            "web",
            "service_provision",
            "web-beacon",
            1,
            1,
            *[datetime(2026, 11, 11, 9)] * 2,
        ],
    ),
    "dead_letters": _result(
        "stage reason count payload_bytes first_dead_lettered_at last_dead_lettered_at",
        ["ingest", "invalid_json", 2, 240, NOV_10, NOV_10],
    ),
    "provisions": _result("recipient_id recipient_name records subjects data_items"),
    "gaps": _result(
        "stream gap name events first_seen last_seen services",
        ["use", "purpose", "upsell", 1, NOV_10, NOV_10, ["crm-mailer"]],
    ),
}


class CannedReader:
    """Answers each report query with its canned result, and records what it was asked."""

    def __init__(self) -> None:
        self.names = {sql: name for name, sql in PERIOD_QUERIES.items()}
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        self.asked.append((sql, parameters or {}))
        return CANNED[self.names[sql]]
