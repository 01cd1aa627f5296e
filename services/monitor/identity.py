"""Activity event identity: (tenant, event id), as for collection events (services/sink/rows.py).

Every activity event — use, disclosure, consent, rights request — is checked before it touches the state or is
decided. One sent again with the same content is applied again (idempotent: the timeline holds it already) or
decided again, to the same rows (the tables replace by key). One with the id of another but other content is
refused as ``event_id_conflict``: before, a use's decision replaced the first one's in activity_decisions, so a
denied use could be rewritten as allowed in the reports and the dashboard while the violation stayed (fifth
red-team pass), and a consent or rights event under another's id changed another key's state unnoticed.
Identities are claimed in event_identity, the table the store role claims collection events in, so an id is one
event's across all of them. The state's timeline refuses a conflicting change as well (services/monitor/
evaluate.py), for changes stored before their identities were claimed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from services.monitor.evaluate import Received
from services.records import DeadLetter, DeadLetterReason, Stage
from services.sink.rows import Origin, Row

CONFLICT_MESSAGE = "event_id: another event of this tenant carried it, with other content"


def activity_digest(item: Received) -> str:
    """SHA-256 of the validated event as its contract serializes it, its subject named by the pseudonym: the same
    content gives the same digest however its sender spelled the JSON.

    Never over the raw subject id: the digest is stored (event_identity) beside the event's other fields
    (activity_decisions), so an unkeyed hash of it let anyone who reads the store find the id behind a pseudonym
    by trying ids like ``emp-00042`` (sixth red-team pass). The pseudonym, an HMAC, tells one subject from
    another as well.
    """
    content = item.event.model_dump_json(exclude=_SUBJECT_ID).encode()
    return hashlib.sha256(item.subject_pseudonym.encode() + b"\n" + content).hexdigest()


_SUBJECT_ID = {"subject": {"id"}}


def _legacy_digest(item: Received) -> str:
    """The digest claims were made with until 2026-12-07 (the raw subject id inside): asked only of an event whose
    identity is claimed with another digest, so that one sent again after an upgrade is not called a conflict."""
    return hashlib.sha256(item.event.model_dump_json().encode()).hexdigest()


def identity_of(item: Received) -> tuple[str, UUID]:
    return item.event.tenant_id, item.event.event_id


@dataclass
class Claimed:
    """What :func:`without_conflicts` leaves: the events to apply and decide, the identities to claim
    (event_identity rows, at their messages' coordinates) and the conflicts' dead letters."""

    kept: list[Received] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def without_conflicts(received: Sequence[Received], claimed: Mapping[tuple[str, UUID], frozenset[str]]) -> Claimed:
    """Refuse each event whose identity is claimed (``claimed``, or earlier in the batch) with other content;
    claim the new ones."""
    result = Claimed()
    in_batch: dict[tuple[str, UUID], str] = {}
    for item in received:
        identity = identity_of(item)
        digest = activity_digest(item)
        stored = claimed.get(identity, frozenset())
        first = in_batch.get(identity)
        if stored and digest not in stored and _legacy_digest(item) in stored:
            stored = frozenset({digest})  # claimed before the digest left the raw id out: the same content
        if (first is not None and first != digest) or (stored and digest not in stored):
            result.dead.append(
                DeadLetter(
                    item.source,
                    Stage.INGEST,
                    DeadLetterReason.EVENT_ID_CONFLICT,
                    CONFLICT_MESSAGE,
                    event_id=str(item.event.event_id),
                    subject_pseudonym=item.subject_pseudonym,
                )
            )
            continue
        if first is None and not stored:
            in_batch[identity] = digest
            result.rows.append((item.event.event_id, item.event.tenant_id, digest))
            result.origins.append((item.source.topic, item.source.partition, item.source.offset))
        result.kept.append(item)
    return result
