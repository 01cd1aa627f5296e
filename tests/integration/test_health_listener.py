"""A role process without the API answers probes on LINEAGE_HEALTH_PORT: /healthz, /livez, and serves /metrics."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from schemas.events import CollectionKind
from services.broker.local import free_port
from services.emitter.client import Emitter
from services.replay import produce_lines
from services.settings import Settings
from services.topics import Topics
from tests.integration.harness import wait_for
from tests.integration.test_pipeline import _good_lines
from tests.integration.test_roles_as_processes import _role_environment, spawn_collect


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def _consumed(base: str) -> float:
    """Collection events the process's own /metrics counts, over every kind."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("lineage_collection_events_total{"))


def test_a_collect_process_answers_200_on_healthz_once_consuming(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = _role_environment(settings) | {"LINEAGE_HEALTH_PORT": str(port), "LINEAGE_API_HOST": "127.0.0.1"}
    log = (tmp_path / "collect.log").open("w")
    collect = spawn_collect(env, tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/livez")[0] == 200, "the collect process's /livez", timeout_s=120)
        file = tmp_path / "events.jsonl"
        file.write_bytes(b"\n".join(_good_lines(10)) + b"\n")
        topics = Topics(settings.topic_prefix)
        with Emitter(settings.bootstrap, source_service="test", topics=topics) as emitter, file.open("rb") as handle:
            produce_lines(emitter, handle, default_kind=CollectionKind.ACCESS_LOG)
        wait_for(lambda: _get(f"{base}/healthz")[0] == 200, "/healthz 200 from the collect process", timeout_s=120)
        status, body = _get(f"{base}/healthz")
        assert status == 200, (tmp_path / "collect.log").read_text()[-2000:]
        assert body["status"] == "ok"
        assert body["roles"]["collect"]["healthy"] is True
        assert body["roles"]["broker"]["state"] == "ok"
        assert _get(f"{base}/livez") == (200, {"status": "alive"})
        # The process's own metrics, counting what it consumed (the API's /metrics is in another process).
        wait_for(lambda: _consumed(base) == 10, "the collect process's /metrics to count the 10 events")
        assert _get(f"{base}/api/v1/summary")[0] == 404  # no lineage data here: the API serves that
        collect.send_signal(signal.SIGTERM)
        assert collect.wait(timeout=60) == 0
        assert _get(f"{base}/livez")[0] == 0  # the listener closed with the process
    finally:
        if collect.poll() is None:
            collect.kill()
            collect.wait()
        log.close()
