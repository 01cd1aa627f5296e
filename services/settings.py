"""Every runtime setting in one place (environment prefix ``LINEAGE_``).

No value set means the embedded default: a local Tansu broker on loopback and the
in-process ClickHouse engine (chDB) under ``./var/lineage``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
"""Host names of this machine's loopback: the API without a token answers requests for these only, and the
OpenLineage URL may be plain http to these only."""

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "schemas" / "policies" / "rakuro.yaml"


class Settings(BaseSettings):
    """Runtime settings; frozen so that a running stage never sees them change."""

    # No setting's value in an error: a URL can carry a password, a key a secret (fifth red-team pass).
    model_config = SettingsConfigDict(env_prefix="LINEAGE_", frozen=True, extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap servers (host:port,...). Unset: start a local Tansu broker on loopback.",
    )
    local_broker_port: int = Field(
        default=19092, description="Port of the local Tansu broker started when no bootstrap is set."
    )
    topic_prefix: str = Field(default="", description="Prefix for every topic name (isolates tests and tenants).")
    topic_partitions: int = Field(default=1, ge=1, description="Partitions for topics the stack creates.")
    topic_replication_factor: int = Field(
        default=1, ge=1, description="Replicas of each topic the stack creates (3 on a production cluster)."
    )
    topic_min_insync_replicas: int | None = Field(
        default=None, ge=1, description="min.insync.replicas of each topic created; unset: the broker's default."
    )
    consumer_session_timeout_s: float = Field(
        default=10.0, gt=0, description="Consumer session timeout; short keeps group joins on Tansu at ~5 s."
    )
    consumer_rebalance_timeout_s: float = Field(
        default=5.0, gt=0, description="How long the group coordinator waits for members to rejoin."
    )
    app_id: str = Field(
        default="purpose-lineage", description="Prefix of the consumer groups (<app_id>-collect, -store, -monitor)."
    )

    clickhouse_url: str | None = Field(
        default=None,
        description="ClickHouse HTTP URL (http://user:pass@host:8123). Unset: embedded chDB at clickhouse_path.",
    )
    clickhouse_path: Path = Field(default=Path("var/lineage"), description="Directory of the embedded chDB store.")
    clickhouse_database: str = Field(default="lineage", description="ClickHouse database holding the lineage tables.")
    clickhouse_cluster: str | None = Field(
        default=None,
        description="ClickHouse cluster (remote_servers name) to migrate ON CLUSTER: Replicated* tables behind "
        "Distributed ones. Unset: single-node tables.",
    )

    policy: Path = Field(default=DEFAULT_POLICY, description="Policy file (YAML) the stages decide with.")
    pseudonym_key: SecretStr | None = Field(
        default=None, description="HMAC key for subject pseudonyms (prefer pseudonym_key_file)."
    )
    pseudonym_key_file: Path | None = Field(
        default=None, description="File holding the HMAC key. Unset with no key: a generated key under var/."
    )
    pseudonym_retired_key_files: list[Path] = Field(
        default_factory=list,
        description="Retired HMAC key files (JSON list): no new pseudonyms, but old ones stay traceable.",
    )
    local_key_file: Path = Field(
        default=Path("var/pseudonym.key"), description="Where the generated local key lives (embedded default)."
    )
    partition_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of Kafka message keys, shared by every emitter and the pipeline (prefer "
        "partition_key_file). Separate from the pseudonym key.",
    )
    partition_key_file: Path | None = Field(
        default=None, description="File holding the partition key. Unset with no key: a generated key under var/."
    )
    local_partition_key_file: Path = Field(
        default=Path("var/partition.key"),
        description="Where the generated local partition key lives (embedded default).",
    )
    quarantine_key: SecretStr | None = Field(
        default=None,
        description="AES-256-GCM key (64 hex digits) sealing refused events on the dead-letter topic "
        "(prefer quarantine_key_file). Separate from the pseudonym key: only operators who replay hold it.",
    )
    quarantine_key_file: Path | None = Field(
        default=None, description="File holding the quarantine key. Unset with no key: a generated key under var/."
    )
    local_quarantine_key_file: Path = Field(
        default=Path("var/quarantine.key"),
        description="Where the generated local quarantine key lives (embedded default).",
    )

    batch_size: int = Field(default=2000, ge=1, description="Most events a stage takes per batch.")
    batch_window_s: float = Field(default=0.2, gt=0, description="Longest wait for a batch to fill, in seconds.")
    sink_batch_size: int = Field(default=20_000, ge=1, description="Most rows the lineage sink inserts at once.")
    sink_batch_window_s: float = Field(
        default=0.3,
        gt=0,
        description="Longest wait for a sink batch to fill: each insert has a fixed cost, and the wait is most of "
        "produce -> queryable latency (measured at 3,500 events/s: p99 1.8 s at 0.5, 1.5 s at 0.3).",
    )
    dead_letter_retention_h: float = Field(
        default=72.0,
        gt=0,
        description="Retention of the dead-letter topic: refused events, sealed with the quarantine key.",
    )
    max_clock_skew_s: float = Field(
        default=86_400.0,
        gt=0,
        description="How far past ingestion an event's occurred_at may lie before it is refused.",
    )
    collect_processes: int = Field(
        default=1,
        ge=0,
        le=32,
        description="`up` only: worker processes running the collect role (each a `run collect` child, supervised "
        "and restarted by `up`), so that collection and the store use separate cores; 0 runs collection inside "
        "the `up` process.",
    )
    stop_with_parent: bool = Field(
        default=False,
        description="Stop when standard input closes. `up` sets it for its collect worker processes, whose standard "
        "input is a pipe from `up`: the pipe closes when `up` ends, however it ends (kill -9 included), so a worker "
        "never outlives it.",
    )
    monitor_consumers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Monitor consumers in this process, members of one group (scale out across processes too).",
    )
    monitor_state_keys: int = Field(
        default=100_000,
        ge=1,
        description="Keys of consent and rights state each monitor consumer holds in memory (the most recently used; "
        "~730 bytes each): the others are read from the store when an event needs them.",
    )
    monitor_state_bytes: int = Field(
        default=192 * 1024 * 1024,
        ge=64 * 1024,
        description="Bytes of consent and rights state each monitor consumer holds, each key charged an upper bound of "
        "what Python holds for it (~1.7 KB an ordinary consent): a key's size is the events' to choose, so the key "
        "count alone bounds nothing. The least recently used keys go first; they are read back when needed.",
    )
    monitor_batch_window_s: float = Field(
        default=0.05,
        gt=0,
        description="Longest wait for a monitor batch to fill: it bounds the decision latency of a quiet stream.",
    )
    lag_interval_s: float = Field(default=15.0, gt=0, description="How often the consumer lag gauge is measured.")
    stop_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A stop (SIGTERM, Ctrl-C) finishes within this long even with the broker gone; what was not "
        "committed by then is delivered again and absorbed by the idempotent outputs.",
    )
    unhealthy_after_s: float = Field(
        default=15.0,
        gt=0,
        description="/healthz turns 503 once a role's output has failed this long (stalled: twice this long idle).",
    )
    alert_window_s: float = Field(
        default=300.0,
        gt=0,
        description="Identical violations after a group's first alert are summed into one 'repeated' alert per window.",
    )
    alert_groups_per_tenant: int = Field(
        default=64,
        ge=1,
        le=128,
        description="Alert groups a monitor consumer holds open for one tenant; its violations past them are counted "
        "in the tenant's overflow group of their code, whose alert says '*' for actor, purpose and recipient.",
    )
    alert_groups: int = Field(
        default=4096,
        gt=16,
        description="Alert groups a monitor consumer holds open in all (one kept for each violation code's overflow "
        "group, the last resort): a group is a few hundred bytes, and a sender chooses how many it makes.",
    )
    max_event_bytes: int = Field(default=1_048_576, ge=1, description="Events larger than this are dead-lettered.")
    tenant_register: Path | None = Field(
        default=None,
        description="A file naming the tenants served, one id a line ('#' comments): an event of any other tenant is "
        "refused as unknown_tenant, by the collection stages and the monitor, so a sender cannot make tenants up (and "
        "fill the alert groups with them). Read again when it changes. Unset: any tenant id the contract accepts.",
    )
    tenant_register_check_s: float = Field(
        default=5.0, gt=0, description="How often the tenant register file is checked for a change."
    )

    query_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest a read of the query path may run (POST /api/v1/query, `sql`, dashboard, reports, trace, "
        "records): ClickHouse stops it with TIMEOUT_EXCEEDED. With the embedded store, reads and writes share one "
        "thread, so this also bounds how long a read can hold back the store's inserts.",
    )
    query_max_memory_bytes: int = Field(
        default=2 * 1024**3,
        ge=1,
        description="Most memory one read of the query path may use in ClickHouse (max_memory_usage).",
    )
    query_max_result_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Most rows one read of the query path may return (larger results are refused, never cut).",
    )
    query_max_result_bytes: int = Field(
        default=1024**3,
        ge=1,
        description="Most bytes (uncompressed) one read of the query path may return (larger results are refused).",
    )

    openlineage_file: Path | None = Field(
        default=None, description="Append OpenLineage run events to this JSON Lines file (off when unset)."
    )
    openlineage_url: str | None = Field(
        default=None,
        description="Send OpenLineage run events to this HTTP endpoint, e.g. Marquez (off when unset): https, or "
        "http to a loopback host; no user or password in it (the API key goes in LINEAGE_OPENLINEAGE_API_KEY).",
    )
    openlineage_api_key: SecretStr | None = Field(default=None, description="API key for the OpenLineage endpoint.")
    openlineage_namespace: str = Field(default="purpose-lineage", description="OpenLineage namespace of the jobs.")
    openlineage_interval_s: float = Field(
        default=60.0, gt=0, description="How often a RUNNING event reports what each job did since the last one."
    )

    api_host: str = Field(default="127.0.0.1", description="Address the HTTP API binds to.")
    api_port: int = Field(default=8765, description="Port of the HTTP API.")
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token the API requires; mandatory when api_host is not loopback."
    )
    api_url: str | None = Field(
        default=None, description="Where clients (replay, sql) reach a running API. Unset: http://api_host:api_port."
    )
    health_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of /healthz (readiness) and /livez (liveness) for a process without the API; it listens "
        "on api_host. Unset: no health listener (the API serves /healthz where it runs).",
    )

    progress_interval_s: float = Field(default=10.0, gt=0, description="How often `up` logs the lineage totals.")
    demo_employees: int = Field(default=50, ge=1, description="Simulated employees in `up --demo`.")
    demo_rate: float = Field(default=20.0, gt=0, description="Simulated events per second in `up --demo`.")

    def environment(self) -> dict[str, str]:
        """These settings as ``LINEAGE_*`` variables: a child process started with them reads the same settings."""
        variables: dict[str, str] = {}
        for name, value in self:
            if value is None:
                continue
            if isinstance(value, SecretStr):
                text = value.get_secret_value()
            elif isinstance(value, list):
                text = json.dumps([str(item) for item in value])
            else:
                text = str(value)
            variables[f"LINEAGE_{name.upper()}"] = text
        return variables

    @field_validator("openlineage_url")
    @classmethod
    def _openlineage_url(cls, url: str | None) -> str | None:
        """Fifth red-team pass: a password in the URL reached DEBUG logs, and http sent the API key in clear."""
        if not url:
            return None
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            raise ValueError("LINEAGE_OPENLINEAGE_URL must not hold a user or password")
        loopback = parts.hostname in LOOPBACK_NAMES
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            raise ValueError("LINEAGE_OPENLINEAGE_URL must be https (or http to a loopback host)")
        return url

    @property
    def embedded_broker(self) -> bool:
        """True when the stack must start its own local broker."""
        return self.kafka_bootstrap is None

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers the clients use."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.local_broker_port}"

    @property
    def embedded_store(self) -> bool:
        """True when lineage lives in the in-process chDB engine."""
        return self.clickhouse_url is None

    @property
    def api_on_loopback(self) -> bool:
        """True when the API is reachable from this machine only."""
        return self.api_host in {"127.0.0.1", "::1", "localhost"} or self.api_host.startswith("127.")

    @property
    def resolved_api_url(self) -> str:
        """Base URL of the running API."""
        return self.api_url or f"http://{self.api_host}:{self.api_port}"
