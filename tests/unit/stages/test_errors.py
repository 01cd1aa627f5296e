"""describe_validation_error: schema path, rule and schema constants; never an input value or an odd key."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from services.stages.errors import describe_validation_error, vocabulary_of

SECRET = "taro.yamada@example.jp"


class Employee(BaseModel):
    name: str = Field(min_length=3, max_length=5, pattern=r"^[a-z]+$")
    grade: int = Field(default=1, ge=1, lt=10)
    role: Literal["staff", "manager"] = "staff"
    scores: dict[str, int] = Field(default_factory=dict)
    shifts: list[int] = Field(default_factory=list)
    note: str = ""

    @field_validator("note")
    @classmethod
    def _no_digits(cls, value: str) -> str:
        if any(c.isdigit() for c in value):
            raise ValueError(f"note {value!r} has digits")  # echoes the input, as third-party validators do
        return value


class SevenRequired(BaseModel):
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int
    g: int


def describe(model: type[BaseModel], data: Any, prefix: str = "") -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return describe_validation_error(caught.value, prefix, vocabulary_of(model))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "ab"}, "name: string_too_short (min_length=3)"),
        ({"name": "abcdef"}, "name: string_too_long (max_length=5)"),
        ({"name": "ABC"}, "name: string_pattern_mismatch (pattern=^[a-z]+$)"),
        ({"name": "abc", "grade": 0}, "grade: greater_than_equal (ge=1)"),
        ({"name": "abc", "grade": 10}, "grade: less_than (lt=10)"),
        ({"name": "abc", "role": "boss"}, "role: literal_error (expected='staff' or 'manager')"),
    ],
    ids=["min_length", "max_length", "pattern", "ge", "lt", "expected"],
)
def test_schema_constants_from_the_error_context_are_shown(data, expected):
    assert describe(Employee, data) == expected


@pytest.mark.parametrize(
    "key",
    [SECRET, "9lives", "x" * 65, "山田", "with space", ""],
    ids=["email", "leading-digit", "too-long", "non-ascii", "space", "empty"],
)
def test_key_names_that_are_not_schema_like_are_shown_as_a_question_mark(key):
    message = describe(Employee, {"name": "abc", "scores": {key: "x"}})

    assert message == "scores.?: int_parsing"


def test_key_names_made_of_the_models_words_and_list_indexes_are_shown():
    message = describe(Employee, {"name": "abc", "scores": {"shift_grade": "x"}, "shifts": [1, "x"]})

    assert message == "scores.shift_grade: int_parsing; shifts.1: int_parsing"


def test_schema_like_key_names_with_a_word_outside_the_vocabulary_are_shown_as_a_question_mark():
    # "night" is no word of the model: a key can spell anything, "Re_salary_cut" as much as "night_shift".
    message = describe(Employee, {"name": "abc", "scores": {"night_shift": "x", "Re_salary_cut": "x"}})

    assert message == "scores.?: int_parsing; scores.?: int_parsing"


def test_input_echoed_by_a_validator_is_not_shown():
    message = describe(Employee, {"name": "abc", "note": f"{SECRET} room 42"})

    assert message == "note: value_error"
    assert SECRET not in message


def test_input_values_are_never_shown():
    message = describe(Employee, {"name": SECRET, "grade": SECRET, "role": SECRET, "shifts": [SECRET]})

    assert "name: string_too_long" in message
    assert SECRET not in message


def test_error_at_the_root_is_described_as_root():
    assert describe(Employee, SECRET) == "(root): model_type"


def test_prefix_is_put_before_every_path():
    message = describe(Employee, {"name": "ab", "grade": 0}, prefix="payload.")

    assert message == "payload.name: string_too_short (min_length=3); payload.grade: greater_than_equal (ge=1)"


def test_at_most_five_errors_are_described_then_how_many_more():
    message = describe(SevenRequired, {})

    assert message == "a: missing; b: missing; c: missing; d: missing; e: missing; and 2 more"


def test_exactly_five_errors_are_all_described_without_a_remainder():
    message = describe(SevenRequired, {"f": 1, "g": 2})

    assert message == "a: missing; b: missing; c: missing; d: missing; e: missing"
