"""A deterministic corpus of hostile collection events, to replay through the whole pipeline.

Each hostile event hides its own sentinel (``SNTL00042-本文 secret text``) in one of the shapes careless
integrations and attackers send excluded content in: dotted keys mimicking allow-listed paths, a ``title`` on a
record type that has none, encoded content in allowed free-text fields, marker keys at any depth, case and width,
mail header lists, and refused or unparseable events. A leak found anywhere names its sentinel, hence its shape.
Plain events (and the allowed siblings of hostile fields) say what must still be kept.

Everything is drawn from one seeded ``random.Random``: the same seed builds the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import quopri
import random
import textwrap
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.header import Header
from typing import Any

import orjson

from schemas.events import SPEC, AlliedRecordType, CollectionKind

K = CollectionKind
LINEAGE = "lineage"
"""The expected outcome of an event that must be minimized and tagged; any other is a dead-letter reason."""
JST = timezone(timedelta(hours=9))
BOM = b"\xef\xbb\xbf"
START = datetime(2025, 3, 3, 9, tzinfo=JST)

TITLES = [
    "週次定例ミーティング",
    "Sprint review: Q3 goals / 週次定例",
    "1on1 田中さん",
    "棚卸し準備 (倉庫B)",
    "Q3 planning",
]
OPERATIONS = ["clock_in", "view_timesheet_monthly_report", "approveOvertimeRequestBatch", "export_payroll_csv_2024"]
SCREENS = ["dashboard", "timesheet", "overtime/approve", "勤怠一覧"]
APPLICATIONS = ["Outlook", "Slack", "Google Calendar", "Microsoft Teams", "calendar"]
NAMES = ["山田 太郎", "佐藤 花子", "Kenji Watanabe", "高橋 健一"]
DEPARTMENTS = ["物流部", "総務部", "Sales / 営業二課", "R&D"]
RECORD_TYPES = [t.value for t in AlliedRecordType]
# Free-text payload fields whose values a plain event must find again in its tagged record.
KEPT_TEXT = {"name", "department", "title", "application", "operation", "screen", "personal_name", "computer_name",
             "file_type", "terminal_id", "cookie_id", "ip_address"}  # fmt: skip

MARKERS = ["subject", "body", "text", "message", "content", "attachment", "attachments", "snippet", "html", "caption",
           "tweet", "post", "posts", "comment", "comments", "hashtag", "hashtags", "status_text", "件名", "本文",
           "投稿", "メッセージ"]  # fmt: skip
WRAPPERS = ["meta", "extra", "details", "items", "ctx", "x_data"]
TITLE_KEYS = ["title", "TITLE", "Title", "ｔｉｔｌｅ", "ＴＩＴＬＥ"]
FOREIGN_TITLE_TYPES = ["email_transmission", "message_activity", "file_share", "login_history", "system_usage"]
# Allowed free-text fields content is smuggled into: (kind, record type, field; "." descends into an object).
TEXT_FIELDS = {
    "allied.application": (K.ALLIED, "system_usage", "application"),
    "scheduler.title": (K.ALLIED, "scheduler_entry", "title"),
    "access_log.screen": (K.ACCESS_LOG, None, "screen"),
    "access_log.operation": (K.ACCESS_LOG, None, "operation"),
    "user_profile.department": (K.USER_PROFILE, None, "department"),
    "user_profile.name": (K.USER_PROFILE, None, "name"),
    "user_profile.organization.name": (K.USER_PROFILE, None, "organization.name"),
    "transmission.personal_name": (K.TRANSMISSION, None, "personal_name"),
}
VALID_BANK = {"bank_code": "0001", "branch_code": "123", "account_type": "ordinary", "account_number": "1234567"}
DOTTED: dict[str, Callable[[str], dict[str, Any]]] = {
    "organization.name-object": lambda s: {"organization.name": {"body": s}},
    "organization.name-text": lambda s: {"organization.name": s},
    "ORGANIZATION.NAME": lambda s: {"ORGANIZATION.NAME": s},
    "bank_account.account_number": lambda s: {"bank_account.account_number": {"note": s}},
    "organization.name.text": lambda s: {"organization": {"name": "Kobe Logistics K.K.", "name.text": s}},
    "bank_account.account_number.memo": lambda s: {"bank_account": {**VALID_BANK, "account_number.memo": s}},
}
HEADERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "gmail-headers": lambda s: {
        "headers": [{"name": "From", "value": "a@example.org"}, {"name": "Subject", "value": s}]
    },
    "header-key-casing": lambda s: {"headers": [{"key": "SUBJECT", "value": s}]},
    "japanese-header": lambda s: {"headers": [{"name": "件名", "value": s}]},
    "raw-header-lines": lambda s: {"headers": ["From: a@example.org", f"Subject: {s}"]},
    "gmail-api-message": lambda s: {"gmail": {"id": "18c2f", "payload": gmail_payload(s)}},
}
REFUSED = {  # variant -> expected dead-letter reason
    "kind_version-99": "unsupported_version", "kind_version-string": "schema_invalid",
    "occurred_at-prose": "schema_invalid", "occurred_at-year-10000": "schema_invalid",
    "occurred-in-future": "occurred_in_future", "before-first-policy": "no_policy_in_force",
    "payload-breaks-contract": "schema_invalid", "wrong-topic": "kind_topic_mismatch", "nan": "non_finite_number",
    "duplicate-key": "duplicate_key", "truncated": "malformed_json", "invalid-utf8": "invalid_utf8",
    "nested-5000": "too_deep", "not-an-object": "not_an_object", "too-large": "too_large",
}  # fmt: skip
TOLERATED = ["bom", "lone-surrogate"]  # harmless oddities: minimized like any event, never dead-lettered


@dataclass(frozen=True)
class CorpusEvent:
    shape: str
    kind: CollectionKind
    """The collection topic it is produced to (not always the kind it claims)."""
    key: bytes | None
    value: bytes
    event_id: str | None
    expected: str
    """``LINEAGE``, or the reason it must be dead-lettered with."""


@dataclass(frozen=True)
class Corpus:
    events: list[CorpusEvent]
    sentinels: list[bytes]
    """Every string that must appear in no output: sentinels, their encoded forms, raw subject ids."""
    origins: dict[bytes, str]
    """Sentinel -> which event and shape carried it, for failure messages."""
    kept: list[tuple[str, str, str]]
    """(event id, dotted path in the tagged document, value) of allowed values that must still be there."""
    subjects: list[tuple[str, str]]
    """(tenant, raw subject id) of the corpus' subjects."""

    def shape_counts(self) -> Counter[str]:
        return Counter(event.shape.split(":")[0] for event in self.events)


def gmail_payload(secret: str) -> dict[str, Any]:
    """A message as the Gmail API returns it: the subject in a header list, the text base64url in a part."""
    data = base64.urlsafe_b64encode(secret.encode()).decode()
    return {
        "mimeType": "multipart/alternative",
        "headers": [{"name": "subject", "value": secret}],
        "parts": [{"mimeType": "text/plain", "body": {"data": data}}],
    }


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def q_word(text: str, charset: str) -> str:
    """An RFC 2047 Q encoded word, written by hand (the email package picks B for ISO-2022-JP)."""
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/"
    encoded = "".join(chr(b) if b in safe else "_" if b == 0x20 else f"={b:02X}" for b in text.encode(charset))
    return f"=?{charset}?Q?{encoded}?="


def encodings(secret: str, rng: random.Random) -> dict[str, str]:
    """``secret`` in each encoded shape mail and web software produce."""
    data = secret.encode()
    binary = data + b"\n%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(rng.sample(range(256), 256))
    wrapped = base64.encodebytes(data * 4).decode()
    return {
        "data-uri-pdf": f"data:application/pdf;base64,{base64.b64encode(binary).decode()}",
        "data-uri-text": f"data:text/plain;charset=utf-8,{secret}",
        "base64": base64.b64encode(data).decode(),
        "base64-unpadded": base64.b64encode(data).decode().rstrip("="),
        "base64-urlsafe": base64.urlsafe_b64encode(data * 2).decode().rstrip("="),
        "base64-wrapped-lf": wrapped,
        "base64-wrapped-crlf": wrapped.replace("\n", "\r\n"),
        "base64-binary": base64.b64encode(binary).decode(),
        "quoted-printable": quopri.encodestring(data).decode(),
        "mime-utf8-b": Header(secret, "utf-8").encode(),
        "mime-iso2022jp-q": q_word(secret, "iso-2022-jp"),
        "html-body": f"<html><body><p>{secret}</p></body></html>",
        "gmail-quote-html": f'<div class="gmail_quote">{secret}<br></div>',
        "value-40kb": (secret + " ") * 1400,
        # The red team's shapes (2026-12-06): a message's own form, and other encodings of its text.
        "mail-header": f"Subject: {secret}",
        "mime-part": f"Content-Type: text/plain; charset=utf-8\n\n{secret}",
        "json-object": orjson.dumps({"subject": secret, "body": secret}).decode(),
        "quoted-reply": f"> {secret}\n> {secret}",
        "base64-zero-width": "\u200b".join(textwrap.wrap(base64.b64encode(data).decode(), 8)),
        "base64-full-width": full_width(base64.b64encode(data).decode()),
        "base64-grouped": " ".join(textwrap.wrap(base64.b64encode(data).decode(), 16)),
        "percent": urllib.parse.quote(secret),
        "hex": data.hex(),
        "base32": base64.b32encode(data).decode(),
        "base85": base64.b85encode(data).decode(),
        "unicode-escapes": secret.encode("ascii", "backslashreplace").decode(),  # \u672c\u6587 as text
    }


FORMS = tuple(encodings("", random.Random(0)))


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[CorpusEvent] = []
        self.origins: dict[bytes, str] = {}
        self.kept: list[tuple[str, str, str]] = []
        people = [f"{g}.{f}" for g in ("taro", "hanako", "kenji", "yuki") for f in ("yamada", "sato")]
        self.subjects = [
            ("kobe-logistics", f"{p}.{self.rng.randrange(100, 999)}@kobe-logistics.example") for p in people
        ]
        self.subjects += [("naniwa-works", f"emp-{self.rng.randrange(10**5, 10**6)}-jp") for _ in range(4)]
        for _, raw in self.subjects:
            self.forbid(raw.encode(), f"raw subject id {raw}")
            self.forbid(base64.b64encode(raw.encode()).rstrip(b"="), f"raw subject id {raw} (base64)")
            self.forbid(hashlib.sha256(raw.encode()).hexdigest().encode(), f"raw subject id {raw} (unkeyed sha256)")

    def forbid(self, needle: bytes, origin: str) -> None:
        self.origins.setdefault(needle, origin)

    def secret(self, shape: str) -> str:
        """The next event's sentinel, registered with its tag, its text and its base64 forms."""
        tag = f"SNTL{len(self.events):05d}"
        text = f"{tag}-本文 secret text"
        for needle in (tag.encode(), text.encode(), *(encode(text.encode())[:32] for encode in (
                base64.b64encode, base64.urlsafe_b64encode))):  # fmt: skip
            self.forbid(needle, f"{tag} {shape}")
        return text

    def at(self) -> str:
        """A moment within 20 days of a fixed start: policy 2022-06-01 is in force, and the bytes never change."""
        return (START + timedelta(minutes=self.rng.randrange(60 * 24 * 20))).isoformat()

    def payload(self, kind: CollectionKind, record_type: str | None = None) -> dict[str, Any]:
        """A valid payload of ``kind`` holding only allowed fields."""
        r, at = self.rng, self.at()
        if kind is K.USER_PROFILE:
            return {"name": r.choice(NAMES), "department": r.choice(DEPARTMENTS), "login_id": f"u.{r.randrange(99)}",
                    "email_address": f"contact{r.randrange(99)}@example.org",  # never a subject's id
                    "organization": {"name": "Kobe Logistics K.K."}}  # fmt: skip
        if kind is K.TERMINAL:
            return {"terminal_id": f"pc-{r.randrange(16**6):06x}", "terminal_type": r.choice(["pc", "mobile"])}
        if kind is K.ACCESS_LOG:
            return {"ip_address": f"192.0.2.{r.randrange(1, 255)}", "requested_at": at,
                    "operation": r.choice(OPERATIONS), "screen": r.choice(SCREENS)}  # fmt: skip
        if kind is K.COOKIE:
            return {"cookie_id": f"ck-{r.randrange(16**8):08x}", "first_seen_at": at}
        if kind is K.TRANSMISSION:
            return {"record_type": r.choice(["clock_in", "clock_out", "arrival", "departure"]), "at": at,
                    "personal_name": r.choice(NAMES), "department": r.choice(DEPARTMENTS)}  # fmt: skip
        record_type = record_type or r.choice(RECORD_TYPES)
        fields: dict[str, Any] = {
            "login_history": {"computer_name": f"PC-OSAKA-{r.randrange(9999):04d}"},
            "email_transmission": {"recipient_count": r.randrange(1, 9), "has_attachments": True, "size_bytes": 20480},
            "system_usage": {"duration_s": r.randrange(3600)},
            "scheduler_entry": {"title": r.choice(TITLES), "ends_at": at},
            "message_activity": {"channel_type": r.choice(["chat", "social_media"]), "message_count": 12},
            "file_share": {"file_type": "pdf", "size_bytes": r.randrange(10**6)},
        }[record_type]
        return {"record_type": record_type, "occurred_at": at, "application": r.choice(APPLICATIONS), **fields}

    def document(self, kind: CollectionKind, payload: dict[str, Any]) -> dict[str, Any]:
        tenant, subject = self.rng.choice(self.subjects)
        return {"spec": SPEC, "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "kind": kind.value, "kind_version": 1, "occurred_at": self.at(), "tenant_id": tenant,
                "source_service": self.rng.choice(["attendance-web", "allied-m365", "allied-slack", "profile-sync"]),
                "subject": {"type": self.rng.choice(["analyzed_account_holder", "person_in_charge"]), "id": subject},
                "payload": payload}  # fmt: skip

    def add(self, shape: str, doc: dict[str, Any], expected: str = LINEAGE, *, raw: bytes | None = None,
            topic: CollectionKind | None = None, hostile: tuple[str, ...] = ()) -> None:  # fmt: skip
        """Add the event; a plain or minimized one records its allowed text fields (but ``hostile`` ones) as kept."""
        subject = doc["subject"]["id"]
        roll = self.rng.random()  # most integrations key by the raw subject id; some by nothing, some by noise
        key = subject.encode() if roll < 0.6 else None if roll < 0.8 else f"k-{self.rng.randrange(10**6)}".encode()
        if expected == LINEAGE:
            for name, value in doc["payload"].items():
                if name in KEPT_TEXT and name not in hostile and isinstance(value, str):
                    self.kept.append((doc["event_id"], f"payload.{name}", value))
        value = raw if raw is not None else orjson.dumps(doc)
        self.events.append(CorpusEvent(shape, topic or K(doc["kind"]), key, value, doc["event_id"], expected))

    # The shapes: each takes its variant, or draws one.

    def dotted_key(self, variant: str | None = None) -> None:
        variant = variant or self.rng.choice(list(DOTTED))
        secret = self.secret(f"dotted-key:{variant}")
        payload = {**self.payload(K.USER_PROFILE), **DOTTED[variant](secret)}
        self.add(f"dotted-key:{variant}", self.document(K.USER_PROFILE, payload))

    def foreign_title(self, record_type: str | None = None, key: str | None = None) -> None:
        record_type, key = record_type or self.rng.choice(FOREIGN_TITLE_TYPES), key or self.rng.choice(TITLE_KEYS)
        shape = f"foreign-title:{key}@{record_type}"
        payload = {**self.payload(K.ALLIED, record_type), key: self.secret(shape)}
        self.add(shape, self.document(K.ALLIED, payload), hostile=(key,))

    def encoded(self, form: str | None = None, field: str | None = None) -> None:
        form, field = form or self.rng.choice(FORMS), field or self.rng.choice(list(TEXT_FIELDS))
        shape = f"encoded:{form}@{field}"
        kind, record_type, name = TEXT_FIELDS[field]
        value = encodings(self.secret(shape), self.rng)[form]
        self.forbid(value.encode()[:48], shape)  # the disguise itself: hex or base32 of the text hides its sentinel
        payload = self.payload(kind, record_type)
        if name == "organization.name":
            payload["organization"] = {"name": value}
        else:
            payload[name] = value
        self.add(shape, self.document(kind, payload), hostile=(name,))

    def marker(self, name: str | None = None, depth: int | None = None, casing: int | None = None) -> None:
        name = name or self.rng.choice(MARKERS)
        depth = self.rng.randrange(6) if depth is None else depth
        casing = self.rng.randrange(5) if casing is None else casing
        key = [name, name.upper(), name.title(), full_width(name.upper()), full_width(name)][casing]
        shape = f"marker:{key}@depth{depth}"
        secret = self.secret(shape)
        forms = encodings(secret, self.rng)
        hidden: Any = {key: secret if self.rng.random() < 0.7 else forms[self.rng.choice(FORMS)]}
        for _ in range(depth):
            hidden = (
                {self.rng.choice(WRAPPERS): hidden} if self.rng.random() < 0.5 else [self.rng.randrange(99), hidden]
            )
        kind = self.rng.choice(list(K))
        payload = self.payload(kind)
        payload.update(hidden if isinstance(hidden, dict) else {self.rng.choice(WRAPPERS): hidden})
        self.add(shape, self.document(kind, payload))

    def header_list(self, variant: str | None = None) -> None:
        variant = variant or self.rng.choice(list(HEADERS))
        payload = {
            **self.payload(K.ALLIED, "email_transmission"),
            **HEADERS[variant](self.secret(f"headers:{variant}")),
        }
        self.add(f"headers:{variant}", self.document(K.ALLIED, payload))

    def refused(self, variant: str | None = None) -> None:
        variant = variant or self.rng.choice([v for v in REFUSED if v != "too-large"])  # ~1.1 MB only once
        shape = f"refused:{variant}"
        secret = self.secret(shape)
        payload = {**self.payload(K.ALLIED, "scheduler_entry"), "title": secret, "本文": secret}
        doc, raw, topic = self.document(K.ALLIED, payload), None, None
        changes = {"kind_version-99": ("kind_version", 99), "kind_version-string": ("kind_version", "1"),
                   "occurred_at-prose": ("occurred_at", "last Tuesday"),
                   "occurred_at-year-10000": ("occurred_at", "9999-12-31T23:30:00-05:00"),
                   "occurred-in-future": ("occurred_at", "2099-01-01T09:00:00+09:00"),
                   "before-first-policy": ("occurred_at", "2017-01-01T09:00:00+09:00")}  # fmt: skip
        if variant in changes:
            doc[changes[variant][0]] = changes[variant][1]
        elif variant == "payload-breaks-contract":
            payload["occurred_at"] = "yesterday"
        elif variant == "wrong-topic":
            topic = K.ACCESS_LOG
        elif variant == "too-large":
            payload["attachment"] = base64.b64encode(self.rng.randbytes(830_000)).decode()
        plain = orjson.dumps(doc)
        if variant == "nan":
            raw = plain[:-1] + b',"score":NaN}'
        elif variant == "duplicate-key":
            raw = plain[:-1] + b',"event_id":"' + doc["event_id"].encode() + b'"}'
        elif variant == "truncated":
            cut = len(plain) - 3  # the sentinel, at the end, is sent in full
            while plain[cut] >= 0x80:  # cut between characters: the refusal is malformed JSON, not bad UTF-8
                cut -= 1
            raw = plain[:cut]
        elif variant == "invalid-utf8":
            raw = plain.replace("本文".encode(), b"\xff\xfe\xfd")
        elif variant == "nested-5000":
            raw = plain[:-2] + b',"meta":' + b"[" * 5000 + orjson.dumps(secret) + b"]" * 5000 + b"}}"
        elif variant == "not-an-object":
            raw = orjson.dumps([doc])
        self.add(shape, doc, REFUSED[variant], raw=raw, topic=topic)

    def tolerated(self, variant: str | None = None) -> None:
        variant = variant or self.rng.choice(TOLERATED)
        secret = self.secret(f"tolerated:{variant}")
        payload = {**self.payload(K.ALLIED, "system_usage"), "application": "calendar", "本文": secret}
        doc = self.document(K.ALLIED, payload)
        if variant == "bom":
            self.add("tolerated:bom", doc, raw=BOM + orjson.dumps(doc))
            return
        raw = orjson.dumps(doc).replace(b'"calendar"', b'"calendar \\ud83d"')
        self.add("tolerated:lone-surrogate", doc, raw=raw, hostile=("application",))
        self.kept.append((doc["event_id"], "payload.application", "calendar \ufffd"))  # read as U+FFFD

    def plain(self, kind: CollectionKind | None = None, record_type: str | None = None) -> None:
        kind = kind or self.rng.choice(list(K))
        self.add(f"plain:{kind.value}", self.document(kind, self.payload(kind, record_type)))


def build_corpus(seed: int, size: int) -> Corpus:
    """``size`` events: every shape and variant once (in order, as far as ``size`` allows), then random ones."""
    b = _Builder(seed)
    every: list[Callable[[], None]] = [*(lambda v=v: b.dotted_key(v) for v in DOTTED)]
    every += [lambda t=t, k=k: b.foreign_title(t, k) for t in FOREIGN_TITLE_TYPES for k in TITLE_KEYS]
    every += [lambda e=e, f=f: b.encoded(e, f) for e in FORMS for f in TEXT_FIELDS]
    every += [lambda i=i, m=m: b.marker(m, i % 6, i % 5) for i, m in enumerate(MARKERS)]
    every += [lambda v=v: b.header_list(v) for v in HEADERS]
    every += [lambda v=v: b.refused(v) for v in REFUSED] + [lambda v=v: b.tolerated(v) for v in TOLERATED]
    every += [lambda k=k: b.plain(k) for k in K] + [lambda t=t: b.plain(K.ALLIED, t) for t in RECORD_TYPES]
    random_shapes = [b.plain] * 6 + [b.marker] * 4 + [b.encoded] * 4 + [b.foreign_title] * 2 + [
        b.dotted_key, b.header_list, b.refused, b.tolerated]  # fmt: skip
    for make in every[:size]:
        make()
    while len(b.events) < size:
        b.rng.choice(random_shapes)()
    return Corpus(b.events, list(b.origins), b.origins, b.kept, b.subjects)
