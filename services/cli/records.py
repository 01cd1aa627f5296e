"""`purpose-lineage records third-party`: the Art. 4.2 provision records of a period, as CSV."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from typing import Annotated

import typer

from services.api.client import LineageReader
from services.cli.readers import open_reader
from services.settings import Settings

records_cli = typer.Typer(help="Records compliance staff hand over.", no_args_is_help=True)

PROVISION_QUERY = (
    "SELECT provided_at, tenant_id, consent_obtained, consent_reference, recipient_id, recipient_name, "
    "recipient_address_or_representative, subject_pseudonym, arrayStringConcat(data_items, ';') AS data_items, "
    "purpose, actor, policy_version, toString(event_id) AS event_id "
    "FROM provision_records FINAL "
    "WHERE provided_at >= {start:DateTime64(3, 'UTC')} AND provided_at < {end:DateTime64(3, 'UTC')} "
    "ORDER BY provided_at, event_id"
)


def write_provision_csv(reader: LineageReader, start: datetime, end: datetime) -> int:
    """Write the records provided in [start, end) to stdout as CSV; return how many."""
    result = reader.query(PROVISION_QUERY, {"start": start.isoformat(sep=" "), "end": end.isoformat(sep=" ")})
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)
    return len(result.rows)


@records_cli.command("third-party")
def third_party(
    start: Annotated[datetime, typer.Option("--from", help="First day or instant (UTC), inclusive.")],
    end: Annotated[datetime, typer.Option("--to", help="Last instant (UTC), exclusive.")],
) -> None:
    """Provisions to third parties with consent (Art. 4.2): consent, recipient, person (pseudonym), items."""
    reader, owned = open_reader(Settings())  # the API while a stack runs, else the store
    try:
        write_provision_csv(reader, start, end)
    finally:
        if owned is not None:
            owned.close()
