"""A failed read is described by ClickHouse's code and name (and a syntax error's position), never its text.

ClickHouse quotes the query and its bound values in its messages, over several lines when the query has
several: only the name it ends its message with is its own.
"""

from __future__ import annotations

from clickhouse_connect.driver.exceptions import DatabaseError

from services.store.client import StoreQueryError, describe_store_error

VALUE = "needle.person@example.com"


def _server_error(code: int, text: str) -> DatabaseError:
    return DatabaseError(text, code=code)


def test_a_bound_value_quoted_by_clickhouse_is_not_repeated() -> None:
    error = _server_error(
        6,
        f"Code: 6. DB::Exception: Cannot parse string '{VALUE}' as UInt32: syntax error at begin of string: In scope "
        f"SELECT toUInt32('{VALUE}') SETTINGS readonly = '1'. (CANNOT_PARSE_TEXT)",
    )

    assert describe_store_error(error) == "ClickHouse error 6 (CANNOT_PARSE_TEXT)"


def test_a_syntax_error_is_its_code_name_and_position_and_no_text_of_the_query() -> None:
    # The query spans lines: its first line, which ClickHouse quotes, ends in what looks like an error name.
    error = _server_error(
        62,
        "Code: 62. DB::Exception: Syntax error: failed at position 10 (1) (line 1, col 10): 1 (NEEDLE_X)\n"
        " (NEEDLE_Y)\n SETTINGS readonly = '1'\n FORMAT Native. Expected one of: token, end of query. (SYNTAX_ERROR)",
    )

    assert describe_store_error(error) == "ClickHouse error 62 (SYNTAX_ERROR) at position 10"


def test_the_name_is_found_before_a_version_trailer() -> None:
    error = _server_error(
        60, "Code: 60. DB::Exception: Unknown table 'x'. (UNKNOWN_TABLE) (version 25.3.2.39 (official build))"
    )
    repeated = _server_error(
        164, "Code: 164. DB::Exception: Code: 164. Cannot modify 'x'. (READONLY) (version 26.9.2.1). (READONLY)"
    )

    assert describe_store_error(error) == "ClickHouse error 60 (UNKNOWN_TABLE)"
    assert describe_store_error(repeated) == "ClickHouse error 164 (READONLY)"


def test_a_message_of_the_store_path_is_shown_as_it_is() -> None:
    refused = StoreQueryError(
        "Code: 164. the query path runs reads only: INTO OUTFILE is refused. (READONLY)", code=164
    )

    assert describe_store_error(refused) == str(refused)
    assert isinstance(refused, DatabaseError)  # caught wherever the store's own refusals are
