"""Store errors: rows refused as such are told from a store that is down, and described without values."""

from __future__ import annotations

import struct

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from services.store.client import describe_store_error, refuses_data


def _server_error(code: int, text: str) -> DatabaseError:
    error = DatabaseError(text)
    error.code = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    "error",
    [
        DataError("Failed to write column 'subject_pseudonym': UTF-8 encoded FixedString value 65 6d 70 exceeds 64"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        struct.error("'I' format requires 0 <= number <= 4294967295"),
        _server_error(6, "Code: 6. DB::Exception: Cannot parse string 'emp-0001' as UInt8. (CANNOT_PARSE_TEXT)"),
    ],
)
def test_rows_refused_as_such_are_isolated_and_described_without_their_values(error: Exception) -> None:
    assert refuses_data(error)
    described = describe_store_error(error)
    assert "emp" not in described
    assert "65 6d 70" not in described
    assert "\ud800" not in described


@pytest.mark.parametrize(
    "error",
    [
        _server_error(60, "Code: 60. DB::Exception: Table lineage.collection_lineage does not exist. (UNKNOWN_TABLE)"),
        _server_error(243, "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"),
        OperationalError("Error HTTPConnectionPool(host='ch', port=8123): Max retries exceeded"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_a_store_that_is_down_is_not_taken_for_bad_rows(error: Exception) -> None:
    assert not refuses_data(error)


def test_a_server_error_is_described_by_its_code_and_name() -> None:
    error = _server_error(60, "Code: 60. DB::Exception: Table x.y does not exist. (UNKNOWN_TABLE)")
    assert describe_store_error(error) == "ClickHouse error 60 (UNKNOWN_TABLE)"


def test_a_client_side_refusal_names_the_column() -> None:
    error = DataError("Failed to write column 'subject_pseudonym': value 61 62 exceeds column size 64")
    assert describe_store_error(error) == "a value the store cannot take in column subject_pseudonym (DataError)"
