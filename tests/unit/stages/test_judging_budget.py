"""The work of naming removed values' reasons is bounded per event (eighth red-team pass: a 62 KB event of random
tokens under unknown keys took 3 s of one core, a megabyte ~50 s, holding its batch)."""

from __future__ import annotations

import random
import re
import string

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import CollectionKind
from services.policy.gaps import GapFinder
from services.records import REST_PATH, RemovalReason
from services.stages import allowlist, detectors
from services.stages.collection import process_collection_batch
from services.stages.detectors import JUDGED_CHARS, JUDGED_CHARS_PER_EVENT
from tests.unit.stages.test_collection import INGESTED_AT

PROSE = ("plain words of a removed field " * 200)[:JUDGED_CHARS]


@pytest.fixture
def read(monkeypatch) -> list[int]:
    """The characters each removed value is read for, as the detectors are asked."""
    chars: list[int] = []
    real = detectors.looks_encoded

    def counting(value: str) -> bool:
        chars.append(min(len(value), JUDGED_CHARS))
        return real(value)

    monkeypatch.setattr(allowlist, "looks_encoded", counting)
    return chars


def test_an_events_removed_values_are_read_up_to_its_budget_and_the_rest_named_excluded_unread(
    make_event, make_record, context, read
) -> None:
    extra = {f"unknown_{n:02d}": PROSE for n in range(12)}
    event = make_event(CollectionKind.TERMINAL, payload_extra=extra)

    (record,) = process_collection_batch([make_record(event)], context, INGESTED_AT).ok

    assert sum(read) <= JUDGED_CHARS_PER_EVENT
    # Unknown keys are visited sorted; their names are not shown (not the contract's words), their sizes are.
    reasons = [field.reason for field in record.removed if field.size == len(orjson.dumps(PROSE))]
    judged = JUDGED_CHARS_PER_EVENT // JUDGED_CHARS
    assert len(reasons) == 12
    assert reasons[:judged] == [RemovalReason.NOT_ALLOWED] * judged
    assert set(reasons[judged:]) == {RemovalReason.EXCLUDED_CONTENT}


def test_a_refused_events_inventory_is_bounded_alike(make_event, make_record, context, read) -> None:
    event = make_event(CollectionKind.TERMINAL, kind_version=9, payload_extra={f"u{n}": PROSE for n in range(12)})

    (letter,) = process_collection_batch([make_record(orjson.dumps(event))], context, INGESTED_AT).dead

    assert sum(read) <= JUDGED_CHARS_PER_EVENT
    assert letter.redacted is not None


_OLD_GROUPS = re.compile(r"[A-Za-z0-9+/_=-]+(?:[^A-Za-z0-9+/_=\w]+[A-Za-z0-9+/_=-]+)+", re.ASCII)
_PIECES = st.text(string.ascii_letters + string.digits + "+/_=- .:;,!\n\t#あ", max_size=80)


@settings(max_examples=500, deadline=None)
@given(text=_PIECES)
def test_the_linear_groups_pattern_finds_what_the_backtracking_one_found(text: str) -> None:
    assert [m.span() for m in detectors._GROUPS.finditer(text)] == [m.span() for m in _OLD_GROUPS.finditer(text)]


def test_the_groups_pattern_on_a_long_run_without_separators_finds_nothing() -> None:
    run = "".join(random.Random(7).choice(string.ascii_letters + string.digits) for _ in range(JUDGED_CHARS))
    assert detectors._GROUPS.search(run) is None


def _sizes_spelling(text: bytes) -> dict[str, list[int]]:
    """Unknown keys whose sizes spell ``text`` a nibble at a time (a list of n zeros is 2n + 1 bytes)."""
    nibbles = [nibble for byte in text for nibble in (byte >> 4, byte & 15)]
    return {f"k{n:05d}": [0] * nibble for n, nibble in enumerate(nibbles)}


def test_an_events_removals_are_listed_up_to_a_bound_and_the_rest_summed_by_reason(
    make_event, make_record, context
) -> None:
    """Fifteenth red-team pass: the sizes of 51,131 removed unknown keys spelled ~25 KB of text in the evidence."""
    extra = _sizes_spelling(b"Subject: pay cut for Sato, effective next month; sorry " * 20)
    event = make_event(CollectionKind.TERMINAL, payload_extra=extra)

    (record,) = process_collection_batch([make_record(event)], context, INGESTED_AT).ok

    listed = [field for field in record.removed if field.path != REST_PATH]
    rest = [field for field in record.removed if field.path == REST_PATH]
    assert len(listed) == allowlist.MAX_LISTED_REMOVALS
    assert len(rest) == len({field.reason for field in rest}) >= 1  # one entry per reason
    assert sum(field.size for field in record.removed) == sum(len(orjson.dumps(v)) for v in extra.values())


def test_a_refused_events_inventory_lists_up_to_the_same_bound(make_event, make_record, context) -> None:
    extra = _sizes_spelling(b"Subject: pay cut for Sato " * 20)
    event = make_event(CollectionKind.TERMINAL, kind_version=9, payload_extra=extra)

    (letter,) = process_collection_batch([make_record(orjson.dumps(event))], context, INGESTED_AT).dead

    assert letter.redacted is not None
    fields = letter.redacted["payload_fields"]
    assert len([f for f in fields if f["path"] != REST_PATH]) == allowlist.MAX_LISTED_REMOVALS
    rest = fields[allowlist.MAX_LISTED_REMOVALS :]
    assert {f["path"] for f in rest} == {REST_PATH}
    assert len(rest) == len({f["disposition"] for f in rest})  # one entry per disposition


def test_beyond_the_bound_excluded_content_is_listed_first_and_the_rest_is_no_policy_gap(
    make_event, make_record, context, engine
) -> None:
    """Sixteenth red-team pass: a wide export's removed message body was summed up under the rest, and the rest
    became a policy gap named 'payload.*'."""
    extra = {f"column_{n:03d}": "x" for n in range(80)} | {"message_body": "明日の会議は中止です"}
    event = make_event(CollectionKind.TERMINAL, payload_extra=extra)

    (record,) = process_collection_batch([make_record(event)], context, INGESTED_AT).ok

    assert "payload.message_body" in [field.path for field in record.removed]
    gaps = GapFinder(engine).in_collection(record.source_service, record.removed)
    assert REST_PATH not in [gap.name for gap in gaps]


def test_beyond_the_bound_a_refused_events_inventory_lists_excluded_content_first(
    make_event, make_record, context
) -> None:
    """The refused event's inventory orders its fields as a kept event's evidence does (review of the sixteenth
    pass): where a message was is listed, not summed up under the rest."""
    extra = {f"column_{n:03d}": "x" for n in range(80)} | {"message_body": "明日の会議は中止です"}
    event = make_event(CollectionKind.TERMINAL, kind_version=9, payload_extra=extra)

    (letter,) = process_collection_batch([make_record(orjson.dumps(event))], context, INGESTED_AT).dead

    assert letter.redacted is not None
    listed = [f for f in letter.redacted["payload_fields"] if f["path"] != REST_PATH]
    assert {
        "path": "payload.message_body",
        "size": len(orjson.dumps(extra["message_body"])),
        "disposition": "excluded_content",
    } in listed
