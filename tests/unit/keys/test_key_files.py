"""Local key files made by processes that start together: one key, complete, seen the same by all of them.

A stack's processes start at once and each makes the embedded default's key files when missing. A process that
found the file created but not yet written used to read an empty key and stop at start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from services import key_files
from services.errors import LineageError
from services.key_files import create_once
from services.keys import load_partition_key, load_pseudonym_key
from services.quarantine import load_quarantine_key
from services.settings import Settings


def test_a_missing_file_is_created_with_the_text_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "partition.key"

    assert create_once(path, "ab" * 32) == "ab" * 32

    assert path.read_text() == "ab" * 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["partition.key"]  # nothing left aside


def test_an_existing_file_is_kept_and_its_text_returned(tmp_path: Path) -> None:
    path = tmp_path / "partition.key"
    path.write_text("cd" * 32)

    assert create_once(path, "ab" * 32) == "cd" * 32
    assert path.read_text() == "cd" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["partition.key"]


LOADERS = {
    "partition": (lambda s: load_partition_key(s).secret, "local_partition_key_file"),
    "pseudonym": (lambda s: load_pseudonym_key(s).secret, "local_key_file"),
    "quarantine": (lambda s: load_quarantine_key(s).secret, "local_quarantine_key_file"),
}


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_process_starting_while_another_writes_the_key_gets_the_same_complete_key(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second process runs exactly while the first has its key written but not yet in place."""
    load, field = LOADERS[name]
    settings = Settings(**{field: tmp_path / "var" / f"{name}.key"})
    seen_by_the_other: list[bytes] = []
    fsync = os.fsync

    def other_process_starts_now(descriptor: int) -> None:
        fsync(descriptor)
        if not seen_by_the_other:
            seen_by_the_other.append(b"")  # once: the other process's own creation must not recurse
            seen_by_the_other[0] = load(settings)

    monkeypatch.setattr(key_files.os, "fsync", other_process_starts_now)

    mine = load(settings)

    assert len(mine) >= 32
    assert seen_by_the_other == [mine]


def _load_in_process(args: tuple[str, str]) -> bytes:
    name, path = args
    load, field = LOADERS[name]
    result: bytes = load(Settings(**{field: Path(path)}))
    return result


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_processes_starting_together_all_get_one_key(name: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(8) as pool:
        for round_ in range(20):
            path = str(tmp_path / f"round-{round_}" / f"{name}.key")
            keys = pool.map(_load_in_process, [(name, path)] * 8, chunksize=1)

            assert len(set(keys)) == 1, f"round {round_}: {len(set(keys))} different keys"
            assert len(keys[0]) >= 32


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_key_file_that_cannot_be_made_refuses_the_start_with_a_clear_error(name: str, tmp_path: Path) -> None:
    load, field = LOADERS[name]
    blocker = tmp_path / "var"
    blocker.write_text("a file where the key's folder should be")

    with pytest.raises(LineageError, match=r"cannot create the local key file .*var/.*\.key \(") as raised:
        load(Settings(**{field: blocker / f"{name}.key"}))

    assert "a file where" not in str(raised.value)
