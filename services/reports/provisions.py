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


def write_provision_csv_rows(result: QueryResult, out: TextIO) -> None:
    """Write ``result`` of :data:`PROVISION_QUERY` as CSV: a header row, then one row per record."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)


def provision_csv(result: QueryResult) -> str:
    """``result`` of :data:`PROVISION_QUERY` as CSV text."""
    buffer = io.StringIO()
    write_provision_csv_rows(result, buffer)
    return buffer.getvalue()
