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

The groups a worker holds are bounded, whatever is sent: a tenant has at most ``max_groups_per_tenant`` groups of
its own, and all groups together at most ``max_groups``. A violation whose group finds no room is counted in its
tenant's overflow group of its code, or, when that finds no room either, in its code's overflow group; their
alerts name what they keep (the code, and the tenant) and say :data:`OVERFLOW` for the rest. While a tenant's
overflow group of a code is open, that tenant's violations of the code that have no open group of their own go to
it, even when room frees up, so that its summary can be counted from the store as the tenant's violations of the
code but those of its open groups: exact while windows are summarized when due and no peer's group is adopted
meanwhile. A code's overflow group is the last resort, when the groups held are all taken; its summary counts
every violation of the code, those of other groups too (:meth:`AlertAggregator.overflow_scopes`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

import orjson

from schemas.decisions import Violation
from schemas.policy import VIOLATION_CODES
from services.monitor.evaluate import Evaluated, activity_of, recipient_of

ALERT_SPEC = "purpose-lineage.alert/v1"
_ALERT_NAMESPACE = uuid.UUID("6f1c7d3e-2b0a-4c55-9a51-0c1f9e1d7a42")

OVERFLOW = "*"
"""An overflow group's value of each field it does not keep. No violation's value can be it (a tenant, an actor and
a recipient id are references, a purpose and a policy id are policy terms, each beginning with a letter or digit;
an activity and a recipient kind are fixed words), so an overflow group is never taken for a group, nor its
alert's id and message key for another's."""

DEFAULT_MAX_GROUPS_PER_TENANT = 64
"""Groups a tenant holds of its own (its overflow groups, one per code at most, aside)."""

DEFAULT_MAX_GROUPS = 4096
"""Groups held in all, overflow groups included (a few hundred bytes each)."""


class AlertStatus(StrEnum):
    NEW = "new"
    REPEATED = "repeated"


@dataclass(frozen=True, slots=True)
class AlertKey:
    """What makes violations identical; an overflow group's key says :data:`OVERFLOW` for what it does not keep."""

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


def _tenant_overflow(tenant_id: str, code: str) -> AlertKey:
    """The group of a tenant's violations of ``code`` that find no room in a group of their own."""
    return AlertKey(tenant_id, code, OVERFLOW, OVERFLOW, OVERFLOW, OVERFLOW, OVERFLOW)


def _code_overflow(code: str) -> AlertKey:
    """The group of the violations of ``code`` that find no room in a group of their own nor their tenant's."""
    return AlertKey(OVERFLOW, code, OVERFLOW, OVERFLOW, OVERFLOW, OVERFLOW, OVERFLOW)


class _Kind(IntEnum):
    """What a group holds; also the order in which windows are adopted."""

    GROUP = 0
    TENANT_OVERFLOW = 1
    CODE_OVERFLOW = 2


def _kind(key: AlertKey) -> _Kind:
    if key == _code_overflow(key.code):
        return _Kind.CODE_OVERFLOW
    if key == _tenant_overflow(key.tenant_id, key.code):
        return _Kind.TENANT_OVERFLOW
    return _Kind.GROUP


@dataclass(frozen=True, slots=True)
class OverflowScope:
    """Which stored violations an overflow group's summary counts: those of ``code`` and ``tenant_id`` (every
    tenant's when None), but those of ``excluded``, the tenant's groups of the code that were open (as key
    fields), which count them in their own summaries."""

    tenant_id: str | None
    code: str
    excluded: tuple[tuple[str, ...], ...]


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
    """Turns the violations of each batch into alerts, one per group and window, holding a bounded number of
    groups: at most ``max_groups_per_tenant`` of a tenant's own, and ``max_groups`` in all.

    Of ``max_groups``, one is kept for each code's overflow group (every code the decision engine raises,
    :data:`VIOLATION_CODES`), so that a violation always has a group; the rest are shared by the tenants' groups
    and their overflow groups.
    """

    def __init__(
        self,
        window: timedelta,
        sample_size: int = 20,
        max_groups_per_tenant: int = DEFAULT_MAX_GROUPS_PER_TENANT,
        max_groups: int = DEFAULT_MAX_GROUPS,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError("the alert window must be positive")
        if max_groups_per_tenant < 1:
            raise ValueError("a tenant must be allowed at least one alert group")
        if max_groups <= len(VIOLATION_CODES):
            raise ValueError(f"max_groups must exceed {len(VIOLATION_CODES)}, one overflow group per violation code")
        self.window = window
        self.sample_size = sample_size
        self.max_groups_per_tenant = max_groups_per_tenant
        self.max_groups = max_groups
        self._open: dict[AlertKey, datetime] = {}  # open group -> when its window started
        self._own: dict[str, int] = {}  # tenant -> its open groups, overflow groups aside
        self._code_overflows = 0

    def __len__(self) -> int:
        """Groups with an open window."""
        return len(self._open)

    def open_windows(self) -> dict[AlertKey, datetime]:
        """Each open group and when its window started."""
        return dict(self._open)

    def _admits(self, key: AlertKey) -> bool:
        """Whether ``key``, not open, can be opened within the caps."""
        kind = _kind(key)
        if kind is _Kind.CODE_OVERFLOW:
            return key.code in VIOLATION_CODES
        if len(self._open) - self._code_overflows >= self.max_groups - len(VIOLATION_CODES):
            return False
        return kind is _Kind.TENANT_OVERFLOW or self._own.get(key.tenant_id, 0) < self.max_groups_per_tenant

    def _hold(self, key: AlertKey, window_start: datetime) -> None:
        if key not in self._open:
            kind = _kind(key)
            if kind is _Kind.GROUP:
                self._own[key.tenant_id] = self._own.get(key.tenant_id, 0) + 1
            elif kind is _Kind.CODE_OVERFLOW:
                self._code_overflows += 1
        self._open[key] = window_start

    def _forget(self, key: AlertKey) -> None:
        del self._open[key]
        kind = _kind(key)
        if kind is _Kind.GROUP:
            left = self._own.pop(key.tenant_id) - 1
            if left:
                self._own[key.tenant_id] = left
        elif kind is _Kind.CODE_OVERFLOW:
            self._code_overflows -= 1

    def _group_of(self, key: AlertKey, now: datetime) -> tuple[AlertKey, bool]:
        """The group a violation of ``key`` is counted in, and whether it opened now: its own when open, else its
        tenant's overflow group of its code when open, else the first of those and its code's overflow group
        that the caps admit."""
        if key in self._open:
            return key, False
        tenant = _tenant_overflow(key.tenant_id, key.code)
        if tenant in self._open:
            return tenant, False
        for candidate in (key, tenant):
            if self._admits(candidate):
                self._hold(candidate, now)
                return candidate, True
        code = _code_overflow(key.code)
        if code in self._open:
            return code, False
        self._hold(code, now)  # one per code: within the room kept for them
        return code, True

    def adopt(self, windows: Mapping[AlertKey, datetime], now: datetime) -> None:
        """Take over windows recorded by the alerts table (after a restart, or another worker's): a group's
        window is the one its latest alert opened; one already closed by ``now`` is not adopted, nor a group the
        caps leave no room for (its next violation is counted as any other that finds no open group).

        Groups first, then overflow groups, each the latest window first: a worker restarted with the same caps
        adopts every window it held."""
        live = sorted(
            ((key, start) for key, start in windows.items() if now - start < self.window),
            key=lambda window: (_kind(window[0]), -window[1].timestamp()),
        )
        for key, window_start in live:
            held = self._open.get(key)
            if (window_start > held) if held is not None else self._admits(key):
                self._hold(key, window_start)

    def add(self, evaluated: Sequence[Evaluated], now: datetime) -> list[Alert]:
        """The ``new`` alerts of this batch: one per group opened by it, counting each of the batch's violations
        that group takes (every violation of the batch is counted in one group, open before or opened now)."""
        fresh: dict[AlertKey, _Group] = {}
        for item in evaluated:
            for violation in item.decision.violations:
                key, opened = self._group_of(alert_key(item, violation), now)
                if opened:
                    fresh[key] = _Group()
                if key in fresh:
                    fresh[key].add(item, violation, self.sample_size)
        return [_alert(AlertStatus.NEW, key, group.summary(), now, now) for key, group in fresh.items()]

    def due(self, now: datetime) -> dict[AlertKey, datetime]:
        """The windows ``now`` closed, with when each started: summarize each from the store (an overflow group
        as :meth:`overflow_scopes` says), then ``close`` it."""
        return {key: start for key, start in self._open.items() if now - start >= self.window}

    def overflow_scopes(self, keys: Iterable[AlertKey]) -> dict[AlertKey, OverflowScope]:
        """What the summary of each overflow group among ``keys`` counts, by the groups open now: take them
        before closing any window, so that a group closing in the same pass still counts its own violations.

        A tenant's overflow group counts the tenant's violations of its code but those of the tenant's open groups
        (a violation finds its group open, or goes to the overflow group while that is open). A code's overflow
        group counts every violation of its code, those other groups count as well: an upper bound, as an
        exact count would have to name every group held."""
        overflows = {key: kind for key in keys if (kind := _kind(key)) is not _Kind.GROUP}
        tenants = {(key.tenant_id, key.code) for key, kind in overflows.items() if kind is _Kind.TENANT_OVERFLOW}
        excluded: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        for key in self._open:
            if (key.tenant_id, key.code) in tenants and _kind(key) is _Kind.GROUP:
                excluded.setdefault((key.tenant_id, key.code), []).append(astuple(key))
        return {
            key: OverflowScope(
                None if kind is _Kind.CODE_OVERFLOW else key.tenant_id,
                key.code,
                tuple(sorted(excluded.get((key.tenant_id, key.code), []))),
            )
            for key, kind in overflows.items()
        }

    def reopen(self, key: AlertKey, window_start: datetime) -> None:
        """Put a window back as it was before ``close`` (its summary could not be published)."""
        if key in self._open or self._admits(key):
            self._hold(key, window_start)

    def close(
        self, key: AlertKey, window_start: datetime, summary: ViolationSummary | None, now: datetime
    ) -> Alert | None:
        """End the window: a ``repeated`` alert of what the store recorded in it (and a new window), or, when
        nothing came in, forget the group. None too when the window was replaced meanwhile (adopted, or a
        summary of it already published)."""
        if self._open.get(key) != window_start:
            return None
        if summary is None or summary.count == 0:
            self._forget(key)
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
