from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.logfilter import quiet_closed_transports
from services.settings import Settings
from services.store.async_store import AsyncLineageStore
from services.store.client import connect
from services.store.lineage_store import LineageStore
from tests.integration.harness import PipelineHarness
from tests.integration.infrastructure import Infrastructure, start_infrastructure


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _closed_transports_quiet() -> None:
    """The tests' own kafka-python clients close as the pipeline's do: a close race is not a pipeline error."""
    quiet_closed_transports()


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    with start_infrastructure(tmp_path_factory.mktemp("infra")) as infra:
        yield infra


@pytest.fixture
def settings(infrastructure: Infrastructure, tmp_path: Path) -> Settings:
    """Settings isolated to this test: own topics, consumer group, database and key."""
    unique = uuid.uuid4().hex[:10]
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("00" * 8 + uuid.uuid4().hex)
    return Settings(
        kafka_bootstrap=infrastructure.bootstrap,
        topic_prefix=f"t{unique}.",
        app_id=f"lineage-test-{unique}",
        clickhouse_database=f"lineage_{unique}",
        pseudonym_key_file=key_file,
        quarantine_key=uuid.uuid4().hex * 2,
        batch_window_s=0.2,
        lag_interval_s=1.0,
        **infrastructure.store,
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[AsyncLineageStore]:
    """A migrated embedded store of this test's own, reads and writes on one thread (no pipeline around it)."""
    lineage = LineageStore(connect(settings), settings.clickhouse_database)
    lineage.migrate()
    store = AsyncLineageStore(lineage, separate_reads=False)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def pipeline(settings: Settings) -> Iterator[PipelineHarness]:
    harness = PipelineHarness(settings)
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()
