"""The reporting period [start, end) and how its instants reach ClickHouse."""

from __future__ import annotations

from datetime import UTC, datetime

from services.errors import LineageError


class InvalidPeriod(LineageError, ValueError):
    """A period whose start is not before its end."""


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already (the store keeps UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def store_instant(moment: datetime) -> str:
    """``moment`` as a ``DateTime64(3, 'UTC')`` query parameter.

    The server parses parameters without offsets (``+09:00`` is refused), so the instant goes in as UTC
    wall-clock time with milliseconds, the store's precision.
    """
    return as_utc(moment).replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def check_period(start: datetime, end: datetime) -> None:
    """Raise :class:`InvalidPeriod` unless ``start`` is before ``end``."""
    if as_utc(start) >= as_utc(end):
        raise InvalidPeriod(f"the period must start before it ends (from {start} is not before to {end})")


def period_parameters(start: datetime, end: datetime, tenant: str | None = None) -> dict[str, str]:
    """``start``, ``end`` and ``tenant`` (empty: every tenant) parameters of a period query."""
    return {"start": store_instant(start), "end": store_instant(end), "tenant": tenant or ""}


def period_select(columns: str, source: str, rest: str = "", *, at: str = "occurred_at", by_tenant: bool = True) -> str:
    """``SELECT columns FROM source WHERE <at in the period> [AND <tenant>] rest``.

    Joins constant fragments of this package only; every value goes in as a ``{start}``, ``{end}`` or
    ``{tenant}`` server-side parameter (an empty tenant means every tenant).
    """
    condition = f"{at} >= {{start:DateTime64(3, 'UTC')}} AND {at} < {{end:DateTime64(3, 'UTC')}}"
    if by_tenant:
        condition += " AND (empty({tenant:String}) OR tenant_id = {tenant:String})"
    return " ".join(part for part in ("SELECT", columns, "FROM", source, "WHERE", condition, rest) if part)
