"""The monitor's counters of a batch: what counting every event one by one would give, label set by label set."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.metrics import PipelineMetrics
from services.monitor.evaluate import Evaluated, activity_of, monitor_batch
from services.policy.decide import Decider
from services.policy.gaps import GapFinder
from services.processors.monitor import count_decisions
from services.pseudonymize import PseudonymKey
from services.records import SourceRecord
from tests.unit.monitor.test_trusted_request import _engine, decided_events

KEY = PseudonymKey(b"monitor-counters-key-0123456789")
COUNTERS = ("lineage_decisions_total", "lineage_purpose_violations_total", "lineage_policy_gaps_total")


def one_by_one(evaluated: list[Evaluated], gaps: GapFinder) -> Counter[tuple[str, tuple[str, ...]]]:
    """Each event counted on its own: (counter, label values) -> count."""
    counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for item in evaluated:
        event, activity = item.event, activity_of(item.event)
        counts[("lineage_decisions_total", (activity, str(item.decision.allowed).lower()))] += 1
        purpose = event.purpose if event.purpose in gaps.purposes else "unknown"
        for v in item.decision.violations:
            counts[("lineage_purpose_violations_total", (v.code, v.severity.value, purpose))] += 1
        for gap in gaps.in_activity(activity, event.source_service, event.purpose, event.data):
            counts[("lineage_policy_gaps_total", (gap.stream, gap.kind.value))] += 1
    return counts


def counted(registry: CollectorRegistry) -> Counter[tuple[str, tuple[str, ...]]]:
    counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name in COUNTERS and sample.value:
                counts[(sample.name, tuple(sample.labels.values()))] += int(sample.value)
    return counts


@settings(max_examples=100, deadline=None)
@given(st.lists(decided_events(), min_size=1, max_size=12))
def test_a_batch_counts_as_its_events_one_by_one(events):
    engine = _engine()
    batch = [SourceRecord("t.activity.v1", 0, offset, e.model_dump_json().encode()) for offset, e in enumerate(events)]
    evaluated = monitor_batch(batch, {}, {}, Decider(engine), KEY).evaluated
    registry = CollectorRegistry()

    count_decisions(PipelineMetrics.create(registry), evaluated, GapFinder(engine))

    assert counted(registry) == one_by_one(evaluated, GapFinder(engine))
