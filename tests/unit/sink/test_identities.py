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
    claims_to_confirm,
    content_digest,
    identity_rows,
    resolve_identities,
    unlanded_claims,
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


def test_a_claim_whose_row_never_landed_lets_its_event_be_stored_when_it_comes_again() -> None:
    batch = _rows(_row("kobe", IDS[0], "d" * 64, 1), _row("kobe", IDS[1], "e" * 64, 2))
    claimed = {("kobe", IDS[0]): frozenset({"d" * 64}), ("kobe", IDS[1]): frozenset({"e" * 64})}
    confirm = claims_to_confirm(batch, claimed)
    assert [row[LINEAGE_EVENT_ID] for row in confirm] == [IDS[0], IDS[1]]

    # IDS[0]'s row is in collection_lineage; IDS[1] was claimed by a write that stopped before its insert.
    resolved = resolve_identities(batch, claimed, NOW, unlanded_claims(confirm, {("kobe", IDS[0])}))

    assert [row[LINEAGE_EVENT_ID] for row in resolved.rows.lineage] == [IDS[1]]
    assert [row[:2] for row in resolved.redelivered] == [("kobe", IDS[0])]
    assert identity_rows(resolved.rows.lineage) == [(IDS[1], "kobe", "e" * 64)]


def test_other_content_under_a_claim_is_a_conflict_whether_or_not_the_claim_landed() -> None:
    batch = _rows(_row("kobe", IDS[0], "f" * 64, 1))
    claimed = {("kobe", IDS[0]): frozenset({"d" * 64})}
    confirm = claims_to_confirm(batch, claimed)
    assert confirm == []  # nothing to confirm: the content differs from the claim

    resolved = resolve_identities(batch, claimed, NOW, unlanded_claims(confirm, set()))

    assert resolved.rows.lineage == []
    assert resolved.conflicts == 1


def test_claims_made_before_content_digests_count_as_landed_and_are_not_looked_up() -> None:
    batch = _rows(_row("kobe", IDS[0], "d" * 64, 1))
    claimed = {("kobe", IDS[0]): frozenset({""})}

    assert claims_to_confirm(batch, claimed) == []
    resolved = resolve_identities(batch, claimed, NOW, unlanded_claims([], set()))
    assert resolved.rows.lineage == []
    assert resolved.redeliveries == 1


@given(
    st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from(["a" * 64, "b" * 64])), min_size=1, max_size=8),
    st.dictionaries(st.sampled_from(IDS), st.sampled_from(["a" * 64, "b" * 64])),
    st.sets(st.sampled_from(IDS)),
)
def test_every_row_ends_stored_redelivered_or_refused_once_whatever_was_claimed_or_landed(
    incoming: list[tuple[UUID, str]], claims: dict[UUID, str], landed_ids: set[UUID]
) -> None:
    batch = _rows(*(_row("kobe", event_id, digest, n) for n, (event_id, digest) in enumerate(incoming)))
    claimed = {("kobe", event_id): frozenset({digest}) for event_id, digest in claims.items()}
    landed = {("kobe", event_id) for event_id in landed_ids if event_id in claims}
    confirm = claims_to_confirm(batch, claimed)

    resolved = resolve_identities(batch, claimed, NOW, unlanded_claims(confirm, landed))

    assert len(resolved.rows.lineage) + resolved.redeliveries + resolved.conflicts == len(incoming)
    stored_ids = [row[LINEAGE_EVENT_ID] for row in resolved.rows.lineage]
    assert len(stored_ids) == len(set(stored_ids))  # one row per identity
    for event_id in stored_ids:  # stored only where nothing landed, and never against another claim
        assert ("kobe", event_id) not in landed
        digest = next(
            d for row in resolved.rows.lineage if row[LINEAGE_EVENT_ID] == event_id for d in [row[LINEAGE_DIGEST]]
        )
        assert claims.get(event_id, digest) == digest
