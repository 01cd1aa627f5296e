"""Event identity (tenant, event id): a re-delivery is one row, a conflict is a dead letter, nothing vanishes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from services.sink.rows import (
    LINEAGE_COLUMNS,
    LINEAGE_DIGEST,
    LINEAGE_EVENT_ID,
    LINEAGE_TENANT,
    Row,
    SinkRows,
    content_digest,
    resolve_identities,
)

NOW = datetime(2026, 12, 3, tzinfo=UTC)
IDS = [UUID(int=n) for n in range(1, 5)]


def _document() -> dict[str, object]:
    return {
        "spec": "purpose-lineage/tagged/v1",
        "event_id": str(IDS[0]),
        "tenant_id": "kobe",
        "payload": {"terminal_id": "pc-1"},
        "lineage": {"ingested_at": "2026-12-03T00:00:00+00:00", "source": {"topic": "t", "partition": 0, "offset": 1}},
    }


def _row(tenant: str, event_id: UUID, digest: str, offset: int) -> Row:
    values: list[object] = [None] * len(LINEAGE_COLUMNS)
    values[LINEAGE_EVENT_ID], values[LINEAGE_TENANT], values[LINEAGE_DIGEST] = event_id, tenant, digest
    values[1] = "terminal"
    values[20:23] = ["collection.terminal.v1", 0, offset]
    return tuple(values)


def _rows(*lineage: Row) -> SinkRows:
    rows = SinkRows()
    for n, row in enumerate(lineage):
        rows.add_lineage(row, ("tagged.terminal.v1", 0, n))
    return rows


def test_the_digest_ignores_when_and_where_a_record_was_read_but_not_what_it_says() -> None:
    document = _document()
    again = copy.deepcopy(document)
    again["lineage"] = {
        "ingested_at": "2026-12-04T09:00:00+00:00",
        "source": {"topic": "t", "partition": 3, "offset": 9},
    }
    other = copy.deepcopy(document)
    other["payload"] = {"terminal_id": "pc-2"}

    assert content_digest(again) == content_digest(document)
    assert content_digest(other) != content_digest(document)


def test_a_redelivery_is_one_row_and_a_conflict_a_dead_letter_at_its_collection_offset() -> None:
    rows = _rows(_row("kobe", IDS[0], "a", 1), _row("kobe", IDS[0], "a", 2), _row("kobe", IDS[0], "b", 3))

    resolved = resolve_identities(rows, {}, NOW)

    assert resolved.rows.lineage == [rows.lineage[0]]
    assert (resolved.redeliveries, resolved.conflicts) == (1, 1)
    # The re-delivery is recorded where it was collected, so it can be accounted for by its coordinates.
    assert resolved.redelivered == [("kobe", IDS[0], "collection.terminal.v1", 0, 2, NOW)]
    (letter,) = resolved.rows.dead_letters
    assert letter[:5] == ("collection.terminal.v1", 0, 3, "store", "event_id_conflict")
    assert letter[6] == str(IDS[0])


def test_the_same_id_under_another_tenant_is_another_event() -> None:
    rows = _rows(_row("kobe", IDS[0], "a", 1), _row("naniwa", IDS[0], "b", 2))

    assert resolve_identities(rows, {}, NOW).rows.lineage == rows.lineage


def test_what_the_store_already_holds_decides_first() -> None:
    rows = _rows(_row("kobe", IDS[0], "a", 1), _row("kobe", IDS[1], "b", 2), _row("kobe", IDS[2], "c", 3))
    stored = {("kobe", IDS[0]): frozenset({"a"}), ("kobe", IDS[1]): frozenset({"x"}), ("kobe", IDS[2]): frozenset({""})}

    resolved = resolve_identities(rows, stored, NOW)

    assert resolved.rows.lineage == []
    assert (resolved.redeliveries, resolved.conflicts) == (2, 1)  # a row older than digests counts as the same


rows_strategy = st.lists(
    st.tuples(st.sampled_from(["kobe", "naniwa"]), st.sampled_from(IDS), st.sampled_from(["a", "b", "c"])),
    max_size=40,
)


@given(rows_strategy, st.dictionaries(st.tuples(st.sampled_from(["kobe"]), st.sampled_from(IDS)), st.just("a")))
def test_every_row_is_kept_counted_as_redelivery_or_dead_lettered_and_identities_stay_unique(
    specs: list[tuple[str, UUID, str]], stored_specs: dict[tuple[str, UUID], str]
) -> None:
    rows = _rows(*(_row(tenant, event_id, digest, n) for n, (tenant, event_id, digest) in enumerate(specs)))
    stored = {identity: frozenset({digest}) for identity, digest in stored_specs.items()}

    resolved = resolve_identities(rows, stored, NOW)

    kept = resolved.rows.lineage
    assert len(kept) + resolved.redeliveries + resolved.conflicts == len(rows.lineage)
    assert len(resolved.rows.dead_letters) == resolved.conflicts
    identities = [(row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID]) for row in kept]
    assert len(identities) == len(set(identities))
    assert not set(identities) & set(stored)  # what the store holds is never inserted twice
    for row in kept:  # the first row of each new identity is the one kept
        first = next(
            r
            for r in rows.lineage
            if (r[LINEAGE_TENANT], r[LINEAGE_EVENT_ID]) == (row[LINEAGE_TENANT], row[LINEAGE_EVENT_ID])
        )
        assert row == first
