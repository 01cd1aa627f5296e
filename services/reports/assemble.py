"""Turn the report's query results into a :class:`PurposeReport`, in the policy's own order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from schemas.decisions import RecipientKind
from schemas.policy import Policy, PolicyVersion, Severity
from services.policy.engine import PolicyEngine
from services.reports.model import (
    ActivityCell,
    ActivitySection,
    CollectionCell,
    CollectionSection,
    DeadLetterCount,
    GapGroup,
    KindTotal,
    LegalBasisCount,
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
from services.reports.period import as_utc
from services.store.lineage_store import QueryResult

Record = dict[str, Any]
_SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(Severity)}


def _policy_order(known: Iterable[str]) -> Callable[[str | None], tuple[int, int, str]]:
    """Sort key: names in the policy's order, then names it does not know alphabetically, then None."""
    index = {name: position for position, name in enumerate(known)}

    def key(name: str | None) -> tuple[int, int, str]:
        if name is None:
            return (2, 0, "")
        if name in index:
            return (0, index[name], "")
        return (1, 0, name)

    return key


def _or_none(name: str) -> str | None:
    """The store's '' (an empty array kept by the query) as None."""
    return name or None


def versions_in_force(engine: PolicyEngine, start: datetime, end: datetime) -> list[PolicyVersion]:
    """Every version in force at some instant of [start, end), oldest first."""
    versions = engine.policy.versions
    first = engine.version_at(as_utc(start))
    last = engine.version_at(as_utc(end) - timedelta(milliseconds=1))  # the store's precision
    if last is None:
        return []
    return versions[versions.index(first) if first is not None else 0 : versions.index(last) + 1]


def scope(engine: PolicyEngine, data_category: str | None, purpose: str | None) -> Scope:
    """How much of ``data_category`` the policy lets ``purpose`` use."""
    category = engine.policy.data_categories.get(data_category or "")
    granted = engine.purpose_items.get(purpose or "")
    if category is None or granted is None:
        return Scope.NONE
    items = {f"{data_category}.{item}" for item in category.items}
    allowed = items & granted
    return Scope.ALL if allowed == items else Scope.SOME if allowed else Scope.NONE


def _collections(engine: PolicyEngine, results: Mapping[str, QueryResult]) -> CollectionSection:
    """Observed category x purpose cells, plus every cell the policy declares (zero when nothing happened)."""
    policy = engine.policy
    observed = {
        (_or_none(r["data_category"]), _or_none(r["purpose"])): (int(r["events"]), int(r["subjects"]))
        for r in results["collection_matrix"].records()
    }
    declared = {
        (category, purpose)
        for purpose in policy.purposes
        for category in policy.data_categories
        if scope(engine, category, purpose) is not Scope.NONE
    }
    category_key, purpose_key = _policy_order(policy.data_categories), _policy_order(policy.purposes)
    cells = sorted(declared | set(observed), key=lambda cell: (category_key(cell[0]), purpose_key(cell[1])))
    totals = results["collection_totals"].records()[0]
    return CollectionSection(
        events=int(totals["events"]),
        subjects=int(totals["subjects"]),
        removed_fields=int(totals["removed_fields"] or 0),
        by_category_and_purpose=[
            CollectionCell(
                data_category=category,
                purpose=purpose,
                scope=scope(engine, category, purpose),
                events=observed.get((category, purpose), (0, 0))[0],
                subjects=observed.get((category, purpose), (0, 0))[1],
            )
            for category, purpose in cells
        ],
        by_kind=[KindTotal.model_validate(r) for r in results["collection_kinds"].records()],
        removed_by_reason=[RemovalCount.model_validate(r) for r in results["collection_removals"].records()],
    )


def _recipient(policy: Policy, record: Record) -> RecipientCount:
    """Counts of one recipient, with its registered name and the article governing its kind."""
    kind, recipient_id = record["recipient_kind"], record["recipient_id"]
    name: str | None = None
    registered: bool | None = None
    article: str | None = None
    if kind == RecipientKind.THIRD_PARTY:
        article = policy.third_party_provision.article
    elif kind in (RecipientKind.CONSIGNEE, RecipientKind.COLLECTION_MODULE):
        register = policy.consignees if kind == RecipientKind.CONSIGNEE else policy.collection_modules
        entry = register.registered.get(recipient_id)
        name, registered, article = (entry.name if entry else None), entry is not None, register.article
    return RecipientCount.model_validate({**record, "name": name, "registered": registered, "article": article})


def _activities(engine: PolicyEngine, results: Mapping[str, QueryResult]) -> ActivitySection:
    policy = engine.policy
    category_key, purpose_key = _policy_order(policy.data_categories), _policy_order(policy.purposes)
    cells = sorted(
        (ActivityCell.model_validate(r) for r in results["activity_matrix"].records()),
        key=lambda c: (c.activity, category_key(c.data_category), purpose_key(c.purpose)),
    )
    kind_key = _policy_order(kind.value for kind in RecipientKind)
    recipients = sorted(
        (_recipient(policy, r) for r in results["recipients"].records()),
        key=lambda r: (kind_key(r.recipient_kind), r.recipient_id),
    )
    bases = []
    for record in results["third_party_bases"].records():
        basis = policy.legal_bases.get(record["legal_basis"] or "")
        terms = (
            {"description": basis.description, "article": basis.article, "without_consent": basis.third_party_exception,
             "beyond_purposes": basis.beyond_purposes}
            if basis is not None else {}
        )  # fmt: skip
        bases.append(LegalBasisCount.model_validate({**record, "legal_basis": record["legal_basis"] or "", **terms}))
    return ActivitySection(by_category_and_purpose=cells, by_recipient=recipients, third_parties_by_legal_basis=bases)


def _violations(results: Mapping[str, QueryResult]) -> list[ViolationGroup]:
    groups = [ViolationGroup.model_validate(r) for r in results["violations"].records()]
    return sorted(
        groups,
        key=lambda g: (_SEVERITY_RANK.get(g.severity, len(_SEVERITY_RANK)), g.code, g.actor, g.purpose, g.recipient_id),
    )


def _purposes(
    engine: PolicyEngine, results: Mapping[str, QueryResult], violations: Sequence[ViolationGroup]
) -> list[PurposeActivity]:
    """Every purpose of the policy, active or not, then the purposes events named that the policy does not know."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for r in results["collection_purposes"].records():
        counts[r["purpose"]].update(collected_events=int(r["events"]), collected_subjects=int(r["subjects"]))
    for r in results["activity_purposes"].records():
        plural = "uses" if r["activity"] == "use" else "disclosures"
        counts[r["purpose"]].update({f"{plural}_allowed": int(r["allowed"]), f"{plural}_denied": int(r["denied"])})
    for group in violations:
        counts[group.purpose]["violations"] = counts[group.purpose].get("violations", 0) + group.count
    policy = engine.policy
    described = [
        PurposeActivity(
            purpose=key,
            in_policy=True,
            name=purpose.name,
            article=purpose.article,
            legal_basis=purpose.legal_basis,
            aggregate_only=purpose.aggregate_only,
            subject_limits=purpose.subject_limits,
            **counts.get(key, {}),
        )
        for key, purpose in policy.purposes.items()
    ]
    unknown = [
        PurposeActivity(purpose=key, in_policy=False, **counts[key])
        for key in sorted(set(counts) - set(policy.purposes))
    ]
    return described + unknown


def assemble_report(
    engine: PolicyEngine,
    results: Mapping[str, QueryResult],
    start: datetime,
    end: datetime,
    tenant: str | None,
    generated_at: datetime,
) -> PurposeReport:
    """The report from the results of :data:`services.reports.queries.PERIOD_QUERIES`, by query name."""
    policy = engine.policy
    header = ReportHeader(
        policy_id=policy.policy_id,
        title=policy.title,
        controller=policy.controller,
        timezone=policy.timezone,
        versions_in_force=[
            PolicyVersionInForce.model_validate(v.model_dump()) for v in versions_in_force(engine, start, end)
        ],
        period_start=start,
        period_end=end,
        tenant=tenant or None,
        generated_at=generated_at,
    )
    violations = _violations(results)
    provisions = [ProvisionCount.model_validate(r) for r in results["provisions"].records()]
    return PurposeReport(
        header=header,
        purposes=_purposes(engine, results, violations),
        collections=_collections(engine, results),
        uses_and_disclosures=_activities(engine, results),
        violations=violations,
        gaps=[GapGroup.model_validate(r) for r in results["gaps"].records()],
        dead_letters=[DeadLetterCount.model_validate(r) for r in results["dead_letters"].records()],
        provisions=ProvisionSection(
            article=policy.third_party_provision.article,
            retention_years=policy.third_party_provision.record_retention_years,
            records=sum(p.records for p in provisions),
            by_recipient=provisions,
        ),
    )
