"""Insert blocks within ClickHouse's partitions-per-insert limit: every row once, in blocks a retry makes again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.sink.rows import Origin, Row, partition_blocks

LIMIT = 100
TOKYO = timezone(timedelta(hours=9))


def _rows(times: list[object]) -> tuple[list[Row], list[Origin]]:
    rows = [(offset, moment) for offset, moment in enumerate(times)]
    return rows, [("activity.v1", 0, offset) for offset in range(len(times))]


def _utc_months(block: list[Row]) -> set[tuple[int, int]]:
    """The months ClickHouse partitions a block's times by (UTC), for times Python can convert."""
    moments = [row[1].astimezone(UTC) for row in block if isinstance(row[1], datetime)]
    return {(moment.year, moment.month) for moment in moments}


def test_a_batch_over_fewer_months_than_the_limit_is_one_block_as_given() -> None:
    rows, origins = _rows([datetime(2026, 1 + n % 12, 1, tzinfo=UTC) for n in range(5_000)])

    (block,) = partition_blocks(rows, origins, 1, LIMIT)

    assert block[0] is rows
    assert block[1] is origins


def test_a_batch_over_more_months_than_the_limit_is_split_with_every_row_once() -> None:
    months = [datetime(1900 + n // 12, n % 12 + 1, 28, 23, 30, tzinfo=TOKYO) for n in range(1_300)]
    rows, origins = _rows(months + months[::-1])  # every month twice: rows of one month share a block

    blocks = partition_blocks(rows, origins, 1, LIMIT)

    assert len(blocks) > 1
    assert all(len(_utc_months(list(block))) <= LIMIT for block, _ in blocks)
    stored = sorted(pair for block, at in blocks for pair in zip(block, at or [], strict=True))
    assert stored == sorted(zip(rows, origins, strict=True))
    assert partition_blocks(rows, origins, 1, LIMIT) == blocks  # a retried batch: the same blocks


def test_rows_without_origins_and_values_that_are_not_times_are_split_too() -> None:
    times: list[object] = [datetime(1900 + n // 12, n % 12 + 1, 1) for n in range(300)] + ["not a time", None]

    blocks = partition_blocks(_rows(times)[0], None, 1, LIMIT)

    assert all(origins is None for _, origins in blocks)
    assert sum(len(block) for block, _ in blocks) == len(times)


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from([UTC, TOKYO])
        ),
        max_size=400,
    ),
    st.integers(min_value=2, max_value=40),
)
def test_no_block_spans_more_utc_months_than_the_limit(times: list[datetime], limit: int) -> None:
    rows, origins = _rows(list(times))

    blocks = partition_blocks(rows, origins, 1, limit)

    assert all(len(_utc_months(list(block))) <= limit for block, _ in blocks)
    assert sum(len(block) for block, _ in blocks) == len(rows)
