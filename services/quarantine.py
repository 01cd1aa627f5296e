"""Sealing refused events for the dead-letter topic: AES-256-GCM under the quarantine key.

The dead-letter topic never holds a refused event's bytes in the clear. Each dead letter carries, under
``"quarantine"``, the event's original value and Kafka key sealed with the *quarantine key* — a key of its
own, not the pseudonym key, so that only the operators who inspect and re-submit refused events can open them.

Sealed form (JSON-ready, every field text)::

    {"alg": "AES-256-GCM", "key_id": "q1-…", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>"}

The ciphertext includes GCM's 16-byte tag. The plaintext frames the original value and key (either may be
absent, which Kafka distinguishes from empty)::

    0x01                                  format version
    field(value) field(key)               in this order, where field(x) is
        0x00                              x is None
        0x01 | len(x) as u32 big-endian | x

nothing may follow the two fields. The associated data is ``b"purpose-lineage quarantine/v1\\x00" + aad``,
where the caller's ``aad`` names the record the blob belongs to (``topic[partition]@offset``): a sealed blob
copied onto another dead letter does not open. The prefix keeps these tags from ever verifying for another use
of the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.errors import LineageError
from services.key_files import create_once
from services.settings import Settings

ALGORITHM = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
_FORMAT_VERSION = 0x01
_ABSENT = 0x00
_PRESENT = 0x01
_LENGTH = struct.Struct(">I")
_AAD_PREFIX = b"purpose-lineage quarantine/v1\x00"
_KEY_ID_CONTEXT = b"purpose-lineage quarantine key id"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class QuarantineError(LineageError, ValueError):
    """A sealed value cannot be opened (wrong key, tampered, moved to another record, or malformed)."""


class QuarantineKeyError(LineageError, ValueError):
    """The configured quarantine key cannot be used."""


@dataclass(frozen=True)
class QuarantineKey:
    """A 32-byte AES-256-GCM key and its public id; the id is a fingerprint, naming the key without revealing it."""

    secret: bytes
    # One cipher object per key: building it per seal would redo the key schedule each time.
    _cipher: AESGCM = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            raise ValueError(f"a quarantine key must be exactly {KEY_BYTES} bytes (64 hex digits)")
        object.__setattr__(self, "_cipher", AESGCM(self.secret))

    @property
    def key_id(self) -> str:
        """``q1-`` and 12 hex digits of a domain-separated SHA-256 of the secret."""
        return "q1-" + hashlib.sha256(_KEY_ID_CONTEXT + self.secret).hexdigest()[:12]

    @classmethod
    def generate(cls) -> QuarantineKey:
        """A fresh random key."""
        return cls(secrets.token_bytes(KEY_BYTES))

    def __repr__(self) -> str:  # never print the secret
        return f"QuarantineKey(key_id={self.key_id!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class Sealed:
    """The parsed form of a sealed mapping (see :func:`Sealed.from_mapping`)."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def to_mapping(self) -> dict[str, str]:
        """The JSON-ready mapping stored under ``"quarantine"`` in a dead letter."""
        return {
            "alg": ALGORITHM,
            "key_id": self.key_id,
            "nonce": base64.b64encode(self.nonce).decode("ascii"),
            "ciphertext": base64.b64encode(self.ciphertext).decode("ascii"),
        }

    @classmethod
    def from_mapping(cls, sealed: Mapping[str, Any]) -> Sealed:
        """Parse and check the shape of a sealed mapping; raises :class:`QuarantineError`."""
        if not isinstance(sealed, Mapping):
            raise QuarantineError("sealed value is not a JSON object")
        alg = sealed.get("alg")
        if alg != ALGORITHM:
            raise QuarantineError(f"sealed value has algorithm {_shown(alg)}, expected {ALGORITHM!r}")
        key_id = sealed.get("key_id")
        if not isinstance(key_id, str):
            raise QuarantineError("sealed value has no key_id")
        nonce = _b64_field(sealed, "nonce")
        if len(nonce) != NONCE_BYTES:
            raise QuarantineError(f"sealed value has a {len(nonce)}-byte nonce, expected {NONCE_BYTES}")
        ciphertext = _b64_field(sealed, "ciphertext")
        if len(ciphertext) < _TAG_BYTES:
            raise QuarantineError("sealed value's ciphertext is shorter than its authentication tag")
        return cls(key_id=key_id, nonce=nonce, ciphertext=ciphertext)


def _shown(value: Any) -> str:
    """A header-like field value as it may appear in an error: short text only (it is never key material)."""
    if isinstance(value, str) and len(value) <= 32 and value.isprintable():
        return repr(value)
    return "(missing)" if value is None else "(unreadable)"


def _b64_field(sealed: Mapping[str, Any], name: str) -> bytes:
    text = sealed.get(name)
    if not isinstance(text, str):
        raise QuarantineError(f"sealed value has no {name}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise QuarantineError(f"sealed value's {name} is not valid base64") from exc


def _frame(value: bytes | None, original_key: bytes | None) -> bytes:
    parts = [bytes([_FORMAT_VERSION])]
    for part in (value, original_key):
        if part is None:
            parts.append(bytes([_ABSENT]))
        else:
            parts.append(bytes([_PRESENT]) + _LENGTH.pack(len(part)))
            parts.append(part)
    return b"".join(parts)


def _unframe(plaintext: bytes) -> tuple[bytes | None, bytes | None]:
    # Only ever called on authenticated plaintext, so a bad frame means a bug or a foreign writer, not an attack.
    if not plaintext or plaintext[0] != _FORMAT_VERSION:
        raise QuarantineError("sealed value uses an unknown framing version")
    position = 1
    fields: list[bytes | None] = []
    for _ in range(2):
        if position >= len(plaintext):
            raise QuarantineError("sealed value's framing is truncated")
        marker = plaintext[position]
        position += 1
        if marker == _ABSENT:
            fields.append(None)
            continue
        if marker != _PRESENT or position + _LENGTH.size > len(plaintext):
            raise QuarantineError("sealed value's framing is malformed")
        (length,) = _LENGTH.unpack_from(plaintext, position)
        position += _LENGTH.size
        if position + length > len(plaintext):
            raise QuarantineError("sealed value's framing is truncated")
        fields.append(plaintext[position : position + length])
        position += length
    if position != len(plaintext):
        raise QuarantineError("sealed value's framing has trailing bytes")
    return fields[0], fields[1]


def seal(key: QuarantineKey, value: bytes | None, original_key: bytes | None, aad: bytes) -> dict[str, str]:
    """Seal a refused event's ``value`` and Kafka ``original_key``, bound to ``aad`` (its source coordinates).

    Returns the JSON-ready mapping ``{"alg", "key_id", "nonce", "ciphertext"}`` (base64 for the bytes).
    """
    # A random 96-bit nonce per seal: refused events are rare, far below GCM's 2**32 random-nonce bound per key.
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = key._cipher.encrypt(nonce, _frame(value, original_key), _AAD_PREFIX + aad)
    return Sealed(key_id=key.key_id, nonce=nonce, ciphertext=ciphertext).to_mapping()


def unseal(key: QuarantineKey, sealed: Mapping[str, Any], aad: bytes) -> tuple[bytes | None, bytes | None]:
    """Open a mapping made by :func:`seal`: ``(original value, original Kafka key)``.

    Raises :class:`QuarantineError` when it was sealed under another key, was altered, belongs to another
    record (``aad`` differs), or is malformed. The message names key ids only, never content or key material.
    """
    parsed = Sealed.from_mapping(sealed)
    if parsed.key_id != key.key_id:
        raise QuarantineError(f"sealed with quarantine key {_shown(parsed.key_id)}, but the key loaded is {key.key_id}")
    try:
        plaintext = key._cipher.decrypt(parsed.nonce, parsed.ciphertext, _AAD_PREFIX + aad)
    except InvalidTag as exc:
        raise QuarantineError(
            "sealed value does not open: it was altered, belongs to another record, or the key differs"
        ) from exc
    return _unframe(plaintext)


def _parse_hex_key(text: str, source: str) -> QuarantineKey:
    text = text.strip()
    if not _HEX_KEY.fullmatch(text):
        # Say what is wrong with the shape only: the text itself may be (most of) a key.
        raise QuarantineKeyError(
            f"{source} must hold exactly 64 hex digits (32 bytes); it holds {len(text)} characters"
        )
    return QuarantineKey(bytes.fromhex(text))


def _read_key_file(path: Path, source: str) -> QuarantineKey:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise QuarantineKeyError(f"cannot read {source} ({reason})") from exc
    return _parse_hex_key(text, source)


def load_quarantine_key(settings: Settings, *, create: bool = True) -> QuarantineKey:
    """The configured quarantine key: ``quarantine_key``, else ``quarantine_key_file``, else the local key file.

    The local key file (embedded default) is generated on first use unless ``create`` is false. Keys are
    64 hex digits. Raises :class:`QuarantineKeyError`, whose message never contains the key.
    """
    if settings.quarantine_key is not None:
        return _parse_hex_key(settings.quarantine_key.get_secret_value(), "LINEAGE_QUARANTINE_KEY")
    if settings.quarantine_key_file is not None:
        return _read_key_file(settings.quarantine_key_file, f"quarantine key file {settings.quarantine_key_file}")
    local = settings.local_quarantine_key_file
    source = f"local quarantine key file {local}"
    if local.exists() or not create:
        return _read_key_file(local, source)
    # The key another process created a moment ago, if one did: never a second key.
    return _parse_hex_key(create_once(local, QuarantineKey.generate().secret.hex()), source)
