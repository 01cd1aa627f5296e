"""A simulated attendance company over several tenants, emitting a realistic, reproducible event stream.

Each employee lives through working days: arrival at the gate, clock-in from a PC or the phone app, a PC login,
then work (access logs, e-mail, chats, calendars, file shares, analytics beacons) while Rakuro's jobs use and
disclose their data, then clock-out, logout and departure. Profiles are sent on the first day and on changes.
About 1% of all events are malformed on purpose. Everything is drawn from one ``random.Random``.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from schemas.events import CollectionKind
from schemas.events import TransmissionRecordType as Record
from services.demo import activity, flows
from services.demo.company import Employee, make_company
from services.demo.malformed import malform
from services.demo.world import Activity, DemoEvent, Malformation, World, topic_of, utc_now
from services.emitter.client import Emitter

__all__ = ["Activity", "DemoEvent", "DemoTally", "Malformation", "demo_stream", "run_demo", "topic_of", "workday"]

MALFORMED_SHARE = 0.013
"""Share of collection events broken on purpose: about 1% of all events."""

Step = Callable[[World, Employee], DemoEvent | None]
WORK: tuple[tuple[Step, float], ...] = (
    (flows.access_log, 26),
    (flows.email, 10),
    (flows.chat, 9),
    (flows.calendar, 4),
    (flows.file_share, 3),
    (flows.system_usage, 5),
    (flows.cookie, 1),
    (lambda world, e: flows.terminal(world, e, mobile=True), 1),
    (flows.user_profile, 0.6),
    (activity.analytics, 12),
    (activity.service_use, 14),
    (activity.notification_use, 3),
    (activity.related_service_use, 2),
    (activity.statistics_use, 1),
    (activity.consignee, 4),
    (activity.third_party, 3),
    (activity.withdraw_consent, 0.6),
    (activity.rights_request, 0.25),
)
_STEPS = [step for step, _ in WORK]
_WEIGHTS = [weight for _, weight in WORK]


def workday(world: World, e: Employee) -> Iterator[DemoEvent]:
    """One working day of ``e``, in the order it happens."""
    rng = world.rng
    mobile = e.phone_id is not None and rng.random() < 0.4
    if e.subject_id in world.suspended and rng.random() < 0.3:
        yield activity.rights_request(world, e)  # the matter was resolved: the suspension is lifted
    if e.subject_id not in world.profiled or rng.random() < 0.05:
        yield flows.user_profile(world, e)
    yield flows.transmission(world, e, Record.ARRIVAL, mobile=False)
    yield flows.terminal(world, e, mobile)
    yield flows.transmission(world, e, Record.CLOCK_IN, mobile)
    yield flows.access_log(world, e, "clock_in")
    yield flows.login_history(world, e)
    yield flows.cookie(world, e)
    for step in rng.choices(_STEPS, _WEIGHTS, k=rng.randint(15, 40)):
        event = step(world, e)
        if event is not None:
            yield event
    yield flows.access_log(world, e, "clock_out")
    yield flows.transmission(world, e, Record.CLOCK_OUT, mobile)
    yield flows.login_history(world, e, logout=True)
    yield flows.transmission(world, e, Record.DEPARTURE, mobile=False)


def demo_stream(
    seed: int, employees: int, *, clock: Callable[[], datetime] = utc_now, run_salt: int = 0
) -> Iterator[DemoEvent]:
    """An endless stream of demo events; the same seed, clock and salt give the same bytes.

    Employees' days interleave: each event comes from a randomly chosen employee's day, which starts over
    when it ends. Timestamps come from ``clock`` (now, by default) in Japan time.
    """
    rng = random.Random(seed)
    world = World(rng=rng, staff=make_company(rng, employees), clock=clock, run_salt=run_salt)
    days = [workday(world, e) for e in world.staff]
    while True:
        index = rng.randrange(len(days))
        event = next(days[index], None)
        if event is None:
            days[index] = workday(world, world.staff[index])
            continue
        if isinstance(event.kind, CollectionKind) and rng.random() < MALFORMED_SHARE:
            event = malform(world, event)
        yield event


@dataclass
class DemoTally:
    """What a demo run sent: events per stream, malformed ones per class, intended violations per code."""

    streams: Counter[CollectionKind | Activity] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)

    def add(self, event: DemoEvent) -> None:
        self.streams[event.kind] += 1
        if event.malformed is not None:
            self.malformed[event.malformed.value] += 1
        self.violations.update(event.violations)

    @property
    def total(self) -> int:
        return self.streams.total()


def run_demo(
    emitter: Emitter,
    employees: int,
    rate: float,
    stop: threading.Event,
    seed: int = 7,
    *,
    tally: DemoTally | None = None,
    run_salt: int | None = None,
) -> int:
    """Emit demo events at ``rate`` per second until ``stop`` is set; return how many were sent.

    Each run gets fresh event ids (a random salt unless given): the lineage store keeps one row per event id,
    so a second run with the same ids would overwrite the first run's rows instead of adding to them.
    """
    sent = 0
    salt = secrets.randbits(128) if run_salt is None else run_salt
    stream = demo_stream(seed, employees, run_salt=salt)
    budget = 0.0
    last = time.monotonic()
    while not stop.wait(0.05):
        # The rate holds however long the sends take; after a stall (a slow broker) at most a second's worth
        # is made up, not a burst of everything missed.
        now = time.monotonic()
        budget = min(budget + (now - last) * rate, max(rate, 1.0))
        last = now
        due = int(budget)
        budget -= due
        for _ in range(due):
            event = next(stream)
            emitter.emit_for_subject(event.topic(emitter.topics), event.value, *event.subject)
            if tally is not None:
                tally.add(event)
            sent += 1
    emitter.flush()
    return sent
