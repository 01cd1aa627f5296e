"""Roles as processes: `purpose-lineage run collect` in its own process feeds a store in another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import IO

from schemas.events import CollectionKind
from services.emitter.client import Emitter
from services.replay import account, produce_lines
from services.roles import Role, topic_plan
from services.settings import Settings
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import _good_lines


def _role_environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env.update(
        LINEAGE_KAFKA_BOOTSTRAP=settings.bootstrap,
        LINEAGE_TOPIC_PREFIX=settings.topic_prefix,
        LINEAGE_APP_ID=settings.app_id,
        LINEAGE_PSEUDONYM_KEY_FILE=str(settings.pseudonym_key_file),
        LINEAGE_QUARANTINE_KEY=settings.quarantine_key.get_secret_value() if settings.quarantine_key else "",
        LINEAGE_BATCH_WINDOW_S="0.2",
    )
    return env


def spawn_collect(env: dict[str, str], cwd: Path, log: IO[str]) -> subprocess.Popen[bytes]:
    """`purpose-lineage run collect` as a process of its own, its output in ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "collect"], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def test_a_collect_process_and_a_store_process_account_for_every_event(settings: Settings, tmp_path: Path) -> None:
    store = PipelineHarness(settings, roles=frozenset({Role.STORE, Role.MONITOR}))
    store.start()
    log = (tmp_path / "collect.log").open("w")
    collect = spawn_collect(_role_environment(settings), tmp_path, log)
    try:
        file = tmp_path / "events.jsonl"
        file.write_bytes(b"\n".join([*_good_lines(40), b"{not json"]) + b"\n")
        with (
            Emitter(settings.bootstrap, source_service="test", topics=store.pipeline.topics) as emitter,
            file.open("rb") as handle,
        ):
            produced = produce_lines(emitter, handle, default_kind=CollectionKind.ACCESS_LOG)
        report = account(store, produced, timeout_s=120)
        assert report.unaccounted == [], (tmp_path / "collect.log").read_text()[-2000:]
        assert (report.in_lineage, report.dead_lettered) == (40, 1)
        collect.send_signal(signal.SIGTERM)
        assert collect.wait(timeout=60) == 0
        assert "running collect" in (tmp_path / "collect.log").read_text()
    finally:
        if collect.poll() is None:
            collect.kill()
            collect.wait()
        log.close()
        store.stop()


def test_a_single_role_without_a_broker_to_join_is_refused_with_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", "collect"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "LINEAGE_KAFKA_BOOTSTRAP" in result.stderr


def _init(settings: Settings, tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = _role_environment(settings) | {"LINEAGE_CLICKHOUSE_PATH": str(tmp_path / "chdb"), **overrides}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_creates_topics_and_migrates_once_then_refuses_another_partition_count(
    settings: Settings, tmp_path: Path
) -> None:
    topics = len(topic_plan(settings))
    first = _init(settings, tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"{topics} created" in first.stderr
    migrations = sum(1 for f in (resources.files("services.store") / "migrations").iterdir() if f.name.endswith(".sql"))
    assert f"{migrations} migration(s) applied" in first.stderr

    again = _init(settings, tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"0 created, {topics} already there" in again.stderr
    assert "0 migration(s) applied" in again.stderr

    mismatch = _init(settings, tmp_path, LINEAGE_TOPIC_PARTITIONS="4")
    assert mismatch.returncode == 2
    assert "the settings ask for 4" in mismatch.stderr
