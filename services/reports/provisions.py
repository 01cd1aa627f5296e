"""Art. 4.2 provision records of a period: the CSV compliance staff hand over, and counts by recipient."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, TextIO

from services.reports.period import period_parameters, period_select
from services.store.lineage_store import QueryResult

# Times and pseudonyms are rendered by the server, so the CSV reads the same from the store and through the API.
PROVISION_QUERY = period_select(
    "toString(provided_at) AS provided_at, tenant_id, consent_obtained, consent_reference, recipient_id, "
    "recipient_name, recipient_address_or_representative, toString(subject_pseudonym) AS subject_pseudonym, "
    "arrayStringConcat(data_items, ';') AS data_items, purpose, actor, policy_version, toString(event_id) AS event_id",
    "provision_records FINAL",
    "ORDER BY provided_at, event_id",
    at="provision_records.provided_at",  # qualified: the text alias provided_at would shadow the column
)
"""One row per provision record provided in the period, oldest first."""

PROVISIONS_BY_RECIPIENT_QUERY = period_select(
    "recipient_id, recipient_name, count() AS records, uniqExact(subject_pseudonym) AS subjects, "
    "arraySort(groupUniqArrayArray(data_items)) AS data_items",
    "provision_records FINAL",
    "GROUP BY recipient_id, recipient_name ORDER BY recipient_id, recipient_name",
    at="provided_at",
)
"""Records per recipient (a recipient recorded under two names shows twice: the records disagree)."""


def provision_parameters(start: datetime, end: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Parameters of both queries for [start, end), of one tenant or (None) of all."""
    return dict(period_parameters(start, end, tenant))


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What a spreadsheet reads a cell as a formula by (full-width too: some read those as well)."""


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=HYPERLINK(...), =WEBSERVICE(...)) quoted with ``'``:
    recipient names and addresses are free text, and this file is opened by compliance staff (OWASP: CSV
    injection). Numbers and times are written as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def write_provision_csv_rows(result: QueryResult, out: TextIO) -> None:
    """Write ``result`` of :data:`PROVISION_QUERY` as CSV: a header row, then one row per record."""
    writer = csv.writer(out)  # RFC 4180: CRLF between records, so a CR or LF inside a cell is quoted too
    writer.writerow(result.columns)
    writer.writerows([_cell(value) for value in row] for row in result.rows)


def provision_csv(result: QueryResult) -> str:
    """``result`` of :data:`PROVISION_QUERY` as CSV text."""
    buffer = io.StringIO()
    write_provision_csv_rows(result, buffer)
    return buffer.getvalue()
