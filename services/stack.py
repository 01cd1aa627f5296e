"""`purpose-lineage up` and `run <role>`: broker (local when none is configured), roles, HTTP API, optional demo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from services.api.app import create_api, create_health_app
from services.broker.local import LocalBroker, port_open
from services.broker.servers import bootstrap_servers
from services.demo.simulator import run_demo
from services.emitter.client import Emitter
from services.errors import LineageError
from services.roles import ALL_ROLES, Pipeline, Role
from services.runtime import settle_heap
from services.settings import Settings
from services.workers import CollectWorkers

log = logging.getLogger(__name__)


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the stack decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class StackConfigError(LineageError, ValueError):
    """The settings describe a stack that must not start."""


class RoleFailed(LineageError, RuntimeError):
    """A role's consumer stopped consuming on its own: the process stops and exits non-zero."""


async def run_stack(
    settings: Settings,
    stop: asyncio.Event,
    *,
    demo: bool = False,
    roles: frozenset[Role] = ALL_ROLES,
    api: bool = True,
    collect_processes: int = 0,
) -> None:
    """Run ``roles`` (and the API) until ``stop`` is set, then shut down in reverse order.

    With ``collect_processes``, the collect role runs in that many supervised child processes instead of this
    one (:mod:`services.workers`; `up` passes ``LINEAGE_COLLECT_PROCESSES``). The children read the settings
    from their environment, which ``settings`` fills in.
    """
    if api and not settings.api_on_loopback and settings.api_token is None:
        raise StackConfigError(
            f"the API would listen on {settings.api_host} without a token: set LINEAGE_API_TOKEN or bind to 127.0.0.1"
        )
    if roles != ALL_ROLES and settings.embedded_broker:
        raise StackConfigError(
            "a single role joins a running broker: set LINEAGE_KAFKA_BOOTSTRAP, or run everything with `up`"
        )
    if settings.stop_with_parent:
        _stop_when_stdin_closes(stop, settings)
    # The API's port is taken before anything starts: a busy port fails in a moment, with one line, exit 2.
    listener = _listen(settings.api_host, settings.api_port) if api else None
    # A process without the API serves health and metrics on LINEAGE_HEALTH_PORT, for probes and Prometheus.
    health_listener = None
    if not api and settings.health_port is not None:
        try:
            health_listener = _listen(settings.api_host, settings.health_port, "health listener")
        except StackConfigError:
            if listener is not None:
                listener.close()
            raise
    try:
        await _run(settings, stop, demo, roles, listener, health_listener, collect_processes)
    finally:
        for sock in (listener, health_listener):
            if sock is not None:
                sock.close()


STRANDED_GRACE_S = 3.0
"""How long a process whose supervisor and broker are both gone waits for its own stop before it exits."""


def _stop_when_stdin_closes(stop: asyncio.Event, settings: Settings) -> None:
    """Set ``stop`` once standard input reaches its end: the supervisor holding the other end of the pipe ended.

    If the broker is gone too (``up`` killed with SIGKILL takes its embedded broker along), the process is
    stranded: no offset can be committed, no group left, and a start-up or a stop may wait long for a broker that
    will not come back (a topic check retries for 30 s, a stop waits out ``LINEAGE_STOP_TIMEOUT_S``). It then
    exits after :data:`STRANDED_GRACE_S`, stopped or not: what it had not committed is delivered again at the
    next start, as after any crash.
    """
    loop = asyncio.get_running_loop()

    def watch() -> None:
        # The descriptor, not sys.stdin's buffer: a daemon thread still blocked on the buffer's lock when the
        # process stops on its own (a Ctrl-C reaches every process of the terminal) is a fatal error at exit.
        with contextlib.suppress(OSError, ValueError):
            fd = sys.stdin.fileno()
            while os.read(fd, 4096):
                pass
        log.info("standard input closed: the supervising process ended, stopping")
        loop.call_soon_threadsafe(stop.set)
        deadline = time.monotonic() + settings.stop_timeout_s  # a broker that answers: the stop's own bound
        while time.monotonic() < deadline:
            if not broker_answers(settings.bootstrap):
                time.sleep(STRANDED_GRACE_S)  # the stop's chance to end on its own (the thread is a daemon)
                log.warning("the supervising process and the broker are gone: exiting without waiting for them")
                logging.shutdown()
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def broker_answers(bootstrap: str) -> bool:
    """Whether any of the bootstrap servers accepts a connection."""
    return any(port_open(host.strip("[]"), port) for host, port in bootstrap_servers(bootstrap))


def _listen(host: str, port: int, what: str = "API") -> socket.socket:
    """A socket listening on ``host:port`` for the API, or :class:`StackConfigError` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise StackConfigError(f"the {what} cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


async def _run(
    settings: Settings,
    stop: asyncio.Event,
    demo: bool,
    roles: frozenset[Role],
    listener: socket.socket | None,
    health_listener: socket.socket | None = None,
    collect_processes: int = 0,
) -> None:
    api = listener is not None  # the API runs exactly when its port was taken
    children = collect_processes if Role.COLLECT in roles else 0
    in_process = roles - {Role.COLLECT} if children else roles
    # Loads policy and keys first (a bad file fails before anything starts; a local key file is made here, before
    # any child reads it).
    pipeline = Pipeline(settings, roles=in_process)
    broker: LocalBroker | None = None
    if settings.embedded_broker:
        log_file = Path("var/tansu.log")
        log_file.parent.mkdir(parents=True, exist_ok=True)
        broker = LocalBroker(settings.local_broker_port, log_file=log_file)
        broker.start()
    demo_stop = threading.Event()
    demo_thread: threading.Thread | None = None
    server: _ApiServer | None = None
    server_task: asyncio.Task[None] | None = None
    health_server: _ApiServer | None = None
    health_task: asyncio.Task[None] | None = None
    workers: CollectWorkers | None = None
    try:
        await pipeline.start()  # creates the topics: the children find them
        health_report = pipeline.health_report
        if children:
            workers = CollectWorkers(settings, children)
            workers.start()
            pipeline.metrics.include(workers.scrape)
            health_report = _with_workers(pipeline, workers)
        settle_heap()  # start-up's objects live as long as the process: the collector need not walk them again
        if listener is not None:
            assert pipeline.store is not None
            token = settings.api_token.get_secret_value() if settings.api_token else None
            app = create_api(
                pipeline.store,
                pipeline.metrics,
                token,
                pipeline.keyring,
                pipeline.context.engine,
                health=health_report,
                loopback_hosts_only=token is None,  # without a token it serves loopback alone: no other name
            )
            server = _ApiServer(
                uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="warning", lifespan="off")
            )
            server_task = asyncio.create_task(server.serve(sockets=[listener]))
            log.info("API on %s (OpenAPI at /docs)", settings.resolved_api_url)
        if health_listener is not None:
            health_app = create_health_app(health_report, pipeline.metrics)
            health_server = _ApiServer(
                uvicorn.Config(health_app, log_level="warning", lifespan="off", access_log=False)
            )
            health_task = asyncio.create_task(health_server.serve(sockets=[health_listener]))
            log.info("health on %s:%d (/healthz, /livez, /metrics)", settings.api_host, settings.health_port)
        if demo:
            demo_thread = threading.Thread(
                target=_demo, args=(settings, pipeline, demo_stop), name="demo-emitter", daemon=True
            )
            demo_thread.start()
        named = [*in_process, *(["api"] if api else [])]
        if children:
            named.append(f"collect ({children} worker process{'es' if children > 1 else ''})")
        log.info("running %s: Ctrl-C stops it", ", ".join(sorted(named)))
        background = [asyncio.create_task(_report_progress(pipeline, settings.progress_interval_s))]
        failures = [asyncio.create_task(pipeline.failure())]
        if workers is not None:
            background += [asyncio.create_task(workers.supervise()), asyncio.create_task(workers.refresh_metrics())]
            failures.append(asyncio.create_task(workers.failure()))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, *failures}, return_when=asyncio.FIRST_COMPLETED)
        for task in (*background, stopped, *failures):
            task.cancel()
        for failed in failures:
            if failed.done() and not failed.cancelled():
                # A role that no longer consumes must not idle behind a green API: stop, and exit non-zero.
                raise RoleFailed(failed.result())
    finally:
        log.info("stopping")
        demo_stop.set()
        if demo_thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, demo_thread.join, 15)
        for running, serving in ((server, server_task), (health_server, health_task)):
            if running is not None and serving is not None:
                running.should_exit = True
                await serving
        # The workers and this process's roles stop side by side, within one LINEAGE_STOP_TIMEOUT_S, before the
        # broker they use. Neither waits for the other: what a worker publishes last is read at the next start.
        stopping = [pipeline.stop()]
        if workers is not None:
            stopping.append(workers.stop(settings.stop_timeout_s))
        for outcome in await asyncio.gather(*stopping, return_exceptions=True):  # both finish before the broker
            if isinstance(outcome, BaseException):
                raise outcome
        if broker is not None:
            broker.stop()
        log.info("stopped")


def _with_workers(pipeline: Pipeline, workers: CollectWorkers) -> Callable[[], dict[str, dict[str, Any]]]:
    """/healthz of `up` with collect workers: this process's roles, then each worker process."""

    def report() -> dict[str, dict[str, Any]]:
        return {**pipeline.health_report(), **workers.health()}

    return report


async def _report_progress(pipeline: Pipeline, interval_s: float) -> None:
    """Log the lineage totals now and then, so a terminal running `up` shows lineage accumulating."""
    while True:
        await asyncio.sleep(interval_s)
        if pipeline.store is None:
            return
        summary = await pipeline.store.summary()
        kinds = ", ".join(f"{k['kind']} {k['events']}" for k in summary["by_kind"]) or "none yet"
        log.info("lineage: %d events (%s); %d dead letters", summary["lineage_events"], kinds, summary["dead_letters"])


def _demo(settings: Settings, pipeline: Pipeline, stop: threading.Event) -> None:
    try:
        with Emitter(settings.bootstrap, source_service="demo", topics=pipeline.topics) as emitter:
            sent = run_demo(emitter, settings.demo_employees, settings.demo_rate, stop)
    except Exception:
        log.exception("the demo emitter failed; the stack keeps running without it")
        return
    log.info("demo emitted %d events", sent)
