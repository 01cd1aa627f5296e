"""Alert groups are bounded whatever is sent: a sender that makes every violation its own group (a fresh actor,
purpose or recipient each time) fills a tenant's groups, then one overflow group per tenant and code, then one
per code; every violation is still counted in exactly one group."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas.decisions import RecipientKind, Term
from schemas.events import Reference
from schemas.policy import VIOLATION_CODES
from services.monitor.alerts import (
    OVERFLOW,
    AlertAggregator,
    AlertKey,
    OverflowScope,
    ViolationSummary,
    alert_key,
)
from services.monitor.evaluate import Evaluated

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
LEAK = ["cookie.cookie_id", "log_information.ip_address"]  # module_receives_identifiable_data
CODE = "module_receives_identifiable_data"
ALL = 10_000  # a sample size that lists every event of a group


def leak(actor: str, tenant: str = "kobe-logistics", subject: str = "a@example.jp") -> dict[str, Any]:
    return {
        "spec": "rakuro.disclosure/v1",
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2023-05-12T10:00:00+09:00",
        "tenant_id": tenant,
        "source_service": actor,
        "subject": {"type": "analyzed_account_holder", "id": subject},
        "purpose": "service_provision",
        "data": LEAK,
        "recipient": {"kind": "collection_module", "id": "google-analytics"},
    }


def _tenant_overflow(tenant: str, code: str) -> AlertKey:
    return AlertKey(tenant, code, "*", "*", "*", "*", "*")


def _code_overflow(code: str) -> AlertKey:
    return AlertKey("*", code, "*", "*", "*", "*", "*")


def _summary_of(count: int) -> ViolationSummary | None:
    if not count:
        return None
    return ViolationSummary(
        count=count, subjects=1, event_ids=(str(uuid.uuid4()),), first_occurred_at=T0, last_occurred_at=T0,
        severity="critical", article="Art. 6", message="m", policy_version="2022-06-01",
    )  # fmt: skip


def test_a_flood_of_fresh_actors_fills_the_tenants_groups_then_one_overflow_group(decide: Any) -> None:
    aggregator = AlertAggregator(WINDOW, sample_size=ALL)
    evaluated = decide(*(leak(f"job-{n}") for n in range(300)))

    alerts = aggregator.add(evaluated, T0)

    assert len(alerts) == len(aggregator) == 64 + 1, "the tenant's 64 groups (the default cap) and its overflow group"
    overflow = alerts[-1]
    assert overflow.key == _tenant_overflow("kobe-logistics", CODE)
    assert (overflow.count, sum(alert.count for alert in alerts)) == (300 - 64, 300)
    document = orjson.loads(overflow.document())
    assert (document["tenant_id"], document["code"], document["actor"], document["purpose"]) == (
        "kobe-logistics",
        CODE,
        OVERFLOW,
        OVERFLOW,
    )
    assert document["recipient"] == {"kind": OVERFLOW, "id": OVERFLOW}
    more = decide(*(leak(f"job-{n}") for n in range(300, 400)))
    assert aggregator.add(more, T0 + timedelta(seconds=1)) == [], "counted in the open overflow group"
    assert len(aggregator) == 65


def test_when_every_group_is_taken_a_codes_overflow_group_takes_the_rest(decide: Any) -> None:
    aggregator = AlertAggregator(WINDOW, sample_size=ALL, max_groups_per_tenant=1, max_groups=len(VIOLATION_CODES) + 3)
    evaluated = decide(*(leak(f"job-{n}", tenant=f"tenant-{n}") for n in range(10)))

    alerts = aggregator.add(evaluated, T0)

    assert [alert.key for alert in alerts] == [
        *(AlertKey(f"tenant-{n}", CODE, "disclosure", f"job-{n}", "service_provision", "collection_module",
                   "google-analytics") for n in range(3)),
        _code_overflow(CODE),
    ]  # fmt: skip
    assert [alert.count for alert in alerts] == [1, 1, 1, 7]
    assert len(aggregator) == 4
    scopes = aggregator.overflow_scopes(aggregator.open_windows())
    assert scopes == {_code_overflow(CODE): OverflowScope(None, CODE, ())}, "every violation of the code"


def test_the_overflow_marker_is_no_value_a_violation_can_have() -> None:
    for contract in (Reference, Term, RecipientKind):
        with pytest.raises(ValidationError):
            TypeAdapter(contract).validate_python(OVERFLOW)
    assert OVERFLOW not in {"use", "disclosure"}  # activity_of
    assert all(TypeAdapter(Term).validate_python(code) == code for code in VIOLATION_CODES)


def test_a_tenants_overflow_group_takes_its_new_groups_while_open_and_counts_what_its_open_ones_do_not(
    decide: Any,
) -> None:
    aggregator = AlertAggregator(WINDOW, max_groups_per_tenant=2)
    a, b, overflow = aggregator.add(decide(leak("job-a"), leak("job-b"), leak("job-c")), T0)
    assert overflow.key == _tenant_overflow("kobe-logistics", CODE)
    assert aggregator.overflow_scopes([a.key, overflow.key]) == {
        overflow.key: OverflowScope("kobe-logistics", CODE, (astuple(a.key), astuple(b.key)))
    }

    assert aggregator.close(a.key, T0, None, T0 + WINDOW) is None  # job-a's window closes quiet: room again
    assert aggregator.add(decide(leak("job-d"), leak("job-a")), T0 + WINDOW) == [], "both counted in the overflow"
    (elsewhere,) = aggregator.add(decide(leak("job-d", tenant="osaka-freight")), T0 + WINDOW)
    assert elsewhere.key.actor == "job-d", "another tenant's groups are its own"
    assert aggregator.overflow_scopes(aggregator.open_windows()) == {
        overflow.key: OverflowScope("kobe-logistics", CODE, (astuple(b.key),))
    }

    assert aggregator.close(overflow.key, T0, None, T0 + 2 * WINDOW) is None
    (own,) = aggregator.add(decide(leak("job-d")), T0 + 2 * WINDOW)
    assert own.key.actor == "job-d", "with the overflow group closed, a new group has room again"


def test_adoption_holds_the_caps_and_restores_what_a_restarted_worker_held(decide: Any) -> None:
    caps = {"max_groups_per_tenant": 3, "max_groups": len(VIOLATION_CODES) + 8}
    held = AlertAggregator(WINDOW, **caps)
    held.add(decide(*(leak(f"job-{n}", tenant=f"tenant-{n % 4}") for n in range(40))), T0)
    assert _code_overflow(CODE) in held.open_windows()
    peers = {
        AlertKey(f"tenant-{n}", CODE, "disclosure", f"peer-{n}", "service_provision", "collection_module", "x"): T0
        for n in range(500)
    }

    crowded = AlertAggregator(WINDOW, **caps)
    crowded.adopt({**peers, **held.open_windows()}, T0 + WINDOW / 2)
    restarted = AlertAggregator(WINDOW, **caps)
    restarted.adopt(held.open_windows(), T0 + WINDOW / 2)

    assert len(crowded) == caps["max_groups"] - len(VIOLATION_CODES) + 1  # the shared room, and the code's
    assert restarted.open_windows() == held.open_windows()


def test_the_caps_must_leave_room_for_every_codes_overflow_group() -> None:
    with pytest.raises(ValueError, match="one overflow group per violation code"):
        AlertAggregator(WINDOW, max_groups=len(VIOLATION_CODES))
    with pytest.raises(ValueError, match="at least one"):
        AlertAggregator(WINDOW, max_groups_per_tenant=0)


# A stream of violations: tenants, actors, purposes and recipients drawn from small pools, so that groups repeat
# as well as come fresh; windows closing (quiet or not) and windows adopted in between.
_DOCUMENT = st.tuples(
    st.integers(0, 5),  # tenant
    st.integers(0, 6),  # actor
    st.sampled_from(["leak", "undeclared_purpose", "third_party"]),
    st.integers(0, 3),  # purpose or recipient
)
_STEP = st.one_of(
    st.tuples(st.just("batch"), st.lists(_DOCUMENT, min_size=1, max_size=12)),
    st.tuples(st.just("close"), st.lists(st.booleans(), min_size=1, max_size=8)),
    st.tuples(st.just("adopt"), st.lists(st.tuples(st.integers(0, 8), st.integers(0, 9), st.integers(0, 2)))),
)
_CAPS = {"max_groups_per_tenant": 2, "max_groups": len(VIOLATION_CODES) + 6}


def _document(tenant: int, actor: int, kind: str, variant: int) -> dict[str, Any]:
    document = leak(f"job-{actor}", tenant=f"tenant-{tenant}")
    if kind == "undeclared_purpose":
        del document["recipient"]
        return {**document, "spec": "rakuro.use/v1", "purpose": f"undeclared-{variant}"}
    if kind == "third_party":
        return {
            **document,
            "data": ["user_information.name"],
            "recipient": {"kind": "third_party", "id": f"p-{variant}"},
        }
    return document


def _adopted(picks: list[tuple[int, int, int]], start: datetime) -> dict[AlertKey, datetime]:
    codes = sorted(VIOLATION_CODES)
    windows: dict[AlertKey, datetime] = {}
    for tenant, n, form in picks:
        code = codes[n % len(codes)]
        if form == 0:
            key = AlertKey(f"tenant-{tenant}", code, "use", f"peer-{n}", "service_provision", "internal", "rakuro")
        else:
            key = _tenant_overflow(f"tenant-{tenant}", code) if form == 1 else _code_overflow(code)
        windows[key] = start
    return windows


def _within_caps(aggregator: AlertAggregator) -> None:
    keys = list(aggregator.open_windows())
    own = Counter(key.tenant_id for key in keys if key.actor != OVERFLOW)
    code_overflows = [key for key in keys if key.tenant_id == OVERFLOW]
    assert len(aggregator) == len(keys) <= _CAPS["max_groups"]
    assert max(own.values(), default=0) <= _CAPS["max_groups_per_tenant"]
    assert len(code_overflows) <= len(VIOLATION_CODES)
    assert len(keys) - len(code_overflows) <= _CAPS["max_groups"] - len(VIOLATION_CODES)


def _each_violation_in_one_group(
    evaluated: list[Evaluated], alerts: list[Any], open_before: set[AlertKey], open_after: set[AlertKey]
) -> None:
    assert len({alert.key for alert in alerts}) == len(alerts)
    assert not {alert.key for alert in alerts} & open_before, "a batch's alerts are of groups it opened"
    counted = Counter((event_id, alert.key) for alert in alerts for event_id in alert.event_ids)
    assert all(alert.count == len(alert.event_ids) for alert in alerts)
    violations = Counter(
        (str(item.event.event_id), alert_key(item, violation))
        for item in evaluated
        for violation in item.decision.violations
    )
    for (event_id, key), n in violations.items():
        candidates = {key, _tenant_overflow(key.tenant_id, key.code), _code_overflow(key.code)}
        alerted = {group: counted[(event_id, group)] for group in candidates if counted[(event_id, group)]}
        if alerted:
            assert list(alerted.values()) == [n], "every violation in exactly one group of the batch's alerts"
        else:
            assert candidates & open_before, "or in a group its window was open for"
        assert candidates & open_after
    assert counted.total() == sum(alert.count for alert in alerts)
    assert set(counted) <= {
        (event_id, group)
        for event_id, key in violations
        for group in (key, _tenant_overflow(key.tenant_id, key.code), _code_overflow(key.code))
    }, "an alert counts only violations of its group: its own key, or an overflow key naming the marker"


@given(steps=st.lists(_STEP, min_size=1, max_size=8))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_whatever_is_sent_the_groups_stay_within_the_caps_and_each_violation_counts_once(
    decide: Any, steps: list[tuple[str, Any]]
) -> None:
    aggregator = AlertAggregator(WINDOW, sample_size=ALL, **_CAPS)
    now = T0
    for step, values in steps:
        now += timedelta(seconds=1)
        if step == "batch":
            evaluated = decide(*(_document(*picks) for picks in values))
            assert len(evaluated) == len(values), "every document decided"
            before = set(aggregator.open_windows())
            alerts = aggregator.add(evaluated, now)
            _each_violation_in_one_group(evaluated, alerts, before, set(aggregator.open_windows()))
        elif step == "close":
            now += WINDOW
            due = aggregator.due(now)
            aggregator.overflow_scopes(due)
            for n, (key, start) in enumerate(due.items()):
                aggregator.close(key, start, _summary_of(int(values[n % len(values)])), now)
        else:
            aggregator.adopt(_adopted(values, now - timedelta(seconds=1)), now)
        _within_caps(aggregator)
