"""build_report over canned query results: parameters, policy order, zero rows, UTC times, versions in force."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.policy.engine import PolicyEngine
from services.reports.assemble import versions_in_force
from services.reports.model import PurposeReport, Scope
from services.reports.period import InvalidPeriod, store_instant
from services.reports.queries import PERIOD_QUERIES, build_report
from tests.unit.reports.samples import CannedReader

JST = timezone(timedelta(hours=9))
START, END = datetime(2026, 11, 1, tzinfo=JST), datetime(2026, 12, 1, tzinfo=JST)
TENANT = "kobe'); DROP TABLE violations; --"


@pytest.fixture
def reader() -> CannedReader:
    return CannedReader()


@pytest.fixture
def report(reader: CannedReader, engine: PolicyEngine) -> PurposeReport:
    return build_report(reader, engine, START, END, TENANT, generated_at=datetime(2026, 12, 1, tzinfo=UTC))


def test_every_query_is_parameterized_and_the_period_goes_in_as_utc(
    report: PurposeReport, reader: CannedReader
) -> None:
    assert len(reader.asked) == len(PERIOD_QUERIES)
    for sql, parameters in reader.asked:
        assert TENANT not in sql
        assert "2026" not in sql
        assert set(re.findall(r"\{(\w+):", sql)) <= set(parameters), sql
        assert parameters["start"] == "2026-10-31 15:00:00.000"
        assert parameters["end"] == "2026-11-30 15:00:00.000"
    assert all(parameters.get("tenant", TENANT) == TENANT for _, parameters in reader.asked)
    assert all(" FINAL" in sql for sql, _ in reader.asked)


def test_an_empty_or_backwards_period_is_refused_before_any_query(reader: CannedReader, engine: PolicyEngine) -> None:
    with pytest.raises(InvalidPeriod):
        build_report(reader, engine, END, START)
    with pytest.raises(InvalidPeriod):
        build_report(reader, engine, START, START.astimezone(UTC))
    assert reader.asked == []


def test_purposes_are_in_policy_order_with_inactive_ones_and_unknown_ones_last(report: PurposeReport) -> None:
    purposes = [(p.purpose, p.in_policy, p.active) for p in report.purposes]

    assert purposes == [
        ("service_provision", True, True),
        ("user_notification", True, False),
        ("related_service_notification", True, False),
        ("statistics", True, False),
        ("upsell", False, True),
    ]
    assert report.purposes[0].violations == 1  # module_not_registered
    assert report.purposes[-1].uses_denied == 1


def test_the_matrix_lists_what_the_policy_permits_even_at_zero_and_flags_what_it_does_not(
    report: PurposeReport,
) -> None:
    cells = {(c.data_category, c.purpose): c for c in report.collections.by_category_and_purpose}

    assert cells[("log_information", "service_provision")].events == 2
    assert cells[("terminal_information", "statistics")].events == 0
    assert cells[("user_information", "related_service_notification")].scope is Scope.SOME  # no bank account data
    assert cells[("cookie", "user_notification")].scope is Scope.NONE
    assert cells[("cookie", "user_notification")].events == 1
    assert list(cells)[-1] == (None, None), "a record that kept no data comes last"
    assert len(cells) == 18 + 2


def test_violations_put_the_most_severe_first_and_times_are_utc(report: PurposeReport) -> None:
    assert [v.code for v in report.violations] == ["module_not_registered", "unknown_purpose"]
    assert report.violations[0].first_occurred_at == datetime(2026, 11, 11, 9, tzinfo=UTC)
    assert report.violations[1].first_occurred_at == datetime(2026, 11, 10, 9, tzinfo=UTC)


def test_recipients_carry_their_register_entry_and_article(report: PurposeReport) -> None:
    recipients = [
        (r.recipient_kind, r.recipient_id, r.registered, r.article) for r in report.uses_and_disclosures.by_recipient
    ]

    assert recipients == [("internal", "rakuro", None, None), ("collection_module", "web-beacon", False, "Art. 6")]


def test_provisions_to_third_parties_show_their_legal_basis_and_whether_it_went_beyond_the_purposes(
    report: PurposeReport,
) -> None:
    bases = {b.legal_basis: b for b in report.uses_and_disclosures.third_parties_by_legal_basis}

    assert (bases["consent"].without_consent, bases["consent"].beyond_purposes) == (False, None)
    assert bases["laws_and_regulations"].without_consent
    assert bases["laws_and_regulations"].beyond_purposes == "APPI Art. 18(3)(i)"
    assert (bases["laws_and_regulations"].article, bases["laws_and_regulations"].provisions) == ("Art. 4.1(1)", 1)


def test_header_names_the_policy_period_tenant_and_version(report: PurposeReport) -> None:
    header = report.header

    assert (header.policy_id, header.controller, header.tenant) == ("rakuro", "Rakuro Inc.", TENANT)
    assert header.period_start == datetime(2026, 10, 31, 15, tzinfo=UTC)
    assert [v.version for v in header.versions_in_force] == ["2022-06-01"]


@pytest.mark.parametrize(
    ("start", "end", "versions"),
    [
        (datetime(2019, 6, 1, tzinfo=UTC), datetime(2019, 8, 1, tzinfo=UTC), ["2018-07-01", "2019-07-01"]),
        # 2019-07-01 takes effect at midnight in Tokyo, 2019-06-30 15:00 UTC: a period ending then misses it.
        (datetime(2019, 6, 1, tzinfo=UTC), datetime(2019, 6, 30, 15, tzinfo=UTC), ["2018-07-01"]),
        (datetime(2017, 1, 1, tzinfo=UTC), datetime(2018, 1, 1, tzinfo=UTC), []),
        (datetime(2017, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
         ["2018-07-01", "2019-07-01", "2020-07-01", "2022-06-01"]),
    ],
)  # fmt: skip
def test_versions_in_force_over_a_period(
    engine: PolicyEngine, start: datetime, end: datetime, versions: list[str]
) -> None:
    assert [v.version for v in versions_in_force(engine, start, end)] == versions


def test_store_instants_are_utc_wall_clock_with_milliseconds() -> None:
    assert store_instant(datetime(2026, 11, 1)) == "2026-11-01 00:00:00.000"
    assert store_instant(datetime(2026, 11, 1, 9, 30, 0, 123456, tzinfo=JST)) == "2026-11-01 00:30:00.123"


def test_a_purposes_per_entry_subject_limits_are_in_the_report_and_its_text(report: PurposeReport) -> None:
    from services.reports.render import ReportFormat, render

    row_3 = next(p for p in report.purposes if p.purpose == "related_service_notification")

    assert row_3.subject_limits["user_information.email_address"] == ["person_in_charge"]
    assert "allied_data" not in row_3.subject_limits
    assert "user_information.email_address of person_in_charge only" in render(report, ReportFormat.MARKDOWN)
