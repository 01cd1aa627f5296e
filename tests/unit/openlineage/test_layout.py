"""Job and dataset names: the OpenLineage naming spec for Kafka, and the jobs as the faust app wires them."""

from __future__ import annotations

import pytest

from schemas.events import CollectionKind
from services.openlineage.layout import (
    DatasetRef,
    JobName,
    clickhouse_namespace,
    kafka_namespace,
    pipeline_layout,
)
from services.topics import Topics


@pytest.mark.parametrize(
    ("bootstrap", "namespace"),
    [
        ("127.0.0.1:19092", "kafka://127.0.0.1:19092"),
        ("broker-1:9093, broker-2:9093", "kafka://broker-1:9093"),
        ("kafka://broker-1:9094", "kafka://broker-1:9094"),
        ("broker-1", "kafka://broker-1:9092"),
        ("[::1]:9093", "kafka://[::1]:9093"),
        ("fd00::10", "kafka://[fd00::10]:9092"),
    ],
)
def test_kafka_namespace_is_the_first_bootstrap_server_with_its_port(bootstrap: str, namespace: str) -> None:
    assert kafka_namespace(bootstrap) == namespace


def test_clickhouse_namespace_keeps_host_and_port_and_drops_credentials() -> None:
    namespace = clickhouse_namespace("http://lineage:s3cret@ch.internal:8123/?database=lineage")

    assert namespace == "clickhouse://ch.internal:8123"


def test_embedded_clickhouse_has_a_fixed_namespace() -> None:
    assert clickhouse_namespace(None) == "clickhouse://chdb"


def test_jobs_read_and_write_the_topics_and_tables_the_agents_use() -> None:
    topics = Topics("t1.")
    layout = pipeline_layout("purpose-lineage", topics, "broker:9092", None, "lineage")
    kafka = "kafka://broker:9092"

    def names(refs: tuple[DatasetRef, ...]) -> list[str]:
        return [ref.name for ref in refs]

    collect, store, monitor = (layout.jobs[job] for job in (JobName.COLLECT, JobName.STORE, JobName.MONITOR))
    assert names(collect.inputs) == topics.all_collection
    assert names(collect.outputs) == [*topics.all_tagged, topics.dead_letter]
    assert names(store.inputs) == [*topics.all_tagged, topics.dead_letter]
    assert names(store.outputs) == ["lineage.collection_lineage", "lineage.dead_letters", "lineage.redeliveries"]
    assert names(monitor.inputs) == topics.all_activity
    assert names(monitor.outputs) == [
        topics.violations,
        topics.dead_letter,
        "lineage.activity_decisions",
        "lineage.violations",
        "lineage.provision_records",
        "lineage.monitor_state",
    ]
    assert {ref.namespace for ref in (*collect.inputs, *collect.outputs, *monitor.inputs)} == {kafka}
    assert {ref.namespace for ref in store.outputs} == {"clickhouse://chdb"}


def test_each_tagged_topic_derives_from_the_collection_topic_of_its_kind() -> None:
    topics = Topics()
    layout = pipeline_layout("purpose-lineage", topics, "broker:9092", None, "lineage")

    for kind in CollectionKind:
        assert layout.derived_from[layout.tagged[kind.value]].name == topics.collection(kind)
