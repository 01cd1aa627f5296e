"""Prometheus metrics of the pipeline, behind an injectable registry.

Labels carry only bounded, non-personal values: kinds, stages, reasons and tables from closed sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric


class MergingRegistry(CollectorRegistry):
    """A registry whose families include those of other processes (`up`'s collect workers), merged by name."""

    def __init__(self) -> None:
        super().__init__()
        self._sources: list[Callable[[], Iterable[Metric]]] = []

    def include(self, source: Callable[[], Iterable[Metric]]) -> None:
        """Add ``source``'s families to every collection of this registry."""
        self._sources.append(source)

    def collect(self) -> Iterator[Metric]:
        own = super().collect()
        if not self._sources:
            yield from own
            return
        yield from merge_families(own, [family for source in self._sources for family in source()])


def merge_families(own: Iterable[Metric], others: Iterable[Metric]) -> list[Metric]:
    """``own`` with ``others``' samples added: counters and histograms summed, gauges at their highest.

    Samples are matched by name and labels; a family or sample only ``others`` have is added as it is.
    Creation times (``_created``) and info metrics stay as ``own`` has them.
    """
    merged: dict[str, Metric] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], Any]] = {}
    for family in own:
        copy = Metric(family.name, family.documentation, family.type, family.unit)
        merged[family.name] = copy
        values[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s for s in family.samples}
    for family in others:
        if family.name.endswith("_created"):
            continue  # another process's creation times (the text format makes them gauge families of their own)
        if family.name not in merged:
            merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
            values[family.name] = {}
        kind = merged[family.name].type
        samples = values[family.name]
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            present = samples.get(key)
            if present is None:
                samples[key] = sample
            elif sample.name.endswith("_created") or kind in ("info", "stateset", "unknown"):
                continue
            elif kind == "gauge":
                samples[key] = present._replace(value=max(present.value, sample.value))
            else:
                samples[key] = present._replace(value=present.value + sample.value)
    for name, family in merged.items():
        family.samples = list(values[name].values())
    return list(merged.values())


class PipelineMetrics:
    """Every metric the stages, the sink and the API update."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events_consumed = Counter(
            "lineage_collection_events_total",
            "Collection events consumed by the collection stages.",
            ["topic_kind"],
            registry=registry,
        )
        self.records_tagged = Counter(
            "lineage_records_tagged_total", "Records minimized, pseudonymized and tagged.", ["kind"], registry=registry
        )
        self.fields_removed = Counter(
            "lineage_fields_removed_total",
            "Payload fields removed by minimization, by kind and reason (not_allowed, excluded_content).",
            ["kind", "reason"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "lineage_dead_letters_total",
            "Events sent to the dead-letter topic.",
            ["stage", "reason"],
            registry=registry,
        )
        self.sink_rows = Counter(
            "lineage_sink_rows_total", "Rows inserted into the lineage store.", ["table"], registry=registry
        )
        self.redeliveries = Counter(
            "lineage_redeliveries_total",
            "Collection records already recorded with the same content (same tenant and event id): stored once.",
            registry=registry,
        )
        self.event_id_conflicts = Counter(
            "lineage_event_id_conflicts_total",
            "Collection records whose tenant and event id are recorded with other content: dead-lettered.",
            registry=registry,
        )
        self.store_refused = Counter(
            "lineage_store_refused_rows_total",
            "Rows ClickHouse refused as such (a value that does not fit its column): isolated and dead-lettered.",
            registry=registry,
        )
        self.sink_batch_seconds = Histogram(
            "lineage_sink_batch_seconds", "Time to insert one batch into the lineage store.", registry=registry
        )
        self.sink_batch_rows = Histogram(
            "lineage_sink_batch_rows",
            "Rows in one insert batch (all tables).",
            buckets=(1, 10, 100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000),
            registry=registry,
        )
        self.sink_backpressure = Gauge(
            "lineage_sink_backpressure",
            "1 while an insert is being retried and consumption waits for the store, else 0.",
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "lineage_consumer_lag",
            "Messages on a topic past the consumer group's committed offsets, summed over partitions.",
            ["agent", "topic"],
            registry=registry,
        )
        self.last_batch = Gauge(
            "lineage_last_batch_timestamp_seconds",
            "Unix time at which an agent last finished a batch.",
            ["agent"],
            registry=registry,
        )
        self.sink_failures = Counter(
            "lineage_sink_failures_total", "Failed insert attempts (retried; consumption waits).", registry=registry
        )
        self.decisions = Counter(
            "lineage_decisions_total",
            "Uses and disclosures decided by the purpose monitor.",
            ["activity", "allowed"],
            registry=registry,
        )
        self.violations = Counter(
            "lineage_purpose_violations_total",
            "Purpose violations, by code, severity and purpose of use.",
            ["code", "severity", "purpose"],
            registry=registry,
        )
        self.violation_alerts = Counter(
            "lineage_violation_alerts_total",
            "Alerts published on the violations topic: 'new' for a group's first violation, 'repeated' for a "
            "window's summary of identical ones.",
            ["code", "severity", "status"],
            registry=registry,
        )
        self.monitor_state_timeouts = Counter(
            "lineage_monitor_state_timeouts_total",
            "Batches of uses and disclosures decided before every consent and rights message before them was applied.",
            registry=registry,
        )
        self.policy_gaps = Counter(
            "lineage_policy_gaps_total",
            "Names the policy does not know (service, purpose, data), by stream; the names are in the report.",
            ["stream", "gap"],
            registry=registry,
        )
        self.tenant_register_tenants = Gauge(
            "lineage_tenant_register_tenants",
            "Tenants in the tenant register in use (0: no register is set, and any tenant is accepted).",
            registry=registry,
        )
        self.tenant_register_failures = Counter(
            "lineage_tenant_register_failures_total",
            "Times the changed tenant register file could not be read; the last register read stays in use.",
            registry=registry,
        )
        self.policy_info = Gauge(
            "lineage_policy_info",
            "The policy file in use (value 1).",
            ["policy_id", "current_version"],
            registry=registry,
        )

    def include(self, source: Callable[[], Iterable[Metric]]) -> None:
        """Serve ``source``'s families (another process's) with these, merged (:func:`merge_families`)."""
        if not isinstance(self.registry, MergingRegistry):
            raise TypeError("only metrics on a MergingRegistry can include another process's")
        self.registry.include(source)

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> PipelineMetrics:
        """Metrics on ``registry``, or on a fresh private registry (tests, several stacks in one process)."""
        return cls(registry if registry is not None else MergingRegistry())
