"""What the dashboard page shows, read from the lineage store for one time window.

Windows are on processing time (ingested, decided, dead-lettered), the operator's clock: "what did the
pipeline do in the last hour". Every figure is a count over policy terms; no subject, pseudonym or value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from services.policy.engine import PolicyEngine
from services.reports.period import InvalidPeriod, as_utc, store_instant
from services.store.lineage_store import QueryResult

TIMELINE_BUCKETS = 60
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2299, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)
"""A window lies on processing time, within what the store's DateTime64(3) columns hold."""


class Reader(Protocol):
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult: ...


_COUNTS = """
SELECT
    (SELECT uniqExact(event_id) FROM collection_lineage FINAL
      WHERE ingested_at >= {since:DateTime64(3, 'UTC')} AND ingested_at < {until:DateTime64(3, 'UTC')}),
    (SELECT uniqExact(subject_pseudonym) FROM collection_lineage FINAL
      WHERE ingested_at >= {since:DateTime64(3, 'UTC')} AND ingested_at < {until:DateTime64(3, 'UTC')}),
    (SELECT sum(length(removed_paths)) FROM collection_lineage FINAL
      WHERE ingested_at >= {since:DateTime64(3, 'UTC')} AND ingested_at < {until:DateTime64(3, 'UTC')}),
    (SELECT countIf(activity = 'use') FROM activity_decisions FINAL
      WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}),
    (SELECT countIf(activity = 'disclosure') FROM activity_decisions FINAL
      WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}),
    (SELECT countIf(NOT allowed) FROM activity_decisions FINAL
      WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}),
    (SELECT count() FROM violations FINAL
      WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}),
    (SELECT count() FROM dead_letters FINAL
      WHERE dead_lettered_at >= {since:DateTime64(3, 'UTC')} AND dead_lettered_at < {until:DateTime64(3, 'UTC')})
"""
_COUNT_NAMES = (
    "collections", "subjects", "removed_fields", "uses", "disclosures", "denied", "violations", "dead_letters",
)  # fmt: skip

_CATEGORY_TO_PURPOSE = """
SELECT category, purpose, count() AS events, countIf(NOT allowed) AS denied
FROM activity_decisions FINAL ARRAY JOIN arrayDistinct(arrayMap(r -> splitByChar('.', r)[1], data)) AS category
WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}
GROUP BY category, purpose ORDER BY category, purpose
"""

_PURPOSE_TO_DESTINATION = """
SELECT purpose, if(recipient_kind = 'internal', {internal:String}, concat(recipient_kind, ': ', recipient_id)) AS dest,
       count() AS events, countIf(NOT allowed) AS denied
FROM activity_decisions FINAL
WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}
GROUP BY purpose, dest ORDER BY purpose, dest
"""

_COLLECTED = """
SELECT category, purpose, uniqExact(event_id) AS events
FROM collection_lineage FINAL ARRAY JOIN data_categories AS category ARRAY JOIN purposes AS purpose
WHERE ingested_at >= {since:DateTime64(3, 'UTC')} AND ingested_at < {until:DateTime64(3, 'UTC')}
GROUP BY category, purpose ORDER BY category, purpose
"""

_TIMELINE = """
SELECT toStartOfInterval(decided_at, toIntervalSecond({step:UInt32})) AS bucket, code, count() AS violations
FROM violations FINAL
WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}
GROUP BY bucket, code ORDER BY bucket, code
"""

_DEAD_LETTERS = """
SELECT reason, stage, count() AS events FROM dead_letters FINAL
WHERE dead_lettered_at >= {since:DateTime64(3, 'UTC')} AND dead_lettered_at < {until:DateTime64(3, 'UTC')}
GROUP BY reason, stage ORDER BY events DESC, reason, stage
"""

_RECENT_VIOLATIONS = """
SELECT decided_at, code, severity, article, actor, purpose, recipient_id FROM violations FINAL
WHERE decided_at >= {since:DateTime64(3, 'UTC')} AND decided_at < {until:DateTime64(3, 'UTC')}
ORDER BY decided_at DESC, code LIMIT 20
"""


def timeline_step(window: timedelta) -> int:
    """Seconds per timeline bucket: about :data:`TIMELINE_BUCKETS` buckets, at least ten seconds each."""
    return max(10, int(window.total_seconds()) // TIMELINE_BUCKETS)


def policy_terms(engine: PolicyEngine, moment: datetime) -> dict[str, Any]:
    """The axes of the matrix, in the policy's order and words, and the version in force at ``moment``."""
    policy = engine.policy
    version = engine.version_at(moment)
    return {
        "policy_id": policy.policy_id,
        "title": policy.title,
        "version": version.version if version else None,
        "purposes": {key: purpose.name for key, purpose in policy.purposes.items()},
        "categories": {key: category.description for key, category in policy.data_categories.items()},
    }


LIVE_COUNTERS = {
    "consumed": "lineage_collection_events_total",
    "tagged": "lineage_records_tagged_total",
    "dead_letters": "lineage_dead_letters_total",
    "decisions": "lineage_decisions_total",
    "violations": "lineage_purpose_violations_total",
    "alerts": "lineage_violation_alerts_total",
}


def live_counters(registry: CollectorRegistry) -> dict[str, float]:
    """Totals of this process's counters since it started (all label values summed)."""
    totals = dict.fromkeys(LIVE_COUNTERS, 0.0)
    wanted = {metric: key for key, metric in LIVE_COUNTERS.items()}
    for family in registry.collect():
        for sample in family.samples:
            key = wanted.get(sample.name)
            if key is not None:
                totals[key] += sample.value
    return totals


def dashboard_data(reader: Reader, until: datetime, window: timedelta, controller: str) -> dict[str, Any]:
    """Counters, flows, the category x purpose matrix, the violations timeline and dead letters of a window.

    :class:`InvalidPeriod` for a window outside 1970-2299 (UTC).
    """
    if not EARLIEST + window <= as_utc(until) <= LATEST:
        raise InvalidPeriod("the dashboard's window must lie between 1970 and 2299 (UTC)")
    since = until - window
    period = {"since": store_instant(since), "until": store_instant(until)}
    (counts,) = reader.query(_COUNTS, period).rows
    step = timeline_step(window)
    return {
        "window": {"since": since.isoformat(), "until": until.isoformat(), "step_s": step},
        "counts": {name: int(value or 0) for name, value in zip(_COUNT_NAMES, counts, strict=True)},
        "flows": {
            "category_to_purpose": reader.query(_CATEGORY_TO_PURPOSE, period).records(),
            "purpose_to_destination": reader.query(
                _PURPOSE_TO_DESTINATION, {**period, "internal": f"{controller} (internal use)"}
            ).records(),
        },
        "collected": reader.query(_COLLECTED, period).records(),
        "timeline": reader.query(_TIMELINE, {**period, "step": step}).records(),
        "dead_letters": reader.query(_DEAD_LETTERS, period).records(),
        "recent_violations": reader.query(_RECENT_VIOLATIONS, period).records(),
    }
