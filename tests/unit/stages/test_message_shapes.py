"""A message in the shapes careless services produce, in any free-text field (twelfth red-team pass).

Each shape marks a value as a message rather than a name or a title: a mail client's framing, lines in a one-line
field, a chat platform's markup, escapes that hide markup or lines, a message's own keys written in a value, a list
of messages, Japanese text read in the wrong charset. Each was kept at 98-100 % in every free-text field of the six
kinds. Realistic values with none of these shapes are kept (measured: 0 of 68,000 of the eleventh pass's
generators, 0 new among ~300,000 distinct demo values).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schemas.events import CollectionKind
from services.records import RemovalReason
from services.stages.detectors import Finding, detect
from tests.unit.stages.test_hostile_input import allied, event_with, run

MESSAGE = "明日の会議は中止です"
BODY = "来週の出荷スケジュールについて確認させてください。"

SHAPES: dict[str, tuple[str, Finding]] = {
    # A mail client's framing
    "forward separator": ("---------- Forwarded message --------- " + BODY, Finding.MESSAGE_FRAMING),
    "forward separator (ja)": ("---------- 転送メッセージ ---------- " + BODY, Finding.MESSAGE_FRAMING),
    "original message": ("-----Original Message----- " + BODY, Finding.MESSAGE_FRAMING),
    "original message (ja)": ("-----元のメッセージ----- " + BODY, Finding.MESSAGE_FRAMING),
    "apple mail forward": ("Begin forwarded message: " + BODY, Finding.MESSAGE_FRAMING),
    "attribution (en)": ("On Mon, Dec 1, 2026 at 10:00 AM Sato Taro wrote: " + BODY, Finding.MESSAGE_FRAMING),
    "attribution (ja)": ("2026年12月1日(月) 10:00 佐藤 太郎 さんは書きました: " + BODY, Finding.MESSAGE_FRAMING),
    "attribution (de)": ("Am 01.12.2026 um 10:00 schrieb Sato: " + BODY, Finding.MESSAGE_FRAMING),
    "signature (ja)": (BODY + " iPhoneから送信", Finding.MESSAGE_FRAMING),
    "signature (en)": (BODY + " Sent from Outlook for iOS", Finding.MESSAGE_FRAMING),
    "window title (ja)": ("残業申請について - メッセージ (テキスト形式)", Finding.MESSAGE_FRAMING),
    "window title (en)": ("RE: Overtime request for last week - Message (HTML)", Finding.MESSAGE_FRAMING),
    "window title (outlook)": ("残業申請について - user@example.jp - Outlook", Finding.MESSAGE_FRAMING),
    "webmail page": ("残業申請について - 受信トレイ", Finding.MESSAGE_FRAMING),
    # Lines in a one-line field
    "body in lines": ("佐藤さん\nお疲れ様です。\n" + BODY, Finding.MULTI_LINE),
    "one header and a body": ("差出人: 佐藤 太郎\n" + BODY, Finding.MULTI_LINE),
    "CRLF": ("営業部\r\n" + BODY, Finding.MULTI_LINE),
    "a line separator": ("営業部\u2028" + BODY, Finding.MULTI_LINE),
    "an .ics text": ("BEGIN:VEVENT\nSUMMARY:残業申請について\nEND:VEVENT", Finding.MULTI_LINE),
    "escaped lines": ("佐藤さん\\nお疲れ様です。\\n" + MESSAGE, Finding.MULTI_LINE),
    "escaped CRLF and a tab": ("お疲れ様です。\\r\\n\\t" + MESSAGE, Finding.MULTI_LINE),
    "escaped line before a capital": ("Hi team,\\nPlease cover my shift", Finding.MULTI_LINE),
    # Chat markup
    "slack mention": (f"<@U024BE7LH> {MESSAGE}", Finding.CHAT_MARKUP),
    "slack broadcast": (f"<!here> {MESSAGE}", Finding.CHAT_MARKUP),
    "slack channel": (f"<#C024BE7LR|general> {MESSAGE}", Finding.CHAT_MARKUP),
    "slack link": (f"<https://example.slack.com/archives/C024BE7LR/p1701234567|{MESSAGE}>", Finding.CHAT_MARKUP),
    "discord mention": (f"<@123456789012345678> {MESSAGE}", Finding.CHAT_MARKUP),
    "chatwork to": (f"[To:1234567]佐藤さん {MESSAGE}", Finding.CHAT_MARKUP),
    "chatwork reply": (f"[rp aid=1234567 to=89012345-1234567890]佐藤さん {MESSAGE}", Finding.CHAT_MARKUP),
    "chatwork info": (f"[info][title]残業申請について[/title]{MESSAGE}[/info]", Finding.CHAT_MARKUP),
    "chatwork quote": (f"[qt][qtmeta aid=1234567 time=1701234567]{MESSAGE}[/qt]", Finding.CHAT_MARKUP),
    "bbcode": (f"[quote]{MESSAGE}[/quote]", Finding.CHAT_MARKUP),
    # Escapes undone
    "html escaped once": (f"お疲れ様です。&lt;br&gt;{MESSAGE}", Finding.HTML),
    "rtf bytes": ("".join(f"\\'{byte:02x}" for byte in "残業申請".encode("cp932")), Finding.ESCAPED_TEXT),
    # A message's own keys, a list of messages
    "query text=": (f"/api/chat.postMessage?channel=C024BE7LR&text={MESSAGE}", Finding.MESSAGE_FRAMING),
    "query body=": (f"/mail/send?to=hr&body=お疲れ様です。{MESSAGE}", Finding.MESSAGE_FRAMING),
    "form-encoded text=": ("/chat/send?text=Can+someone+cover+my+shift+on+Saturday", Finding.MESSAGE_FRAMING),
    "logfmt": (f'event=message_posted channel=general text="{MESSAGE}"', Finding.MESSAGE_FRAMING),
    "a call": (f"ChatMessage(text={MESSAGE!r})", Finding.MESSAGE_FRAMING),
    "a list": (repr([MESSAGE, "了解しました、資料を確認しておきます"]), Finding.MESSAGE_FRAMING),
    "a tuple": (repr(("残業申請について", "お疲れ様です。")), Finding.MESSAGE_FRAMING),
    # Japanese in the wrong charset
    "utf-8 read as cp1252": (MESSAGE.encode().decode("cp1252", errors="replace"), Finding.MISDECODED_TEXT),
    "utf-8 read as cp932": (MESSAGE.encode().decode("cp932", errors="replace"), Finding.MISDECODED_TEXT),
    "shift_jis read as cp1252": (MESSAGE.encode("cp932").decode("cp1252", errors="replace"), Finding.MISDECODED_TEXT),
    "euc-jp read as latin-1": (MESSAGE.encode("euc_jp").decode("latin-1"), Finding.MISDECODED_TEXT),
    "iso-2022-jp as ascii": (MESSAGE.encode("iso2022_jp").decode("ascii"), Finding.MISDECODED_TEXT),
    "iso-2022-jp without escapes": (
        MESSAGE.encode("iso2022_jp").decode("ascii").replace("\x1b", ""),
        Finding.MISDECODED_TEXT,
    ),
}


@pytest.mark.parametrize(("value", "finding"), SHAPES.values(), ids=SHAPES.keys())
def test_a_message_in_a_shape_careless_services_produce_is_found(value: str, finding: Finding) -> None:
    assert detect(value, 256) is finding


ORDINARY = [
    "[HR-80484] Customer call",  # a ticket, not Chatwork's [hr]
    "[Internal] 週次定例",
    "営業部\n",  # a line read with its end
    "C:\\Users\\nakamura\\Documents",  # a path's "\n", not a line break
    "C:\\new folder\\report.xlsx",
    "/search?message=123&content=summary",  # a parameter's token
    "/members/search?q=%E6%96%8E%E8%97%A4",
    "ｶﾀｶﾅ ﾃｽﾄ 全角ＡＢＣ",  # half-width katakana: EUC-JP's kanji bytes, not read so
    "Müller, José, Zoë, Ångström, Œuvre",
    "資料を書きました",
    "Team sync - Outlook add-in review",  # an application's name after " - ", not a window's suffix
    "Keynote (Apple) and Teams",
]


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_values_with_a_look_of_those_shapes_are_kept(value: str) -> None:
    assert detect(value, 256) is None


def _payload(kind: CollectionKind, field: str, value: str) -> dict[str, Any]:
    return {
        CollectionKind.ALLIED: allied("system_usage", application=value, duration_s=30),
        CollectionKind.TRANSMISSION: {
            "record_type": "clock_in",
            "at": "2023-05-01T09:00:00+09:00",
            field: value,
        },
        CollectionKind.ACCESS_LOG: {
            "ip_address": "203.0.113.5",
            "requested_at": "2023-05-01T09:00:00+09:00",
            "operation": "view",
            field: value,
        },
    }[kind]


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (CollectionKind.ALLIED, "application"),
        (CollectionKind.TRANSMISSION, "personal_name"),
        (CollectionKind.ACCESS_LOG, "screen"),
        (CollectionKind.ACCESS_LOG, "operation"),
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "Fwd: 残業申請について",
        "Outlook - Re: 残業申請について",
        "send_mail(Re: 残業申請について)",
        "転送: 残業申請について",
    ],
)
def test_one_reply_prefix_is_a_mail_subject_in_any_field_but_a_title(make_event, context, kind, field, value) -> None:
    """A calendar entry's title may open with one ("Re: 定例会議": an entry made from a mail); nothing else does."""
    event = event_with(make_event, kind, _payload(kind, field, value))

    (record,) = run(context, orjson.dumps(event), kind=kind).ok

    assert field not in record.payload
    assert [(r.path, r.reason) for r in record.removed] == [(f"payload.{field}", RemovalReason.EXCLUDED_CONTENT)]


def test_a_title_may_open_with_one_reply_prefix(make_event, context) -> None:
    event = event_with(make_event, CollectionKind.ALLIED, allied("scheduler_entry", title="Re: 定例会議の日程"))

    (record,) = run(context, orjson.dumps(event)).ok

    assert record.payload["title"] == "Re: 定例会議の日程"
