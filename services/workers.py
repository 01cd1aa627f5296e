"""Worker processes of `up`: the collect role as `run collect` children, supervised and restarted.

One Python process runs one core's worth of work: with collection inside the process that owns the embedded
store, the stages, the store's inserts and the monitor share one interpreter lock. `up` therefore runs the
collect role in ``LINEAGE_COLLECT_PROCESSES`` children (the same command an operator runs by hand,
`purpose-lineage run collect`, joined to the one consumer group), each started with the parent's settings and
its own health port on loopback. The parent:

- restarts a child that exits while the stack runs (its partitions move to the others meanwhile: the group
  rebalances, nothing is lost, the consumer commits only what was published); a child that keeps failing
  (``MAX_RESTARTS`` within ``RESTART_WINDOW_S``) stops the stack, as a role that stops consuming does;
- serves the children's metrics with its own (:meth:`CollectWorkers.scrape`), so `/metrics` and the dashboard
  count the whole stack;
- stops them alongside its own roles on shutdown (SIGTERM, then SIGKILL after the stop timeout), before the
  broker they use.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from services.broker.local import free_port
from services.settings import Settings

log = logging.getLogger(__name__)

MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
RESTART_DELAY_S = 1.0
SCRAPE_TIMEOUT_S = 0.5
COLLECT_COMMAND = (sys.executable, "-m", "services.cli", "run", "collect")
"""What each child runs: the command an operator runs by hand."""


@dataclass
class _Worker:
    name: str
    health_port: int
    process: subprocess.Popen[bytes] | None = None
    restarts: deque[float] = field(default_factory=deque)
    """When it was restarted, within the last ``RESTART_WINDOW_S``."""
    families: list[Metric] = field(default_factory=list)
    """Its metrics at the last scrape."""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class CollectWorkers:
    """``count`` children running `purpose-lineage run collect` against the parent's broker."""

    def __init__(self, settings: Settings, count: int, command: Sequence[str] = COLLECT_COMMAND) -> None:
        environment = {**os.environ, **settings.environment()}
        # The children serve health and metrics on loopback only, for the parent; never the API.
        environment["LINEAGE_API_HOST"] = "127.0.0.1"
        environment["LINEAGE_KAFKA_BOOTSTRAP"] = settings.bootstrap
        environment["LINEAGE_STOP_WITH_PARENT"] = "true"  # their stdin is our pipe: it closes when we end
        self._environment = environment
        self._command = list(command)
        self._workers = [_Worker(f"collect-{number}", free_port()) for number in range(1, count + 1)]
        self._stopping = False
        self._failed = asyncio.Event()
        self.death: str | None = None

    def start(self) -> None:
        for worker in self._workers:
            self._spawn(worker)

    def _spawn(self, worker: _Worker) -> None:
        environment = {**self._environment, "LINEAGE_HEALTH_PORT": str(worker.health_port)}
        worker.process = subprocess.Popen(  # noqa: S603 - our command, no shell
            self._command, env=environment, stdin=subprocess.PIPE
        )
        worker.families = []  # a new process counts from zero
        log.info("%s started (pid %d)", worker.name, worker.process.pid)

    async def supervise(self, poll_s: float = 0.5) -> None:
        """Restart children that exit while the stack runs; give up on one that keeps failing."""
        while not self._stopping:
            await asyncio.sleep(poll_s)
            for worker in self._workers:
                if self._stopping or worker.process is None or worker.alive():
                    continue
                code = worker.process.returncode
                now = time.monotonic()
                while worker.restarts and now - worker.restarts[0] > RESTART_WINDOW_S:
                    worker.restarts.popleft()
                if len(worker.restarts) >= MAX_RESTARTS:
                    self.death = (
                        f"{worker.name} exited {MAX_RESTARTS + 1} times within {RESTART_WINDOW_S:.0f} s "
                        f"(last exit code {code})"
                    )
                    self._failed.set()
                    return
                log.warning("%s exited with code %s; restarting it", worker.name, code)
                worker.restarts.append(now)
                await asyncio.sleep(RESTART_DELAY_S)
                if not self._stopping:
                    self._spawn(worker)

    async def failure(self) -> str:
        """Wait until a child keeps failing; say which."""
        await self._failed.wait()
        return self.death or "a collect worker failed"

    async def stop(self, timeout_s: float) -> None:
        """SIGTERM every child, wait for them within ``timeout_s``, SIGKILL the ones still running."""
        self._stopping = True
        running = [w.process for w in self._workers if w.process is not None and w.alive()]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while any(p.poll() is None for p in running) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for process in running:
            if process.poll() is None:
                log.warning("a collect worker (pid %d) did not stop within %.0f s: killed", process.pid, timeout_s)
                process.kill()
                process.wait()

    def health(self) -> dict[str, dict[str, Any]]:
        """Each child as /healthz shows it: running or not, its pid and its restarts in the last minute."""
        report: dict[str, dict[str, Any]] = {}
        for worker in self._workers:
            alive = worker.alive()
            report[worker.name] = {
                "state": "running" if alive else "stopped" if self._stopping else "restarting",
                "healthy": alive,
                "pid": worker.process.pid if worker.process is not None else None,
                "restarts": len(worker.restarts),
            }
        return report

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process is not None and w.alive()]

    def scrape(self) -> list[Metric]:
        """The metric families the running children exposed at their last scrape (``refresh_metrics``)."""
        return [family for worker in self._workers if worker.alive() for family in worker.families]

    async def refresh_metrics(self, interval_s: float = 1.0) -> None:
        """Read each running child's /metrics every ``interval_s``, off the event loop's thread."""
        while not self._stopping:
            for worker in self._workers:
                if worker.alive():
                    families = await asyncio.to_thread(_scrape, worker.health_port)
                    if families is not None:
                        worker.families = families
            await asyncio.sleep(interval_s)


def _scrape(port: int) -> list[Metric] | None:
    """The families a child exposes, or None when it does not answer (starting, or stopping)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=SCRAPE_TIMEOUT_S) as response:
            text = response.read().decode()
    except OSError:
        return None
    return list(text_string_to_metric_families(text))
