"""Keyed HMAC-SHA256 for subject identifiers: pseudonyms (what is stored) and partition keys (how Kafka routes)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from schemas.memo import BoundedMemo, text_bytes

_SEPARATOR = b"\x1f"  # cannot occur in a tenant id, so (tenant, id) pairs never collide
_DIGEST_DOMAIN = b"purpose-lineage content digest\x1f"  # a sealed digest is never a pseudonym of anything

R = TypeVar("R")


@dataclass(frozen=True)
class PseudonymKey:
    """An HMAC key and its public id; the id is a fingerprint, so it names the key without revealing it."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("a pseudonym key must be at least 16 bytes")

    @cached_property
    def key_id(self) -> str:
        return "k1-" + hashlib.sha256(b"purpose-lineage key id" + self.secret).hexdigest()[:12]

    @cached_property
    def mac(self) -> hmac.HMAC:
        """The keyed HMAC before any message: copying it skips re-deriving the key pads for every subject."""
        return hmac.new(self.secret, digestmod=hashlib.sha256)

    def __repr__(self) -> str:  # never print the secret
        return f"PseudonymKey(key_id={self.key_id!r})"


@dataclass(frozen=True)
class PseudonymKeyring:
    """The current key, which makes new pseudonyms, and retired keys, kept so old pseudonyms stay traceable.

    After a rotation, records made before it carry pseudonyms of a retired key (their ``key_id`` says which);
    a disclosure request finds them by computing the subject's pseudonym under every key in the ring.
    """

    current: PseudonymKey
    retired: tuple[PseudonymKey, ...] = ()

    def __post_init__(self) -> None:
        ids = [key.key_id for key in (self.current, *self.retired)]
        if len(set(ids)) != len(ids):
            raise ValueError("the same key appears twice in the keyring")

    def pseudonyms(self, tenant_id: str, subject_id: str) -> dict[str, str]:
        """key id -> the subject's pseudonym under that key, current key first."""
        return {key.key_id: pseudonymize(key, tenant_id, subject_id) for key in (self.current, *self.retired)}

    @cached_property
    def _by_id(self) -> dict[str, PseudonymKey]:
        return {key.key_id: key for key in (self.current, *self.retired)}

    def seal_digest(self, key_id: str, digest: str) -> str:
        """A record's content digest as the store keeps it: an HMAC of it under the key that made the record's
        pseudonym (``key_id``; the current key if the ring no longer holds that one).

        The digest is an unkeyed SHA-256 of the tagged document, kept payload values included, while the store
        keeps only the names of those fields: stored as it is, it let a reader of the store confirm guessed
        values (an IP address, a request time, a roster's names) by hashing candidates (sixth red-team pass).
        """
        mac = self._by_id.get(key_id, self.current).mac.copy()
        mac.update(_DIGEST_DOMAIN + digest.encode())
        return mac.hexdigest()


# One subject's events come again and again (every clock-in, every page view): each HMAC is computed once per
# (key, tenant, subject) while it stays remembered. The memo lives in the process's memory only, beside the
# batches that carry the same ids. A copy of the keyed HMAC (its key pads derived once) is faster here than
# OpenSSL's one-shot hmac.digest, which derives them per call (1.1 against 1.7 us).
_RECENT_SUBJECT_BYTES = 32 << 20
"""Bytes each memo (pseudonyms, partition keys) is charged at most: ~60,000 subjects of ordinary ids (a tenant of
16 and a subject of 24 ASCII characters, 560 bytes charged; the 65,536 subjects an entry-bounded memo kept before,
so a clock-in peak of tens of thousands of subjects still computes each HMAC once), ~20,000 of the longest the
contract accepts in astral characters. The two memos share their ids' texts, so together they hold about one
budget (8.2 MB measured at a budget of 8 MiB). Counted in entries (65,536 of 384 characters), they held 156 MB
(nineteenth red-team pass)."""

_ENTRY_BYTES = 320
"""What a remembered id costs beside its two texts: the dict's slot (up to ~120 bytes just after it grows), the
(key, tenant, subject) tuple (64) and the result (a str of 64 hex digits, 113; a partition key's bytes, 65)."""

_REMEMBERED_ID_BYTES = _ENTRY_BYTES + text_bytes("t" * 128) + text_bytes("\U00010000" * 256)  # 1,672
"""The dearest id remembered: the longest the contract accepts, a tenant of 128 characters (ASCII, its alphabet)
and a subject of 256 in astral characters. A refused event's ids are pseudonymized as sent for its dead letter,
and may be as long as the event: remembered, a few would empty the memo of the ids that repeat."""

_SubjectKey = tuple["PseudonymKey | PartitionKey", str, str]


def _remembered(memo: BoundedMemo[_SubjectKey, R], subject: _SubjectKey, value: R) -> R:
    """Remember ``value`` for ``subject`` in ``memo``, charged its ids and :data:`_ENTRY_BYTES` (a miss only:
    the HMAC it follows costs far more)."""
    return memo.remember(subject, value, _ENTRY_BYTES + text_bytes(subject[1]) + text_bytes(subject[2]))


def pseudonymize(key: PseudonymKey, tenant_id: str, subject_id: str) -> str:
    """The subject's pseudonym: stable for one key, tenant-scoped, and not reversible without the key."""
    subject = (key, tenant_id, subject_id)
    pseudonym = _recent_pseudonyms.get(subject)
    if pseudonym is None:
        pseudonym = _remembered(_recent_pseudonyms, subject, _pseudonym(key, tenant_id, subject_id))
    return pseudonym


def _pseudonym(key: PseudonymKey, tenant_id: str, subject_id: str) -> str:
    mac = key.mac.copy()
    mac.update(tenant_id.encode("utf-8") + _SEPARATOR + subject_id.encode("utf-8"))
    return mac.hexdigest()


def _partition_key(key: PartitionKey, tenant_id: str, subject_id: str) -> bytes:
    mac = key.mac.copy()
    mac.update(b"partition" + _SEPARATOR + tenant_id.encode("utf-8") + _SEPARATOR + subject_id.encode("utf-8"))
    return mac.hexdigest()[:32].encode()


_recent_pseudonyms: BoundedMemo[_SubjectKey, str] = BoundedMemo(_RECENT_SUBJECT_BYTES, _REMEMBERED_ID_BYTES)
_recent_partition_keys: BoundedMemo[_SubjectKey, bytes] = BoundedMemo(_RECENT_SUBJECT_BYTES, _REMEMBERED_ID_BYTES)


@dataclass(frozen=True)
class PartitionKey:
    """The HMAC key of Kafka message keys: one subject, one key on every topic, and no raw id in any key.

    Held by every emitter and by the pipeline, and separate from the pseudonym key: an emitter already knows
    the ids it sends, so it gains nothing from it, while a leaked pseudonym key would open the store.
    """

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("a partition key must be at least 16 bytes")

    @cached_property
    def mac(self) -> hmac.HMAC:
        return hmac.new(self.secret, digestmod=hashlib.sha256)

    def of(self, tenant_id: str, subject_id: str) -> bytes:
        """The Kafka key of the subject's messages (32 hex digits; the unkeyed hash of a guessable id would be
        reversible by trying ids like ``emp-00042``)."""
        subject = (self, tenant_id, subject_id)
        partition_key = _recent_partition_keys.get(subject)
        if partition_key is None:
            partition_key = _remembered(_recent_partition_keys, subject, _partition_key(self, tenant_id, subject_id))
        return partition_key

    def __repr__(self) -> str:  # never print the secret
        return "PartitionKey(...)"
