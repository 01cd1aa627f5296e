"""Local key files of the embedded default, created once and seen whole by every process that starts with them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from services.errors import LineageError


class KeyFileError(LineageError, OSError):
    """A local key file could not be made (its folder not writable, a filesystem without hard links...)."""


def create_once(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` unless the file exists; return what ``path`` holds afterwards.

    Processes of one stack start together and may all find the file missing. The text is written to a private
    temporary file beside ``path`` and hard-linked into place, which fails when the name exists: the file appears
    whole or not at all, so a process that loses the race reads the winner's complete key, never an empty or
    half-written one, and no two processes end up with different keys. The file is readable by its owner only.
    Raises :class:`KeyFileError` (no key in its text) when the file cannot be made.
    """
    try:
        return _create_once(path, text)
    except OSError as exc:
        raise KeyFileError(f"cannot create the local key file {path} ({exc.strerror or type(exc).__name__})") from exc


def _create_once(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0o600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            return path.read_text(encoding="utf-8")
        return text
    finally:
        os.unlink(aside)
