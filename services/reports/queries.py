"""The report's queries, and :func:`build_report` that runs them through any reader.

Every value goes in as a server-side ``{name:Type}`` parameter; nothing is built from input. The tables
replace by key, and FINAL makes a re-delivered event count once even before the merge has run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from services.policy.engine import PolicyEngine
from services.policy.gaps import GAP_QUERY, GapFinder
from services.reports.assemble import assemble_report
from services.reports.model import PurposeReport
from services.reports.period import check_period, period_parameters, period_select
from services.reports.provisions import PROVISIONS_BY_RECIPIENT_QUERY
from services.store.lineage_store import QueryResult

# An empty array becomes one '' entry so that ARRAY JOIN keeps the row: a record that kept no data, or that
# no purpose may use, is evidence too.
_CATEGORIES = "if(empty(data_categories), [''], arrayMap(c -> toString(c), data_categories))"
_PURPOSES = "if(empty(purposes), [''], arrayMap(p -> toString(p), purposes))"
_ACTIVITY_CATEGORIES = "if(empty(data), [''], arrayDistinct(arrayMap(ref -> splitByChar('.', toString(ref))[1], data)))"
# Records written before removal reasons were stored have none; they count as 'unrecorded', not as nothing.
_REASONS = "arrayResize(arrayMap(r -> toString(r), removed_reasons), length(removed_paths), 'unrecorded')"
# Qualified: the aliases `allowed` and `denied` would otherwise shadow the column inside the aggregates.
_DECIDED = (
    "uniqExactIf(event_id, activity_decisions.allowed) AS allowed, "
    "uniqExactIf(event_id, NOT activity_decisions.allowed) AS denied"
)

PERIOD_QUERIES: dict[str, str] = {
    "collection_totals": period_select(
        "uniqExact(event_id) AS events, uniqExact(subject_pseudonym) AS subjects, "
        "sum(length(removed_paths)) AS removed_fields",
        "collection_lineage FINAL",
    ),
    "collection_matrix": period_select(
        "data_category, purpose, uniqExact(event_id) AS events, uniqExact(subject_pseudonym) AS subjects",
        f"collection_lineage FINAL ARRAY JOIN {_CATEGORIES} AS data_category ARRAY JOIN {_PURPOSES} AS purpose",
        "GROUP BY data_category, purpose ORDER BY data_category, purpose",
    ),
    "collection_kinds": period_select(
        "kind, uniqExact(event_id) AS events, uniqExact(subject_pseudonym) AS subjects, "
        "sum(length(removed_paths)) AS removed_fields",
        "collection_lineage FINAL",
        "GROUP BY kind ORDER BY kind",
    ),
    "collection_removals": period_select(
        "reason, count() AS fields, uniqExact(event_id) AS events",
        f"collection_lineage FINAL ARRAY JOIN {_REASONS} AS reason",
        "GROUP BY reason ORDER BY reason",
    ),
    "collection_purposes": period_select(
        "purpose, uniqExact(event_id) AS events, uniqExact(subject_pseudonym) AS subjects",
        "collection_lineage FINAL ARRAY JOIN arrayMap(p -> toString(p), purposes) AS purpose",
        "GROUP BY purpose ORDER BY purpose",
    ),
    "activity_matrix": period_select(
        f"activity, data_category, purpose, {_DECIDED}, uniqExact(subject_pseudonym) AS subjects",
        f"activity_decisions FINAL ARRAY JOIN {_ACTIVITY_CATEGORIES} AS data_category",
        "GROUP BY activity, data_category, purpose ORDER BY activity, data_category, purpose",
    ),
    "activity_purposes": period_select(
        f"purpose, activity, {_DECIDED}",
        "activity_decisions FINAL",
        "GROUP BY purpose, activity ORDER BY purpose, activity",
    ),
    "recipients": period_select(
        f"recipient_kind, recipient_id, {_DECIDED}, uniqExact(subject_pseudonym) AS subjects",
        "activity_decisions FINAL",
        "GROUP BY recipient_kind, recipient_id ORDER BY recipient_kind, recipient_id",
    ),
    "third_party_bases": period_select(
        "legal_basis, uniqExact(event_id) AS provisions, uniqExact(subject_pseudonym) AS subjects",
        "activity_decisions FINAL",
        "AND recipient_kind = 'third_party' AND allowed GROUP BY legal_basis ORDER BY legal_basis",
    ),
    "violations": period_select(
        "code, severity, article, actor, purpose, recipient_id, count() AS count, "
        "uniqExact(subject_pseudonym) AS subjects, min(occurred_at) AS first_occurred_at, "
        "max(occurred_at) AS last_occurred_at",
        "violations FINAL",
        "GROUP BY code, severity, article, actor, purpose, recipient_id "
        "ORDER BY code, severity, article, actor, purpose, recipient_id",
    ),
    "dead_letters": period_select(
        "stage, reason, count() AS count, sum(payload_bytes) AS payload_bytes, "
        "min(dead_lettered_at) AS first_dead_lettered_at, max(dead_lettered_at) AS last_dead_lettered_at",
        "dead_letters FINAL",
        "GROUP BY stage, reason ORDER BY stage, reason",
        at="dead_lettered_at",
        by_tenant=False,  # a dead letter keeps no payload, so it names no tenant
    ),
    "provisions": PROVISIONS_BY_RECIPIENT_QUERY,
    "gaps": GAP_QUERY,
}
"""Each section's query by name; all but ``gaps`` and ``dead_letters`` take ``start``, ``end`` and ``tenant``."""


@dataclass(frozen=True)
class ReportQuery:
    sql: str
    parameters: dict[str, Any]


class QueryReader(Protocol):
    """The one thing the report needs of a reader; every :class:`services.api.client.LineageReader` has it."""

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult: ...


def report_queries(
    engine: PolicyEngine, start: datetime, end: datetime, tenant: str | None = None
) -> dict[str, ReportQuery]:
    """Every query of the report of [start, end) with its parameters; raises InvalidPeriod for an empty period."""
    check_period(start, end)
    period = period_parameters(start, end, tenant)
    gaps = GapFinder(engine).query_parameters(period["start"], period["end"], period["tenant"])
    parameters: dict[str, dict[str, Any]] = {
        "gaps": gaps,
        "dead_letters": {"start": period["start"], "end": period["end"]},
    }
    return {name: ReportQuery(sql, dict(parameters.get(name, period))) for name, sql in PERIOD_QUERIES.items()}


def build_report(
    reader: QueryReader,
    engine: PolicyEngine,
    start: datetime,
    end: datetime,
    tenant: str | None = None,
    *,
    generated_at: datetime | None = None,
) -> PurposeReport:
    """The purpose-limitation report of [start, end), of one tenant or (None) of all, read through ``reader``."""
    queries = report_queries(engine, start, end, tenant)
    results = {name: reader.query(query.sql, query.parameters) for name, query in queries.items()}
    return assemble_report(engine, results, start, end, tenant, generated_at or datetime.now(UTC))
