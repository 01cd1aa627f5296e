"""A stop finishes within LINEAGE_STOP_TIMEOUT_S even when the broker is gone (SIGTERM of a role process)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from services.broker.local import LocalBroker, free_port
from services.settings import Settings
from tests.integration.harness import wait_for
from tests.integration.test_health_listener import _get
from tests.integration.test_roles_as_processes import _role_environment, spawn_collect

STOP_TIMEOUT_S = 5
TEARDOWN_MARGIN_S = 20
"""Beyond the stop itself: the interpreter's exit (threads, sockets). A stop that waits on the lost broker
(aiokafka's leave-group and commit retries) took minutes before the deadline covered every part."""


def test_sigterm_with_the_broker_gone_stops_the_process_within_its_stop_timeout(
    settings: Settings, tmp_path: Path
) -> None:
    broker = LocalBroker(free_port(), log_file=tmp_path / "tansu.log")
    broker.start()
    own = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    port = free_port()
    env = _role_environment(own) | {
        "LINEAGE_HEALTH_PORT": str(port),
        "LINEAGE_API_HOST": "127.0.0.1",
        "LINEAGE_LAG_INTERVAL_S": "1",
        "LINEAGE_STOP_TIMEOUT_S": str(STOP_TIMEOUT_S),
    }
    log_path = tmp_path / "collect.log"
    with log_path.open("w") as log:
        collect = spawn_collect(env, tmp_path, log)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(
                lambda: _get(f"{base}/healthz")[1].get("roles", {}).get("collect", {}).get("partitions", 0) > 0,
                "the collect process to own its partitions",
                timeout_s=120,
            )
            broker.stop()  # the broker is gone, the member still in its group
            wait_for(
                lambda: _get(f"{base}/healthz")[1].get("roles", {}).get("broker", {}).get("state") == "unreachable",
                "the process to see the broker gone",
                timeout_s=60,
            )
            started = time.monotonic()
            collect.send_signal(signal.SIGTERM)
            try:
                code = collect.wait(timeout=STOP_TIMEOUT_S + TEARDOWN_MARGIN_S)
            except subprocess.TimeoutExpired:
                waited = STOP_TIMEOUT_S + TEARDOWN_MARGIN_S
                raise AssertionError(
                    f"still stopping {waited} s after SIGTERM: {log_path.read_text()[-2000:]}"
                ) from None
            stopped_s = time.monotonic() - started
            assert code == 0, log_path.read_text()[-2000:]
            assert "stopped" in log_path.read_text(), f"stopped after {stopped_s:.1f} s without saying so"
        finally:
            if collect.poll() is None:
                collect.kill()
                collect.wait()
            broker.stop()
