"""Fault injection against real processes: the local broker, `run collect`, `run store monitor api`.

Each scenario produces demo collection events (valid, malformed and hostile ones mixed) while it injects one
kind of fault, then accounts for every produced event by its source coordinates and id through the running
API, and counts physical duplicates (rows without FINAL minus distinct identities). Figures go to a JSON
file. `make chaos` runs the full sizes; `tests/integration/test_chaos.py` runs small ones in CI.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import orjson

from schemas.events import CollectionKind
from services.api.client import ApiLineageReader, api_is_up
from services.broker.local import LocalBroker, free_port
from services.demo.simulator import demo_stream
from services.emitter.client import Emitter
from services.pseudonymize import PartitionKey
from services.replay import Produced, account
from services.topics import Topics

STORE_ROLES = ("store", "monitor", "api")


@dataclass
class Figures:
    scenario: str
    produced: int = 0
    stored: int = 0
    dead_lettered: int = 0
    lost: int = 0
    physical_duplicates: int = 0
    faults: int = 0
    seconds: float = 0.0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    unhealthy_s: float | None = None
    """Seconds /healthz answered 503 while the fault lasted (sampled each second), where the scenario looks."""
    redelivered: int | None = None
    """Re-deliveries the store recognized and skipped (a batch output again after a kill), where the scenario looks."""
    wrong_decisions: int | None = None
    """Uses and disclosures the monitor decided otherwise than the state they followed requires."""
    command: str = ""


class Stack:
    """The broker and the two role processes of one scenario, each restartable."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir.resolve()  # the role processes run there: every path they get is absolute
        workdir = self.workdir
        unique = uuid.uuid4().hex[:8]
        self.broker = LocalBroker(free_port(), log_file=workdir / "tansu.log")
        self.api_port = free_port()
        key_file = workdir / "pseudonym.key"
        key_file.write_text("00" * 8 + uuid.uuid4().hex)
        self.prefix = f"c{unique}."
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
        self.env.update(
            LINEAGE_TOPIC_PREFIX=self.prefix,
            LINEAGE_APP_ID=f"chaos-{unique}",
            LINEAGE_PSEUDONYM_KEY_FILE=str(key_file),
            LINEAGE_QUARANTINE_KEY=uuid.uuid4().hex * 2,
            LINEAGE_CLICKHOUSE_PATH=str(workdir / "chdb"),
            LINEAGE_API_PORT=str(self.api_port),
            LINEAGE_BATCH_WINDOW_S="0.2",
            LINEAGE_SINK_BATCH_WINDOW_S="0.5",
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.peak_rss_mb: dict[str, float] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.broker.start()
        self.env["LINEAGE_KAFKA_BOOTSTRAP"] = self.broker.bootstrap
        self.spawn("store")
        self.spawn("collect")
        self.wait_for_api()

    def wait_for_api(self, timeout_s: float = 120.0) -> None:
        """Wait until the store process (which serves the API) answers."""
        deadline = time.monotonic() + timeout_s
        while not api_is_up(self.url):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the store process never served its API: see " + str(self.workdir))
            time.sleep(0.5)

    def spawn(self, role: str, name: str | None = None) -> None:
        """Start ``role`` in a process known as ``name`` (default: the role; a second worker of it needs another).

        ``up`` is the whole stack as a user starts it (its collect role in worker processes of its own).
        """
        name = name or role
        roles = STORE_ROLES if role == "store" else (role,)
        command = ["up"] if role == "up" else ["run", *roles]
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *command],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, role: str, how: signal.Signals = signal.SIGKILL) -> None:
        process = self.processes[role]
        self.sample_rss()
        process.send_signal(how)
        process.wait(timeout=120)

    def check_alive(self) -> None:
        """Raise if a role process ended on its own (a scenario restarts those it stops): waiting on is futile."""
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                log = self.workdir / f"{name}.log"
                tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
                raise RuntimeError(f"the {name} process exited ({code}) on its own; {log} ends:\n" + "\n".join(tail))

    def sample_rss(self) -> None:
        for role, process in self.processes.items():
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):  # the process's peak resident set so far
                    mb = int(line.split()[1]) / 1024
                    self.peak_rss_mb[role] = max(self.peak_rss_mb.get(role, 0.0), mb)

    def stop(self) -> None:
        self.sample_rss()
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
        self.broker.stop()


@contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    stack = Stack(workdir)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def _events(count: int, seed: int) -> Iterator[tuple[CollectionKind, bytes, tuple[str, str]]]:
    collection = (e for e in demo_stream(seed, 300) if isinstance(e.kind, CollectionKind))
    for event in itertools.islice(collection, count):
        assert isinstance(event.kind, CollectionKind)
        yield event.kind, event.value, event.subject


def _event_id(value: bytes) -> str | None:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return event_id if isinstance(event_id, str) else None


class Producer(threading.Thread):
    """Produces ``count`` events at ``rate`` per second (0: as fast as possible), remembering where each went.

    ``pace_every`` events it waits for the rate to catch up; ``partition_key`` keys the events as the pipeline
    does (default: the emitter's own, from the settings).
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        count: int,
        rate: float,
        *,
        seed: int = 11,
        pace_every: int = 100,
        partition_key: PartitionKey | None = None,
        source_service: str = "chaos",
    ) -> None:
        super().__init__(name=f"{source_service}-producer", daemon=True)
        self.bootstrap, self.topics, self.count, self.rate, self.seed = bootstrap, topics, count, rate, seed
        self.pace_every, self.partition_key, self.source_service = pace_every, partition_key, source_service
        self.produced: list[Produced] = []
        self.error: BaseException | None = None

    @classmethod
    def of(cls, stack: Stack, count: int, rate: float) -> Producer:
        """Into a chaos scenario's stack."""
        return cls(stack.broker.bootstrap, Topics(stack.prefix), count, rate)

    def run(self) -> None:
        try:
            self._produce()
        except BaseException as exc:  # noqa: BLE001 - reported by the scenario
            self.error = exc

    def _produce(self) -> None:
        topics = self.topics
        pending = []
        started = time.monotonic()
        with Emitter(
            self.bootstrap, source_service=self.source_service, topics=topics, partition_key=self.partition_key
        ) as emitter:
            for number, (kind, value, subject) in enumerate(_events(self.count, self.seed), start=1):
                future = emitter.emit_for_subject(topics.collection(kind), value, *subject)
                pending.append((number, _event_id(value), future))
                if self.rate and number % self.pace_every == 0:
                    ahead = number / self.rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            emitter.flush()
        for number, event_id, future in pending:
            metadata = future.get(timeout=60)
            self.produced.append(Produced(number, event_id, metadata.topic, metadata.partition, metadata.offset))


def _settle(stack: Stack, producer: Producer, figures: Figures, timeout_s: float) -> Figures:
    producer.join()
    if producer.error is not None:
        raise producer.error
    reader = ApiLineageReader(stack.url)
    try:
        # A role process that ended on its own fails the scenario at once, with its log's last lines.
        report = account(
            reader, producer.produced, timeout_s=timeout_s, poll_s=1.0, on_progress=lambda *_: stack.check_alive()
        )
        duplicates = reader.query(
            "SELECT (SELECT count() - uniqExact(tenant_id, event_id) FROM collection_lineage) + "
            "(SELECT count() - uniqExact(source_topic, source_partition, source_offset) FROM dead_letters)"
        ).rows
    finally:
        reader.close()
    stack.sample_rss()
    figures.produced = report.produced
    figures.stored = report.in_lineage
    figures.dead_lettered = report.dead_lettered
    figures.lost = len(report.unaccounted)
    figures.physical_duplicates = int(duplicates[0][0])
    figures.peak_rss_mb = {role: round(mb, 1) for role, mb in stack.peak_rss_mb.items()}
    return figures


def kill_role(workdir: Path, role: str, kills: int, events: int, interval_s: float) -> Figures:
    """kill -9 of ``role`` ``kills`` times while ``events`` are produced, restarting it each time."""
    figures = Figures(scenario=f"kill -9 {role} x{kills}")
    started = time.monotonic()
    with running_stack(workdir) as stack:
        producer = Producer.of(stack, events, rate=events / max(kills * interval_s, 1.0))
        producer.start()
        for _ in range(kills):
            time.sleep(interval_s)
            stack.kill(role)
            stack.spawn(role)
            figures.faults += 1
        if role == "store":  # the API lives in the store process: wait until it answers again
            stack.wait_for_api()
        _settle(stack, producer, figures, timeout_s=300)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def kill_one_of_two_collectors(workdir: Path, kills: int, events: int, interval_s: float) -> Figures:
    """Two `run collect` workers on 4-partition topics; kill -9 of one of them ``kills`` times (each in turn,
    restarted at once) while ``events`` are produced: its partitions move to the other and back each time."""
    figures = Figures(scenario=f"kill -9 one of 2 collect workers x{kills}, 4 partitions")
    started = time.monotonic()
    stack = Stack(workdir)
    stack.env["LINEAGE_TOPIC_PARTITIONS"] = "4"
    workers = ("collect", "collect-2")
    try:
        stack.start()
        stack.spawn("collect", workers[1])
        producer = Producer.of(stack, events, rate=events / max(kills * interval_s, 1.0))
        producer.start()
        for number in range(kills):
            time.sleep(interval_s)
            stack.kill(workers[number % 2])
            stack.spawn("collect", workers[number % 2])
            figures.faults += 1
        _settle(stack, producer, figures, timeout_s=300)
        reader = ApiLineageReader(stack.url)
        try:
            figures.redelivered = int(reader.query("SELECT count() FROM redeliveries").rows[0][0])
        finally:
            reader.close()
    finally:
        stack.stop()
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def sigterm_during_outage(workdir: Path, events: int) -> Figures:
    """SIGTERM of the store process while it cannot insert (its table gone), then a restart: nothing lost.

    The embedded engine belongs to one process at a time, so the table is moved away (and back) by a short
    process of its own while the store process is stopped.
    """
    figures = Figures(scenario="SIGTERM during a store outage")
    started = time.monotonic()
    with running_stack(workdir) as stack:
        stack.kill("store", signal.SIGTERM)
        _store_command(stack, "RENAME TABLE lineage.collection_lineage TO lineage.collection_lineage_away")
        stack.spawn("store")  # now failing every lineage insert
        producer = Producer.of(stack, events, rate=0)
        producer.start()
        producer.join()
        _wait_until_failing(stack, "store")  # it joined its group, fetched a batch and cannot store it
        stack.kill("store", signal.SIGTERM)  # the clean stop lands while the batch waits for the store
        figures.faults = 1
        _store_command(stack, "RENAME TABLE lineage.collection_lineage_away TO lineage.collection_lineage")
        stack.spawn("store")
        stack.wait_for_api()
        _settle(stack, producer, figures, timeout_s=300)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def _wait_until_failing(stack: Stack, consumer: str, timeout_s: float = 180.0) -> None:
    """Wait until /healthz shows ``consumer`` failing its output: the outage is what it is handling right now.

    A fixed sleep is not enough: on a loaded machine the restarted role may still be joining its group when the
    signal lands, and the scenario would test a stop during start-up instead.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        with suppress(httpx.HTTPError, ValueError):
            roles = httpx.get(f"{stack.url}/healthz", timeout=2.0).json().get("roles", {})
            if roles.get(consumer, {}).get("state") == "failing":
                return
        time.sleep(0.5)
    raise RuntimeError(f"the {consumer} consumer never reported its failing output: see {stack.workdir}")


def _store_command(stack: Stack, sql: str) -> None:
    """Run one statement on the embedded store from a process of its own (the store process is stopped)."""
    code = (
        "import sys; from services.settings import Settings; from services.store.client import connect; "
        "connect(Settings()).command(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, sql], cwd=stack.workdir, env=stack.env, check=True, timeout=120)


class DiskUnavailable(RuntimeError):
    """The disk-full scenario needs a small filesystem of its own for the store (a tmpfs: root may mount one)."""


@contextmanager
def small_disk(folder: Path, size_mb: int) -> Iterator[Path]:
    """A ``size_mb`` tmpfs mounted at ``folder``: a disk that can be filled without touching the machine's."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        raise DiskUnavailable(f"cannot mount a tmpfs at {folder}: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    """Write a file until the filesystem has no byte left; return it (removing it frees the disk)."""
    filler = folder / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError:  # ENOSPC: the disk is full
            pass
    with filler.open("ab", buffering=0) as out:  # the last partial megabyte too
        for _ in range(1 << 10):
            try:
                out.write(b"\0" * 1024)
            except OSError:
                break
    return filler


def _unhealthy_seconds(stack: Stack, seconds: float) -> float:
    """For ``seconds``, ask /healthz once a second; how many seconds it answered 503."""
    unhealthy, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            unhealthy += httpx.get(f"{stack.url}/healthz", timeout=1.0).status_code == 503
        time.sleep(1.0)
    return unhealthy


def disk_full(workdir: Path, events: int, full_s: float = 60.0, size_mb: int = 512) -> Figures:
    """The store's disk full for ``full_s`` while events keep coming: the store pauses, then catches up alone.

    The embedded store lives on a tmpfs of its own, filled to the last byte by a file and freed by removing
    it; the role processes are never restarted, so "never stalled" is measured: everything is accounted for
    once the disk has room again.
    """
    figures = Figures(scenario=f"store disk full {full_s:.0f} s")
    started = time.monotonic()
    with small_disk((workdir / "disk").resolve(), size_mb) as disk:  # the roles run elsewhere: absolute
        stack = Stack(workdir)
        stack.env["LINEAGE_CLICKHOUSE_PATH"] = str(disk / "chdb")
        stack.env["LINEAGE_UNHEALTHY_AFTER_S"] = "5"  # shorter than the fault, so that health can show it
        try:
            stack.start()
            producer = Producer.of(stack, events, rate=events / (full_s + 20))
            producer.start()
            time.sleep(10)
            filler = _fill(disk)
            figures.faults = 1
            figures.unhealthy_s = _unhealthy_seconds(stack, full_s)
            filler.unlink()
            _settle(stack, producer, figures, timeout_s=300)
            stack.check_alive()  # never restarted: none may have exited during the scenario
        finally:
            stack.stop()
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def poison_rows(workdir: Path, events: int) -> Figures:
    """Tagged records ClickHouse refuses (too long for FixedString, negative into UInt32), among valid events:
    each is dead-lettered with the store's reason, and nothing else waits."""
    from services.stages.messages import tagged_document
    from tests.integration.test_store_partitions import _record

    figures = Figures(scenario="poison rows")
    started = time.monotonic()
    with running_stack(workdir) as stack:
        producer = Producer.of(stack, events, rate=events / 10)
        producer.start()
        poison: list[tuple[bytes, str]] = []
        for month in range(5):
            too_long = tagged_document(_record(month))
            too_long["subject"]["pseudonym"] = "ab" * 33
            negative = tagged_document(_record(month + 5))
            negative["lineage"]["source"]["partition"] = -1
            poison += [(orjson.dumps(too_long), too_long["event_id"]), (orjson.dumps(negative), negative["event_id"])]
        topics = Topics(stack.prefix)
        with Emitter(stack.broker.bootstrap, source_service="chaos", topics=topics) as emitter:
            futures = [(emitter.emit_raw(topics.tagged_for("terminal"), value), event_id) for value, event_id in poison]
            emitter.flush()
        producer.join()
        for number, (future, event_id) in enumerate(futures, start=events + 1):
            metadata = future.get(timeout=60)
            producer.produced.append(Produced(number, event_id, metadata.topic, metadata.partition, metadata.offset))
        figures.faults = len(poison)
        _settle(stack, producer, figures, timeout_s=300)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def burst(workdir: Path, events: int) -> Figures:
    """Everything at once, as fast as the producer can, with the peak RSS of each process sampled."""
    figures = Figures(scenario=f"burst of {events:,}")
    started = time.monotonic()
    with running_stack(workdir) as stack:
        producer = Producer.of(stack, events, rate=0)
        producer.start()
        while producer.is_alive():
            stack.sample_rss()
            time.sleep(0.5)
        _settle(stack, producer, figures, timeout_s=600)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def monitor_state(workdir: Path, subjects: int) -> Figures:
    """The monitor's state scenario (grant, withdraw, suspend, lift, delete) for ``subjects`` subjects, with the
    monitor stopped, killed and rebalanced between each state change and the uses it governs."""
    from tests.integration.test_monitor_state import STEPS, state_scenario

    figures = Figures(scenario=f"monitor state, {subjects} subjects")
    started = time.monotonic()
    sent, decisions, wrong = state_scenario(workdir, subjects)
    figures.produced, figures.stored, figures.faults = sent, decisions, len(STEPS)
    figures.wrong_decisions = len(wrong)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--interval", type=float, default=6.0, help="seconds between kills")
    parser.add_argument("--burst", type=int, default=200_000)
    parser.add_argument("--subjects", type=int, default=2_000, help="subjects of the monitor's state scenario")
    parser.add_argument("--results", type=Path, default=Path("chaos-results.json"))
    parser.add_argument("--workdir", type=Path, default=Path("var/chaos"))
    args = parser.parse_args()
    command = " ".join(["python -m tests.chaos.chaos", *sys.argv[1:]])
    results: list[dict[str, object]] = []

    def record(figures: Figures) -> None:
        figures.command = command
        results.append(asdict(figures))
        print(json.dumps(asdict(figures)), flush=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n")

    def fresh(name: str) -> Path:
        folder = args.workdir / f"{name}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        return folder

    for role in ("collect", "store"):
        record(kill_role(fresh(f"kill-{role}"), role, args.kills, args.events, args.interval))
    record(kill_one_of_two_collectors(fresh("scale-out"), args.kills, args.events, args.interval))
    record(sigterm_during_outage(fresh("outage"), args.events // 10))
    try:
        record(disk_full(fresh("disk-full"), args.events // 5))
    except DiskUnavailable as exc:
        print(f"store disk full: not run ({exc})", flush=True)
    record(poison_rows(fresh("poison"), args.events // 10))
    record(burst(fresh("burst"), args.burst))
    record(monitor_state(fresh("monitor-state"), args.subjects))


if __name__ == "__main__":
    main()
