"""The pipeline's jobs and the datasets they read and write, named as OpenLineage names them.

Kafka topics follow the OpenLineage naming spec: namespace ``kafka://{bootstrap host}:{port}`` (the first
bootstrap server), name ``{topic}``. The spec names no scheme for ClickHouse; tables get
``clickhouse://{host}:{port}`` (or ``clickhouse://chdb`` for the embedded engine) and ``{database}.{table}``,
the shape the spec gives other SQL databases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from schemas.events import CollectionKind
from services.broker.servers import bootstrap_server
from services.topics import Topics

EMBEDDED_CLICKHOUSE = "clickhouse://chdb"

LINEAGE_TABLE = "collection_lineage"
DEAD_LETTER_TABLE = "dead_letters"
REDELIVERY_TABLE = "redeliveries"
MONITOR_TABLES = ("activity_decisions", "violations", "provision_records", "monitor_state")


class JobName(StrEnum):
    """The faust agents, by the names they are registered under."""

    COLLECT = "collect"
    STORE = "store"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset's OpenLineage identity."""

    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job: what it reads and what it writes."""

    name: JobName
    description: str
    inputs: tuple[DatasetRef, ...]
    outputs: tuple[DatasetRef, ...]


@dataclass(frozen=True)
class PipelineLayout:
    """Every job of one deployment, plus the lookups the observer needs on the hot path."""

    namespace: str
    """The OpenLineage job namespace (one per deployment)."""
    jobs: Mapping[JobName, JobSpec]
    tagged: Mapping[str, DatasetRef]
    """Collection kind -> its tagged topic."""
    derived_from: Mapping[DatasetRef, DatasetRef]
    """Tagged topic -> the collection topic its records come from."""
    activity: Mapping[str, DatasetRef]
    """``use`` / ``disclosure`` -> its activity topic."""
    dead_letter: DatasetRef
    tables: Mapping[str, DatasetRef]
    """ClickHouse table name -> dataset."""


def kafka_namespace(bootstrap: str) -> str:
    """``kafka://host:port`` of the first bootstrap server; the port defaults to Kafka's 9092."""
    host, port = bootstrap_server(bootstrap.split(",")[0])
    return f"kafka://{host}:{port}"


def clickhouse_namespace(url: str | None) -> str:
    """``clickhouse://host:port`` of the server at ``url``, or the embedded engine's fixed namespace.

    Only host and port are kept: the URL may carry user and password, which must never reach an event.
    """
    if url is None:
        return EMBEDDED_CLICKHOUSE
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError("the ClickHouse URL names no host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"clickhouse://{host}:{parts.port}" if parts.port else f"clickhouse://{host}"


def pipeline_layout(
    namespace: str, topics: Topics, bootstrap: str, clickhouse_url: str | None, database: str
) -> PipelineLayout:
    """The three jobs as the faust app wires them (``services.processors``)."""
    kafka = kafka_namespace(bootstrap)
    clickhouse = clickhouse_namespace(clickhouse_url)

    def topic(name: str) -> DatasetRef:
        return DatasetRef(kafka, name)

    collection = {kind.value: topic(topics.collection(kind)) for kind in CollectionKind}
    tagged = {kind.value: topic(topics.tagged(kind)) for kind in CollectionKind}
    activity = {"use": topic(topics.activity), "disclosure": topic(topics.activity)}
    dead_letter = topic(topics.dead_letter)
    table_names = (LINEAGE_TABLE, DEAD_LETTER_TABLE, REDELIVERY_TABLE, *MONITOR_TABLES)
    tables = {name: DatasetRef(clickhouse, f"{database}.{name}") for name in table_names}
    jobs = {
        JobName.COLLECT: JobSpec(
            JobName.COLLECT,
            "Ingest, minimize, pseudonymize and tag collection events; bad input to the dead-letter topic.",
            inputs=tuple(topic(name) for name in topics.all_collection),
            outputs=(*tagged.values(), dead_letter),
        ),
        JobName.STORE: JobSpec(
            JobName.STORE,
            "Insert tagged records and dead letters into the lineage store (re-deliveries by coordinates only).",
            inputs=(*(topic(name) for name in topics.all_tagged), dead_letter),
            outputs=(tables[LINEAGE_TABLE], tables[DEAD_LETTER_TABLE], tables[REDELIVERY_TABLE]),
        ),
        JobName.MONITOR: JobSpec(
            JobName.MONITOR,
            "Decide every use and disclosure against the policy, with consent and rights state.",
            inputs=tuple(topic(name) for name in topics.all_activity),
            # The monitor also dead-letters activity events that fail their contract.
            outputs=(topic(topics.violations), dead_letter, *(tables[name] for name in MONITOR_TABLES)),
        ),
    }
    return PipelineLayout(
        namespace=namespace,
        jobs=jobs,
        tagged=tagged,
        derived_from={tagged[kind]: collection[kind] for kind in tagged},
        activity=activity,
        dead_letter=dead_letter,
        tables=tables,
    )
