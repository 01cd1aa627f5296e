"""A bounded memo keeps what it is charged for within its budget, and charges a text what CPython holds for it."""

from __future__ import annotations

import sys

import pytest

from schemas.memo import TEXT_BYTES, BoundedMemo, held_by, text_bytes


def test_a_memo_starts_afresh_when_the_next_entry_would_pass_its_budget() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(budget=100)
    memo.remember("a", 1, 40)
    memo.remember("b", 2, 60)

    assert memo.remember("c", 3, 10) == 3

    assert memo == {"c": 3}
    assert memo.held == 10


def test_an_entry_dearer_than_the_largest_is_returned_but_not_kept() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(budget=100, largest=50)
    memo.remember("a", 1, 40)

    assert memo.remember("long", 2, 51) == 2

    assert memo == {"a": 1}
    assert memo.held == 40


def test_clearing_a_memo_forgets_its_charges() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(budget=100)
    memo.remember("a", 1, 90)

    memo.clear()
    memo.remember("b", 2, 90)

    assert memo == {"b": 2}


def test_a_text_is_charged_one_byte_a_character_in_ascii_four_otherwise_and_its_header() -> None:
    assert text_bytes("a" * 1000) == TEXT_BYTES + 1000
    assert text_bytes("é" * 1000) == text_bytes("\U00020000" * 1000) == TEXT_BYTES + 4000
    assert held_by(["a" * 1000, "é" * 1000]) == text_bytes("a" * 1000) + text_bytes("é" * 1000)


@pytest.mark.parametrize("text", ["", "a" * 1000, "é" * 1000, "日本" * 500, "\U00020000" * 1000])
def test_a_text_is_charged_no_less_than_cpython_holds_for_it_or_its_utf8(text: str) -> None:
    assert text_bytes(text) >= sys.getsizeof(text) + 8  # the slot that refers to it
    assert text_bytes(text) >= len(text.encode())
