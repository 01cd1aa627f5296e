"""Alert overflow groups on the real store: what their summaries count, and that a restarted worker adopts them.

- A tenant's overflow group of a code counts, from the violations table, the tenant's violations of the code in
  its window but those of the tenant's open groups (each counted once).
- A code's overflow group counts every violation of the code in its window, those of other groups too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from schemas.policy import VIOLATION_CODES
from services.monitor.alerts import OVERFLOW, AlertAggregator, AlertKey
from services.settings import Settings
from services.store.async_store import AsyncLineageStore
from tests.integration.test_monitor_robustness import TENANT, WINDOW, Monitor, _leak, _with_monitor

OTHER = "osaka-freight"


def _summaries(alerts: list[Any]) -> dict[tuple[str, str], tuple[str, int, int]]:
    return {(a.key.tenant_id, a.key.actor): (a.status.value, a.count, a.subjects) for a in alerts}


def test_a_tenants_overflow_summary_counts_what_its_open_groups_do_not(
    settings: Settings, store: AsyncLineageStore
) -> None:
    async def scenario(monitor: Monitor) -> tuple[list[Any], Any, Any]:
        monitor.worker.aggregator = AlertAggregator(WINDOW, max_groups_per_tenant=2)
        first = [_leak(actor, "emp-1") for actor in ("job-a", "job-b", "job-c", "job-d")]
        await monitor.handle(*map(orjson.dumps, [*first, _leak("job-x", "emp-1", tenant_id=OTHER)]))
        (opened,) = set(monitor.worker.aggregator.open_windows().values())
        later = [_leak("job-a", "emp-3"), _leak("job-c", "emp-4"), _leak("job-c", "emp-5"), _leak("job-e", "emp-6")]
        other = [_leak("job-x", "emp-7", tenant_id=OTHER), _leak("job-y", "emp-8", tenant_id=OTHER)]
        await monitor.handle(*map(orjson.dumps, [*later, *other]))

        now = opened + WINDOW + timedelta(seconds=2)
        summaries = await monitor.worker.summarize_closed_windows(now)
        restarted = AlertAggregator(WINDOW, max_groups_per_tenant=2)
        recorded = await store.open_alert_windows(now - WINDOW)
        restarted.adopt({AlertKey(*key): start for key, start in recorded.items()}, now)
        return summaries, monitor.worker.aggregator.open_windows(), restarted.open_windows()

    summaries, held, adopted = _with_monitor(settings, store, scenario)

    assert _summaries(summaries) == {
        (TENANT, "job-a"): ("repeated", 1, 1),
        (TENANT, OVERFLOW): ("repeated", 3, 3),  # job-c twice and job-e; not job-a's, nor the other tenant's
        (OTHER, "job-x"): ("repeated", 1, 1),
    }
    assert {(key.tenant_id, key.actor) for key in held} == {
        (TENANT, "job-a"),
        (TENANT, OVERFLOW),
        (OTHER, "job-x"),
    }, "job-b's and job-y's windows closed quiet (job-y's first violation opened it)"
    assert adopted == held, "a restarted worker adopts the overflow group from the alerts table"


def test_a_codes_overflow_summary_counts_every_violation_of_the_code(
    settings: Settings, store: AsyncLineageStore
) -> None:
    async def scenario(monitor: Monitor) -> tuple[list[Any], list[Any], Any]:
        aggregator = AlertAggregator(WINDOW, max_groups_per_tenant=1, max_groups=len(VIOLATION_CODES) + 2)
        monitor.worker.aggregator = aggregator
        first = [_leak("job-a", "emp-1"), _leak("job-b", "emp-1"), _leak("job-x", "emp-1", tenant_id=OTHER)]
        await monitor.handle(*map(orjson.dumps, first))
        (opened,) = set(aggregator.open_windows().values())
        new = await _alerts(monitor)
        await monitor.handle(*map(orjson.dumps, [_leak("job-y", "emp-2", tenant_id=OTHER), _leak("job-a", "emp-3")]))

        summaries = await monitor.worker.summarize_closed_windows(opened + WINDOW + timedelta(seconds=2))
        return new, summaries, aggregator.open_windows()

    new, summaries, held = _with_monitor(settings, store, scenario)

    assert sorted((a["tenant_id"], a["actor"], a["count"]) for a in new) == [
        (OVERFLOW, OVERFLOW, 1),  # the other tenant's: no room left for a group nor its overflow group
        (TENANT, OVERFLOW, 1),
        (TENANT, "job-a", 1),
    ]
    assert _summaries(summaries) == {
        (TENANT, "job-a"): ("repeated", 1, 1),
        (OVERFLOW, OVERFLOW): ("repeated", 2, 2),  # job-y's, and job-a's again: an upper bound
    }
    assert {(key.tenant_id, key.actor) for key in held} == {(TENANT, "job-a"), (OVERFLOW, OVERFLOW)}


async def _alerts(monitor: Monitor) -> list[dict[str, Any]]:
    """The alerts the worker recorded so far, as the alerts table holds them."""
    rows = await monitor.store.query("SELECT tenant_id, actor, count FROM alerts FINAL")
    return [dict(zip(("tenant_id", "actor", "count"), row, strict=True)) for row in rows.rows]
