"""Key names in evidence: shown only when made of known vocabulary, else '?' — never content or a subject id.

A key name is input like any value: an e-mail subject spelled as a key, hex or base64 split over keys, or a
per-user map keyed by the raw subject id would otherwise come out in the clear in ``lineage.removed[].path``, a
dead letter's ``payload_fields[].path`` or its ``exception.message`` header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas.events import CollectionKind
from services.records import SourceRecord, StageResult, TaggedRecord
from services.stages.allowlist import AllowList
from services.stages.collection import process_collection_batch
from services.stages.errors import contract_vocabulary, safe_name, vocabulary_of
from services.stages.messages import OutgoingMessage, encode_dead_letter, encode_tagged
from services.stages.minimize import allow_list_for

INGESTED_AT = datetime(2024, 1, 15, 3, 0, tzinfo=UTC)
EVENT_ID = "0b9e3c1a-5d2f-4e6a-8b7c-9d0e1f2a3b4c"
SUBJECT_ID = "U012ABCDEF"


@pytest.fixture(scope="module")
def allied(engine: Any) -> AllowList:
    allow = allow_list_for(engine, "allied")
    assert allow is not None
    return allow


# The rule, name by name


@pytest.mark.parametrize(
    "name",
    [
        "email_subject",
        "emailSubject",
        "EMAIL_SUBJECT",
        "EmailSubject",
        "recipient_count",
        "recipientCounts",
        "has_attachments",
        "attachment",  # the singular of a contract word
        "address2",
        "telephone_number_1",
        "organization",
        "_record_type",
        "HTMLBody",  # HTML is no contract word, but a marker of the policy
    ],
)
def test_names_made_of_vocabulary_are_shown_as_they_are(allied: AllowList, name: str) -> None:
    assert safe_name(name, allied.vocabulary) == name


@pytest.mark.parametrize(
    "name",
    [
        "Subject_SENTINEL_F4a_Re_salary_cut",  # content spelled in a key, a marker or not
        "U012ABCDEF",  # a raw subject id as a key
        "U3ViamVjdDogU0VOVElORUwtRjRi",  # base64
        "_00535542",  # hex, the first of many keys
        "email_deadbeefcafe",
        "name_123",  # a digit run longer than two
        "email_12_34_56",  # digit runs after digit runs: a number in pairs
        "_12",  # a digit run after no word
        "s00s51s85s66s74s69",  # short numbers between one-letter words: text spelled two digits at a time
        "body_12_name",  # a number anywhere but at the end
        "body\n",  # a line break after a known word
        "subject_body_text_message_content",  # five words: a choice among known words carries a few bits each
        "_",
        "__",
        "taro.yamada@example.jp",
        "x" * 65,
        "山田",
        "",
    ],
)
def test_names_with_anything_outside_the_vocabulary_are_a_question_mark(allied: AllowList, name: str) -> None:
    assert safe_name(name, allied.vocabulary) == "?"


def test_list_indexes_are_shown() -> None:
    assert safe_name(3) == "3"


def test_without_a_policy_the_contract_vocabulary_alone_is_used(allied: AllowList) -> None:
    assert safe_name("html_body", allied.vocabulary) == "html_body"
    assert safe_name("html_body") == "?"  # "html" is a marker of the policy, not a word of the contract
    assert safe_name("email_subject") == "email_subject"


def test_the_contract_vocabulary_holds_field_names_of_nested_and_record_models_and_their_constants() -> None:
    words = contract_vocabulary()

    assert {"bank", "branch", "code", "division"} <= words  # nested models of user_profile
    assert {"recipient", "attachments", "duration", "title"} <= words  # allied record models
    assert {"subject", "tenant", "kind", "version"} <= words  # the envelope and its subject
    assert {"transmission", "scheduler", "entry", "tablet"} <= words  # record types and literals: error locations
    assert "salary" not in words


def test_vocabulary_of_other_models_is_their_own() -> None:
    from pydantic import BaseModel

    class Shift(BaseModel):
        night_shift: bool
        starts_at: int

    assert vocabulary_of(Shift) == {"night", "shift", "starts", "at"}


# Through the pipeline: the red team's findings


def _clear(message: OutgoingMessage) -> bytes:
    """A message's bytes, but for the sealed quarantine field (the raw event, readable with the key only)."""
    value = message.value or b""
    if value:
        document = orjson.loads(value)
        document.pop("quarantine", None)
        value = orjson.dumps(document)
    return b"\n".join([message.key or b"", value, *(k.encode() + b"=" + v for k, v in message.headers)])


def _run(records: list[SourceRecord], context: Any, topics: Any) -> tuple[StageResult[TaggedRecord], list[bytes]]:
    result = process_collection_batch(records, context, INGESTED_AT)
    assert len(result.ok) + len(result.dead) == len(records)
    wire = [_clear(encode_tagged(r, topics.tagged_for(r.kind))) for r in result.ok]
    wire += [_clear(encode_dead_letter(d, topics.dead_letter, context.quarantine)) for d in result.dead]
    return result, wire


def _evidence(result: StageResult[TaggedRecord], wire: list[bytes]) -> Iterator[str]:
    """Every path of evidence: removed fields of tagged records, payload fields and messages of dead letters."""
    for record in result.ok:
        yield from (removed.path for removed in record.removed)
    for letter in result.dead:
        yield letter.message
    for message in wire:
        document = orjson.loads(message.split(b"\n")[1] or b"{}")
        yield from (field["path"] for field in document.get("payload_fields", []))


def _events(make_event: Callable[..., dict[str, Any]], extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The same extra keys on a tagged record, a refused one (inventory), a user profile's nested object and
    the subject of an envelope (the dead-letter header's message)."""
    email = {"record_type": "email_transmission", "occurred_at": "2023-05-01T09:00:00+09:00", "recipient_count": 3}
    refused = {**email, "recipient_count": -1}
    profile = make_event(CollectionKind.USER_PROFILE, event_id=EVENT_ID)
    profile["payload"]["organization"] = {"name": "Kobe Logistics", **extra}
    subject = make_event(CollectionKind.COOKIE, event_id=EVENT_ID)
    subject["subject"] = {**subject["subject"], **extra}
    return [
        make_event(CollectionKind.ALLIED, event_id=EVENT_ID, payload={**email, **extra}),
        make_event(CollectionKind.ALLIED, event_id=EVENT_ID, payload={**refused, **extra}),
        profile,
        subject,
    ]


def test_content_spelled_in_key_names_is_shown_nowhere(make_event, make_record, context, topics) -> None:
    body = "Subject: SENTINEL 残業代について".encode().hex()
    extra: dict[str, Any] = {f"_{i:02d}{body[i : i + 60]}": 1 for i in range(0, len(body), 60)}
    extra |= {"Subject_SENTINEL_F4a_Re_salary_cut": 1, "U3ViamVjdDogU0VOVElORUwtRjRi": 1}

    result, wire = _run([make_record(e) for e in _events(make_event, extra)], context, topics)

    assert [r.kind for r in result.ok] == ["allied", "user_profile"]
    assert len(result.dead) == 2
    for message in wire:
        assert b"SENTINEL" not in message
        assert body[:60].encode() not in message
        assert b"U3ViamVjdDogU0VOVElORUwtRjRi" not in message
    # Evidence keeps its structure, sizes and reasons: one "?" per removed key.
    tagged = result.ok[0].removed
    assert [r.path for r in tagged] == ["payload.?"] * len(extra)
    assert {r.reason.value for r in tagged} == {"not_allowed", "excluded_content"}
    assert "subject.?: extra_forbidden" in result.dead[1].message


def test_a_raw_subject_id_used_as_a_key_is_shown_nowhere(make_event, make_record, context, topics) -> None:
    events = _events(make_event, {SUBJECT_ID: {"messages": 3}})
    for event in events:
        event["subject"] = {**event["subject"], "id": SUBJECT_ID}

    result, wire = _run([make_record(e) for e in events], context, topics)

    assert len(result.ok) == 2
    assert all(SUBJECT_ID.encode() not in message for message in wire)
    assert any(r.path == "payload.?" and r.size == len(b'{"messages":3}') for r in result.ok[0].removed)


def test_marker_and_contract_names_are_still_shown(make_event, make_record, context, topics) -> None:
    headers = [{"name": "Subject", "value": "Re: 残業"}]
    extra = {"email_subject": "Re: 残業", "body": "…", "attachments": [], "headers": headers, "ends_at": "x"}

    result, _ = _run([make_record(e) for e in _events(make_event, extra)[:2]], context, topics)

    assert {r.path for r in result.ok[0].removed} == {f"payload.{name}" for name in extra}
    assert all(r.reason.value == "excluded_content" for r in result.ok[0].removed if r.path != "payload.ends_at")


# Properties

_STYLES: dict[str, Callable[[list[str]], str]] = {
    "snake": lambda words: "_".join(w.lower() for w in words),
    "constant": lambda words: "_".join(w.upper() for w in words),
    "camel": lambda words: words[0].lower() + "".join(w.capitalize() for w in words[1:]),
    "pascal": lambda words: "".join(w.capitalize() for w in words),
    "lower": lambda words: "".join(w.lower() for w in words),
    "leading_underscore": lambda words: "_" + "_".join(words),
}


@st.composite
def _key_with_a_secret(draw: st.DrawFn, vocabulary: frozenset[str]) -> tuple[str, str]:
    """A key name of vocabulary words with one secret word among them, in one casing and separator style."""
    known = sorted(vocabulary)
    secret = draw(
        st.from_regex(r"[a-z]{6,12}", fullmatch=True).filter(lambda w: safe_name(w, vocabulary) == "?"),
    )
    words = draw(st.lists(st.sampled_from(known), max_size=4))
    words.insert(draw(st.integers(0, len(words))), secret)
    style = draw(st.sampled_from(sorted(_STYLES)))
    name = _STYLES[style](words)
    cased = {"constant": secret.upper(), "camel": secret.capitalize(), "pascal": secret.capitalize()}
    shown = cased.get(style, secret)
    if style == "camel" and words[0] == secret:
        shown = secret
    return name, shown


_HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(data=st.data())
@_HYPOTHESIS
def test_a_secret_word_in_a_key_name_never_reaches_evidence_or_output(
    data: st.DataObject, make_event, make_record, context, topics, allied
) -> None:
    vocabulary = allied.vocabulary
    keys = data.draw(st.lists(_key_with_a_secret(vocabulary), min_size=1, max_size=3, unique_by=lambda k: k[0]))
    extra = {name: data.draw(st.sampled_from([1, "x", {"a": 1}, [1]])) for name, _ in keys}
    _, baseline = _run([make_record(e) for e in _events(make_event, {})], context, topics)
    for _, secret in keys:
        assume(all(secret.encode() not in message for message in baseline))

    result, wire = _run([make_record(e) for e in _events(make_event, extra)], context, topics)

    paths = list(_evidence(result, wire))
    assert paths
    for name, secret in keys:
        for path in paths:
            assert secret not in path
            assert secret.lower() not in path.lower().split(".")
            assert name not in path
        for message in wire:
            assert secret.encode() not in message


@given(
    subject_id=st.from_regex(r"[A-Z][A-Z0-9]{7,11}", fullmatch=True).filter(
        lambda s: safe_name(s, contract_vocabulary() | {"html", "body", "post", "dm", "raw"}) == "?"
    ),
    nested=st.booleans(),
)
@_HYPOTHESIS
def test_a_raw_subject_id_used_as_a_key_never_reaches_output(
    subject_id: str, nested: bool, make_event, make_record, context, topics, allied
) -> None:
    assume(safe_name(subject_id, allied.vocabulary) == "?")
    extra: dict[str, Any] = {"per_user": {subject_id: 3}} if nested else {subject_id: {"messages": 3}}
    events = _events(make_event, extra)
    for event in events:
        event["subject"] = {**event["subject"], "id": subject_id}

    _, wire = _run([make_record(e) for e in events], context, topics)

    for message in wire:
        assert subject_id.encode() not in message
