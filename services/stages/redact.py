"""Describe a refused event without its content, before it is dead-lettered.

For an event that is a JSON object, the dead-letter topic gets in the clear the envelope's metadata, the
subject's pseudonym and an inventory of the payload's fields (path, size, disposition) — no payload values,
no raw subject id. The event itself travels only sealed (:mod:`services.quarantine`); the dead letter is keyed
by the subject's partition key (as its activity is), never by the input's own key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, get_args
from uuid import UUID

import orjson
from msgspec.structs import replace
from pydantic import TypeAdapter, ValidationError

from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.encoded_text import encoded_text
from schemas.events import SPEC, CollectionKind, Reference, SubjectType, representable
from schemas.memo import remembered
from services.policy.engine import PolicyEngine
from services.pseudonymize import PartitionKey, PseudonymKey, pseudonymize
from services.records import DeadLetter, DeadLetterReason
from services.stages.allowlist import inventory
from services.stages.identifiers import find_identifiers
from services.stages.ingest import MAX_NAMED_VERSION
from services.stages.messages import DEAD_LETTER_SPEC
from services.stages.minimize import allow_list_for

_SAFE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}")
"""Metadata as a valid envelope holds it; no "@" (an e-mail address is personal data), no spaces (prose)."""
_ENVELOPE_FIELDS = ("spec", "event_id", "kind", "kind_version", "occurred_at", "tenant_id", "source_service")
_KINDS = frozenset(CollectionKind)
_SUBJECT_TYPES = frozenset(SubjectType)


def _safe(name: str, value: Any) -> Any:
    """Envelope metadata is kept only when it is what its field holds; anything else is dropped.

    The event was refused, so no field of it is known to be what it claims: an event id is shown only as a UUID, a
    kind only as a kind, a time only as a time; any other text only when it looks like metadata (short, no spaces)
    and is not an encoding of text (base64 of a message subject sent as a tenant id).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, int):
        return value if name == "kind_version" and 0 <= value <= MAX_NAMED_VERSION else None
    if not _SAFE_VALUE.fullmatch(value):
        return None
    # A field with one canonical spelling is shown only in it: nothing of the text sent survives but what the
    # field holds (each event id and time is new, and decoding them as text cost ~170 µs a dead letter).
    if name == "spec":
        return value if value in _SPECS else "other"
    if name == "event_id":
        return _uuid(value)
    if name == "kind":
        return value if value in _KINDS else None
    if name == "occurred_at":
        return _moment(value)
    if name == "kind_version":  # an int, or nothing (seventeenth red-team pass: "Subject:Pay+cut+for+Sato" shown)
        return None
    if encoded_text(value):
        return None
    if name in ("tenant_id", "source_service") and (not _reference(value) or _personal(value)):
        return None
    return value


_ACTIVITY = (UseEvent, DisclosureEvent, ConsentEvent, RightsRequestEvent)
_SPECS = frozenset({SPEC, *(get_args(model.model_fields["spec"].annotation)[0] for model in _ACTIVITY)})
"""The specs of this project's contracts: a refused event's own is shown only when it is one of them ("other"
otherwise: a spec is one constant, so any other text in it is no metadata; twelfth red-team pass: 128 characters
of "+"-joined prose were shown)."""


@remembered(maxsize=4096)
def _reference(value: str) -> bool:
    """Does ``value`` hold as the contract's tenant or service (:data:`schemas.events.Reference`)? What the contract
    refuses is not shown (twelfth pass: a tenant refused for its "+" and "/" was shown, "+"-joined prose)."""
    try:
        _reference_adapter().validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


@cache
def _reference_adapter() -> TypeAdapter[str]:
    return TypeAdapter(Reference)


def _personal(value: str) -> bool:
    """A telephone number or a My Number in a reference the contract holds (:func:`_reference` refused the ones it
    knows), in any spelling the identifier check knows (eighth red-team pass: one refused as a tenant was still
    shown as the dead letter's tenant)."""
    if sum(char.isdigit() for char in value) >= _NUMBER_DIGITS and not _HEX_GROUPS.fullmatch(value):
        return True  # hiding costs nothing here: "mynumber-6214-9832-0257" is accepted as a reference (tenth pass)
    return bool(find_identifiers(value))


_NUMBER_DIGITS = 10
_HEX_GROUPS = re.compile(r"(?:[A-Za-z0-9]*[-_.:])?[0-9a-fA-F]+(?:-[0-9a-fA-F]+)+")
"""An id around a UUID or a digest in groups ("tenant-<uuid>"): shown, digits or not."""


def _uuid(value: str) -> str | None:
    try:
        return str(UUID(value))
    except ValueError:
        return None


def _moment(value: str) -> str | None:
    """The time as the instant read, re-serialized: never its spelling (128 characters of fractional digits once
    spelled a message in the clear here; eighth red-team pass). Only a time the contract could hold: with an
    offset, in whole minutes, between 1970 and 9999 in UTC (fifteenth pass: any year and an offset with seconds
    and microseconds, ~95 bits, were shown)."""
    try:
        moment = datetime.fromisoformat(value)
        offset = moment.utcoffset()
        if offset is None or offset.seconds % 60 or offset.microseconds:
            return None
        return representable(moment).isoformat()  # the contract's bounds: 1970-9999 in UTC
    except ValueError:
        return None


def redacted_document(document: Mapping[str, Any], engine: PolicyEngine, key: PseudonymKey) -> dict[str, Any]:
    """The minimized form of a refused event."""
    result: dict[str, Any] = {"spec": DEAD_LETTER_SPEC}
    for name in _ENVELOPE_FIELDS:
        value = _safe(name, document.get(name))
        if value is not None:
            result[f"original_{name}" if name == "spec" else name] = value
    subject = document.get("subject")
    tenant = result.get("tenant_id")
    if isinstance(subject, Mapping):
        subject_type = subject.get("type")
        subject_id = subject.get("id")
        result["subject"] = {
            "type": subject_type if isinstance(subject_type, str) and subject_type in _SUBJECT_TYPES else None,
            "pseudonym": pseudonymize(key, tenant, subject_id)
            if isinstance(tenant, str) and isinstance(subject_id, str)
            else None,
            "key_id": key.key_id,
        }
    payload = document.get("payload")
    kind = document.get("kind")
    allow = allow_list_for(engine, kind) if isinstance(kind, str) and kind in _KINDS else None
    if isinstance(payload, Mapping):
        result["payload_fields"] = inventory(payload, allow)
    return result


def _subject_key(document: Mapping[str, Any], partition_key: PartitionKey) -> bytes | None:
    subject, tenant = document.get("subject"), document.get("tenant_id")
    subject_id = subject.get("id") if isinstance(subject, Mapping) else None
    if isinstance(tenant, str) and isinstance(subject_id, str):
        return partition_key.of(tenant, subject_id)
    return None


def redact(
    letters: Sequence[DeadLetter], engine: PolicyEngine, key: PseudonymKey, partition_key: PartitionKey
) -> list[DeadLetter]:
    """Attach the content-free inventory, the subject's pseudonym and its Kafka key to every letter that parsed.

    Total: a letter whose redaction fails (a fault here, on input no stage could read) keeps only the dead-letter
    spec in the clear — the event still travels sealed — so dead-lettering never fails a batch.
    """
    redacted: list[DeadLetter] = []
    for letter in letters:
        # Oversized input is never parsed; unparseable input has nothing that could be shown safely.
        if letter.unparseable or letter.reason is DeadLetterReason.TOO_LARGE or not letter.source.value:
            redacted.append(letter)
            continue
        try:
            redacted.append(_redacted(letter, letter.source.value, engine, key, partition_key))
        except Exception:  # noqa: BLE001 - nothing about this event is shown; it is still dead-lettered, sealed
            redacted.append(replace(letter, redacted={"spec": DEAD_LETTER_SPEC}))
    return redacted


def _redacted(
    letter: DeadLetter, raw: bytes, engine: PolicyEngine, key: PseudonymKey, partition_key: PartitionKey
) -> DeadLetter:
    try:
        document = orjson.loads(raw.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:  # a lone surrogate or deep nesting the contract parser tolerated
        return replace(letter, redacted={"spec": DEAD_LETTER_SPEC})
    if not isinstance(document, dict):
        return replace(letter, redacted={"spec": DEAD_LETTER_SPEC})
    value = redacted_document(document, engine, key)
    subject = value.get("subject")
    pseudonym = subject.get("pseudonym") if isinstance(subject, dict) else None
    subject_key = _subject_key(document, partition_key) if pseudonym is not None else None
    return replace(letter, redacted=value, subject_pseudonym=pseudonym, subject_key=subject_key)
