"""Values for the fields of activity events that are copied into alerts, rows, reports and records.

Hostile ones — what a careless or hostile service could put there — and legitimate ones, which must still pass:
the policy's own terms, registry ids, Japanese company names and addresses.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

import schemas
from schemas.policy import Policy
from services.policy.loader import load_policy

PERSON_EMAIL = "needle.person@example.com"
MAIL_SUBJECT = "Subject: NEEDLE-SUBJECT-7731 pay cut for Sato"

# Where each kind of value goes, as paths into an activity event (a list index 0 is the list's first entry).
TERM_FIELDS: dict[str, tuple[tuple[str | int, ...], ...]] = {
    "rakuro.use/v1": (("purpose",), ("content_types", 0), ("data", 0)),
    "rakuro.disclosure/v1": (("purpose",), ("content_types", 0), ("legal_basis",), ("data", 0)),
    "rakuro.consent/v1": (("purposes", 0),),
}
REFERENCE_FIELDS: dict[str, tuple[tuple[str | int, ...], ...]] = {
    "rakuro.use/v1": (("tenant_id",), ("source_service",)),
    "rakuro.disclosure/v1": (("tenant_id",), ("source_service",), ("recipient", "id"), ("consent_reference",)),
    "rakuro.consent/v1": (("tenant_id",), ("source_service",), ("consent_reference",), ("recipient_id",)),
    "rakuro.rights/v1": (("tenant_id",), ("source_service",)),
}
RECORD_TEXT_FIELDS: tuple[tuple[str | int, ...], ...] = (
    ("recipient_name",),
    ("recipient_address_or_representative",),
)


@cache
def policy() -> Policy:
    return load_policy(Path(schemas.__file__).parent / "policies" / "rakuro.yaml")


def base_event(spec: str) -> dict[str, object]:
    """A valid activity event of ``spec`` (a third-party provision with consent, for a disclosure)."""
    event: dict[str, object] = {
        "spec": spec,
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-27T10:00:00+09:00",
        "tenant_id": "kobe-logistics",
        "source_service": "benefits-export",
        "subject": {"type": "analyzed_account_holder", "id": "emp-00042"},
    }
    if spec == "rakuro.use/v1":
        event |= {"purpose": "service_provision", "data": ["cookie"], "content_types": ["email_body"]}
    elif spec == "rakuro.disclosure/v1":
        event |= {
            "purpose": "service_provision",
            "data": ["user_information.name"],
            "content_types": ["email_body"],
            "recipient": {"kind": "third_party", "id": "naniwa-benefits"},
            "legal_basis": "consent",
            "consent_reference": "cons-2023-000871",
            "recipient_name": "株式会社なにわ福利厚生",
            "recipient_address_or_representative": "大阪府大阪市北区梅田一丁目1番1号 代表取締役 高橋 健一",
        }
    elif spec == "rakuro.consent/v1":
        event |= {
            "action": "grant",
            "consent_reference": "cons-2023-000871",
            "recipient_id": "naniwa-benefits",
            "purposes": ["service_provision"],
        }
    else:
        event |= {"request": "suspension_of_use"}
    return event


def put(event: dict[str, object], path: tuple[str | int, ...], value: object) -> dict[str, object]:
    """A copy of ``event`` with ``value`` at ``path``."""
    copy: dict[str, Any] = {**event}
    target: Any = copy
    for step in path[:-1]:
        child = target[step]
        target[step] = child = [*child] if isinstance(child, list) else {**child}
        target = child
    target[path[-1]] = value
    return copy


# Hostile values ------------------------------------------------------------------------------------------------

_WORDS = ["pay", "cut", "for", "Sato", "salary", "review", "meeting", "tomorrow", "NEEDLE-SUBJECT-7731", "re", "hr"]
# At least 20 bytes: less is too short to tell from a random token (IDENTIFIER_TEXT_BYTES, the README's limits).
# Distinct words: a text that says the same word again and again is not told from a repeating token either.
mail_texts = (
    st.lists(st.sampled_from(_WORDS), min_size=3, max_size=8, unique=True)
    .map(lambda words: "Subject: " + " ".join(words))
    .filter(lambda text: len(text) >= 24)
)
"""A mail subject line, long enough that every encoding of it is told from a token."""


def _encodings(text: str) -> list[str]:
    data = text.encode()
    hexed = binascii.hexlify(data).decode()
    return [
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        hexed,
        hexed.upper(),
        "x-" + hexed,
        ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2)),
        base64.b32encode(data).decode().rstrip("="),
        base64.b32encode(data).decode().rstrip("=").lower(),
        urllib.parse.quote(text, safe=""),
    ]


encoded_texts = st.tuples(mail_texts, st.integers(0, 8)).map(lambda pair: _encodings(pair[0])[pair[1]])
"""A mail subject in base64, hex, base32 or percent-escapes, whole, after a prefix or in pieces."""

emails = st.one_of(
    st.just(PERSON_EMAIL),
    st.emails().filter(lambda address: len(address) <= 128),
    st.from_regex(r"[a-z]{2,12}\.[a-z]{2,12}[@＠﹫][a-z]{3,10}\.(jp|com|co\.jp)", fullmatch=True),
)
"""A person's e-mail address (and its full-width look-alikes)."""

_BREAKS = ["\n", "\r\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\u200b", "\u202e", "\ufeff"]
broken_texts = st.tuples(
    st.sampled_from(["service_provision", "naniwa-benefits", "株式会社なにわ"]),
    st.sampled_from(_BREAKS),
    st.sampled_from(["NEEDLE-SUBJECT-7731", PERSON_EMAIL.replace("@", " at "), "x"]),
).map("".join)
"""A value with a line break, a control, format or invisible character inside."""

huge_texts = st.integers(257, 5_000).flatmap(lambda n: st.sampled_from(["a" * n, "株" * n, ("pay-cut-" * n)[:n]]))
"""Longer than any of these fields allows."""

odd_unicode = st.one_of(
    st.just("ｓｅｒｖｉｃｅ＿ｐｒｏｖｉｓｉｏｎ"),  # full-width
    st.just("sеrvice_provision"),  # a Cyrillic 'е'
    st.just("service_provision\u0301"),  # a combining mark
    st.just("naniwa\U0001f600benefits"),
    st.text(st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp"]), min_size=1, max_size=10),
)
"""Look-alikes, marks, emoji and invisible characters: not a term's or a reference's characters."""

hostile_names = st.one_of(encoded_texts, emails, broken_texts, huge_texts, odd_unicode, mail_texts)
"""What no term or reference may be."""

hostile_record_texts = st.one_of(emails, broken_texts, huge_texts, encoded_texts.filter(lambda v: len(v) <= 256))
"""What no recipient's name or address may be (refused by the contract, or by the monitor's detectors)."""


# Legitimate values ---------------------------------------------------------------------------------------------


def policy_terms() -> list[str]:
    """Every term of the policy an activity event names: purposes, legal bases, content types, data subjects."""
    p = policy()
    return [*p.purposes, *p.legal_bases, *p.excluded_content.types, *p.data_subjects]


terms = st.one_of(
    st.sampled_from(policy_terms()),
    st.from_regex(r"[a-z][a-z0-9]{1,12}(_[a-z0-9]{1,10}){0,3}", fullmatch=True),
    st.sampled_from(["behavioural_advertising", "calendar_entry", "legitimate_interest", "visitor"]),
)
"""Terms in the policy's shape: its own, and undeclared ones (decided as violations, not refused)."""

references = st.one_of(
    st.sampled_from(
        [
            "payroll-co",
            "sakura-payroll",
            "google-analytics",
            "naniwa-benefits",
            "labour-standards-office",
            "1234567890123",  # a Japanese corporate number
            "JP.1234567890123",
            "ACME-KK",
            "cons-2023-000871",
            "consent:2026-11-27:0001",
            "benefits-export",
            "kobe-logistics",
        ]
    ),
    st.uuids().map(str),
    st.from_regex(r"cons-20[0-9]{2}-[0-9]{6}", fullmatch=True),
)
"""Registry ids, references and service names as they are."""

_PREFECTURES = ["東京都", "大阪府", "北海道", "兵庫県", "福岡県", "京都府"]
_PLACES = ["千代田区丸の内", "大阪市北区梅田", "札幌市中央区北一条西", "神戸市中央区港島", "福岡市博多区博多駅前"]
_BUILDINGS = ["", " グラントウキョウノースタワー", "　なにわビル5F", " Minato Bldg. 3F"]
_KANA = st.text(st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), min_size=2, max_size=8)
_KANJI = st.sampled_from(["福利厚生", "物流", "総合研究所", "食品", "労働基準監督署", "商事", "情報"])

japanese_names = st.one_of(
    st.tuples(st.sampled_from(["株式会社", "有限会社", ""]), st.one_of(_KANA, _KANJI), _KANJI).map("".join),
    st.tuples(st.one_of(_KANA, _KANJI), st.sampled_from(["株式会社", "合同会社", "労働組合"])).map("".join),
    st.sampled_from(
        ["株式会社なにわ福利厚生", "Sakura Payroll Services K.K.", "Kobe Logistics K.K.", "O'Brien & Sons Ltd."]
    ),
)
"""Company names, in Japanese or as registered in English."""

japanese_addresses = st.tuples(
    st.sampled_from(["", "〒530-0001 ", "〒100-0005　"]),
    st.sampled_from(_PREFECTURES),
    st.sampled_from(_PLACES),
    st.tuples(st.integers(1, 9), st.integers(1, 30), st.integers(1, 20)).map(lambda n: f"{n[0]}-{n[1]}-{n[2]}"),
    st.sampled_from(_BUILDINGS),
    st.sampled_from(["", " 代表取締役 高橋 健一", "　代表取締役社長　佐藤　花子"]),
).map("".join)
"""Addresses, a postal code before them or not, with a representative's title and name after them as Art. 4.2(2)
allows."""
