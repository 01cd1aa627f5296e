"""A message in the shapes careless services produce, in any free-text field (twelfth red-team pass).

Each shape marks a value as a message rather than a name or a title: a mail client's framing, lines in a one-line
field, a chat platform's markup, escapes that hide markup or lines, a message's own keys written in a value, a list
of messages, Japanese text read in the wrong charset. Each was kept at 98-100 % in every free-text field of the six
kinds. Realistic values with none of these shapes are kept (measured: 0 of 68,000 of the eleventh pass's
generators, 0 new among ~300,000 distinct demo values).
"""

from __future__ import annotations

import base64
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
    # Lines in a one-line field
    "body in lines": ("佐藤さん\nお疲れ様です。\n" + BODY, Finding.MULTI_LINE),
    "one header and a body": ("差出人: 佐藤 太郎\n" + BODY, Finding.MULTI_LINE),
    "CRLF": ("営業部\r\n" + BODY, Finding.MULTI_LINE),
    "a line separator": ("営業部\u2028" + BODY, Finding.MULTI_LINE),
    "an .ics text": ("BEGIN:VEVENT\nSUMMARY:残業申請について\nEND:VEVENT", Finding.MESSAGE_FRAMING),
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
    # A list of messages
    "a list": (repr([MESSAGE, "了解しました、資料を確認しておきます"]), Finding.MESSAGE_FRAMING),
    "a tuple": (repr(("残業申請について", "お疲れ様です。")), Finding.MESSAGE_FRAMING),
    # Thirteenth pass: the same classes, other spellings and platforms
    "attribution (vi)": (
        "Vào Th 2, 1 thg 12, 2026 lúc 10:00 Sato Taro đã viết: Could you approve it?",
        Finding.MESSAGE_FRAMING,
    ),
    "attribution (pt)": ("Em seg., 1 de dez. de 2026, Sato escreveu: " + BODY, Finding.MESSAGE_FRAMING),
    "forward separator (nl)": ("---- Doorgestuurd bericht ---- " + BODY, Finding.MESSAGE_FRAMING),
    "signature (outlook mobile)": (BODY + " Get Outlook for iOS", Finding.MESSAGE_FRAMING),
    "signature (outlook android ja)": (BODY + " Outlook for Android から送信", Finding.MESSAGE_FRAMING),
    "signature (de)": (BODY + " Von meinem iPhone gesendet", Finding.MESSAGE_FRAMING),
    "google chat mention": (f"<users/112233445566778899> {MESSAGE}", Finding.CHAT_MARKUP),
    "line works mention": (f'<m userId="sato@example"> {MESSAGE}', Finding.CHAT_MARKUP),
    "chatwork to all": (f"[toall] {MESSAGE}", Finding.CHAT_MARKUP),
    "discord emoji": (f"<:kusa:123456789012345678> {MESSAGE}", Finding.CHAT_MARKUP),
    "discord time": (f"<t:1701234567:R> {MESSAGE}", Finding.CHAT_MARKUP),
    "jira mention": (f"[~accountid:5b10ac8d82e05b22cc7d4ef5] {MESSAGE}", Finding.CHAT_MARKUP),
    "escaped line before a small letter": (
        "Hi Sato,\\nthanks for the update, I will cover your shift",
        Finding.MULTI_LINE,
    ),
    "one \\x0a": ("お疲れ様です。\\x0a" + MESSAGE, Finding.MULTI_LINE),
    "one \\u000a": ("Hi team,\\u000aplease find the revised plan attached.", Finding.MULTI_LINE),
    "one %0A": ("お疲れ様です。%0A" + MESSAGE, Finding.MULTI_LINE),
    "html escaped twice": (f"お疲れ様です。&amp;lt;br&amp;gt;{MESSAGE}", Finding.HTML),
    "utf-8 read as gbk": (MESSAGE.encode().decode("gbk", errors="replace"), Finding.MISDECODED_TEXT),
    "utf-8 read as cp437": (MESSAGE.encode().decode("cp437"), Finding.MISDECODED_TEXT),
    "utf-8 read as mac roman": (MESSAGE.encode().decode("mac_roman"), Finding.MISDECODED_TEXT),
    "korean utf-8 read as cp1251": (
        "오늘 조금 늦을 것 같습니다".encode().decode("cp1251", errors="replace"),
        Finding.MISDECODED_TEXT,
    ),
    "iso-2022-jp in two runs": ("$B2q5D(B 10:00 $BJQ99(B $BCf;_(B", Finding.MISDECODED_TEXT),
    "hz": ("~{NR=qLlGk<Y#,ImLe2;Jf7~~}", Finding.MISDECODED_TEXT),
    "base64 of iso-2022-jp": ("GyRCNWtNP0xAOlkkTjdvGyhC", Finding.BASE64),  # 給与明細の件, 24 characters
    "base64 of iso-2022-jp in a path": ("/mail/GyRCNWtNP0xAOlkkTjdvGyhC", Finding.BASE64),
    "base64 of utf-16 in a path": (
        "/s/" + base64.b64encode("明日の会議は中止です".encode("utf-16-be")).decode(),
        Finding.BASE64,
    ),
    # Fourteenth pass: the same classes, more
    "two lines of a chat (ja)": (f"お疲れ様です\n{MESSAGE}", Finding.MULTI_LINE),
    "two lines of a chat (en)": ("Running late, sorry\nbe there in 10 min", Finding.MULTI_LINE),
    "a list whose message is not first": (f"post(['Hi', '{MESSAGE}。了解しました'])", Finding.MESSAGE_FRAMING),
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
    # Thirteenth pass: false positives of the twelfth's rules
    "Hélène Lefèvre",
    "Mäkinen Hämäläinen",
    "Réunion d'équipe à Genève",
    "欧阳娜娜",
    "[HR] 面談",
    "[Info] 全体会議",
    "[Code] review",
    "[tbd] 会議室 [/tbd]",
    "営業部\n第一課",  # a spreadsheet cell's two lines
    "山田 太郎\nやまだ たろう",
    "早番\n9:00-18:00",
    "予定表 - sato@example.jp - Outlook",
    "受信トレイ (3) - sato@example.jp - Gmail",
    "Yahoo!メール",
    "bulk_approve(['E001', 'E002', 'E003'])",
    "['早番', '遅番']",
    # Fourteenth pass: false positives of the thirteenth's rules
    "佐藤 太郎\nサトウ タロウ\nTaro Sato",  # a cell: a name, its kana, its romaji
    "営業本部\n東京営業部\n第一課",
    "Kobe Logistics Co., Ltd.\nHR & General Affairs Dept.",
    "〒650-0001\n兵庫県神戸市中央区加納町6-5-1\n神戸ビル 5F",
    "株式会社三菱UFJフィナンシャル・グループ経営企画部\n企画課",
    "早番\n07:00-16:00\n休憩60分",
    "..\\nakamura\\日報.xlsx",  # a path's segments, not escaped line breaks
    "Shared\\reports\\2026.xlsx",
    "KOBE\\nakamura-pc12",
    "CORP\\r1234",
    "/requests?id=V1StGXR8_Z5jdHi6B-myT",  # opaque ids outside a path too
    "/billing/invoices?id=in_1MtHbELkdIwHu7ixl4OzzPMv",
    "delete_request id=01HF8X3K9Q2W7E5R6T8Y0U1I2O",
    "assign_shift(['早番 07:00-16:00', '遅番 13:00-22:00'])",  # options, not messages
    'Design review ("Option A", "Option B")',
    '=CONCATENATE("東京本社 営業部 ", "第一課")',
    "Pelatihan menulis: laporan bulanan",
    "Review what we wrote: Q3 plan",
    "Forwarded by: 総務部",
    "[info] 全社朝礼",
    "[hr] 年末調整説明会",
    "Johnson &amp;amp; Johnson K.K.",
    "https://www.google.com/search?q=育児休業 取得 手順&sourceid=chrome&ie=UTF-8",
    "Tokyo Foods Co., Ltd.\nCustomer Success Team - Asia Pacific Region",
    "Sent from my desk: weekly report",
    "Original message: archive policy",
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
        # Sixteenth red-team pass: Outlook's prefixes in other languages, counted, bracketed, Mac's ">".
        "TR: 残業申請について",
        "RV: 残業申請について",
        "Antw: 残業申請について",
        "Odp: 残業申請について",
        "VL: 残業申請について",
        "Re^2: 残業申請について",
        "[Re] 残業申請について",
        "【返信】残業申請について",
        "RE> 残業申請について",
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


def _access_log_payload(make_event, context, field: str, value: str) -> dict[str, Any]:
    """The kept payload of an access-log event holding ``value`` in ``field``."""
    event = event_with(make_event, CollectionKind.ACCESS_LOG, _payload(CollectionKind.ACCESS_LOG, field, value))
    (record,) = run(context, orjson.dumps(event), kind=CollectionKind.ACCESS_LOG).ok
    return record.payload


@pytest.mark.parametrize(
    "value",
    [
        f"/api/chat.postMessage?channel=C024BE7LR&text={MESSAGE}",
        f"/mail/send?to=hr&body=お疲れ様です。{MESSAGE}",
        "/chat/send?text=Can+someone+cover+my+shift+on+Saturday",
        f"/chat/send?msg_body={MESSAGE}",  # compound keys: the policy's markers match anywhere in a key
        f"/chat/send?messageText={MESSAGE}",
        f"/board/new?投稿={MESSAGE}",
        "/board/new?%E6%8A%95%E7%A8%BF=" + "%E6%98%8E%E6%97%A5%E3%81%AE%E4%BC%9A%E8%AD%B0%E3%81%AF%E4%B8%AD%E6%AD%A2",
        f'event=message_posted channel=general text="{MESSAGE}"',
        f"ChatMessage(text={MESSAGE!r})",
        f"/chat/send?text\uff1d{MESSAGE}",  # a full-width equals sign
        f"chat.postMessage({{channel: 'C123', text: '{MESSAGE}'}})",  # an object
        f"slack chat send --channel general --text '{MESSAGE}'",  # a command's flag
        f"send(text => '{MESSAGE}')",  # a hash
        # Twenty-third pass: "msg" and "txt" (now word markers), and a marked key spelled with a look-alike letter
        f"/chat/send?txt={MESSAGE}",
        f'event=chat_posted msg="{MESSAGE}"',
        f"/chat/send?t\u0435xt={MESSAGE}",  # a Cyrillic "ie"
        f"/chat/send?b\u043edy={MESSAGE}",  # a Cyrillic "o"
    ],
)
def test_a_key_the_policy_marks_written_in_a_value_with_a_message_after_it_is_removed(make_event, context, value):
    """Twelfth and thirteenth passes: the same key and value as a payload key are removed; in a value, a fixed list
    of 13 words was read, not the policy's 38 markers."""
    payload = _access_log_payload(make_event, context, "screen", value)

    assert "screen" not in payload


@pytest.mark.parametrize(
    "value",
    [
        "/search?topic=leave_policy",  # a token after a marked key
        "/chat?thread=123",
        "/notice?message=保存しました",  # a word, not a sentence
        "/leave?content=有給休暇",
        "/search?text=Hanako Suzuki",  # a name
        "approve_leave(comment='承認')",
        # Fourteenth pass: a marker names more than messages where nothing around it sends one
        "https://kobe.atlassian.net/wiki/search?text=有給休暇の申請方法について",
        "/wiki/search?text=shift swap policy",
        "https://calendar.google.com/calendar/render?action=TEMPLATE&text=週次定例+営業部&dates=20261127T010000Z",
        "/help?content=有給休暇の申請方法について",
        "/faq?topic=残業申請の承認フロー",
        "/dashboard?context=東京本社 営業1課 月次 集計レポート",
        "approve_leave(id=9824, comment='差し戻し: 日付誤り')",
        "/api/messages?msg_id=8d1f2c&page=2",  # "msg" with a token after it
    ],
)
def test_a_marked_key_with_a_token_or_a_word_after_it_is_kept(make_event, context, value) -> None:
    payload = _access_log_payload(make_event, context, "screen", value)

    assert payload["screen"] == value


@pytest.mark.parametrize(
    "value",
    ["http://kintai-sv:8080/top", "Re:lation 営業支援", "fw:update", "SV: スーパーバイザー課", "Re:Work 合同会社"],
)
def test_a_name_with_a_colon_is_no_reply_prefix(make_event, context, value) -> None:
    """Thirteenth pass: units, hosts and names ("kintai-sv:8080", "Re:Work 合同会社") were removed, up to 100 %."""
    payload = _access_log_payload(make_event, context, "operation", value)

    assert payload["operation"] == value


def test_markup_escaped_many_times_is_judged_once_and_quickly() -> None:
    """Thirteenth pass: each level of "&amp;" called the whole detector chain again; 4 KB of them exhausted the
    stack (the event was dead-lettered as stage_failed) and a 256-character value took 70-126 ms (make bench and
    /tmp/attack13/r8_unescape_recursion.py measure the time; this checks the outcome)."""
    for index in range(20):
        assert detect(f"v{index}&" + "amp;" * 62 + "lt;", 256) is Finding.HTML
    assert detect("&" + "amp;" * 1020 + "lt;") is not None  # raised RecursionError before


_SHARED = "%E9%80%80%E8%81%B7%E5%B1%8A%E3%82%92%E6%9D%A5%E9%80%B1%E6%8F%90%E5%87%BA%E3%81%97%E3%81%BE%E3%81%99"
"""退職届を来週提出します, percent-escaped."""


@pytest.mark.parametrize(
    "value",
    [
        f"https://wa.me/?text={_SHARED}",
        f"https://api.whatsapp.com/send?phone=819012345678&text={MESSAGE}",
        f"https://line.me/R/msg/text/?{_SHARED}",
        f"https://social-plugins.line.me/lineit/share?url=https%3A%2F%2Fex.jp&text={_SHARED}",
        f"https://t.me/share/url?url=https://ex.jp&text={MESSAGE}",
        "https://twitter.com/intent/tweet?text=Pay+cut+for+the+whole+team",
        "https://mail.google.com/mail/?view=cm&fs=1&to=a@ex.jp&su=Salary%20negotiation",
        f"発件人: 佐藤 收件人: 田中 主题: {MESSAGE}".replace("発", "发"),
        f"보낸 사람: 佐藤 받는 사람: 田中 제목: {MESSAGE}",
        "Von: Sato Gesendet: Montag, 1. Dezember 2026 An: Tanaka Budget cuts next year",
        f"De : Sato Envoyé : lundi 1 décembre À : Tanaka Objet : {MESSAGE}",
        f"From: sato@example.co.jp To: tanaka@example.co.jp {MESSAGE}",
        r"{\rtf1\ansi\deff0 {\fonttbl {\f0 MS Gothic;}} 明日の会議は中止です\par}",
        f"BEGIN:VCARD VERSION:3.0 FN:佐藤 NOTE:{BODY} END:VCARD",
        f"BEGIN:VEVENT SUMMARY:定例 DESCRIPTION:{BODY} END:VEVENT",
        "From sato@example.co.jp  Mon Dec  1 10:05:00 2026",
        '--=_NextPart_000_0012 Content-Type: text/plain; charset="utf-8"',
        f"data:,{_SHARED}",
        "data:,Pay cut for the whole team",
        f"[転送] {MESSAGE}",
        f"(Fwd) {MESSAGE}",
        f"RE_ {MESSAGE}.msg",
        # Twenty-fourth pass: more languages, links, replies, notifications, windows
        f"Da: Sato Inviato: lunedì 1 dicembre 2026 A: Tanaka Oggetto: {MESSAGE}",
        f"Van: Sato Verzonden: maandag 1 december 2026 Aan: Tanaka Onderwerp: {MESSAGE}",
        f"От: Сато Отправлено: 1 декабря 2026 Кому: Танака Тема: {MESSAGE}",
        "From: Sato Sent: Monday, December 1, 2026 10:05 AM Budget cuts next year",
        f"viber://forward?text={_SHARED}",
        f"https://line.me/R/oaMessage/@kintai/?{_SHARED}",
        f"SMSTO:+819012345678:{MESSAGE}",
        f"wa.me/819012345678?text={MESSAGE}",  # a link written without its scheme
        f"https://www.reddit.com/submit?url=https%3A%2F%2Fex.jp&title={_SHARED}",
        f"\u3014返信\u3015 {MESSAGE}",
        f"YNT: {MESSAGE}",
        f"AW_ {MESSAGE}.msg",
        f"New mail from 佐藤: {MESSAGE}",
        f"LINE - 佐藤: {BODY}",
        f"{MESSAGE} - Nachricht (HTML)",
        f"[{MESSAGE}](message://%3C1234@mail.example.co.jp%3E)",
    ],
)
def test_what_carries_a_message_is_removed_from_any_free_text(make_event, context, value) -> None:
    """Twenty-third and twenty-fourth red-team passes: links that share or compose a message, a mail's header block
    in other languages or on one line, the documents a message is kept in, a bare data URI, reply prefixes in
    brackets or as Outlook names a saved reply, notifications, a mail's window and links to a mail were kept in
    every free-text field."""
    payload = _access_log_payload(make_event, context, "screen", value)

    assert "screen" not in payload


@pytest.mark.parametrize(
    "value",
    [
        "https://wa.me/819012345678",  # a chat's address, no message
        "https://line.me/R/ti/p/@kintai",  # LINE's add-a-friend link
        "https://t.me/share/url?url=https://kintai.example.com/report/2026-12",
        "https://mail.google.com/mail/u/0/#inbox",
        "De: Paris À: Lyon 出張",
        "An: 全社員 Von: 社長 年頭挨拶",
        "[10:05] 朝会",
        "17:00 退勤",
        "data:, none",
        "RE_2024_plan.xlsx",
        "BEGIN:END 移行計画",
        # Twenty-fourth pass: a route, a shipment, a room, a meeting with its time, a log line
        "差出人: 大阪倉庫 宛先: 神戸センター",
        "From: 16:00 To: 17:00 @会議室A",
        "[12:00] 全体会議: Zoom URLは別途送ります",
        "10:00\t面談\t会議室が変更になりました。",
        "[16:15:33] INFO: 同期が完了しました。",
        "https://www.facebook.com/sharer/sharer.php?u=https%3A//ex.jp/news%3Ftitle%3DKobe%20Logistics%20careers%20page",
    ],
)
def test_what_only_looks_like_a_message_carrier_is_kept(make_event, context, value) -> None:
    payload = _access_log_payload(make_event, context, "screen", value)

    assert payload["screen"] == value
