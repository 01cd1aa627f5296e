"""Where the pseudonym key comes from: the environment, a key file, or a generated local key."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from services.errors import LineageError
from services.key_files import create_once
from services.pseudonymize import PartitionKey, PseudonymKey, PseudonymKeyring
from services.settings import Settings


class PseudonymKeyError(LineageError, ValueError):
    """The configured key cannot be used."""


def _read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PseudonymKeyError(f"cannot read pseudonym key file {path} ({exc.strerror})") from exc
    return _key_bytes(text)


def _key_bytes(text: str) -> bytes:
    """A key file's text as the key: hex digits, else the text itself."""
    text = text.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        return text.encode("utf-8")


def _secret(inline: SecretStr | None, file: Path | None, local: Path, create: bool) -> bytes:
    """A key as configured: inline, from its file, or the local file of the embedded default (made on first use)."""
    if inline is not None:
        return inline.get_secret_value().encode("utf-8")
    if file is not None:
        return _read_key_file(file)
    if local.exists() or not create:
        return _read_key_file(local)
    # The key another process created a moment ago, if one did: never a second key.
    return _key_bytes(create_once(local, secrets.token_bytes(32).hex()))


def load_pseudonym_key(settings: Settings, *, create: bool = True) -> PseudonymKey:
    """The configured key; for the embedded default, the local key file, generated on first use."""
    secret = _secret(settings.pseudonym_key, settings.pseudonym_key_file, settings.local_key_file, create)
    try:
        return PseudonymKey(secret)
    except ValueError as exc:
        raise PseudonymKeyError(str(exc)) from exc


def load_keyring(settings: Settings) -> PseudonymKeyring:
    """The current key plus every retired key listed in ``pseudonym_retired_key_files``."""
    retired = []
    for path in settings.pseudonym_retired_key_files:
        try:
            retired.append(PseudonymKey(_read_key_file(path)))
        except ValueError as exc:
            raise PseudonymKeyError(f"retired key {path}: {exc}") from exc
    try:
        return PseudonymKeyring(current=load_pseudonym_key(settings), retired=tuple(retired))
    except ValueError as exc:
        raise PseudonymKeyError(str(exc)) from exc


def load_partition_key(settings: Settings, *, create: bool = True) -> PartitionKey:
    """The configured partition key; for the embedded default, the local key file, generated on first use."""
    local = settings.local_partition_key_file
    secret = _secret(settings.partition_key, settings.partition_key_file, local, create)
    try:
        return PartitionKey(secret)
    except ValueError as exc:
        raise PseudonymKeyError(f"partition key: {exc}") from exc
