"""Markdown, HTML and JSON renderings of a hand-built report."""

from __future__ import annotations

import re

from markupsafe import escape

from services.reports.model import PurposeReport
from services.reports.render import ReportFormat, counted, markdown_cell, render
from tests.unit.reports.samples import HOSTILE, sample_report


def _table_rows(markdown: str, header: str) -> list[list[str]]:
    """The cells of the GitHub table whose header row starts with ``header`` (split on unescaped pipes)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows: list[list[str]] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_markdown_has_a_github_table_per_section_with_the_counts() -> None:
    text = render(sample_report(), ReportFormat.MARKDOWN)

    assert text.startswith("# Purpose-limitation report: Rakuro Privacy Policy\n")
    assert "| Period | 2026-11-01 00:00:00 UTC (inclusive) to 2026-12-01 00:00:00 UTC (exclusive) |" in text
    assert "| Tenant | kobe-logistics |" in text
    assert _table_rows(text, "| Data category | Purpose |") == [
        ["log_information", "service_provision", "all", "3", "2"],
        ["cookie", "statistics", "all", "0", "0"],
    ]
    purposes = _table_rows(text, "| Purpose | Name |")
    assert purposes[1][1] == "Statistical information (aggregates only; no activity in the period)"
    assert purposes[2][:2] == ["upsell", "not in the policy (a gap)"]
    assert _table_rows(text, "| Severity | Code |")[0][:3] == ["high", "unknown_purpose", "Art. 3.1"]
    assert "## 7. Provisions to third parties (Art. 4)" in text


def test_every_table_row_has_as_many_cells_as_its_header() -> None:
    text = render(sample_report(), ReportFormat.MARKDOWN)

    tables: list[list[int]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            tables[-1].append(len(re.split(r"(?<!\\)\|", line)))
        elif tables[-1]:
            tables.append([])
    assert len(tables) > 10
    assert all(len(set(widths)) <= 1 for widths in tables)


def test_a_hostile_name_cannot_break_a_markdown_table_or_inject_html() -> None:
    text = render(sample_report(), ReportFormat.MARKDOWN)

    assert "<script>" not in text
    assert markdown_cell(HOSTILE) == '&lt;script&gt;alert("x")&lt;/script&gt; \\| a&amp;b'
    assert _table_rows(text, "| Stream | Gap |")[0][2] == markdown_cell(HOSTILE)
    assert markdown_cell("two\nlines") == "two lines"
    assert markdown_cell(None) == "—"


def test_html_is_one_self_contained_page_with_every_value_escaped() -> None:
    page = render(sample_report(), ReportFormat.HTML)

    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert str(escape(HOSTILE)) in page
    assert "<style>" in page
    assert not re.search(r"""(?:src|href)\s*=|@import|url\(""", page), "no external assets"
    assert "<td>log_information</td><td>service_provision</td>" in page.replace("\n    ", "")
    for tag in ("table", "tr", "td", "ul", "li", "p"):
        assert len(re.findall(rf"<{tag}[ >]", page)) == page.count(f"</{tag}>"), tag


def test_counts_agree_with_their_nouns() -> None:
    assert [counted(n, "provision record") for n in (0, 1, 2)] == [
        "0 provision records",
        "1 provision record",
        "2 provision records",
    ]
    text = render(sample_report(), ReportFormat.MARKDOWN)
    assert "- 1 use and 0 disclosures allowed; 1 use and 0 disclosures denied." in text


def test_json_round_trips_to_the_same_report() -> None:
    report = sample_report()

    text = render(report, ReportFormat.JSON)

    assert PurposeReport.model_validate_json(text) == report
    assert '"spec": "purpose-lineage.report/v1"' in text


def test_rendering_is_deterministic() -> None:
    for output_format in ReportFormat:
        assert render(sample_report(), output_format) == render(sample_report(), output_format)
