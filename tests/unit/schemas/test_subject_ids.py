"""A subject id has one spelling (fifth red-team pass): the same person written with a trailing blank, in NFD
or with an invisible character got another pseudonym and partition, so a suspension did not reach the use."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas.events import SubjectId
from services.stages.collection import process_collection_batch
from tests.unit.monitor.test_evaluate import run, use

ADAPTER: TypeAdapter[str] = TypeAdapter(SubjectId)
KANA = "さとう はなこ"
NOT_CANONICAL = [
    "emp-00042 ",
    " emp-00042",
    "emp-00042\n",
    unicodedata.normalize("NFD", "がくせい-1"),
    "emp\u200b-00042",  # zero-width space
    "emp\u00ad00042",  # soft hyphen
    "emp-\u202e24000",  # right-to-left override
    "emp\x00-1",
    "emp\u2028-1",
]


@pytest.mark.parametrize(
    "subject_id", ["hanako.sato@kobe-logistics.example", "emp-00042", KANA, "Sato Hanako", "佐藤\u3000花子"]
)
def test_canonical_ids_are_taken(subject_id: str) -> None:
    assert ADAPTER.validate_python(subject_id) == subject_id


@pytest.mark.parametrize("subject_id", NOT_CANONICAL)
def test_other_spellings_are_refused_by_both_paths(subject_id: str, make_event, make_record, context) -> None:
    with pytest.raises(ValidationError, match="subject_id_not_canonical"):
        ADAPTER.validate_python(subject_id)

    event = make_event()
    event["subject"] = {**event["subject"], "id": subject_id}
    collected = process_collection_batch([make_record(event)], context, datetime.now(UTC))
    assert collected.ok == []
    assert [(d.reason.value, d.message) for d in collected.dead] == [
        ("schema_invalid", "subject.id: subject_id_not_canonical")
    ]


@pytest.mark.parametrize("subject_id", NOT_CANONICAL)
def test_an_activity_event_with_another_spelling_is_refused(subject_id: str, decider, key) -> None:
    result = run(decider, key, use("service_provision", ["log_information"], subject={
        "type": "analyzed_account_holder", "id": subject_id}))  # fmt: skip

    assert result.evaluated == []
    assert [d.reason.value for d in result.dead] == ["schema_invalid"]
    assert result.dead[0].message.endswith("subject.id: subject_id_not_canonical")


@given(st.text(min_size=1, max_size=40))
def test_whatever_is_taken_is_its_own_canonical_form(text: str) -> None:
    try:
        taken = ADAPTER.validate_python(text)
    except ValidationError:
        return
    assert taken == unicodedata.normalize("NFC", taken) == taken.strip()
    assert not any(unicodedata.category(char).startswith("C") for char in taken)
