"""Hostile activity events: whatever a service sends, the monitor decides it or dead-letters it; it never raises.

A raise inside a batch would be retried forever (the consumer retries the same batch), so one such event
would stop the monitor for everybody.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.activity import MAX_CONSENT_PURPOSES_CHARS
from schemas.decisions import MAX_CONTENT_TYPES_CHARS, MAX_DATA_TERMS, MAX_DATA_TERMS_CHARS
from services.monitor.evaluate import monitor_batch
from services.monitor.rows import ACTIVITY_COLUMNS, activity_rows
from services.policy.decide import Decider
from services.pseudonymize import PseudonymKey
from services.records import SourceRecord

KEY = PseudonymKey(b"hostile-activity-key-0123456789")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
SPECS = ["rakuro.use/v1", "rakuro.disclosure/v1", "rakuro.consent/v1", "rakuro.rights/v1", "rakuro.other/v1"]
ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=40),
    st.sampled_from(["internal", "third_party", "consignee", "collection_module", "", "rakuro", "consent",
                     "service_provision", "cookie", "log_information.ip_address", "grant", "withdraw",
                     "suspension_of_use", "deletion", "2026-11-27T10:00:00+09:00", "9999-12-31T23:59:59-12:00"]),
    st.lists(st.sampled_from(["cookie", "user_information.name", "nope", ""]), max_size=3),
    st.dictionaries(st.sampled_from(["kind", "id", "group_size", "identifies"]),
                    st.sampled_from(["internal", "third_party", "x", 0, True, None]), max_size=3),
)  # fmt: skip
FIELDS = [
    "recipient", "data", "purpose", "legal_basis", "consent_reference", "aggregate", "content_types", "action",
    "recipient_id", "purposes", "request", "lifted", "occurred_at", "subject", "recipient_name",
]  # fmt: skip


def _base(spec: str) -> dict[str, Any]:
    return {
        "spec": spec,
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-27T10:00:00+09:00",
        "tenant_id": "kobe-logistics",
        "source_service": "crm-mailer",
        "subject": {"type": "analyzed_account_holder", "id": "hanako@example.jp"},
        "purpose": "service_provision",
        "data": ["cookie"],
        "recipient": {"kind": "collection_module", "id": "google-analytics"},
    }


@st.composite
def activity(draw: st.DrawFn) -> bytes:
    document = _base(draw(st.sampled_from(SPECS)))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.booleans()):
            document[name] = draw(ODD)
        else:
            document.pop(name, None)
    return _dumps(document)


def _dumps(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document)
    except TypeError:  # an integer beyond 64 bits: JSON allows it, orjson does not write it
        return json.dumps(document).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(activity(), min_size=1, max_size=8))
def test_any_activity_is_decided_or_dead_lettered_and_nothing_raises(engine: Any, documents: list[bytes]) -> None:
    batch = [SourceRecord("t.activity.v1", 0, offset, value) for offset, value in enumerate(documents)]

    result = monitor_batch(batch, {}, {}, Decider(engine), KEY)

    decided = [e.source for e in result.evaluated]
    dead = [d.source for d in result.dead]
    assert len(set(decided + dead)) == len(decided) + len(dead), "no event decided twice or both"
    assert all("hanako" not in d.message for d in result.dead), "no input value in a dead letter's message"


def test_a_disclosure_to_rakuro_itself_is_refused_by_its_contract_not_a_poison(engine: Any) -> None:
    document = {**_base("rakuro.disclosure/v1"), "recipient": {"kind": "internal", "id": "rakuro"}}

    result = monitor_batch([SourceRecord("t", 0, 0, orjson.dumps(document))], {}, {}, Decider(engine), KEY)

    assert result.evaluated == []
    (letter,) = result.dead
    assert letter.reason.value == "schema_invalid"
    assert "recipient.kind" in letter.message


@pytest.mark.parametrize("spec", ["rakuro.use/v1", "rakuro.disclosure/v1"])
def test_a_use_naming_more_data_than_a_policy_has_is_refused_by_its_contract(engine: Any, spec: str) -> None:
    """Fifteenth red-team pass: the data list had no bound; 0.5 MB of entries cost the monitor 3.4-4.1 s and were
    stored verbatim in the decision's row. At most MAX_DATA_TERMS entries are read; more is schema_invalid."""
    base = _base(spec)
    if spec == "rakuro.use/v1":
        del base["recipient"]
    within = {**base, "data": [f"user_information.item_{n}" for n in range(MAX_DATA_TERMS)]}
    beyond = {**base, "data": [f"user_information.item_{n}" for n in range(MAX_DATA_TERMS + 1)]}
    batch = [SourceRecord("t", 0, offset, orjson.dumps(doc)) for offset, doc in enumerate([within, beyond])]

    result = monitor_batch(batch, {}, {}, Decider(engine), KEY)

    assert [e.source.offset for e in result.evaluated] == [0]
    (letter,) = result.dead
    assert (letter.source.offset, letter.reason.value) == (1, "schema_invalid")
    assert "data" in letter.message


def test_a_use_whose_data_entries_total_more_characters_than_the_bound_is_refused(engine: Any) -> None:
    """Seventeenth red-team pass: 64 entries of 127 lower-case characters, each decoded as base32 at every offset,
    cost the monitor 116-128 ms an event. The entries may total MAX_DATA_TERMS_CHARS characters, checked before
    any is read."""
    base = _base("rakuro.use/v1")
    del base["recipient"]
    entry = "a" * 63 + "." + "b" * 63
    fits = MAX_DATA_TERMS_CHARS // len(entry)
    within = {**base, "data": [entry[: -1 - n % 9] + "c" * (n % 9 + 1) for n in range(fits)]}
    beyond = {**base, "data": [*within["data"], entry]}
    batch = [SourceRecord("t", 0, offset, orjson.dumps(doc)) for offset, doc in enumerate([within, beyond])]

    result = monitor_batch(batch, {}, {}, Decider(engine), KEY)

    assert [e.source.offset for e in result.evaluated] == [0]
    (letter,) = result.dead
    assert (letter.source.offset, letter.reason.value) == (1, "schema_invalid")
    assert "data" in letter.message  # too_long: 25 entries, far under MAX_DATA_TERMS; the characters are too many


@pytest.mark.parametrize(
    ("spec", "field", "bound"),
    [
        ("rakuro.use/v1", "content_types", MAX_CONTENT_TYPES_CHARS),
        ("rakuro.disclosure/v1", "content_types", MAX_CONTENT_TYPES_CHARS),
        ("rakuro.consent/v1", "purposes", MAX_CONSENT_PURPOSES_CHARS),
    ],
)
def test_every_list_of_checked_terms_is_bounded_in_characters(engine: Any, spec: str, field: str, bound: int) -> None:
    """Nineteenth red-team pass: only the data list had a bound in characters. A consent naming 64 purposes of
    63 characters cost the monitor 50-61 ms and kept 4 KB in every change of its timeline; 16 content types of
    63, ~12 ms more a disclosure. Each list of checked terms may total its bound, checked before any is read."""
    base = _base(spec)
    if spec == "rakuro.use/v1":
        del base["recipient"]
    if spec == "rakuro.consent/v1":
        for name in ("purpose", "data", "recipient"):
            del base[name]
        base.update(action="grant", consent_reference="consent-0001", recipient_id="naniwa-benefits")
    entry = "a" * 30 + "-" + "b" * 30
    fits = bound // len(entry)
    within = {**base, field: [entry[: -1 - n % 9] + "c" * (n % 9 + 1) for n in range(fits)]}
    beyond = {**base, "event_id": str(uuid.uuid4()), field: [*within[field], entry]}
    batch = [SourceRecord("t", 0, offset, orjson.dumps(doc)) for offset, doc in enumerate([within, beyond])]

    result = monitor_batch(batch, {}, {}, Decider(engine), KEY)

    accepted = [e.source.offset for e in result.evaluated] + [c.source.offset for c in result.changes]
    assert accepted == [0]
    (letter,) = result.dead
    assert (letter.source.offset, letter.reason.value) == (1, "schema_invalid")
    assert field in letter.message


def test_a_decisions_row_keeps_undeclared_data_only_as_a_digest(engine: Any) -> None:
    """Seventeenth and eighteenth red-team passes: undeclared data references carried text in spellings no reader
    knows (code points four characters apart: ~350 kanji a use) into activity_decisions. The policy's own
    references are kept as they are; any other as a digest, the same for the same reference."""
    base = _base("rakuro.use/v1")
    del base["recipient"]
    spelled = "____".join(f"u{ord(char):04x}" for char in "給与削減") + ".u306e____u304a____u77e5____u3089"
    base["data"] = ["cookie", "user_information.name", spelled, spelled]
    batch = [SourceRecord("t", 0, 0, orjson.dumps(base))]

    result = monitor_batch(batch, {}, {}, Decider(engine), KEY)

    (row,) = activity_rows(result.evaluated, NOW, engine.known_refs)
    data = row[ACTIVITY_COLUMNS.index("data")]
    assert data[:2] == ["cookie", "user_information.name"]
    assert data[2] == data[3]
    assert re.fullmatch(r"undeclared:[0-9a-f]{16}", data[2])
    assert "unknown_data" in result.evaluated[0].decision.codes
