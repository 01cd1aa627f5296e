"""Pseudonym keys: where they come from, and rotation that keeps old pseudonyms traceable."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.keys import PseudonymKeyError, load_keyring, load_pseudonym_key
from services.pseudonymize import PseudonymKey, PseudonymKeyring, pseudonymize
from services.settings import Settings

OLD = "11" * 32
NEW = "22" * 32


def key_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_after_rotation_new_records_use_the_new_key_and_old_pseudonyms_are_still_found(tmp_path):
    before = load_keyring(Settings(pseudonym_key_file=key_file(tmp_path, "old.key", OLD)))
    old_pseudonym = pseudonymize(before.current, "kobe-logistics", "emp-00042")

    after = load_keyring(
        Settings(
            pseudonym_key_file=key_file(tmp_path, "new.key", NEW),
            pseudonym_retired_key_files=[tmp_path / "old.key"],
        )
    )

    found = after.pseudonyms("kobe-logistics", "emp-00042")
    assert after.current.key_id != before.current.key_id
    assert found[before.current.key_id] == old_pseudonym
    assert found[after.current.key_id] == pseudonymize(after.current, "kobe-logistics", "emp-00042")
    assert next(iter(found)) == after.current.key_id


def test_the_same_key_twice_in_a_keyring_is_refused(tmp_path):
    with pytest.raises(PseudonymKeyError, match="twice"):
        load_keyring(
            Settings(
                pseudonym_key_file=key_file(tmp_path, "k.key", OLD),
                pseudonym_retired_key_files=[tmp_path / "k.key"],
            )
        )


def test_a_short_retired_key_is_refused_naming_its_file(tmp_path):
    short = key_file(tmp_path, "short.key", "abcd")
    with pytest.raises(PseudonymKeyError, match=r"short\.key"):
        load_keyring(Settings(pseudonym_key_file=key_file(tmp_path, "k.key", NEW), pseudonym_retired_key_files=[short]))


def test_the_embedded_default_generates_one_private_key_and_reuses_it(tmp_path):
    settings = Settings(local_key_file=tmp_path / "var" / "pseudonym.key")

    first = load_pseudonym_key(settings)
    second = load_pseudonym_key(settings)

    assert first.key_id == second.key_id
    assert (settings.local_key_file.stat().st_mode & 0o777) == 0o600


def test_a_key_from_the_environment_takes_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("LINEAGE_PSEUDONYM_KEY", "environment-key-0123456789")
    settings = Settings(pseudonym_key_file=key_file(tmp_path, "k.key", NEW))

    assert load_pseudonym_key(settings) == PseudonymKey(b"environment-key-0123456789")


def test_keyring_repr_never_shows_a_secret(tmp_path):
    ring = PseudonymKeyring(current=PseudonymKey(bytes.fromhex(NEW)), retired=(PseudonymKey(bytes.fromhex(OLD)),))

    assert NEW not in repr(ring)
    assert "\\x22" not in repr(ring)
