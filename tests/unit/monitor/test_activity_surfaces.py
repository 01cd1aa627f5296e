"""What the monitor writes of an activity event: values the contract admits, times a store can keep.

Every surface the monitor fills — the violations topic's Kafka keys and alert documents, the alerts, violations,
activity_decisions, provision_records and monitor_state rows, violation messages and dead letters — gets no
hostile value of a term, a reference or a recipient's name or address: the event is refused, and its dead letter
names the rule, never the value — or, for a record's text the contract admits but the detectors do not, the text
is withheld and the disclosure decided with an incomplete record. Legitimate values (policy terms, registry ids,
Japanese company names and addresses) are decided and recorded as they are. An event dated more than the clock
skew after it was received is refused, so a batch's times span at most the months since 1970: no insert can
exceed the store's partitions.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.monitor.alerts import AlertAggregator
from services.monitor.evaluate import MonitorResult, monitor_batch
from services.monitor.rows import activity_rows, alert_rows, provision_rows, state_rows, violation_rows
from services.policy.decide import Decider
from services.pseudonymize import PseudonymKey
from services.quarantine import QuarantineKey
from services.records import DeadLetterReason, SourceRecord
from services.stages.allowlist import markers_of, record_text_refusal
from services.stages.messages import encode_dead_letter
from tests.unit.schemas.activity_values import (
    MAIL_SUBJECT,
    RECORD_TEXT_FIELDS,
    REFERENCE_FIELDS,
    TERM_FIELDS,
    base_event,
    hostile_names,
    hostile_record_texts,
    japanese_addresses,
    japanese_names,
    mail_texts,
    put,
    references,
    terms,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
SKEW = timedelta(days=1)
QUARANTINE = QuarantineKey(bytes(range(32)))
NAME_PLACES = [
    (spec, path) for fields in (TERM_FIELDS, REFERENCE_FIELDS) for spec, paths in fields.items() for path in paths
]
RECORD_PLACES = [("rakuro.disclosure/v1", path) for path in RECORD_TEXT_FIELDS]
_SEPARATOR = " ¦ "  # between cells: no character a hostile value is made of alone


def _run(decider: Decider, key: PseudonymKey, *documents: dict[str, Any], **options: Any) -> MonitorResult:
    batch = [SourceRecord("t.activity.v1", 0, offset, orjson.dumps(d)) for offset, d in enumerate(documents)]
    return monitor_batch(batch, {}, {}, decider, key, **{"now": NOW, **options})


def _cells(rows: list[tuple[Any, ...]]) -> str:
    return _SEPARATOR.join(
        _SEPARATOR.join(map(str, cell)) if isinstance(cell, list) else str(cell) for row in rows for cell in row
    )


def surfaces(result: MonitorResult, declared: frozenset[str] = frozenset()) -> dict[str, str]:
    """Everything the monitor writes of ``result``, as text, by where it goes (``declared``: the policy's data
    references, kept as they are in a decision's row)."""
    alerts = AlertAggregator(WINDOW).add(result.evaluated, NOW)
    dead = [encode_dead_letter(letter, "t.dlq.v1", QUARANTINE) for letter in result.dead]
    return {
        "violations topic Kafka keys": _SEPARATOR.join(a.key.message_key().decode() for a in alerts),
        "alert documents": _SEPARATOR.join(a.document().decode() for a in alerts),
        "alerts rows": _cells(alert_rows(alerts)),
        "violations rows": _cells(violation_rows(result.evaluated, NOW)),
        "activity_decisions rows": _cells(activity_rows(result.evaluated, NOW, declared)),
        "provision_records rows": _cells(provision_rows(result.evaluated, NOW)),
        "monitor_state rows": _cells(state_rows(result.changes, NOW)),
        "violation messages": _SEPARATOR.join(v.message for e in result.evaluated for v in e.decision.violations),
        "dead letter headers": _SEPARATOR.join(v.decode() for m in dead for _, v in m.headers),
        "dead letter keys and values": _SEPARATOR.join((m.key or b"").decode() + m.value.decode() for m in dead),
    }


def _consented(disclosure: dict[str, Any]) -> list[dict[str, Any]]:
    """The disclosure after the consent it names (so that it is a provision with a record)."""
    return [put(base_event("rakuro.consent/v1"), ("occurred_at",), "2026-11-01T09:00:00+09:00"), disclosure]


# Hostile values: refused, never echoed ----------------------------------------------------------------------------


@PROPERTY
@given(st.sampled_from(NAME_PLACES), hostile_names)
def test_a_hostile_term_or_reference_is_refused_and_reaches_no_surface(decider, key, place, value) -> None:
    spec, path = place
    documents = _consented(put(base_event(spec), path, value)) if spec == "rakuro.disclosure/v1" else []
    documents = documents or [put(base_event(spec), path, value)]

    result = _run(decider, key, *documents)

    assert [letter.source.offset for letter in result.dead] == [len(documents) - 1]
    assert result.dead[0].reason is DeadLetterReason.SCHEMA_INVALID
    for surface, text in surfaces(result).items():
        assert value not in text, surface


@PROPERTY
@given(st.sampled_from(RECORD_PLACES), st.one_of(hostile_record_texts, mail_texts))
def test_a_recipients_name_or_address_holding_no_name_is_never_recorded(decider, key, place, value):
    """Refused by the contract (a dead letter), or withheld by the monitor (an incomplete record, decided)."""
    _, path = place

    result = _run(decider, key, *_consented(put(base_event("rakuro.disclosure/v1"), path, value)))

    refused = [letter.source.offset for letter in result.dead] == [1]
    assert refused or _withheld_field(result) == path[0]
    assert provision_rows(result.evaluated, NOW) == []
    for surface, text in surfaces(result).items():
        assert value not in text, surface


def _withheld_field(result: MonitorResult) -> str:
    """The one record text ``result``'s disclosure withheld, checked to have left its record incomplete."""
    assert result.dead == []
    disclosure = result.evaluated[-1]
    assert not disclosure.decision.allowed
    (violation,) = [v for v in disclosure.decision.violations if v.code == "provision_record_incomplete"]
    (field,) = [
        name for name in RECORD_TEXT_FIELDS if f"{name[0]} (withheld: not a name or address)" in violation.message
    ]
    assert getattr(disclosure.event, field[0]) is None
    return field[0]


@pytest.mark.parametrize("path", RECORD_TEXT_FIELDS)
def test_encoded_content_in_a_record_is_withheld_by_the_detectors_naming_the_field(decider, key, path) -> None:
    value = "株式会社なにわ " + base64.b64encode(MAIL_SUBJECT.encode()).decode()

    result = _run(decider, key, *_consented(put(base_event("rakuro.disclosure/v1"), path, value)))

    assert _withheld_field(result) == path[0]
    for surface, text in surfaces(result).items():
        assert value not in text, surface


@pytest.mark.parametrize("path", RECORD_TEXT_FIELDS)
@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("Re: 給与削減の件について", "a reply prefix"),
        ("Fwd: 残業申請について", "a reply prefix"),
        ("転送: 明日の会議について", "a reply prefix"),
        ("/chat/send?text=明日の会議は中止です。資料は来週送ります", "a message after a marked key"),
        ('event=message_posted text="明日の会議は中止です よろしくお願いします"', "a message after a marked key"),
        ("大阪府大阪市北区梅田1-2-3 6214-9832-0257", "a personal number"),
        ("株式会社なにわ 621498320257", "a personal number"),
    ],
)
def test_a_record_text_is_judged_as_a_kept_collection_field_is(decider, key, path, value, refusal) -> None:
    """Fifteenth red-team pass: the monitor ran the detectors alone on a record's text, so one reply prefix, a
    message after a marked key, a My Number or a mobile number were recorded in provision records that are
    handed out, while the same values are removed from a collection field. Sixteenth: refusing the disclosure for
    it lost the disclosure's decision and its alert; the text is withheld and the record left incomplete."""
    assert record_text_refusal(value, markers_of(decider.engine)) == refusal

    result = _run(decider, key, *_consented(put(base_event("rakuro.disclosure/v1"), path, value)))

    assert _withheld_field(result) == path[0]
    assert provision_rows(result.evaluated, NOW) == []


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("Re:ワーク合同会社", "兵庫県神戸市中央区港島1-2-3 TEL 078-123-4567 FAX 078-123-4568"),
        ("Re: Create株式会社", "大阪府大阪市北区梅田1-2-3 0120-123-456 代表取締役 高橋 健一"),
        ("RE/MAX Japan K.K.", "東京都千代田区丸の内1-1-1 +81-3-1234-5678"),
        ("株式会社なにわ福利厚生", "〒530-0001 大阪府大阪市北区梅田1-2-3 (06) 6123-4567 代表 佐藤 花子 090-1234-5678"),
    ],
)
def test_a_companys_name_and_address_block_are_recorded_as_sent(decider, key, name, address) -> None:
    """Sixteenth red-team pass: any telephone number in an address block (the office's, a fax, a free dial) and a
    company named "Re:…" refused the whole disclosure, so its Art. 4.2 record and its decision were lost."""
    _assert_recorded_as_sent(decider, key, name, address)


def _assert_recorded_as_sent(decider: Decider, key: PseudonymKey, name: str, address: str) -> None:
    disclosure = base_event("rakuro.disclosure/v1") | {
        "content_types": [],
        "recipient_name": name,
        "recipient_address_or_representative": address,
    }

    result = _run(decider, key, *_consented(disclosure))

    assert result.dead == []
    (row,) = provision_rows(result.evaluated, NOW)
    assert (row[6], row[7]) == (name, address)


# Legitimate values: decided and recorded as they are --------------------------------------------------------------


@PROPERTY
@given(st.sampled_from([(spec, path) for spec, paths in TERM_FIELDS.items() for path in paths]), terms)
def test_terms_of_the_policys_shape_are_decided(decider, key, place, value) -> None:
    spec, path = place

    result = _run(decider, key, put(base_event(spec), path, value))

    assert result.dead == []


@PROPERTY
@given(st.sampled_from([(spec, path) for spec, paths in REFERENCE_FIELDS.items() for path in paths]), references)
def test_registry_ids_and_references_are_decided(decider, key, place, value) -> None:
    spec, path = place

    result = _run(decider, key, put(base_event(spec), path, value))

    assert result.dead == []


@PROPERTY
@given(japanese_names, japanese_addresses)
def test_japanese_names_and_addresses_are_recorded_as_they_are(decider, key, name, address) -> None:
    _assert_recorded_as_sent(decider, key, name, address)


# Alert keys -----------------------------------------------------------------------------------------------------


@PROPERTY
@given(st.sampled_from(["rakuro.use/v1", "rakuro.disclosure/v1"]), terms, references)
def test_an_alerts_kafka_key_is_a_digest_of_its_group_and_names_no_value(decider, key, spec, purpose, actor) -> None:
    document = base_event(spec) | {"purpose": purpose, "source_service": actor}

    other_subject = document | {"subject": {"type": "analyzed_account_holder", "id": "emp-00043"}}

    first = AlertAggregator(WINDOW).add(_run(decider, key, document).evaluated, NOW)
    again = AlertAggregator(WINDOW).add(_run(decider, key, other_subject).evaluated, NOW)

    assert first, "the base events break a rule (excluded content): there is an alert"
    for alert in first:
        message_key = alert.key.message_key()
        assert re.fullmatch(rb"[0-9a-f]{32}", message_key)
        assert b"kobe-logistics" not in message_key
    by_code = {alert.key.code: alert.key.message_key() for alert in again}
    assert all(by_code[alert.key.code] == alert.key.message_key() for alert in first)


# Times ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["rakuro.use/v1", "rakuro.disclosure/v1", "rakuro.consent/v1", "rakuro.rights/v1"])
def test_an_event_more_than_the_clock_skew_after_it_was_received_is_refused(decider, key, spec) -> None:
    later = put(base_event(spec), ("occurred_at",), (NOW + SKEW + timedelta(seconds=1)).isoformat())
    soon = put(base_event(spec), ("occurred_at",), (NOW + SKEW - timedelta(seconds=1)).isoformat())

    result = _run(decider, key, later, soon)

    (letter,) = result.dead
    assert (letter.source.offset, letter.reason) == (0, DeadLetterReason.OCCURRED_IN_FUTURE)
    assert letter.message == "occurred_at is more than 86400 s after the event was received"
    assert len(result.evaluated) + len(result.changes) == 1


def test_the_skew_is_counted_from_the_brokers_timestamp_but_never_past_now(decider, key) -> None:
    hour_ago = NOW - timedelta(hours=1)
    event = put(base_event("rakuro.use/v1"), ("occurred_at",), (NOW + SKEW - timedelta(minutes=30)).isoformat())
    received = int(hour_ago.timestamp() * 1000)
    producer_says = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp() * 1000)

    def run(timestamp_ms: int | None, **options: Any) -> MonitorResult:
        record = SourceRecord("t.activity.v1", 0, 0, orjson.dumps(event), timestamp_ms=timestamp_ms)
        return monitor_batch([record], {}, {}, decider, key, **{"now": NOW, **options})

    assert run(None).dead == []
    assert [d.reason for d in run(received).dead] == [DeadLetterReason.OCCURRED_IN_FUTURE]  # as on the first try
    assert [d.reason for d in run(received, now=NOW + SKEW).dead] == [DeadLetterReason.OCCURRED_IN_FUTURE]
    far = put(event, ("occurred_at",), "9998-12-31T00:00:00Z")
    record = SourceRecord("t.activity.v1", 0, 0, orjson.dumps(far), timestamp_ms=producer_says)
    assert [d.reason for d in monitor_batch([record], {}, {}, decider, key, now=NOW).dead] == [
        DeadLetterReason.OCCURRED_IN_FUTURE
    ]
    assert run(received, max_skew=timedelta(days=2)).dead == []


def test_a_batch_spread_over_centuries_keeps_within_the_months_a_store_insert_may_span(decider, key) -> None:
    months = [datetime(1900 + i // 12, i % 12 + 1, 15, tzinfo=UTC) for i in range(12 * 200)]  # 1900-2099
    documents = [put(base_event("rakuro.use/v1"), ("occurred_at",), m.isoformat()) for m in months]

    result = _run(decider, key, *documents)

    decided = {(e.event.occurred_at.year, e.event.occurred_at.month) for e in result.evaluated}
    assert min(decided) == (1970, 1)
    assert max(decided) == (2026, 11)  # the 15th of December is more than a day after NOW
    assert len(decided) < 1200  # max_partitions_per_insert_block: the tables are partitioned by month
    assert {d.reason for d in result.dead} == {DeadLetterReason.SCHEMA_INVALID, DeadLetterReason.OCCURRED_IN_FUTURE}


@pytest.mark.parametrize("spelled", ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z"])
def test_a_time_no_store_can_read_back_is_refused(decider, key, spelled) -> None:
    result = _run(decider, key, put(base_event("rakuro.use/v1"), ("occurred_at",), spelled))

    assert result.evaluated == []
    assert len(result.dead) == 1
