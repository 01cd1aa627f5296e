"""Render a :class:`PurposeReport` as Markdown (GitHub tables), a self-contained HTML page, or JSON."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.reports.model import PurposeReport


class ReportFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"


MEDIA_TYPES = {
    ReportFormat.MARKDOWN: "text/markdown; charset=utf-8",
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.JSON: "application/json",
}

_TEMPLATES = {ReportFormat.MARKDOWN: "report.md", ReportFormat.HTML: "report.html"}

_MARKDOWN_ESCAPES = str.maketrans(
    {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " "}
)


def markdown_cell(value: object) -> str:
    """``value`` as the text of one GitHub table cell: no column break, no markup, no raw HTML."""
    return ("—" if value is None else str(value)).translate(_MARKDOWN_ESCAPES)


def counted(number: int, noun: str) -> str:
    """``1 use``, ``2 uses``: the count with its noun (every noun of the report takes an s)."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def instant(moment: datetime) -> str:
    """An instant as the report prints it (always UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@cache
def _environment() -> Environment:
    # Autoescape by file name: the .html template escapes every value, the .md one escapes cells with `md`.
    environment = Environment(
        loader=PackageLoader("services.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_cell
    environment.filters["instant"] = instant
    environment.filters["counted"] = counted
    return environment


def render(report: PurposeReport, output_format: ReportFormat) -> str:
    """The report as text in ``output_format``; equal reports render to equal text."""
    if output_format is ReportFormat.JSON:
        return report.model_dump_json(indent=2) + "\n"
    return _environment().get_template(_TEMPLATES[output_format]).render(report=report)
