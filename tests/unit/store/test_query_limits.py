"""The limits of a read come from the LINEAGE_QUERY_* settings and travel with readonly=1."""

from __future__ import annotations

import pytest

from services.settings import Settings
from services.store.read_guard import DEFAULT_QUERY_LIMITS, QueryLimits


def test_the_limits_are_the_query_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_QUERY_TIMEOUT_S", "2.5")
    monkeypatch.setenv("LINEAGE_QUERY_MAX_MEMORY_BYTES", "1000000")
    monkeypatch.setenv("LINEAGE_QUERY_MAX_RESULT_ROWS", "10")
    monkeypatch.setenv("LINEAGE_QUERY_MAX_RESULT_BYTES", "2000")

    assert QueryLimits.from_settings(Settings()) == QueryLimits(2.5, 1_000_000, 10, 2000)


def test_every_read_is_read_only_and_stops_with_an_error_at_a_limit() -> None:
    sent = QueryLimits(2.5, 1_000_000, 10, 2000).server_settings()

    assert sent == {
        "readonly": 1,
        "max_execution_time": 2.5,
        "timeout_overflow_mode": "throw",
        "max_memory_usage": 1_000_000,
        "max_result_rows": 10,
        "max_result_bytes": 2000,
        "result_overflow_mode": "throw",
    }


def test_the_default_limits_are_the_documented_ones_and_leave_room_for_reports() -> None:
    assert QueryLimits.from_settings(Settings.model_construct()) == DEFAULT_QUERY_LIMITS
    assert DEFAULT_QUERY_LIMITS.timeout_s == 30.0
    assert DEFAULT_QUERY_LIMITS.max_result_rows >= 1_000_000
