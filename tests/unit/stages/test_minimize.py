"""Minimize with the real Rakuro policy: allowed fields stay, the rest go with evidence (path, size), never content."""

from __future__ import annotations

import base64
import bz2
import gzip
import zlib
from typing import Any

import msgspec
import orjson
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schemas.events import CollectionKind
from schemas.policy import Policy
from services.policy.engine import PolicyEngine
from services.records import (
    DeadLetter,
    DeadLetterReason,
    Ingested,
    Minimized,
    RemovalReason,
    RemovedField,
    Stage,
)
from services.stages import detectors
from services.stages.ingest import ingest_one
from services.stages.minimize import minimize, minimize_one
from services.topics import Topics

EMAIL_SUBJECT = "Re: 残業申請について"


def ingested(make_record, event: dict[str, Any], offset: int = 0) -> Ingested:
    outcome = ingest_one(make_record(event, offset=offset), Topics().kind_of_collection_topic, 64 * 1024)
    assert isinstance(outcome, Ingested), outcome
    return outcome


def minimized(record: Ingested, engine: PolicyEngine) -> Minimized:
    outcome = minimize_one(record, engine)
    assert isinstance(outcome, Minimized), outcome
    return outcome


def policy_with(policy: Policy, collection_kinds: dict[str, Any]) -> PolicyEngine:
    document = yaml.safe_load(yaml.safe_dump(policy.model_dump(mode="json")))
    document["collection_kinds"] = collection_kinds
    return PolicyEngine(Policy.model_validate(document))


def test_terminal_fields_the_policy_allows_are_kept(make_event, make_record, engine):
    event = make_event(CollectionKind.TERMINAL)

    result = minimized(ingested(make_record, event), engine)

    assert result.payload == event["payload"]
    assert result.data_categories == ("terminal_information",)
    assert result.removed == ()


def test_access_log_fields_the_policy_allows_are_kept(make_event, make_record, engine):
    event = make_event(CollectionKind.ACCESS_LOG)

    result = minimized(ingested(make_record, event), engine)

    assert set(result.payload) == {"ip_address", "requested_at", "operation", "screen"}
    assert result.payload["ip_address"] == event["payload"]["ip_address"]
    assert result.payload["operation"] == event["payload"]["operation"]
    assert result.data_categories == ("log_information",)
    assert result.removed == ()


def test_absent_optional_field_is_neither_kept_nor_reported_as_removed(make_event, make_record, engine):
    event = make_event(CollectionKind.ACCESS_LOG)
    del event["payload"]["screen"]

    result = minimized(ingested(make_record, event), engine)

    assert "screen" not in result.payload
    assert result.removed == ()


def test_email_subject_is_removed_with_evidence_not_content(make_event, make_record, engine):
    event = make_event(CollectionKind.ACCESS_LOG, payload_extra={"email_subject": EMAIL_SUBJECT})

    result = minimized(ingested(make_record, event), engine)

    assert "email_subject" not in result.payload
    assert result.removed == (
        RemovedField(
            path="payload.email_subject", size=len(orjson.dumps(EMAIL_SUBJECT)), reason=RemovalReason.EXCLUDED_CONTENT
        ),
    )
    assert EMAIL_SUBJECT not in repr(result.removed)
    assert "残業" not in orjson.dumps(result.payload).decode()


@pytest.mark.parametrize(
    "value",
    ["Windows 11", 42, 3.5, True, ["a", "b"], {"vendor": "Lenovo", "model": {"series": "X1", "gen": 11}}],
    ids=["string", "int", "float", "bool", "list", "nested-object"],
)
def test_extra_field_is_removed_with_its_json_size_as_evidence(make_event, make_record, engine, value):
    event = make_event(CollectionKind.TERMINAL, payload_extra={"device": value})

    result = minimized(ingested(make_record, event), engine)

    assert result.payload == {"terminal_id": "pc-0a1b2c3d", "terminal_type": "pc"}
    assert result.removed == (RemovedField(path="payload.device", size=len(orjson.dumps(value))),)


def test_several_extra_fields_are_all_removed_with_evidence_in_name_order(make_event, make_record, engine):
    extras = {"user_agent": "Mozilla/5.0 (demo)", "os": "Android 15", "battery": 87}
    event = make_event(CollectionKind.TERMINAL, payload_extra=extras)

    result = minimized(ingested(make_record, event), engine)

    assert [r.path for r in result.removed] == ["payload.battery", "payload.os", "payload.user_agent"]
    assert [r.size for r in result.removed] == [len(orjson.dumps(extras[n])) for n in ("battery", "os", "user_agent")]
    assert set(result.payload) == {"terminal_id", "terminal_type"}


def test_evidence_holds_only_a_path_and_a_size(make_event, make_record, engine):
    event = make_event(CollectionKind.ACCESS_LOG, payload_extra={"email_subject": EMAIL_SUBJECT})

    (evidence,) = minimized(ingested(make_record, event), engine).removed

    assert [f.name for f in msgspec.structs.fields(evidence)] == ["path", "size", "reason"]
    assert isinstance(evidence.size, int)


def test_data_categories_come_from_the_kept_fields_only(make_event, make_record, policy):
    engine = policy_with(
        policy,
        {
            "access_log": {
                "article": "test",
                "fields": {
                    "ip_address": "log_information.ip_address",
                    "requested_at": "log_information.requested_at",
                    "operation": "log_information.operation_history",
                    "screen": "allied_data.system_usage_history",
                },
            }
        },
    )
    with_screen = make_event(CollectionKind.ACCESS_LOG)
    without_screen = make_event(CollectionKind.ACCESS_LOG)
    del without_screen["payload"]["screen"]

    assert minimized(ingested(make_record, with_screen), engine).data_categories == ("allied_data", "log_information")
    assert minimized(ingested(make_record, without_screen), engine).data_categories == ("log_information",)


def test_kind_the_policy_has_no_allow_list_for_is_dead_lettered(make_event, make_record, policy):
    engine = policy_with(
        policy, {"terminal": {"article": "test", "fields": {"terminal_id": "terminal_information.terminal_id"}}}
    )
    event = make_event(CollectionKind.ACCESS_LOG)

    outcome = minimize_one(ingested(make_record, event), engine)

    assert isinstance(outcome, DeadLetter)
    assert outcome.stage is Stage.MINIMIZE
    assert outcome.reason is DeadLetterReason.UNKNOWN_TO_POLICY
    assert outcome.message == "the policy 'rakuro' has no allow-list for kind 'access_log'"
    assert outcome.event_id == event["event_id"]
    assert outcome.kind == "access_log"


def test_batch_keeps_order_and_ends_each_record_in_one_output(make_event, make_record, policy):
    engine = policy_with(
        policy, {"terminal": {"article": "test", "fields": {"terminal_id": "terminal_information.terminal_id"}}}
    )
    kinds = [CollectionKind.TERMINAL, CollectionKind.ACCESS_LOG, CollectionKind.TERMINAL, CollectionKind.ACCESS_LOG]
    batch = [ingested(make_record, make_event(kind), offset=i) for i, kind in enumerate(kinds)]

    result = minimize(batch, engine)

    assert [m.source.offset for m in result.ok] == [0, 2]
    assert [d.source.offset for d in result.dead] == [1, 3]
    assert all(m.removed == (RemovedField("payload.terminal_type", len(b'"pc"')),) for m in result.ok)


def test_an_integer_beyond_64_bits_is_removed_with_its_size_instead_of_stopping_the_stage(
    make_event, make_record, engine
):
    event = make_event()
    raw = orjson.dumps(event).replace(b'"payload":{', b'"payload":{"counter":18446744073709551616,', 1)
    outcome = ingest_one(
        make_record(raw, Topics().collection(CollectionKind.ACCESS_LOG)), Topics().kind_of_collection_topic, 64 * 1024
    )
    assert isinstance(outcome, Ingested), outcome
    record = outcome

    result = minimized(record, engine)

    assert result.removed == (RemovedField(path="payload.counter", size=len(str(2**64))),)


def test_a_null_extra_field_is_removed_with_evidence(make_event, make_record, engine):
    result = minimized(ingested(make_record, make_event(payload_extra={"email_subject": None})), engine)

    assert result.removed == (
        RemovedField(path="payload.email_subject", size=4, reason=RemovalReason.EXCLUDED_CONTENT),
    )


def test_a_key_name_that_could_be_personal_data_is_not_written_into_the_evidence(make_event, make_record, engine):
    result = minimized(ingested(make_record, make_event(payload_extra={"taro.yamada@example.jp": "x"})), engine)

    assert [r.path for r in result.removed] == ["payload.?"]
    assert "taro.yamada" not in repr(result.removed)


@pytest.mark.parametrize(
    "key",
    [
        "chat_subject",
        "threadTitle",
        "topic",
        "チャット件名",
        "スレッド名",
        "つぶやき",
        "発言",
        "ＴＯＰＩＣ",
        "social_post",
    ],
)
def test_chat_and_social_media_subjects_are_removed_as_excluded_content_under_any_name(
    make_event, make_record, engine, key
):
    event = make_event(CollectionKind.ALLIED, payload={
        "record_type": "message_activity", "occurred_at": "2024-01-15T09:00:00+09:00", "channel_type": "chat",
        "message_count": 3, key: "来週のシフトについて",
    })  # fmt: skip

    minimized = minimize_one(ingested(make_record, event), engine)

    assert isinstance(minimized, Minimized), minimized
    assert key not in minimized.payload
    assert "来週" not in orjson.dumps(minimized.payload).decode()
    assert [r.reason for r in minimized.removed] == [RemovalReason.EXCLUDED_CONTENT]


@pytest.mark.parametrize(
    ("title", "kept"),
    [
        ("Weekly sync 10:00-11:00", True),
        ("Call Sato 090-1234-5678", False),
        ("マイナンバー提出 6214 9832 0257", False),
        ("面談 〒530-0001 梅田", False),
        ("Lunch with hanako＠example.co.jp", False),
    ],
)
def test_a_scheduler_title_holding_an_identifier_is_removed_with_its_own_evidence(
    make_event, make_record, engine, title, kept
):
    event = make_event(CollectionKind.ALLIED, payload={
        "record_type": "scheduler_entry", "occurred_at": "2024-01-15T09:00:00+09:00", "title": title,
    })  # fmt: skip

    minimized = minimize_one(ingested(make_record, event), engine)

    assert isinstance(minimized, Minimized), minimized
    assert ("title" in minimized.payload) is kept
    if not kept:
        assert [(r.path, r.reason) for r in minimized.removed] == [
            ("payload.title", RemovalReason.IDENTIFIER_IN_FREE_TEXT)
        ]
        assert "allied_data.scheduler_title" not in minimized.data_items


def test_a_field_the_policy_flags_is_kept_and_its_identifiers_are_named_never_its_value(
    make_event, make_record, policy
):
    # The shipped policy redacts the screen name; a company may choose to keep it and have it reviewed instead.
    raw = policy.model_dump(mode="json")
    raw["collection_kinds"]["access_log"]["redact_identifiers"] = ["operation"]
    raw["collection_kinds"]["access_log"]["flag_identifiers"] = ["screen"]
    engine = PolicyEngine(Policy.model_validate(raw))
    event = make_event(CollectionKind.ACCESS_LOG, payload={
        "ip_address": "203.0.113.7", "requested_at": "2024-01-15T09:00:00+09:00", "operation": "view_timesheet",
        "screen": "問い合わせ 090-1234-5678 hanako@example.jp",
    })  # fmt: skip

    minimized = minimize_one(ingested(make_record, event), engine)

    assert isinstance(minimized, Minimized), minimized
    assert minimized.payload["screen"].startswith("問い合わせ"), "flagged, not removed"
    assert [(f.path, f.identifiers) for f in minimized.flagged] == [
        ("payload.screen", ("telephone_number", "email_address"))
    ]
    assert "090" not in repr(minimized.flagged)


def test_a_removed_value_is_judged_by_its_first_kilobytes_only(make_event, make_record, engine, monkeypatch):
    """Seventh red-team pass: a removed value was scanned whole for its reason, and the scan of an HTML element
    was quadratic: 62 KB of `<a>x` under an unknown key took 3.9 s, a megabyte would hold its batch ~17 min
    (this helper caps events at 64 KB)."""
    from services.stages import detectors

    judged: list[int] = []
    detect = detectors._detect

    def judging(value: str) -> Any:
        judged.append(len(value))
        if len(value) > detectors.JUDGED_CHARS:
            raise AssertionError("a removed value judged whole")  # before a scan that would take minutes
        return detect(value)

    monkeypatch.setattr(detectors, "_detect", judging)
    event = make_event(CollectionKind.TERMINAL, payload_extra={"device": "<a>x" * 15_000})

    result = minimized(ingested(make_record, event), engine)

    assert [r.path for r in result.removed] == ["payload.device"]
    assert result.removed[0].reason.value == "excluded_content"  # its first kilobytes are HTML
    assert max(judged) <= detectors.JUDGED_CHARS


def test_an_element_is_still_found_in_a_kept_value(make_event, make_record, engine):
    from services.stages.detectors import Finding, detect

    assert detect("<p>" + "x" * 240 + "</p>") is Finding.HTML


def test_a_record_type_the_policy_names_nowhere_is_walked_as_none(make_event, make_record, policy):
    """A policy may name any payload field its kind's record type, a free text too: each text a sender chooses
    is then a record type. One the policy names nowhere keeps what every record type keeps, and costs no walk of
    its own (each walk is generated once per record type: 2,000 chosen texts compiled 2,000 before)."""
    from services.stages.allowlist import _walker

    engine = policy_with(
        policy,
        {
            "access_log": {
                "article": "Art. 2.1(1)(ii)",
                "record_type_field": "operation",
                "fields": {
                    "ip_address": "log_information.ip_address",
                    "requested_at": {"item": "log_information.requested_at", "record_types": ["clock_in"]},
                    "operation": "log_information.operation_history",
                },
            }
        },
    )

    def minimized_as(operation: str) -> Minimized:
        event = make_event(CollectionKind.ACCESS_LOG)
        event["payload"]["operation"] = operation
        return minimized(ingested(make_record, event), engine)

    outcomes = {operation: minimized_as(operation) for operation in ["clock_in", "view_timesheet"]}
    walks = _walker.cache_info().currsize
    outcomes |= {operation: minimized_as(operation) for operation in (f"chosen-{n}" for n in range(300))}

    assert _walker.cache_info().currsize == walks  # no walk for any of the 300 chosen texts
    assert set(outcomes["clock_in"].payload) == {"ip_address", "requested_at", "operation"}
    for operation, outcome in outcomes.items():
        if operation != "clock_in":
            assert set(outcome.payload) == {"ip_address", "operation"}, operation
            assert "payload.requested_at" in {field.path for field in outcome.removed}, operation


def test_key_names_are_read_within_the_events_budget(make_event, make_record, engine, monkeypatch):
    """Key names are chosen by the sender and normalized to be judged (NFKC makes up to 18 characters of one):
    they count against the event's judging budget as removed values do, and a name longer than any contract's
    is not read at all. Past either, a key is removed as excluded content, unread and shown as '?' (900 KB of
    such names cost 1.7-2.1 s an event before; nineteenth red-team pass)."""
    from services.stages import allowlist
    from services.stages.detectors import JUDGED_CHARS_PER_EVENT

    read: list[int] = []
    real = allowlist.normalize_key

    def counting(name: str) -> str:
        read.append(len(name))
        return real(name)

    monkeypatch.setattr(allowlist, "normalize_key", counting)
    event = make_event(CollectionKind.TERMINAL)
    event["payload"] |= {f"{n:04d}" + "\ufdfa" * 100: "x" for n in range(150)}  # 15,600 characters of names
    event["payload"]["\ufdfa" * 1000] = "x"

    result = minimized(ingested(make_record, event), engine)

    assert sum(read) <= JUDGED_CHARS_PER_EVENT + allowlist.MAX_KEY_CHARS
    assert set(result.payload) == {"terminal_id", "terminal_type"}
    # Every value is "x" (3 bytes of JSON): the keys removed as excluded content, listed or summed up.
    excluded = sum(field.size for field in result.removed if field.reason is RemovalReason.EXCLUDED_CONTENT) // 3
    assert excluded >= 151 - len(read) > 0


_PIECE_ENCODINGS = {
    "hex": lambda piece: piece.hex(),
    "base64": lambda piece: base64.b64encode(piece).decode().rstrip("="),
    "base32": lambda piece: base64.b32encode(piece).decode().rstrip("="),
    "url-safe base64": lambda piece: base64.urlsafe_b64encode(piece).decode(),
}
_FREE_TEXTS = [("name",), ("department",), ("organization", "name"), ("organization", "division")]


def _piece_read(text: str) -> bool:
    letters = text.rstrip("=")
    return len(letters) >= 8 and not detectors._worded(letters)


@settings(max_examples=300, deadline=None)
@given(
    message=st.text(
        alphabet=st.sampled_from("abcdefg xyz 給与削減の件について明日話しましょう"), min_size=16, max_size=40
    ),
    encoding=st.sampled_from(sorted(_PIECE_ENCODINGS)),
    piece_bytes=st.integers(6, 14),
)
def test_a_message_cut_into_pieces_under_each_values_bar_is_removed_from_every_field_carrying_one(
    make_event, make_record, engine, message: str, encoding: str, piece_bytes: int
) -> None:
    """Twenty-second red-team pass: 14-byte pieces, each too short to be judged in its own field, were kept."""
    data = message.encode()
    pieces = [data[start : start + piece_bytes] for start in range(0, len(data), piece_bytes)][: len(_FREE_TEXTS)]
    encoded = [_PIECE_ENCODINGS[encoding](piece) for piece in pieces]
    # Pieces of eight characters or more are read (a shorter one carries four bytes or fewer) but those spelled as a
    # word is (letters alone, lower case or capitalized: "Ymbjgabj", base64 of "bfて", once in hundreds); fifteen
    # bytes of them together are a message, and two fields or more carry it.
    read = [piece for piece, text in zip(pieces, encoded, strict=True) if _piece_read(text)]
    assume(len(read) == len(pieces) and len(read) >= 2 and len(b"".join(read)) >= 15)
    payload = orjson.loads(orjson.dumps(make_event(CollectionKind.USER_PROFILE)["payload"]))
    carried = []
    for path, text in zip(_FREE_TEXTS, encoded, strict=False):
        node = payload
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = text
        carried.append("payload." + ".".join(path))

    record = minimized(ingested(make_record, make_event(CollectionKind.USER_PROFILE, payload=payload)), engine)

    removed = {field.path: field.reason for field in record.removed}
    assert all(removed.get(path) is RemovalReason.EXCLUDED_CONTENT for path in carried), (carried, removed)
    assert "login_id" in record.payload, "what carries no piece is kept"


@pytest.mark.parametrize(
    ("name", "department", "organization", "division"),
    [
        ("Taro Yamada", "Engineering", "International Distribution Ltd.", "Headquarters"),
        ("山田 太郎", "Customer Success", "Kobe Logistics Holdings", "Tokyo Branch 2"),
        ("Hanako Procurement", "IT Infrastructure", "Kobe Logistics K.K.", "Head office"),
    ],
)
def test_long_words_in_several_fields_are_kept(
    make_event, make_record, engine, name, department, organization, division
):
    payload = orjson.loads(orjson.dumps(make_event(CollectionKind.USER_PROFILE)["payload"]))
    payload.update(name=name, department=department, organization={"name": organization, "division": division})

    record = minimized(ingested(make_record, make_event(CollectionKind.USER_PROFILE, payload=payload)), engine)

    assert (record.payload["name"], record.payload["department"]) == (name, department)
    assert record.payload["organization"] == {"name": organization, "division": division}


@settings(max_examples=100, deadline=None)
@given(
    message=st.text(
        alphabet=st.sampled_from("abcdefg xyz 給与削減の件について明日話しましょう"), min_size=12, max_size=40
    ),
    compress=st.sampled_from([zlib.compress, gzip.compress, bz2.compress]),
)
def test_a_compressed_message_cut_into_pieces_across_fields_is_removed(
    make_event, make_record, engine, message: str, compress
) -> None:
    """The pieces after a compressed stream's first show nothing of it: the first one's start is enough."""
    data = compress(("Re: " + message).encode())
    size = -(-len(data) // 3)  # three pieces of base64
    pieces = [base64.b64encode(data[start : start + size]).decode() for start in range(0, len(data), size)]
    assume(len(pieces) >= 2 and all(_piece_read(piece) for piece in pieces))
    payload = orjson.loads(orjson.dumps(make_event(CollectionKind.USER_PROFILE)["payload"]))
    payload["name"], payload["department"] = pieces[0], pieces[1]
    if len(pieces) > 2:
        payload["organization"]["division"] = pieces[2]

    record = minimized(ingested(make_record, make_event(CollectionKind.USER_PROFILE, payload=payload)), engine)

    removed = {field.path: field.reason for field in record.removed}
    assert removed.get("payload.name") is RemovalReason.EXCLUDED_CONTENT, removed  # the piece the stream begins in
    kept = [
        record.payload.get("name"),
        record.payload.get("department"),
        record.payload.get("organization", {}).get("division"),
    ]
    leftover = b"".join(base64.b64decode(value) for value in kept if value in pieces)
    for decompress in (zlib.decompressobj(47).decompress, bz2.BZ2Decompressor().decompress):
        try:
            assert message.encode() not in decompress(leftover), "what is kept gives the message back"
        except (zlib.error, OSError, ValueError):
            continue  # what is kept is no stream: nothing to give back
