"""A parsed value is kept in its canonical spelling, never as sent (eighth red-team pass).

A time's fractional digits beyond the six the parser keeps, or an IPv6 address's spelling, carry bits the value
does not have: 500,000 digits of a second spelled a whole message, kept as sent in every time field of the
payload and shown in a dead letter's ``occurred_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args, get_origin

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.events import PAYLOAD_MODELS, CollectionKind, kept_canonical
from services.records import DeadLetterReason
from services.stages.collection import process_collection_batch
from tests.unit.stages.test_hostile_input import INGESTED_AT, allied, event_with, run

MESSAGE = "Subject: Pay cut for Sato. Body: your salary is cut by 20% from December."
DIGITS = "".join(f"{b:03d}" for b in MESSAGE.encode())


def _models(model: Any) -> list[type[BaseModel]]:
    """Every model a payload model is made of: its record types' and its nested objects' too."""
    found: list[type[BaseModel]] = []
    pending = [model]
    while pending:
        current = pending.pop()
        if get_origin(current) is not None or isinstance(current, tuple):
            pending.extend(get_args(current) if not isinstance(current, tuple) else current)
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or current in found:
            continue
        found.append(current)
        pending.extend(info.annotation for info in current.model_fields.values())
    return found


def _parsed_fields() -> list[tuple[str, str]]:
    fields = []
    for model in {m for payload in PAYLOAD_MODELS.values() for m in _models(payload)}:
        for name, info in model.model_fields.items():
            text = repr(info.annotation) + repr(info.metadata)
            if "datetime" in text.lower() or "_ip_address" in text:
                fields.append((model.__name__, name))
    return sorted(fields)


PARSED_FIELDS = _parsed_fields()


def test_the_contract_has_parsed_fields_to_check() -> None:
    assert len(PARSED_FIELDS) >= 6  # times of every kind, the access log's address


@pytest.mark.parametrize(("model_name", "field"), PARSED_FIELDS)
def test_every_parsed_field_of_the_contract_is_kept_canonical(model_name: str, field: str) -> None:
    """A time or an address added to the contract without the marker would be kept as sent: refused here."""
    models = {m.__name__: m for payload in PAYLOAD_MODELS.values() for m in _models(payload)}
    assert kept_canonical(models[model_name].model_fields[field]) is not None


TIME_FIELDS = [
    (CollectionKind.ACCESS_LOG, None, "requested_at"),
    (CollectionKind.COOKIE, None, "first_seen_at"),
    (CollectionKind.ALLIED, "email_transmission", "occurred_at"),
    (CollectionKind.ALLIED, "scheduler_entry", "ends_at"),
]


def _payload(make_event, kind: CollectionKind, record_type: str | None) -> dict[str, Any]:
    if record_type is not None:
        return allied(record_type)
    return dict(make_event(kind)["payload"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(TIME_FIELDS), digits=st.text("0123456789", min_size=7, max_size=3000))
def test_a_time_with_any_number_of_fractional_digits_is_kept_as_the_instant_read(
    make_event, context, where, digits
) -> None:
    kind, record_type, field = where
    payload = _payload(make_event, kind, record_type)
    payload[field] = f"2026-11-27T09:00:03.{digits}+09:00"
    event = event_with(make_event, kind, payload)

    (record,) = run(context, orjson.dumps(event), kind=kind).ok

    kept = record.payload[field]
    assert kept == datetime.fromisoformat(f"2026-11-27T09:00:03.{digits[:6]}+09:00").isoformat()
    assert len(kept) <= 32


def test_a_time_with_six_digits_or_fewer_is_kept_as_sent(make_event, context) -> None:
    payload = _payload(make_event, CollectionKind.COOKIE, None)
    for spelled in ("2026-11-27T09:00:03.123456+09:00", "2026-11-27T09:00:03Z", "2026-11-27 09:00:03.5-05:00"):
        payload["first_seen_at"] = spelled
        (record,) = run(
            context,
            orjson.dumps(event_with(make_event, CollectionKind.COOKIE, payload)),
            kind=CollectionKind.COOKIE,
        ).ok
        assert record.payload["first_seen_at"] == spelled


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
        ("192.0.2.10", "192.0.2.10"),
    ],
)
def test_an_ip_address_is_kept_in_its_canonical_text(make_event, context, sent, kept) -> None:
    payload = _payload(make_event, CollectionKind.ACCESS_LOG, None)
    payload["ip_address"] = sent
    event = event_with(make_event, CollectionKind.ACCESS_LOG, payload)

    (record,) = run(context, orjson.dumps(event), kind=CollectionKind.ACCESS_LOG).ok

    assert record.payload["ip_address"] == kept


def test_a_refused_events_time_is_shown_as_the_instant_never_its_spelling(make_event, make_record, context) -> None:
    event = make_event(CollectionKind.COOKIE, kind_version=7, occurred_at=f"2026-11-27T09:00:03.{DIGITS[:80]}+09:00")

    (letter,) = process_collection_batch([make_record(event)], context, INGESTED_AT).dead

    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert letter.redacted is not None
    assert letter.redacted["occurred_at"] == f"2026-11-27T09:00:03.{DIGITS[:6]}+09:00"


@pytest.mark.parametrize(
    "spelled",
    [
        "1234-05-06T07:08:09.101112+23:59:59.999999",  # any year, an offset with seconds and microseconds
        "2026-11-27T09:00:03+09:00:30",
        "2026-11-27T09:00:03",  # no offset
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59-05:00",  # year 10000 in UTC
    ],
)
def test_a_refused_events_time_is_shown_only_as_a_time_the_contract_holds(
    make_event, make_record, context, spelled
) -> None:
    """Fifteenth red-team pass: a refused event's time was shown as any instant Python reads, ~95 bits of it."""
    event = make_event(CollectionKind.COOKIE, kind_version=7, occurred_at=spelled)

    (letter,) = process_collection_batch([make_record(event)], context, INGESTED_AT).dead

    assert letter.redacted is not None
    assert "occurred_at" not in letter.redacted


@pytest.mark.parametrize("version", ["Subject:Pay+cut+for+Sato+from+next+month", "1", "v2"])
def test_a_refused_events_kind_version_is_shown_only_as_an_int(make_event, make_record, context, version) -> None:
    """Seventeenth red-team pass: a kind_version sent as text was shown as it was, 128 characters of it."""
    event = make_event(CollectionKind.COOKIE, kind_version=version)

    (letter,) = process_collection_batch([make_record(event)], context, INGESTED_AT).dead

    assert letter.redacted is not None
    assert "kind_version" not in letter.redacted
    assert "Subject" not in orjson.dumps(letter.redacted).decode()


@pytest.mark.parametrize(
    "address",
    [
        "150:6179:2063:7574:2066:6f72:2053:6174",  # one control byte, then 15 bytes of text
        "2001:db8:5061:7920:6375:7420:5361:746f",  # a real prefix, then 12 bytes of text
        "fe80:5061:7920:6375:7420:5361:746f:2121",
    ],
)
def test_an_ipv6_address_with_twelve_bytes_of_text_in_a_row_is_refused(make_event, context, address) -> None:
    """Ninth red-team pass: only an address whose 16 bytes were all text was refused."""
    payload = _payload(make_event, CollectionKind.ACCESS_LOG, None)
    payload["ip_address"] = address

    (letter,) = run(context, orjson.dumps(event_with(make_event, CollectionKind.ACCESS_LOG, payload))).dead

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID


def _address(data: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(data[:16].ljust(16, b"\x00")))


@pytest.mark.parametrize(
    "data",
    [
        "給与明細の件です".encode("cp932"),
        "残業代未払いの件".encode("euc_jp"),
        "給与削減の件です".encode("utf-16-le"),
        "退職勧奨について".encode("utf-16-be"),
        "給与削減".encode("iso2022_jp"),
        b"\x20\x01\x0d\xb8" + "給与削減".encode(),  # UTF-8 after a real prefix
        b"\x20\x01\x0d\xb8" + "給与明細の件".encode("cp932"),
        b"Subject: pa\x01y cu",  # a control byte between the letters
        b"Pay cut for\x00Sat\x00",
        # Sixteenth pass: ASCII in UTF-16, full-width digits and Japanese punctuation, behind a /48, with digits.
        "Pay cut!".encode("utf-16-be"),
        "給与を１０％減額".encode("cp932"),
        "給与、減額の件で".encode("cp932"),
        b"\x24\x00\x40\x50\x12\x34" + "減額の通知".encode("cp932"),
        b"\x24\x00\x40\x50\x12\x34" + "減額の通知".encode("utf-16-be"),
        b"pay cut 10%\x01sato",
    ],
)
def test_an_ipv6_address_whose_bytes_are_japanese_or_letters_is_refused(make_event, context, data) -> None:
    """Fifteenth red-team pass: Shift_JIS, EUC-JP, UTF-16 (8 kanji), ISO-2022-JP, UTF-8 after a prefix, and
    letters split by control bytes were kept as addresses."""
    payload = _payload(make_event, CollectionKind.ACCESS_LOG, None)
    payload["ip_address"] = _address(data)

    (letter,) = run(context, orjson.dumps(event_with(make_event, CollectionKind.ACCESS_LOG, payload))).dead

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID


def test_ordinary_ipv6_addresses_are_accepted(make_event, context) -> None:
    import random

    draw = random.Random(11)
    for prefix in ("2001:db8:85a3:8d3", "2404:6800:4004:81c", "2a00:1450:4001:82a", "fe80:0:0:0"):
        for _ in range(500):
            suffix = ":".join(f"{draw.getrandbits(16):x}" for _ in range(4))
            payload = _payload(make_event, CollectionKind.ACCESS_LOG, None)
            payload["ip_address"] = f"{prefix}:{suffix}"
            event = event_with(make_event, CollectionKind.ACCESS_LOG, payload)
            assert run(context, orjson.dumps(event), kind=CollectionKind.ACCESS_LOG).ok


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("090-1234-5678", "09012345678"),
        ("+81 (90) 1234 5678", "+819012345678"),
        ("0-0 0--0  (0)0 0-- 0((0))", "000000000"),
    ],
)
def test_a_telephone_number_is_kept_as_its_digits(make_event, context, sent, kept) -> None:
    """Ninth red-team pass: separators chose bits."""
    payload = dict(make_event(CollectionKind.USER_PROFILE)["payload"])
    payload["telephone_number"] = sent
    event = event_with(make_event, CollectionKind.USER_PROFILE, payload)

    (record,) = run(context, orjson.dumps(event), kind=CollectionKind.USER_PROFILE).ok

    assert record.payload["telephone_number"] == kept


def test_a_telephone_number_of_more_than_fifteen_digits_is_refused(make_event, context) -> None:
    payload = dict(make_event(CollectionKind.USER_PROFILE)["payload"])
    payload["telephone_number"] = "+24876638594017224177922176111"
    event = event_with(make_event, CollectionKind.USER_PROFILE, payload)

    (letter,) = run(context, orjson.dumps(event), kind=CollectionKind.USER_PROFILE).dead

    assert letter.reason is DeadLetterReason.SCHEMA_INVALID


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("\uff10\uff18\uff10\uff0d\uff19\uff13\uff15\uff11\uff0d\uff16\uff13\uff19\uff19", "08093516399"),
        ("(06)8629-8402", "0686298402"),
        ("\uff0806\uff098629-8402", "0686298402"),
        ("090.8426.8657", "09084268657"),
        ("03-1234-5678 \u5185\u7dda324", "0312345678;ext=324"),
        ("03-1234-5678 ext. 590", "0312345678;ext=590"),
    ],
)
def test_a_telephone_number_as_people_type_it_is_accepted_and_kept_as_digits(make_event, context, sent, kept) -> None:
    """Eleventh red-team pass: full-width digits, a bracketed area code first, dots and extensions refused the
    whole event (its name, department and times with it)."""
    payload = dict(make_event(CollectionKind.USER_PROFILE)["payload"])
    payload["telephone_number"] = sent
    event = event_with(make_event, CollectionKind.USER_PROFILE, payload)

    (record,) = run(context, orjson.dumps(event), kind=CollectionKind.USER_PROFILE).ok

    assert record.payload["telephone_number"] == kept


@pytest.mark.parametrize("login", ["suzuki+kintai@example.jp", "t.sato+attendance@corp.example.co.jp", "a+b"])
def test_a_login_id_with_a_plus_is_accepted_and_kept(make_event, context, login) -> None:
    """Eleventh red-team pass: a tagged mail address as a login id refused the whole user_profile event."""
    payload = dict(make_event(CollectionKind.USER_PROFILE)["payload"])
    payload["login_id"] = login
    event = event_with(make_event, CollectionKind.USER_PROFILE, payload)

    (record,) = run(context, orjson.dumps(event), kind=CollectionKind.USER_PROFILE).ok

    assert record.payload["login_id"] == login


def _with_login(make_event, login: str) -> dict[str, Any]:
    payload = dict(make_event(CollectionKind.USER_PROFILE)["payload"])
    payload["login_id"] = login
    return event_with(make_event, CollectionKind.USER_PROFILE, payload)


@pytest.mark.parametrize("login", ["CORP\\sato", "kobe-logistics.local\\t.suzuki", "AD01\\hr-admin_2"])
def test_a_windows_logon_name_is_accepted_and_kept(make_event, context, login) -> None:
    """A domain, one backslash, a user: the whole user_profile event was refused (eleventh pass, left then)."""
    (record,) = run(context, orjson.dumps(_with_login(make_event, login)), kind=CollectionKind.USER_PROFILE).ok

    assert record.payload["login_id"] == login


@pytest.mark.parametrize(
    "login",
    [
        "\\x53\\x75\\x62\\x6a\\x65\\x63\\x74",  # escaped text: a backslash a byte
        "CORP\\\\sato",  # two in a row
        "CORP\\sato\\x",  # two domains
        "\\sato",  # no domain
        "CORP\\",  # no user
        "CORP\\U3ViamVjdDogcGF5IGN1dCBuZXh0IG1vbnRo",  # base64 of text after the domain: "Subject: pay cut next month"
    ],
)
def test_a_backslash_carries_nothing_but_one_domain(make_event, context, login) -> None:
    result = run(context, orjson.dumps(_with_login(make_event, login)), kind=CollectionKind.USER_PROFILE)

    assert result.ok == []
    assert [letter.reason for letter in result.dead] == [DeadLetterReason.SCHEMA_INVALID]
