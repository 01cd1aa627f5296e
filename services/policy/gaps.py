"""Gaps: what the pipeline saw that the policy does not know — a service, a purpose, a data category or item.

A gap is not a violation of the policy but a hole in it: either the policy needs a new entry or a service
does something nobody declared. The same definitions serve twice: per event on the hot path (metrics) and
over the lineage store for a period (reports), so that the two never disagree about what a gap is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.policy.engine import PolicyEngine
from services.records import REST_PATH, RemovalReason, RemovedField
from services.stages.minimize import allow_list_for

PAYLOAD_PREFIX = "payload."
"""Removed-field evidence is a path under the payload (see services.stages.allowlist)."""


class GapKind(StrEnum):
    SERVICE = "service"
    """A source service missing from the policy's ``services`` register."""
    PURPOSE = "purpose"
    """A purpose of use the policy does not state."""
    DATA = "data"
    """A payload field no collection kind lists, or a data reference to no known category or item."""


@dataclass(frozen=True, slots=True)
class Gap:
    stream: str
    """``collection``, ``use`` or ``disclosure``."""
    kind: GapKind
    name: str
    """The unknown name as the event gave it (field names are escaped; never a value)."""


class GapFinder:
    """The policy's known names, and the gaps of one event or of a stored period."""

    def __init__(self, engine: PolicyEngine) -> None:
        policy = engine.policy
        self.services = frozenset(policy.services)
        # A policy without a service register (another company's, say) does not report service gaps at all.
        self.checks_services = bool(policy.services)
        self.purposes = frozenset(policy.purposes)
        self.data_refs = engine.known_refs
        # Every path the minimization walk knows: each kind's allowed leaves and the objects above them.
        self.field_paths = frozenset(
            PAYLOAD_PREFIX + path
            for kind in policy.collection_kinds
            if (allow := allow_list_for(engine, kind)) is not None
            for path in (*allow.leaves, *allow.branches)
        )

    def _service(self, stream: str, service: str) -> list[Gap]:
        if self.checks_services and service not in self.services:
            return [Gap(stream, GapKind.SERVICE, service)]
        return []

    def in_collection(self, source_service: str, removed: Iterable[RemovedField]) -> list[Gap]:
        """Gaps of one collected record: its service, and removed fields that no kind of the policy lists."""
        gaps = self._service("collection", source_service)
        gaps += [
            Gap("collection", GapKind.DATA, field.path)
            for field in removed
            if field.reason is RemovalReason.NOT_ALLOWED
            and field.path not in self.field_paths
            and field.path != REST_PATH  # the removals beyond those listed, summed up: no field's name
        ]
        return gaps

    def in_activity(self, stream: str, actor: str, purpose: str, data: Sequence[str]) -> list[Gap]:
        """Gaps of one use or disclosure: its actor, its purpose and each data reference."""
        gaps = self._service(stream, actor)
        if purpose not in self.purposes:
            gaps.append(Gap(stream, GapKind.PURPOSE, purpose))
        gaps += [Gap(stream, GapKind.DATA, ref) for ref in data if ref not in self.data_refs]
        return gaps

    def query_parameters(self, start: str, end: str, tenant: str = "") -> dict[str, Any]:
        """Parameters of :data:`GAP_QUERY` for the period [start, end) of one tenant, or of all when empty."""
        return {
            "start": start,
            "end": end,
            "tenant": tenant,
            "services": sorted(self.services),
            "check_services": self.checks_services,
            "purposes": sorted(self.purposes),
            "refs": sorted(self.data_refs),
            "fields": sorted(self.field_paths),
        }


GAP_QUERY = """
SELECT stream, gap, name, uniqExact(event_id) AS events, min(occurred_at) AS first_seen,
       max(occurred_at) AS last_seen, arraySort(groupUniqArray(20)(service)) AS services
FROM (
    SELECT 'collection' AS stream, 'service' AS gap, source_service AS name, event_id, occurred_at,
           source_service AS service
    FROM collection_lineage FINAL
    WHERE occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}
          AND (empty({tenant:String}) OR tenant_id = {tenant:String})
          AND {check_services:Bool} AND NOT has({services:Array(String)}, source_service)
    UNION ALL
    SELECT 'collection', 'data', path, event_id, occurred_at, source_service
    FROM collection_lineage FINAL
    ARRAY JOIN removed_paths AS path, arrayResize(removed_reasons, length(removed_paths), '') AS reason
    WHERE occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}
          AND (empty({tenant:String}) OR tenant_id = {tenant:String})
          AND reason = 'not_allowed' AND NOT has({fields:Array(String)}, path)
    UNION ALL
    SELECT activity, 'service', actor, event_id, occurred_at, actor
    FROM activity_decisions FINAL
    WHERE occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}
          AND (empty({tenant:String}) OR tenant_id = {tenant:String})
          AND {check_services:Bool} AND NOT has({services:Array(String)}, actor)
    UNION ALL
    SELECT activity, 'purpose', purpose, event_id, occurred_at, actor
    FROM activity_decisions FINAL
    WHERE occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}
          AND (empty({tenant:String}) OR tenant_id = {tenant:String}) AND NOT has({purposes:Array(String)}, purpose)
    UNION ALL
    SELECT activity, 'data', ref, event_id, occurred_at, actor
    FROM activity_decisions FINAL ARRAY JOIN data AS ref
    WHERE occurred_at >= {start:DateTime64(3, 'UTC')} AND occurred_at < {end:DateTime64(3, 'UTC')}
          AND (empty({tenant:String}) OR tenant_id = {tenant:String}) AND NOT has({refs:Array(String)}, ref)
)
GROUP BY stream, gap, name
ORDER BY events DESC, stream, gap, name
"""
"""Every gap of a period, grouped by stream, kind and name, with how many events and which services.

Rows stored before removal reasons were recorded (migration 0003) have paths without reasons; their removals
cannot be told apart and are left out rather than guessed.
"""
