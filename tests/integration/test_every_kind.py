"""Every collection kind through the real pipeline: allowed fields arrive, excluded content goes nowhere."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from pathlib import Path

import orjson
import pytest
from prometheus_client import generate_latest

from schemas.events import CollectionKind
from services.emitter.client import Emitter
from services.replay import account, produce_lines
from services.settings import Settings
from tests.integration.harness import PipelineHarness
from tests.integration.test_pipeline import read_all

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
EMAIL_BODY = "お疲れ様です。来週の残業申請の件、承認をお願いします。"
CHAT_TEXT = "Let's move the standup to 10am, ok?"
ATTACHMENT = base64.b64encode("給与明細 2023年5月 — confidential salary slip".encode()).decode()
PASSWORD = "hunter2-Passw0rd!"
SECRETS = [EMAIL_BODY, CHAT_TEXT, ATTACHMENT, PASSWORD, "給与明細", "残業申請の件", "Re: 承認依頼"]

# What each kind smuggles in, and the evidence it must leave: (extra payload fields, {path: reason}).
SMUGGLED: dict[str, tuple[dict[str, object], dict[str, str]]] = {
    "user_profile": ({"password": PASSWORD}, {"payload.password": "not_allowed"}),
    "terminal": ({"os": "Windows 11"}, {"payload.os": "not_allowed"}),
    "access_log": ({"email_subject": "Re: 承認依頼"}, {"payload.email_subject": "excluded_content"}),
    "cookie": ({"chat": {"messages": [{"text": CHAT_TEXT}]}}, {"payload.chat": "excluded_content"}),
    "allied": (
        {"message": {"subject": "Re: 承認依頼", "body": EMAIL_BODY}, "本文": EMAIL_BODY, "attachment": ATTACHMENT},
        {
            "payload.message": "excluded_content",
            "payload.?": "excluded_content",
            "payload.attachment": "excluded_content",
        },
    ),
    "transmission": ({"memo": ATTACHMENT}, {"payload.memo": "excluded_content"}),
}


def _events() -> list[bytes]:
    lines = []
    for kind in CollectionKind:
        document = orjson.loads((EXAMPLES / f"{kind.value}.json").read_bytes())
        document["event_id"] = str(uuid.uuid4())
        document["payload"].update(SMUGGLED[kind.value][0])
        lines.append(orjson.dumps(document))
    return lines


@pytest.mark.usefixtures("pipeline")
def test_every_kind_keeps_its_allowed_fields_and_evidences_every_removal(
    pipeline: PipelineHarness, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # kafka-python logs record contents at DEBUG; here it is the test's stand-in for an attendance service,
    # upstream of ingest (the README says to keep that logger at INFO). Everything of the pipeline is at DEBUG.
    caplog.set_level(logging.INFO, logger="kafka")
    file = tmp_path / "kinds.jsonl"
    file.write_bytes(b"\n".join(_events()))
    with (
        Emitter(settings.bootstrap, source_service="test", topics=pipeline.pipeline.topics) as emitter,
        file.open("rb") as handle,
    ):
        produced = produce_lines(emitter, handle, CollectionKind.ACCESS_LOG)
    report = account(pipeline, produced, timeout_s=90)
    assert (report.in_lineage, report.dead_lettered, report.unaccounted) == (len(CollectionKind), 0, [])

    rows = pipeline.query(
        "SELECT kind, fields_kept, data_items, removed_paths, removed_reasons FROM collection_lineage FINAL"
    ).rows
    by_kind = {row[0]: row for row in rows}
    assert set(by_kind) == {k.value for k in CollectionKind}
    for kind in CollectionKind:
        example = orjson.loads((EXAMPLES / f"{kind.value}.json").read_bytes())["payload"]
        _, fields_kept, data_items, removed_paths, removed_reasons = by_kind[kind.value]
        assert set(fields_kept) == set(example), kind
        assert data_items, kind
        assert dict(zip(removed_paths, removed_reasons, strict=True)) == SMUGGLED[kind.value][1], kind

    stored: list[str] = []
    for (table,) in pipeline.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows:
        stored.extend(str(row) for row in pipeline.query(f"SELECT * FROM {table}").rows)
    topics = pipeline.pipeline.topics
    published = asyncio.run(read_all(settings.bootstrap, [*topics.all_tagged, topics.dead_letter]))
    logged = caplog.text
    metrics = generate_latest(pipeline.pipeline.metrics.registry).decode()

    assert stored
    assert published
    for secret in SECRETS:
        assert not any(secret in text for text in stored), f"in ClickHouse: {secret[:12]}…"
        assert not any(secret.encode() in blob for blob in published), f"on a topic after ingest: {secret[:12]}…"
        assert secret not in logged, f"in the logs: {secret[:12]}…"
        assert secret not in metrics, f"in the metrics: {secret[:12]}…"
