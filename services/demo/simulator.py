"""Realistic demo traffic: employees clocking in and out from PCs and phones.

Some events carry fields the policy does not allow (browser details, a smuggled e-mail subject) so that
minimization has something to remove, and a few are malformed so that the dead-letter path is visible.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from schemas.events import SPEC, CollectionKind, SubjectType
from services.emitter.client import Emitter, partition_key

OPERATIONS = ("clock_in", "clock_out", "view_timesheet", "submit_leave_request", "approve_overtime", "edit_shift")
SCREENS = ("dashboard", "timesheet", "leave", "shift_calendar", "settings")
TENANTS = ("kobe-logistics", "sapporo-foods", "naha-clinic")


@dataclass(frozen=True)
class Employee:
    tenant_id: str
    subject_id: str
    subject_type: SubjectType
    terminal_id: str
    terminal_type: str
    ip_address: str


@dataclass(frozen=True)
class DemoEvent:
    kind: CollectionKind
    key: bytes | None
    value: bytes


def make_employees(rng: random.Random, count: int) -> list[Employee]:
    """``count`` employees spread over the demo tenants; every tenth is a person in charge."""
    employees = []
    for number in range(count):
        tenant = TENANTS[number % len(TENANTS)]
        phone = rng.random() < 0.3
        employees.append(
            Employee(
                tenant_id=tenant,
                subject_id=f"emp-{number:05d}",
                subject_type=SubjectType.PERSON_IN_CHARGE if number % 10 == 0 else SubjectType.ANALYZED_ACCOUNT_HOLDER,
                terminal_id=f"{'mb' if phone else 'pc'}-{rng.getrandbits(32):08x}",
                terminal_type="mobile" if phone else "pc",
                ip_address=f"10.{number % 3}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            )
        )
    return employees


def _envelope(
    rng: random.Random, employee: Employee, kind: CollectionKind, payload: dict[str, object], now: datetime
) -> dict[str, object]:
    return {
        "spec": SPEC,
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "kind": kind.value,
        "kind_version": 1,
        "occurred_at": now.isoformat(),
        "tenant_id": employee.tenant_id,
        "source_service": "attendance-web" if employee.terminal_type == "pc" else "attendance-mobile",
        "subject": {"type": employee.subject_type.value, "id": employee.subject_id},
        "payload": payload,
    }


def demo_event(rng: random.Random, employee: Employee, now: datetime) -> DemoEvent:
    """One event of the demo mix."""
    roll = rng.random()
    key = partition_key(employee.tenant_id, employee.subject_id)
    if roll < 0.35:
        payload: dict[str, object] = {
            "terminal_id": employee.terminal_id,
            "terminal_type": employee.terminal_type,
            "os": "Windows 11" if employee.terminal_type == "pc" else "Android 15",
            "user_agent": "Mozilla/5.0 (demo)",
        }
        document = _envelope(rng, employee, CollectionKind.TERMINAL, payload, now)
        return DemoEvent(CollectionKind.TERMINAL, key, orjson.dumps(document))
    payload = {
        "ip_address": employee.ip_address,
        "requested_at": (now - timedelta(milliseconds=rng.randrange(500))).isoformat(),
        "operation": rng.choice(OPERATIONS),
        "screen": rng.choice(SCREENS),
    }
    if rng.random() < 0.1:  # a service that should not, sends a mail subject along: minimization must drop it
        payload["email_subject"] = "Re: 残業申請について"
    document = _envelope(rng, employee, CollectionKind.ACCESS_LOG, payload, now)
    if roll > 0.98:  # malformed: truncated in transit, or missing its subject
        if rng.random() < 0.5:
            return DemoEvent(CollectionKind.ACCESS_LOG, key, orjson.dumps(document)[:-7])
        del document["subject"]
    return DemoEvent(CollectionKind.ACCESS_LOG, key, orjson.dumps(document))


def demo_stream(seed: int, employees: int) -> Iterator[DemoEvent]:
    """An endless, reproducible stream of demo events stamped with the current time."""
    rng = random.Random(seed)
    staff = make_employees(rng, employees)
    while True:
        yield demo_event(rng, rng.choice(staff), datetime.now(UTC))


def run_demo(emitter: Emitter, employees: int, rate: float, stop: threading.Event, seed: int = 7) -> int:
    """Emit demo events at ``rate`` per second until ``stop`` is set; return how many were sent."""
    sent = 0
    tick = 0.1
    per_tick = max(1, round(rate * tick))
    stream = demo_stream(seed, employees)
    while not stop.wait(tick):
        for _ in range(per_tick):
            event = next(stream)
            emitter.emit_raw(emitter.topics.collection(event.kind), event.value, event.key)
            sent += 1
    emitter.flush()
    return sent
