"""The dashboard page in real headless Chromium, against a running pipeline with demo data.

The page must draw what the store holds: the test counts in ClickHouse itself, loads the page, and reads the
figures each section reports once drawn (``data-count`` / ``data-total``). The screenshot is kept in
``test-artifacts/dashboard.png`` for a person to look at.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import uvicorn

from services.api.app import create_api
from services.demo.simulator import demo_stream
from services.emitter.client import Emitter
from services.settings import Settings
from tests.integration.harness import PipelineHarness

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_EVENTS = 800
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--no-first-run", "--hide-scrollbars", "--window-size=1400,2000", "--virtual-time-budget=20000",
]  # fmt: skip


class Figures(HTMLParser):
    """The attributes of every element with an id, from the DOM Chromium dumps after the page's scripts ran."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.body = attributes
        if attributes.get("id"):
            self.by_id[str(attributes["id"])] = attributes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make system-deps` installs the Debian package"
    return found


def _wait_until_settled(pipeline: PipelineHarness) -> None:
    """Until the store's counts stop changing: every demo event has been processed."""
    sql = (
        "SELECT (SELECT count() FROM collection_lineage), (SELECT count() FROM activity_decisions), "
        "(SELECT count() FROM dead_letters)"
    )
    previous: list[object] = []
    steady = 0
    deadline = time.monotonic() + 120
    while steady < 4 and time.monotonic() < deadline:
        time.sleep(1)
        current = pipeline.query(sql).rows[0]
        steady = steady + 1 if current == previous and current[0] else 0
        previous = current
    assert steady >= 4, "the demo events never finished processing"


def _count(pipeline: PipelineHarness, sql: str) -> int:
    return int(pipeline.query(sql).rows[0][0])


@pytest.mark.timeout(300)
def test_the_dashboard_draws_the_numbers_the_store_holds(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path
) -> None:
    topics = pipeline.pipeline.topics
    with Emitter(settings.bootstrap, source_service="demo", topics=topics) as emitter:
        for event in itertools.islice(demo_stream(seed=11, employees=40), DEMO_EVENTS):
            emitter.emit_for_subject(event.topic(topics), event.value, *event.subject)
    _wait_until_settled(pipeline)

    running = pipeline.pipeline
    assert running.store is not None
    api = create_api(running.store, running.metrics, None, running.keyring, running.context.engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = pipeline.submit(server.serve())
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.1)
        until = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        time.sleep(1.5)  # the window ends in the past: nothing more can enter it
        url = f"http://127.0.0.1:{port}/?until={until}"
        profile = ["--user-data-dir=" + str(tmp_path / "profile")]
        dom = subprocess.run(
            [_chromium(), *CHROMIUM_FLAGS, *profile, "--dump-dom", url],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
        ARTIFACTS.mkdir(exist_ok=True)
        screenshot = ARTIFACTS / "dashboard.png"
        screenshot.unlink(missing_ok=True)
        subprocess.run(
            [_chromium(), *CHROMIUM_FLAGS, *profile, f"--screenshot={screenshot}", url],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        server.should_exit = True
        serving.result(timeout=30)

    page = Figures()
    page.feed(dom)
    assert page.body.get("data-state") == "ready", "the page never loaded its data"

    def shown(element: str, attribute: str) -> int:
        value = page.by_id[element].get(attribute)
        assert value is not None, f"#{element} has no {attribute}: it was not drawn"
        return int(value)

    collections = _count(pipeline, "SELECT uniqExact(event_id) FROM collection_lineage FINAL")
    uses = _count(pipeline, "SELECT count() FROM activity_decisions FINAL WHERE activity = 'use'")
    disclosures = _count(pipeline, "SELECT count() FROM activity_decisions FINAL WHERE activity = 'disclosure'")
    denied = _count(pipeline, "SELECT count() FROM activity_decisions FINAL WHERE NOT allowed")
    violations = _count(pipeline, "SELECT count() FROM violations FINAL")
    dead_letters = _count(pipeline, "SELECT count() FROM dead_letters FINAL")
    category_uses = _count(
        pipeline,
        "SELECT sum(length(arrayDistinct(arrayMap(r -> splitByChar('.', r)[1], data)))) FROM activity_decisions FINAL",
    )
    assert min(collections, uses, disclosures, violations, dead_letters) > 0, "the demo data should have them all"

    assert shown("count-collections", "data-count") == collections
    assert shown("count-uses", "data-count") == uses
    assert shown("count-disclosures", "data-count") == disclosures
    assert shown("count-denied", "data-count") == denied
    assert shown("count-violations", "data-count") == violations
    assert shown("count-dead_letters", "data-count") == dead_letters
    assert shown("flows", "data-total") == uses + disclosures
    assert shown("matrix", "data-total") == category_uses
    assert shown("timeline", "data-total") == violations
    assert shown("dead-letters", "data-total") == dead_letters
    for chart in ("flows-chart", "timeline-chart", "dead-letters-chart"):
        assert chart in page.by_id
    assert screenshot.stat().st_size > 50_000, "the screenshot should show a drawn dashboard, not a blank page"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
