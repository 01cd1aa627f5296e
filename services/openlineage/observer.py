"""Accumulate what the pipeline's jobs see and emit it as OpenLineage run events, off the hot path.

The agents call ``observe_*`` once per batch: that only updates sets and counters. ``flush()`` (on a timer)
turns what was seen into one RUNNING event per job that saw something. Emitting never raises into the
pipeline: a failed emit is logged without its content and counted in ``emit_errors``.

``flush``, ``complete`` and ``fail`` do I/O (an HTTP transport blocks for its timeout and retries); from the
event loop, run them in a thread (``await asyncio.to_thread(observer.flush)``). A lock makes that safe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import Protocol

from openlineage.client.event_v2 import RunEvent, RunState
from openlineage.client.facet_v2 import RunFacet
from openlineage.client.uuid import generate_new_uuid

from services.monitor.evaluate import Evaluated, activity_of
from services.openlineage.events import error_facet, run_event, running_event
from services.openlineage.facet import PRODUCER
from services.openlineage.layout import DEAD_LETTER_TABLE, LINEAGE_TABLE, DatasetRef, JobName, PipelineLayout
from services.openlineage.tally import PolicyTerms, Tally
from services.records import DeadLetter, TaggedRecord

log = logging.getLogger(__name__)

Tallies = dict[JobName, dict[DatasetRef, Tally]]


class Emitter(Protocol):
    """What the observer needs of an ``OpenLineageClient`` (tests may pass anything that emits)."""

    def emit(self, event: RunEvent) -> None: ...


class _Phase(Enum):
    NEW = "new"
    STARTED = "started"
    ENDED = "ended"


def _now() -> datetime:
    return datetime.now(UTC)


class LineageObserver:
    """One process's runs of the three jobs: START, a RUNNING per flush that saw something, COMPLETE or FAIL."""

    def __init__(
        self,
        client: Emitter,
        layout: PipelineLayout,
        terms: PolicyTerms,
        *,
        producer: str = PRODUCER,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._client = client
        self._layout = layout
        self._terms = terms
        self._producer = producer
        self._clock = clock
        # One run per job and process; UUIDv7 (time-ordered) as the OpenLineage client generates them.
        self.run_ids: dict[JobName, str] = {job: str(generate_new_uuid()) for job in layout.jobs}
        self.emit_errors = 0
        """Events that could not be built or sent since the observer was created."""
        self._tallies: Tallies = {}
        self._tally_lock = threading.Lock()  # observe_* (event loop) against flush (possibly a thread)
        self._emit_lock = threading.Lock()  # one phase change or flush at a time: each run's events stay in order
        self._phase = _Phase.NEW

    def _tally(self, job: JobName, dataset: DatasetRef) -> Tally:
        per_job = self._tallies.setdefault(job, {})
        tally = per_job.get(dataset)
        if tally is None:
            tally = per_job[dataset] = Tally()
        return tally

    def observe_collection(self, records: Sequence[TaggedRecord], dead: Sequence[DeadLetter] = ()) -> None:
        """Count a collect batch: tagged records per kind, dead letters per reason."""
        tagged, branches = self._layout.tagged, self._terms.branches
        with self._tally_lock:
            for record in records:
                dataset = tagged.get(record.kind)
                if dataset is not None:
                    self._tally(JobName.COLLECT, dataset).add_tagged(record, branches.get(record.kind, ()))
            self._add_dead_letters(JobName.COLLECT, dead)

    def observe_store(self, lineage_rows: int, dead_letter_rows: int) -> None:
        """Count rows the store job inserted."""
        tables = self._layout.tables
        with self._tally_lock:
            for table, rows in ((LINEAGE_TABLE, lineage_rows), (DEAD_LETTER_TABLE, dead_letter_rows)):
                if rows:
                    self._tally(JobName.STORE, tables[table]).records += rows

    def observe_monitor(self, evaluated: Sequence[Evaluated], dead: Sequence[DeadLetter] = ()) -> None:
        """Count a monitor batch: decisions per activity topic, dead letters per reason."""
        activity = self._layout.activity
        with self._tally_lock:
            for item in evaluated:
                self._tally(JobName.MONITOR, activity[activity_of(item.event)]).add_evaluated(item, self._terms)
            self._add_dead_letters(JobName.MONITOR, dead)

    def _add_dead_letters(self, job: JobName, dead: Sequence[DeadLetter]) -> None:
        if dead:
            letters = self._tally(job, self._layout.dead_letter)
            for letter in dead:
                letters.add_dead_letter(letter)

    def start(self) -> None:
        """Emit START for every job (once)."""
        with self._emit_lock:
            if self._phase is not _Phase.NEW:
                return
            self._phase = _Phase.STARTED
            self._emit_all(RunState.START)

    def flush(self) -> None:
        """Emit RUNNING for each job that saw something since the last flush, and start counting afresh."""
        with self._emit_lock:
            if self._phase is _Phase.STARTED:
                self._flush()

    def complete(self) -> None:
        """Flush, then emit COMPLETE for every job (once, and only after START)."""
        with self._emit_lock:
            if self._phase is not _Phase.STARTED:
                return
            self._flush()
            self._phase = _Phase.ENDED
            self._emit_all(RunState.COMPLETE)

    def fail(self, message: str) -> None:
        """Emit FAIL for every job, with ``message`` (which must name no personal data) as its error.

        Also before START: a pipeline that fails while starting still ends its runs in the lineage.
        """
        with self._emit_lock:
            if self._phase is _Phase.ENDED:
                return
            self._phase = _Phase.ENDED
            self._emit_all(RunState.FAIL, {"errorMessage": error_facet(message, self._producer)})

    def _flush(self) -> None:
        with self._tally_lock:
            tallies, self._tallies = self._tallies, {}
        at = self._clock()
        for job, spec in self._layout.jobs.items():
            seen = tallies.get(job)
            if seen:
                args = (spec, self._layout, self.run_ids[job], at, seen, self._terms.policy_id, self._producer)
                self._emit(job, partial(running_event, *args))

    def _emit_all(self, state: RunState, run_facets: Mapping[str, RunFacet] | None = None) -> None:
        at = self._clock()
        for job, spec in self._layout.jobs.items():
            args = (state, spec, self._layout.namespace, self.run_ids[job], at, self._producer)
            self._emit(job, partial(run_event, *args, run_facets=run_facets))

    def _emit(self, job: JobName, build: Callable[[], RunEvent]) -> None:
        try:
            self._client.emit(build())
        except Exception as exc:  # noqa: BLE001 - lineage is a side channel: it must never stop the pipeline
            self.emit_errors += 1
            # The type only: a transport's message can carry the endpoint, and a builder's the data it was given.
            log.warning("OpenLineage event of job %s not emitted (%s)", job.value, type(exc).__name__)
