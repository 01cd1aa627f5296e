"""`purpose-lineage records third-party`: the Art. 4.2 provision records of a period, as CSV."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from services.api.client import LineageReader
from services.cli.output import JsonFlag, echo_json
from services.cli.readers import open_reader
from services.reports.provisions import PROVISION_QUERY, provision_parameters, write_provision_csv_rows
from services.settings import Settings

__all__ = ["PROVISION_QUERY", "records_cli", "write_provision_csv"]

records_cli = typer.Typer(help="Records compliance staff hand over.", no_args_is_help=True)


def write_provision_csv(reader: LineageReader, start: datetime, end: datetime) -> int:
    """Write the records provided in [start, end) to stdout as CSV; return how many."""
    result = reader.query(PROVISION_QUERY, provision_parameters(start, end))
    write_provision_csv_rows(result, sys.stdout)
    return len(result.rows)


@records_cli.command("third-party")
def third_party(
    start: Annotated[datetime, typer.Option("--from", help="First day or instant (UTC), inclusive.")],
    end: Annotated[datetime, typer.Option("--to", help="Last instant (UTC), exclusive.")],
    json_output: JsonFlag = False,
) -> None:
    """Provisions to third parties with consent (Art. 4.2): consent, recipient, person (pseudonym), items.

    CSV on stdout (one row per provision, the columns Art. 4.2 asks for), or a JSON list with --json.
    """
    reader, owned = open_reader(Settings())  # the API while a stack runs, else the store
    try:
        if json_output:
            result = reader.query(PROVISION_QUERY, provision_parameters(start, end))
            echo_json(result.records())
        else:
            write_provision_csv(reader, start, end)
    finally:
        if owned is not None:
            owned.close()
