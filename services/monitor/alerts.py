"""Violation alerts: identical violations grouped so that a misconfigured job raises one alert, not thousands.

Every violation is still recorded one by one (violations table, metrics); only the alerts on the violations
topic are grouped. Violations are identical when tenant, code, activity, actor, purpose and recipient agree;
the subject does not count, since one broken job hits many people. The first violation of a group is published
at once (with every identical violation of the same batch); identical ones that follow are summed up and
published as one ``repeated`` alert when the group's window closes. A window that closes with nothing new
forgets the group, so the next violation is ``new`` again — Alertmanager's group_interval, in the stream.

Nothing of it lives only in memory. What a summary says is read from the violations table when its window
closes (:class:`ViolationSummary`): exact after any restart, and the same on every worker, since violations of
one group are decided wherever their subjects' partitions are. Which windows are open is read back from the
alerts table, where every published alert is recorded: a restarted worker does not announce a group again,
and workers adopt each other's windows. Two workers that see a group's first violation at the same moment may
each announce it once, which errs on the side of telling.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import orjson

from schemas.decisions import Violation
from services.monitor.evaluate import Evaluated, activity_of, recipient_of

ALERT_SPEC = "purpose-lineage.alert/v1"
_ALERT_NAMESPACE = uuid.UUID("6f1c7d3e-2b0a-4c55-9a51-0c1f9e1d7a42")


class AlertStatus(StrEnum):
    NEW = "new"
    REPEATED = "repeated"


@dataclass(frozen=True, slots=True)
class AlertKey:
    """What makes violations identical."""

    tenant_id: str
    code: str
    activity: str
    actor: str
    purpose: str
    recipient_kind: str
    recipient_id: str

    def identity(self) -> str:
        """The group as one text (what the alert id is derived from); never sent as it is."""
        return "/".join(
            (self.tenant_id, self.code, self.activity, self.actor, self.purpose, self.recipient_kind, self.recipient_id)
        )

    def message_key(self) -> bytes:
        """The Kafka key: a digest of the group (32 hex digits), so that one group's alerts stay in order on one
        partition, on every worker and after any restart, while no value of an event is in a key.

        Keys are what brokers, tools and logs show of a message without reading it; the group's values are
        shown in the alert itself, and only as the contract admits them. Unkeyed on purpose: every worker
        computes the same key without a secret, and the digest tells nothing the alert's own value does not.
        """
        return _group_digest(self.identity())


def _group_digest(identity: str) -> bytes:
    return hashlib.sha256(b"purpose-lineage alert group\x1f" + identity.encode()).hexdigest()[:32].encode()


@dataclass(frozen=True, slots=True)
class ViolationSummary:
    """What one group's violations in one window amount to: counted from a batch, or read from the store."""

    count: int
    subjects: int
    event_ids: tuple[str, ...]
    """The first few event ids (the violations table has them all)."""
    first_occurred_at: datetime
    last_occurred_at: datetime
    severity: str
    article: str
    message: str
    policy_version: str | None


@dataclass(slots=True)
class _Group:
    """Violations of one key gathered from one batch, for its ``new`` alert."""

    count: int = 0
    subjects: set[str] = field(default_factory=set)
    event_ids: list[str] = field(default_factory=list)
    first: Violation | None = None
    policy_version: str | None = None
    first_occurred_at: datetime | None = None
    last_occurred_at: datetime | None = None

    def add(self, evaluated: Evaluated, violation: Violation, sample_size: int) -> None:
        occurred_at = evaluated.event.occurred_at
        self.count += 1
        self.subjects.add(evaluated.subject_pseudonym)
        if len(self.event_ids) < sample_size:
            self.event_ids.append(str(evaluated.event.event_id))
        if self.first is None:
            self.first, self.policy_version = violation, evaluated.decision.policy_version
        if self.first_occurred_at is None or occurred_at < self.first_occurred_at:
            self.first_occurred_at = occurred_at
        if self.last_occurred_at is None or occurred_at > self.last_occurred_at:
            self.last_occurred_at = occurred_at

    def summary(self) -> ViolationSummary:
        """What the gathered violations amount to (at least one was added)."""
        assert self.first is not None
        assert self.first_occurred_at is not None
        assert self.last_occurred_at is not None
        return ViolationSummary(
            count=self.count,
            subjects=len(self.subjects),
            event_ids=tuple(self.event_ids),
            first_occurred_at=self.first_occurred_at,
            last_occurred_at=self.last_occurred_at,
            severity=self.first.severity.value,
            article=self.first.article,
            message=self.first.message,
            policy_version=self.policy_version,
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One message on the violations topic: a group of identical violations in one window."""

    status: AlertStatus
    key: AlertKey
    severity: str
    article: str
    message: str
    policy_version: str | None
    count: int
    subjects: int
    event_ids: tuple[str, ...]
    """The first few event ids of the group (the violations table has them all)."""
    first_occurred_at: datetime
    last_occurred_at: datetime
    window_start: datetime
    published_at: datetime

    @property
    def alert_id(self) -> str:
        """Deterministic: a re-published alert (a retried batch) keeps its id, so consumers can drop repeats."""
        name = f"{self.key.identity()}|{self.status}|{self.window_start.isoformat()}|{self.event_ids[0]}"
        return str(uuid.uuid5(_ALERT_NAMESPACE, name))

    def document(self) -> bytes:
        """The alert as published: names, counts and pseudonymous event ids; no subject, no data value."""
        key = self.key
        return orjson.dumps(
            {
                "spec": ALERT_SPEC,
                "alert_id": self.alert_id,
                "status": self.status.value,
                "code": key.code,
                "severity": self.severity,
                "article": self.article,
                "message": self.message,
                "policy_version": self.policy_version,
                "tenant_id": key.tenant_id,
                "activity": key.activity,
                "actor": key.actor,
                "purpose": key.purpose,
                "recipient": {"kind": key.recipient_kind, "id": key.recipient_id},
                "count": self.count,
                "subjects": self.subjects,
                "event_ids": list(self.event_ids),
                "first_occurred_at": self.first_occurred_at.isoformat(),
                "last_occurred_at": self.last_occurred_at.isoformat(),
                "window_start": self.window_start.isoformat(),
                "published_at": self.published_at.isoformat(),
            }
        )


def alert_key(evaluated: Evaluated, violation: Violation) -> AlertKey:
    event = evaluated.event
    recipient_kind, recipient_id = recipient_of(evaluated)
    return AlertKey(
        tenant_id=event.tenant_id,
        code=violation.code,
        activity=activity_of(event),
        actor=event.source_service,
        purpose=event.purpose,
        recipient_kind=recipient_kind,
        recipient_id=recipient_id,
    )


class AlertAggregator:
    """Turns the violations of each batch into alerts, one per group and window."""

    def __init__(self, window: timedelta, sample_size: int = 20) -> None:
        if window <= timedelta(0):
            raise ValueError("the alert window must be positive")
        self.window = window
        self.sample_size = sample_size
        self._open: dict[AlertKey, datetime] = {}  # open group -> when its window started

    def __len__(self) -> int:
        """Groups with an open window."""
        return len(self._open)

    def open_windows(self) -> dict[AlertKey, datetime]:
        """Each open group and when its window started."""
        return dict(self._open)

    def adopt(self, windows: Mapping[AlertKey, datetime], now: datetime) -> None:
        """Take over windows recorded by the alerts table (after a restart, or another worker's): a group's
        window is the one its latest alert opened; one already closed by ``now`` is not adopted."""
        for key, window_start in windows.items():
            if now - window_start < self.window and window_start > self._open.get(key, window_start - self.window):
                self._open[key] = window_start

    def add(self, evaluated: Sequence[Evaluated], now: datetime) -> list[Alert]:
        """The ``new`` alerts of this batch: one per group without an open window, counting the whole batch."""
        fresh: dict[AlertKey, _Group] = {}
        for item in evaluated:
            for violation in item.decision.violations:
                key = alert_key(item, violation)
                if key not in self._open:
                    fresh.setdefault(key, _Group()).add(item, violation, self.sample_size)
        self._open.update(dict.fromkeys(fresh, now))
        return [_alert(AlertStatus.NEW, key, group.summary(), now, now) for key, group in fresh.items()]

    def due(self, now: datetime) -> dict[AlertKey, datetime]:
        """The windows ``now`` closed, with when each started: summarize each from the store, then ``close`` it."""
        return {key: start for key, start in self._open.items() if now - start >= self.window}

    def reopen(self, key: AlertKey, window_start: datetime) -> None:
        """Put a window back as it was before ``close`` (its summary could not be published)."""
        self._open[key] = window_start

    def close(
        self, key: AlertKey, window_start: datetime, summary: ViolationSummary | None, now: datetime
    ) -> Alert | None:
        """End the window: a ``repeated`` alert of what the store recorded in it (and a new window), or, when
        nothing came in, forget the group. None too when the window was replaced meanwhile (adopted, or a
        summary of it already published)."""
        if self._open.get(key) != window_start:
            return None
        if summary is None or summary.count == 0:
            del self._open[key]
            return None
        self._open[key] = now
        return _alert(AlertStatus.REPEATED, key, summary, window_start, now)


def _alert(
    status: AlertStatus, key: AlertKey, summary: ViolationSummary, window_start: datetime, now: datetime
) -> Alert:
    return Alert(
        status=status,
        key=key,
        severity=summary.severity,
        article=summary.article,
        message=summary.message,
        policy_version=summary.policy_version,
        count=summary.count,
        subjects=summary.subjects,
        event_ids=summary.event_ids,
        first_occurred_at=summary.first_occurred_at,
        last_occurred_at=summary.last_occurred_at,
        window_start=window_start,
        published_at=now,
    )
