"""Real infrastructure for integration tests: containers when a Docker engine answers, else Tansu + chDB."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.broker.local import LocalBroker, free_port

log = logging.getLogger(__name__)


def docker_available() -> bool:
    """True when a Docker engine answers (then testcontainers runs real Kafka and ClickHouse images)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:  # noqa: BLE001 - no engine, no socket, no permission: all mean "not available"
        return False
    return True


@dataclass(frozen=True)
class Infrastructure:
    """Where tests find a broker and a store; ``store`` holds the Settings fields that select it."""

    bootstrap: str
    store: dict[str, Any]
    description: str


@contextlib.contextmanager
def start_infrastructure(workdir: Path) -> Iterator[Infrastructure]:
    """Start a broker and a store for the whole session."""
    if docker_available():
        from testcontainers.community.clickhouse import ClickHouseContainer
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka, ClickHouseContainer() as clickhouse:
            url = f"http://{clickhouse.username}:{clickhouse.password}@{clickhouse.get_container_host_ip()}:" + str(
                clickhouse.get_exposed_port(8123)
            )
            yield Infrastructure(kafka.get_bootstrap_server(), {"clickhouse_url": url}, "testcontainers")
        return
    # One process owns a chDB path: the whole session shares one, each test gets its own database.
    with LocalBroker(free_port(), log_file=workdir / "tansu.log") as broker:
        yield Infrastructure(
            broker.bootstrap, {"clickhouse_url": None, "clickhouse_path": workdir / "chdb"}, "local Tansu + chDB"
        )
