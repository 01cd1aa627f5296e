"""Keyed pseudonyms: deterministic per key, tenant-scoped, and the key never shows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pseudonymize import PartitionKey, PseudonymKey, pseudonymize
from tests.memory import most_held

SECRET = b"correct-horse-battery-staple-42"
SUBJECT = "taro.yamada@example.jp"


def test_same_key_tenant_and_subject_give_the_same_pseudonym():
    assert pseudonymize(PseudonymKey(SECRET), "kobe-logistics", SUBJECT) == pseudonymize(
        PseudonymKey(SECRET), "kobe-logistics", SUBJECT
    )


def test_pseudonym_is_64_lowercase_hex_characters():
    assert re.fullmatch(r"[0-9a-f]{64}", pseudonymize(PseudonymKey(SECRET), "kobe-logistics", SUBJECT))


def test_pseudonym_differs_across_keys():
    key, rotated = PseudonymKey(SECRET), PseudonymKey(SECRET + b"-rotated")

    assert pseudonymize(key, "kobe-logistics", SUBJECT) != pseudonymize(rotated, "kobe-logistics", SUBJECT)


def test_same_subject_id_in_two_tenants_gets_two_pseudonyms():
    key = PseudonymKey(SECRET)

    assert pseudonymize(key, "kobe-logistics", SUBJECT) != pseudonymize(key, "sapporo-foods", SUBJECT)


def test_moving_characters_between_tenant_and_subject_changes_the_pseudonym():
    key = PseudonymKey(SECRET)

    assert pseudonymize(key, "acme", "1-emp") != pseudonymize(key, "acme1", "-emp")


def test_pseudonym_does_not_contain_the_subject_id():
    assert SUBJECT not in pseudonymize(PseudonymKey(SECRET), "kobe-logistics", SUBJECT)


@given(
    tenants=st.tuples(st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True), st.text(min_size=1, max_size=20)),
    others=st.tuples(st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True), st.text(min_size=1, max_size=20)),
)
def test_distinct_tenant_subject_pairs_get_distinct_pseudonyms(tenants, others):
    key = PseudonymKey(SECRET)

    same = pseudonymize(key, *tenants) == pseudonymize(key, *others)

    assert same == (tenants == others)


def test_key_of_15_bytes_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PseudonymKey(b"x" * 15)


def test_key_of_16_bytes_is_accepted():
    assert len(pseudonymize(PseudonymKey(b"x" * 16), "acme", "emp-1")) == 64


def test_repr_and_str_never_show_the_secret():
    key = PseudonymKey(SECRET)

    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert SECRET.decode() not in shown
        assert SECRET.hex() not in shown
        assert key.key_id in shown


def test_key_id_is_stable_for_one_secret_and_differs_across_secrets():
    assert PseudonymKey(SECRET).key_id == PseudonymKey(SECRET).key_id
    assert PseudonymKey(SECRET).key_id != PseudonymKey(SECRET + b"-rotated").key_id


def test_key_id_does_not_contain_the_secret():
    key_id = PseudonymKey(SECRET).key_id

    assert re.fullmatch(r"k1-[0-9a-f]{12}", key_id)
    assert SECRET.decode() not in key_id
    assert SECRET.hex()[:12] not in key_id


@pytest.mark.parametrize(
    "tenant_char",
    [
        pytest.param("t", id="the-longest-ids-the-contract-accepts"),  # a tenant is ASCII
        pytest.param("\U0001f600", id="a-refused-events-ids"),
    ],
)
def test_ids_sent_new_every_time_hold_what_the_memos_budget_says_however_wide_their_characters(
    tenant_char, monkeypatch
):
    """Pseudonyms and partition keys are remembered for the ids that repeat; these never do, and each is 384
    characters, the subject's in astral characters (4 bytes each). Counted in entries (65,536 ids of 384
    characters), the two memos held 156 MB of them (nineteenth red-team pass); now what their budget says (8 MiB
    here, to be reached in 12,000 ids; 32 MiB by default)."""
    from services import pseudonymize as module

    for memo in (module._recent_pseudonyms, module._recent_partition_keys):
        memo.clear()
        monkeypatch.setattr(memo, "budget", 8 << 20)
    key, partition_key = PseudonymKey(SECRET), PartitionKey(SECRET)

    def remember(n: int) -> None:
        tenant, subject = f"{n:08d}" + tenant_char * 120, f"{n:08d}" + "\U00020000" * 248
        pseudonymize(key, tenant, subject)
        partition_key.of(tenant, subject)

    held = most_held(remember, 12_000, every=1000)

    assert held < 10_000_000, f"{held:,} bytes held after 12,000 new ids"
