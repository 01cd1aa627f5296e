"""Options and output helpers shared by the reporting commands."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from fastapi.encoders import jsonable_encoder

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout (for scripts and jq).")]


def echo_json(document: Any) -> None:
    """One JSON document on stdout: datetimes as ISO 8601, UUIDs as text."""
    typer.echo(orjson.dumps(jsonable_encoder(document)).decode())
