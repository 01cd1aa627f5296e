"""The README's flow, as a user runs it: `up --demo`, `sql` while it runs, `replay`, Ctrl-C, `sql` after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.api.client import api_is_up
from services.broker.local import free_port, port_open

STARTUP_TIMEOUT_S = 120.0


def _cli(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env.update(
        LINEAGE_LOCAL_BROKER_PORT=str(free_port()),
        LINEAGE_API_PORT=str(free_port()),
        LINEAGE_DEMO_RATE="40",
        LINEAGE_BATCH_WINDOW_S="0.2",
    )
    return env


@pytest.fixture
def stack(tmp_path: Path, environment: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--demo"],
        cwd=tmp_path,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's: a Ctrl-C reaches `up` and its workers
    )
    url = f"http://127.0.0.1:{environment['LINEAGE_API_PORT']}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not api_is_up(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("`up --demo` did not serve its API:\n" + (tmp_path / "up.log").read_text()[-3000:])
        time.sleep(0.5)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def _terminal_event(subject_id: str, terminal_id: str) -> dict[str, object]:
    """A valid terminal event of tenant sapporo-foods, occurring now."""
    return {
        "spec": "rakuro.collection/v1",
        "event_id": str(uuid.uuid4()),
        "kind": "terminal",
        "kind_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "tenant_id": "sapporo-foods",
        "source_service": "kiosk",
        "subject": {"type": "analyzed_account_holder", "id": subject_id},
        "payload": {"terminal_id": terminal_id, "terminal_type": "tablet"},
    }


def _lineage_count(cwd: Path, env: dict[str, str]) -> int:
    result = _cli(
        "sql", "SELECT count(DISTINCT event_id) AS n FROM collection_lineage", "--format", "json", cwd=cwd, env=env
    )
    assert result.returncode == 0, result.stderr
    return int(orjson.loads(result.stdout)[0]["n"])


def test_up_demo_replay_sql_and_clean_stop(
    stack: subprocess.Popen[str], tmp_path: Path, environment: dict[str, str]
) -> None:
    deadline = time.monotonic() + 60
    while (count := _lineage_count(tmp_path, environment)) == 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert count > 0, "demo events never reached lineage"

    good = _terminal_event("emp-777", "kiosk-1")
    replay_file = tmp_path / "replay.jsonl"
    replay_file.write_bytes(orjson.dumps(good) + b"\n{broken\n\n")
    replayed = _cli("replay", str(replay_file), "--json", "--timeout", "90", cwd=tmp_path, env=environment)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    summary = orjson.loads(replayed.stdout)
    assert (summary["produced"], summary["in_lineage"], summary["dead_lettered"], summary["unaccounted"]) == (
        2,
        1,
        1,
        0,
    )

    traced = _cli("trace", "emp-777", "--tenant", "sapporo-foods", "--json", cwd=tmp_path, env=environment)
    assert traced.returncode == 0, traced.stderr
    trace = orjson.loads(traced.stdout)
    assert [c["event_id"] for c in trace["collections"]] == [good["event_id"]]
    assert "emp-777" not in traced.stdout

    refused = _cli("sql", "DROP TABLE collection_lineage", cwd=tmp_path, env=environment)
    assert refused.returncode == 2
    assert "refused" in refused.stderr

    period = ("--from", str(date.today() - timedelta(days=1)), "--to", str(date.today() + timedelta(days=2)))
    reported = _cli("report", *period, "--json", cwd=tmp_path, env=environment)  # through the running API
    assert reported.returncode == 0, reported.stderr
    report = orjson.loads(reported.stdout)
    assert report["collections"]["events"] >= 1
    records = _cli("records", "third-party", *period, "--json", cwd=tmp_path, env=environment)
    assert records.returncode == 0, records.stderr
    assert isinstance(orjson.loads(records.stdout), list)

    os.killpg(stack.pid, signal.SIGINT)  # Ctrl-C in a terminal: `up` and its collect worker alike
    assert stack.wait(timeout=60) == 0
    time.sleep(1)  # the worker ends after `up` has reaped it; its last words are in the same log
    log = (tmp_path / "up.log").read_text()
    assert "Fatal Python error" not in log, log[-2000:]
    assert "Traceback" not in log, log[-2000:]
    after = _lineage_count(tmp_path, environment)  # the embedded store persists, and is read directly now
    assert after >= count + 1


def _get(url: str) -> bytes:
    """The body of a GET, whatever its status (/healthz answers 503 while a role is not ready)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as error:
        body = error.read()
    return body


def _collected(url: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(_get(f"{url}/metrics").decode())
        for sample in family.samples
        if sample.name == "lineage_collection_events_total"
    )


def test_up_runs_collection_in_a_worker_process_restarts_it_when_killed_and_loses_nothing(
    stack: subprocess.Popen[str], tmp_path: Path, environment: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{environment['LINEAGE_API_PORT']}"
    worker = orjson.loads(_get(f"{url}/healthz"))["roles"]["collect-1"]
    assert worker["state"] == "running"
    # Served without a token, so for loopback names only: a page whose name resolves here is refused.
    rebound = urllib.request.Request(f"{url}/metrics", headers={"Host": "rebind.attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rebound, timeout=10)
    assert refused.value.code == 421
    deadline = time.monotonic() + 60
    while _collected(url) == 0:  # the worker's counts are served by `up` itself
        assert time.monotonic() < deadline, "the collect worker's metrics never reached `up`'s /metrics"
        time.sleep(1)

    os.kill(worker["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while (now := orjson.loads(_get(f"{url}/healthz"))["roles"]["collect-1"])["pid"] == worker["pid"] or now[
        "state"
    ] != "running":
        assert time.monotonic() < deadline, f"the killed worker was not restarted: {now}"
        time.sleep(0.5)
    assert now["restarts"] == 1
    assert stack.poll() is None

    events = [_terminal_event(f"emp-{n}", f"kiosk-{n}") for n in range(300)]
    replay_file = tmp_path / "after-kill.jsonl"
    replay_file.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    replayed = _cli("replay", str(replay_file), "--json", "--timeout", "120", cwd=tmp_path, env=environment)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    summary = orjson.loads(replayed.stdout)
    assert (summary["produced"], summary["in_lineage"], summary["unaccounted"]) == (300, 300, 0)

    stack.send_signal(signal.SIGTERM)
    assert stack.wait(timeout=60) == 0
    leftover = subprocess.run(["ps", "-o", "pid=", "-p", str(now["pid"])], capture_output=True, text=True, check=False)
    assert leftover.stdout.strip() == "", "the worker outlived `up`"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie left for its new parent to reap is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_neither_a_worker_nor_the_embedded_broker_outlives_up_even_killed_with_sigkill(
    stack: subprocess.Popen[str], environment: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{environment['LINEAGE_API_PORT']}"
    worker = orjson.loads(_get(f"{url}/healthz"))["roles"]["collect-1"]["pid"]
    broker_port = int(environment["LINEAGE_LOCAL_BROKER_PORT"])
    assert _running(worker)
    assert port_open("127.0.0.1", broker_port)
    try:
        stack.kill()  # SIGKILL: `up` stops nothing itself
        stack.wait(timeout=30)
        # The broker goes with `up` at once; the worker, orphaned and without a broker, stops at once too (it used
        # to wait out its whole stop timeout, 30 s, for a broker that could never answer).
        deadline = time.monotonic() + 20
        while _running(worker) or port_open("127.0.0.1", broker_port):
            assert time.monotonic() < deadline, (
                "the collect worker outlived `up`" if _running(worker) else "the embedded broker outlived `up`"
            )
            time.sleep(0.2)
    finally:
        # Whatever the outcome, no broker of this test keeps its port.
        subprocess.run(["pkill", "-f", f"tcp://127.0.0.1:{broker_port}"], check=False)


def test_replay_exits_non_zero_when_events_are_not_accounted_for(tmp_path: Path, environment: dict[str, str]) -> None:
    from services.broker.local import LocalBroker

    with LocalBroker(int(environment["LINEAGE_LOCAL_BROKER_PORT"])):
        # A broker but no pipeline: nothing will ever account for the event.
        replay_file = tmp_path / "replay.jsonl"
        replay_file.write_bytes(b'{"kind": "terminal", "event_id": "6a1d7c3e-6a0b-4f51-9d0e-3b1f5e8a9c11"}\n')
        result = _cli("replay", str(replay_file), "--format", "json", "--timeout", "2", cwd=tmp_path, env=environment)
    assert result.returncode == 1
    assert orjson.loads(result.stdout)["unaccounted"] == 1
