"""The quarantine key and sealing of refused events: round trips, refusals, and keys that never leak."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import quarantine
from services.quarantine import (
    QuarantineError,
    QuarantineKey,
    QuarantineKeyError,
    Sealed,
    load_quarantine_key,
    seal,
    unseal,
)
from services.settings import Settings

SECRET = bytes(range(32))
KEY = QuarantineKey(SECRET)
OTHER = QuarantineKey(b"\xee" * 32)
AAD = b"collection.user_profile.v1[0]@42"
EVENT = b'{"subject": {"id": "taro.yamada@example.jp"}, "payload": {"name": "Taro Yamada"}}'
ORIGINAL_KEY = b"kobe-logistics/taro.yamada@example.jp"


@pytest.fixture(autouse=True)
def _no_quarantine_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read LINEAGE_* variables: a key in the developer's shell must not decide these tests.
    for name in ("LINEAGE_QUARANTINE_KEY", "LINEAGE_QUARANTINE_KEY_FILE", "LINEAGE_LOCAL_QUARANTINE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def _flip(text: str, index: int = 0) -> str:
    """The base64 ``text`` with one bit of its ``index``-th byte flipped."""
    data = bytearray(base64.b64decode(text))
    data[index] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


# --- sealing ----------------------------------------------------------------------------------------------


def test_a_sealed_event_opens_to_its_value_and_key() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)

    assert unseal(KEY, sealed, AAD) == (EVENT, ORIGINAL_KEY)


def test_the_sealed_form_is_json_ready_text_naming_algorithm_and_key() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)

    assert set(sealed) == {"alg", "key_id", "nonce", "ciphertext"}
    assert all(isinstance(value, str) for value in sealed.values())
    assert sealed["alg"] == "AES-256-GCM"
    assert sealed["key_id"] == KEY.key_id
    assert len(base64.b64decode(sealed["nonce"], validate=True)) == 12


def test_nothing_of_the_event_is_readable_in_the_sealed_form() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)
    text = repr(sealed).encode()

    assert b"taro" not in text
    assert b"taro" not in base64.b64decode(sealed["ciphertext"])


def test_every_seal_uses_a_fresh_nonce() -> None:
    nonces = {seal(KEY, EVENT, None, AAD)["nonce"] for _ in range(50)}

    assert len(nonces) == 50


@pytest.mark.parametrize(
    ("value", "original_key"),
    [(None, None), (b"", None), (None, b""), (b"", b""), (EVENT, None), (None, ORIGINAL_KEY), (b"\x00\xff", b"k")],
)
def test_absent_and_empty_are_told_apart(value: bytes | None, original_key: bytes | None) -> None:
    assert unseal(KEY, seal(KEY, value, original_key, AAD), AAD) == (value, original_key)


@given(value=st.none() | st.binary(), original_key=st.none() | st.binary(max_size=300), aad=st.binary(max_size=200))
def test_any_bytes_round_trip(value: bytes | None, original_key: bytes | None, aad: bytes) -> None:
    assert unseal(KEY, seal(KEY, value, original_key, aad), aad) == (value, original_key)


def test_the_framing_is_version_then_value_then_key() -> None:
    # Pinned: dead letters sealed today must open after any refactoring.
    assert quarantine._frame(b"ab", None) == b"\x01" + b"\x01\x00\x00\x00\x02ab" + b"\x00"
    assert quarantine._frame(None, b"") == b"\x01\x00\x01\x00\x00\x00\x00"


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"\x02\x00\x00", b"\x01", b"\x01\x00", b"\x01\x07\x00", b"\x01\x01\x00\x00\x00\x05ab\x00", b"\x01\x00\x00!"],
    ids=["empty", "version", "no-fields", "one-field", "bad-marker", "truncated", "trailing"],
)
def test_a_malformed_frame_is_refused(plaintext: bytes) -> None:
    with pytest.raises(QuarantineError):
        quarantine._unframe(plaintext)


# --- refusals ---------------------------------------------------------------------------------------------


def test_another_key_is_refused_by_key_id() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)

    with pytest.raises(QuarantineError, match=re.escape(KEY.key_id)) as raised:
        unseal(OTHER, sealed, AAD)
    assert OTHER.key_id in str(raised.value)


def test_another_key_claiming_the_right_id_does_not_open() -> None:
    sealed = {**seal(KEY, EVENT, ORIGINAL_KEY, AAD), "key_id": OTHER.key_id}

    with pytest.raises(QuarantineError, match="does not open"):
        unseal(OTHER, sealed, AAD)


@pytest.mark.parametrize("field", ["ciphertext", "nonce"])
@pytest.mark.parametrize("index", [0, -1])
def test_a_tampered_blob_does_not_open(field: str, index: int) -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)
    sealed[field] = _flip(sealed[field], index)

    with pytest.raises(QuarantineError, match="does not open"):
        unseal(KEY, sealed, AAD)


def test_a_blob_moved_to_another_record_does_not_open() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)

    with pytest.raises(QuarantineError, match="another record"):
        unseal(KEY, sealed, b"collection.user_profile.v1[0]@43")


def test_a_truncated_ciphertext_does_not_open() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)
    sealed["ciphertext"] = base64.b64encode(base64.b64decode(sealed["ciphertext"])[:-1]).decode()

    with pytest.raises(QuarantineError):
        unseal(KEY, sealed, AAD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nonce": "not base64!"}, "nonce is not valid base64"),
        ({"ciphertext": "%%%%"}, "ciphertext is not valid base64"),
        ({"ciphertext": "ü"}, "ciphertext is not valid base64"),
        ({"nonce": base64.b64encode(b"short").decode()}, "5-byte nonce"),
        ({"ciphertext": base64.b64encode(b"tiny").decode()}, "shorter than its authentication tag"),
        ({"alg": "ROT13"}, "algorithm 'ROT13'"),
        ({"alg": None}, "algorithm"),
        ({"key_id": None}, "no key_id"),
        ({"nonce": None}, "no nonce"),
        ({"ciphertext": 7}, "no ciphertext"),
    ],
)
def test_a_malformed_blob_is_refused_saying_what_is_wrong(change: dict[str, object], message: str) -> None:
    sealed = {**seal(KEY, EVENT, ORIGINAL_KEY, AAD), **change}

    with pytest.raises(QuarantineError, match=re.escape(message)):
        unseal(KEY, sealed, AAD)


def test_a_non_mapping_is_refused() -> None:
    with pytest.raises(QuarantineError, match="not a JSON object"):
        unseal(KEY, ["AES-256-GCM"], AAD)  # type: ignore[arg-type]


def test_refusals_are_value_errors_that_show_no_content_or_key() -> None:
    sealed = seal(KEY, EVENT, ORIGINAL_KEY, AAD)
    messages = []
    for bad_key, bad_aad in ((OTHER, AAD), (KEY, b"x")):
        with pytest.raises(ValueError, match=r"quarantine key|does not open") as raised:
            unseal(bad_key, sealed, bad_aad)
        messages.append(str(raised.value))
    for message in messages:
        assert "taro" not in message
        assert SECRET.hex() not in message
        assert OTHER.secret.hex() not in message


def test_sealed_parses_and_renders_its_mapping() -> None:
    sealed = seal(KEY, EVENT, None, AAD)
    parsed = Sealed.from_mapping(sealed)

    assert parsed.key_id == KEY.key_id
    assert len(parsed.nonce) == 12
    assert parsed.to_mapping() == sealed


# --- the key ----------------------------------------------------------------------------------------------


def test_the_key_id_is_a_stable_fingerprint_that_reveals_nothing() -> None:
    expected = "q1-" + hashlib.sha256(b"purpose-lineage quarantine key id" + SECRET).hexdigest()[:12]

    assert KEY.key_id == expected
    assert QuarantineKey(SECRET).key_id == KEY.key_id
    assert re.fullmatch(r"q1-[0-9a-f]{12}", KEY.key_id)
    assert KEY.key_id != OTHER.key_id
    assert SECRET.hex()[:12] not in KEY.key_id


def test_repr_and_str_hide_the_secret() -> None:
    for text in (repr(KEY), str(KEY), f"{KEY}", repr([KEY])):
        assert SECRET.hex() not in text
        assert repr(SECRET) not in text
        assert KEY.key_id in text


def test_keys_with_the_same_secret_are_equal_and_hash_alike() -> None:
    assert QuarantineKey(SECRET) == KEY
    assert hash(QuarantineKey(SECRET)) == hash(KEY)
    assert KEY != OTHER


@pytest.mark.parametrize("length", [0, 1, 16, 31, 33, 64])
def test_a_key_that_is_not_32_bytes_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        QuarantineKey(b"k" * length)


def test_a_generated_key_is_random() -> None:
    assert QuarantineKey.generate() != QuarantineKey.generate()


# --- where the key comes from -----------------------------------------------------------------------------

HEX = SECRET.hex()


def test_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_QUARANTINE_KEY", HEX.upper() + "\n")

    assert load_quarantine_key(Settings()) == KEY


def test_the_key_from_the_environment_wins_over_a_file(tmp_path: Path) -> None:
    other_file = tmp_path / "other.key"
    other_file.write_text(OTHER.secret.hex())

    assert load_quarantine_key(Settings(quarantine_key=HEX, quarantine_key_file=other_file)) == KEY


def test_the_key_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.key"
    path.write_text(HEX + "\n")

    assert load_quarantine_key(Settings(quarantine_key_file=path)) == KEY


@pytest.mark.parametrize(
    "text",
    ["", HEX[:-2], HEX + "00", "zz" * 32, HEX[:32] + " " + HEX[32:], "0x" + HEX[2:], SECRET.decode("latin-1")],
    ids=["empty", "short", "long", "not-hex", "space", "0x", "raw-bytes"],
)
def test_a_key_that_is_not_64_hex_digits_is_refused_without_showing_it(text: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text(text, encoding="utf-8")

    for settings in (Settings(quarantine_key=text), Settings(quarantine_key_file=path)):
        with pytest.raises(QuarantineKeyError, match="64 hex digits") as raised:
            load_quarantine_key(settings)
        if text.strip():
            assert text.strip() not in str(raised.value)
        assert HEX[:16] not in str(raised.value)


def test_the_environment_variable_is_named_in_its_error() -> None:
    with pytest.raises(QuarantineKeyError, match="LINEAGE_QUARANTINE_KEY"):
        load_quarantine_key(Settings(quarantine_key="abc"))


def test_a_missing_key_file_is_named_in_its_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"

    with pytest.raises(QuarantineKeyError, match=r"missing\.key"):
        load_quarantine_key(Settings(quarantine_key_file=missing))


def test_a_key_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary.key"
    path.write_bytes(b"\xff\xfe" * 16)

    with pytest.raises(QuarantineKeyError, match="not UTF-8"):
        load_quarantine_key(Settings(quarantine_key_file=path))


def test_the_embedded_default_generates_one_private_key_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "quarantine.key"
    settings = Settings(local_quarantine_key_file=path)

    first = load_quarantine_key(settings)
    second = load_quarantine_key(settings)

    assert first == second
    assert re.fullmatch(r"[0-9a-f]{64}", path.read_text())
    assert bytes.fromhex(path.read_text()) == first.secret
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_without_create_a_missing_local_key_is_an_error_and_no_key_is_made(tmp_path: Path) -> None:
    path = tmp_path / "var" / "quarantine.key"

    with pytest.raises(QuarantineKeyError, match="local quarantine key file"):
        load_quarantine_key(Settings(local_quarantine_key_file=path), create=False)
    assert not path.exists()


def test_without_create_an_existing_local_key_is_read(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.key"
    path.write_text(HEX)

    assert load_quarantine_key(Settings(local_quarantine_key_file=path), create=False) == KEY


def test_a_process_losing_the_creation_race_uses_the_winners_key(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "quarantine.key"
    settings = Settings(local_quarantine_key_file=path)
    # The other process creates it between our check for the file and our creation of it.
    monkeypatch.setattr(Path, "exists", lambda self: False)
    path.write_text(HEX)

    assert load_quarantine_key(settings) == KEY
    assert path.read_text() == HEX


def test_the_quarantine_key_is_not_the_pseudonym_key(tmp_path: Path) -> None:
    settings = Settings(local_quarantine_key_file=tmp_path / "q.key", local_key_file=tmp_path / "p.key")

    load_quarantine_key(settings)

    assert not (tmp_path / "p.key").exists()
