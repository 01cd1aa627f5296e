"""The content detectors: every encoded shape is found, and no value a kept text field legitimately holds is."""

from __future__ import annotations

import base64
import quopri
import random
import re
import string
import unicodedata
from email.header import Header

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from services.stages import detectors
from services.stages.detectors import (
    _PRINTABLE_NOTHING,
    Finding,
    _hidden_count,
    _shows_nothing,
    detect,
    hidden_carrier,
    hidden_count,
    looks_encoded,
    visible,
)

_RANDOM = random.Random(20240315)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + _RANDOM.randbytes(600)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06" + _RANDOM.randbytes(400)
JAPANESE = "来週の残業申請について承認をお願いします。本文は添付の通りです。"
ENGLISH = "Please find attached the minutes of Tuesday's meeting and the revised overtime schedule."


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wrapped(data: bytes, width: int = 76, separator: str = "\n") -> str:
    encoded = b64(data)
    return separator.join(encoded[i : i + width] for i in range(0, len(encoded), width))


# --- values that must never be flagged -----------------------------------------------------------------------

PLAIN = [
    # Emoji as people write them, and a row of one
    "🎉🎉 Happy birthday 🎂🎁🎈🎊 チーム会 🍻🍣🍜🍺🍶🥂🍕🍔🍟🌭🍿",
    "👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍",
    "📅📌📎💼🏢🐶🐱👀💯📢📝💡📈📉📊 週次レポート",
    # Dots and dashes that are no Morse: katakana's long vowel mark beside middle dots, rules, lists
    "コーヒー・ブレーク ・ー・ー・ 定例",
    "ツール トラブル トマト ツーリング ト ツー",
    "—— —— —— —— —— —— —— —— —— ——",
    "・ ・ ・ ・ ・ ・ ・ ・ ・ ・ ー ー ー",
    "1. ー 2. ー 3. ー 4. ー 5. ー",
    # Japanese titles, sentences, department names
    "週次定例ミーティング",
    "【重要】来週の残業申請について",
    "会議: 10:00〜11:00 (会議室A)",
    "第一営業部 / Sales Div. 1",
    "第3四半期 売上レビュー (Q3 Sales Review)",
    "株式会社サンプルホールディングス 東京本社",
    "山田 太郎",
    # English titles and prose
    "Sprint review: Q3 goals",
    "Weekly sync with the platform team about the Q3 roadmap, hiring plan and on-call rotation",
    "Re: budget",
    "Outlook",
    "Microsoft Excel - Book1.xlsx",
    "clock_in",
    # angle brackets, ampersands and equals signs that are not markup or encodings
    "A <-> B",
    "x < y and y > z",
    "Q&A <draft>",
    "Meeting with <name> about <title>",
    "Report <date> <option>",
    "Compare <a> and <b>",
    "R&amp;D",
    "Tom &amp; Jerry &amp; friends",
    "AT&T",
    "====",
    "=?",
    "100% = 1.0",
    "a=1 b=2",
    "=SUM(A1:A10)",
    "x=FF y",
    "C++/CLI",
    "data: 10 rows",
    "Metadata: owner",
    # operation, screen and application names, including long ones
    "view_timesheet_monthly_report_export",
    "ViewTimesheetMonthlyReport2024",
    "approveOvertimeRequestBatch",
    "frmMainMenu_EmployeeTimesheetEntry",
    "EmployeeSelfServicePortal2",
    "MicrosoftTeamsMeetingAddin",
    "OutlookCalendarSyncService",
    "PowerBIDesktopReportViewer",
    "AdobeAcrobatReaderDC2023",
    "getHTTPResponseCodeForURL",
    "XMLHttpRequestEventTarget",
    "AmazonDynamoDBFullAccess_v2",
    "VIEW_TIMESHEET_MONTHLY_REPORT_EXPORT",
    "Supercalifragilisticexpialidocious",
    "abcdefghijklmnopqrst",
    "internationalization",
    # identifiers, timestamps, addresses, numbers, paths
    "550e8400-e29b-41d4-a716-446655440000",
    "550E8400-E29B-41D4-A716-446655440000",
    "2024-03-15T09:30:00+09:00",
    "2024-03-15T00:30:00.123456Z",
    "https://example.com/a/b?x=1&y=2",
    "https://intranet.example.co.jp/timesheet/monthly?employee=E12345&month=2024-03",
    "https://github.com/ExampleCorp/PurposeLineage/pull/123",
    "report-123.xlsx",
    "週報_2024年3月第2週.docx",
    "Q3_Sales_Review_Final_v2.pptx",
    "/usr/local/share/applications/libreoffice-calc.desktop",
    r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
    "hanako.suzuki@example.co.jp",
    "KOBE-PC-0001",
    "+81-3-1234-5678",
    "03-1234-5678",
    "(555) 123-4567",
    # Titles, paths, types and agents next to which the red team's disguises are found (2026-12-06).
    "週次定例ミーティング",
    "週次定例 (営業部) 10:00〜11:00",
    "To do: submit expense report",
    "Meeting w/ ACME Corp. re: contract renewal (draft v3)",
    "Sprint planning Q3 review",
    "HAS_TLSv1_1, HAS_TLSv1_2, HAS_TLSv1_3",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "/api/v1/employees/emp-00042/timesheets?month=2025-03",
    "https://rakuro.example.jp/admin/settings/notifications#email",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)",
    "C:\\Users\\tanaka\\Documents\\report_2025_Q3_final.xlsx",
    "release/v2.14.0-rc.3+build.20251203",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "INV-2025-000123 / PO-88812-A / REF-7781",
    "[WIP] budget: phase 2",
    "50% off; 100% done",
    "<Tanaka> weekly sync",
]

# Hex digests are single-case: never base64 of 15 bytes or more, so they are kept (a digest is no content).
HEX_DIGESTS = [
    "d41d8cd98f00b204e9800998ecf8427e",
    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "0x7FF8000000000001",
]


@pytest.mark.parametrize("value", PLAIN)
def test_plain_value_is_not_detected(value: str) -> None:
    assert detect(value) is None
    assert detect(value, 256) is None
    assert not looks_encoded(value)


@pytest.mark.parametrize("value", HEX_DIGESTS)
def test_hex_digest_is_not_base64(value: str) -> None:
    assert detect(value) is None


def test_japanese_sentence_is_not_base64() -> None:
    assert detect("来週の残業申請についてご相談させてください。よろしくお願いいたします。") is None


def test_colon_in_scheduler_title_is_not_a_mime_word() -> None:
    assert detect("Sprint review: Q3 goals") is None
    assert detect("Planning =? later") is None


def test_bare_word_in_angle_brackets_is_not_html() -> None:
    assert detect("Q&A <draft>") is None
    assert detect("<summary> of the <details>") is None


# --- base64 --------------------------------------------------------------------------------------------------


def base64_shapes(data: bytes) -> dict[str, str]:
    standard = b64(data)
    urlsafe = base64.urlsafe_b64encode(data).decode()
    return {
        "standard": standard,
        "unpadded": standard.rstrip("="),
        "urlsafe": urlsafe,
        "urlsafe unpadded": urlsafe.rstrip("="),
        "wrapped 76 LF": wrapped(data),
        "wrapped 76 CRLF": wrapped(data, separator="\r\n"),
        "wrapped 64 LF": wrapped(data, width=64),
        "wrapped 76 spaces": wrapped(data, separator=" "),
        "encodebytes": base64.encodebytes(data).decode(),
        "after a prefix": f"see attachment: {standard}",
        "glued to a prefix": f"attachment_{urlsafe.rstrip('=')}",
    }


PAYLOADS = {
    "pdf": PDF,
    "png": PNG,
    "japanese text": JAPANESE.encode(),
    "english text": ENGLISH.encode(),
    "shift_jis text": JAPANESE.encode("shift_jis"),
    "iso-2022-jp text": JAPANESE.encode("iso-2022-jp"),
    "utf-16 text": ENGLISH.encode("utf-16-le"),
    "zero-filled": bytes(48),
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("shape", base64_shapes(b"").keys())
def test_base64_is_detected_in_every_shape(payload: bytes, shape: str) -> None:
    value = base64_shapes(payload)[shape]
    assert detect(value) is Finding.BASE64
    assert looks_encoded(value)


def test_base64_of_a_pdf_header_is_detected() -> None:
    assert detect("JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoK") is Finding.BASE64


def test_base64_of_a_short_sentence_is_detected() -> None:
    assert detect(b64(b"Hello, world!!!")) is Finding.BASE64  # 15 bytes: 20 characters, the minimum
    assert detect(b64("本文: 来週の件".encode())) is Finding.BASE64


def test_base64_shorter_than_the_minimum_is_not_detected() -> None:
    assert detect(b64(b"Hi there!")) is None  # 12 characters: too short to tell from a token


def test_base64_of_a_text_attachment_line_is_detected_in_a_title() -> None:
    assert detect(f"議事録 {b64(JAPANESE.encode())} (添付)") is Finding.BASE64


def test_mixed_alphabet_path_is_not_base64() -> None:
    assert detect("/var/lib/Some-Service_Data/ReportArchive2024/Monthly-Export") is None


# Detection is statistical for 24 to 31 random bytes (measured: 27 misses in 10^6 at 24 bytes, 1 at 32, none
# at 48): a fixed example set keeps the suite deterministic.
@settings(max_examples=300, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**64 - 1), size=st.integers(24, 400), shape=st.sampled_from(list(base64_shapes(b""))))
def test_base64_of_random_bytes_is_always_detected(seed: int, size: int, shape: str) -> None:
    data = random.Random(seed).randbytes(size)
    value = base64_shapes(data)[shape]
    # One in ~10^4 begins as a path does ("/f/…"), and is judged as one (test_base64_of_random_bytes_in_a_path_…).
    assume(re.match(r"/[a-z]+/", value) is None)
    assert detect(value) is Finding.BASE64


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=32, max_size=300).filter(lambda b: len(set(b)) >= 8))
def test_base64_of_structured_binary_is_detected(data: bytes) -> None:
    # Hypothesis' bytes are anything but uniform (runs of zeros, repeated patterns, small values).
    assert detect(b64(data)) is Finding.BASE64
    assert detect(base64.urlsafe_b64encode(data).decode().rstrip("=")) is Finding.BASE64


# --- data URIs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        f"data:application/pdf;base64,{b64(PDF)}",
        f"data:image/png;base64,{b64(PNG)[:40]}",
        "data:text/plain,hello",
        f"data:text/plain;charset=utf-8,{JAPANESE}",
        "DATA:TEXT/PLAIN;CHARSET=UTF-8,本文",
        "data:;base64,SGVsbG8=",
        "open data:text/html,<b>x</b> now",
    ],
)
def test_data_uri_is_detected(value: str) -> None:
    assert detect(value) is Finding.DATA_URI


def test_data_uri_is_named_before_its_base64() -> None:
    assert detect(f"see data:application/pdf;base64,{b64(PDF)}") is Finding.DATA_URI


# --- quoted-printable ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "=E3=81=82=E3=81=84=E3=81=86",
        "=e3=81=82=e3=81=84",
        "caf=C3=A9 au lait",
        "Hello=20World=20and=20again",
        quopri.encodestring(JAPANESE.encode()).decode(),
        quopri.encodestring(ENGLISH.encode() * 2).decode(),
        "This line was wrapped by the encoder at seventy-six characters, so it=\ncontinues on the next line",
        "A soft break with CRLF=\r\nand more text",
    ],
)
def test_quoted_printable_is_detected(value: str) -> None:
    assert detect(value) is Finding.QUOTED_PRINTABLE


def test_one_hex_escape_is_not_quoted_printable() -> None:
    assert detect("x=3D") is None


@pytest.mark.parametrize(
    "value",
    [
        "/api/v2/shifts?from=2026-11-01&to=2026-11-30&dept=4714",
        "/shift?id=4711&week=47&dept=12",
        "/calendar?year=2026&month=11&day=27",
    ],
)
def test_a_querys_parameters_are_no_quoted_printable(value: str) -> None:
    """Seventeenth red-team pass: three values beginning with two hex digits were three escapes (40 of 40 screens
    of a date range removed)."""
    assert detect(value) is None


def test_quoted_printable_in_a_querys_value_is_still_found() -> None:
    assert detect("/search?q=Pay=20cut=20for=20Sato") is Finding.QUOTED_PRINTABLE


# --- RFC 2047 encoded words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "=?UTF-8?B?5p2l6YCx44Gu5q6L5qWt?=",
        "=?utf-8?b?5p2l6YCx44Gu5q6L5qWt?=",
        "=?UTF-8?Q?=E6=9D=A5=E9=80=B1?=",
        "=?utf-8?q?caf=C3=A9?=",
        "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=",
        "=?iso-2022-jp?q?=1B$B%F%9%H=1B(B?=",
        "=?UTF-8*ja?B?5p2l6YCx?=",
        "Fwd: =?UTF-8?B?5p2l6YCx?= (2)",
        Header(JAPANESE, "utf-8").encode(),
        Header(ENGLISH, "iso-8859-1").encode(),
    ],
)
def test_mime_encoded_word_is_detected(value: str) -> None:
    assert detect(value) is Finding.MIME_ENCODED_WORD


# --- HTML ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        f"<html><body><p>{JAPANESE}</p></body></html>",
        "<!DOCTYPE html><title>x</title>",
        '<div class="gmail_quote">Re: overtime</div>',
        "<P>Hello</P>",
        "<b>urgent</b> reply",
        "<I>note</I>",
        "<BODY BGCOLOR=white>",
        "first line<br/>second line",
        "first<br>second",
        "<span style='color:red'>urgent</span>",
        "<table><tr><td>1</td></tr></table>",
        '<a href="https://example.com">link</a>',
        '<img src="cid:image001.png@01D9A1B2">',
        '<meta charset="utf-8">',
        "<style>p { margin: 0 }</style>",
        "<script>alert(1)</script>",
        "<o:p>&nbsp;</o:p>",
        "</div>",
        "<!-- converted from text -->",
        '<time datetime="2024-03-15">Friday</time>',
        "&lt;b&gt;bold&lt;/b&gt;",
        "&#26469;&#36913;&#12398;",
    ],
)
def test_html_is_detected(value: str) -> None:
    assert detect(value) is Finding.HTML


# --- length bound --------------------------------------------------------------------------------------------


def test_value_longer_than_the_bound_is_too_long() -> None:
    assert detect("a" * 257, 256) is Finding.TOO_LONG
    assert detect("週" * 257, 256) is Finding.TOO_LONG


def test_value_at_the_bound_is_not_too_long() -> None:
    assert detect("a" * 256, 256) is None


def test_no_bound_means_unbounded() -> None:
    assert detect("週次定例 " * 10_000) is None
    assert detect("週次定例 " * 10_000, None) is None


def test_too_long_is_reported_before_content() -> None:
    assert detect(f"<p>{'x' * 300}</p>", 256) is Finding.TOO_LONG


def test_looks_encoded_ignores_length() -> None:
    assert not looks_encoded("plain " * 1000)
    assert looks_encoded("x" * 1000 + b64(PDF))


# --- properties of plain values ------------------------------------------------------------------------------

_JAPANESE_CHARS = st.one_of(
    st.characters(min_codepoint=0x3041, max_codepoint=0x3096),  # hiragana
    st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA),  # katakana
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK unified ideographs
    st.sampled_from(list(" 　、。・ー「」『』【】（）！？：〜")),
)


@settings(max_examples=300, deadline=None)
@given(st.text(_JAPANESE_CHARS, max_size=60))
@example("\u3000丣丬乀")  # read from GBK as cp932: "｡｡゛聢ゝ", whose marks were counted as hiragana
def test_random_japanese_text_is_never_detected(value: str) -> None:
    assert detect(value) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=12), min_size=1, max_size=8))
def test_random_snake_case_identifier_is_never_detected(words: list[str]) -> None:
    assert detect("_".join(words)) is None


_WORDS = [
    "view",
    "get",
    "set",
    "list",
    "approve",
    "reject",
    "request",
    "overtime",
    "time",
    "sheet",
    "timesheet",
    "monthly",
    "weekly",
    "report",
    "export",
    "import",
    "employee",
    "user",
    "account",
    "batch",
    "record",
    "entry",
    "menu",
    "main",
    "form",
    "portal",
    "service",
    "status",
    "update",
    "delete",
    "create",
    "leave",
    "holiday",
    "calendar",
    "meeting",
    "schedule",
    "summary",
    "detail",
    "manager",
    "approval",
    "workflow",
    "payroll",
    "shift",
    "clock",
    "in",
    "out).split(",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=2, max_size=6), st.booleans(), st.integers(0, 2100))
@example(["weekly", "user", "weekly", "in", "weekly"], False, 0)  # decoded to printable UTF-8 at offset 2 (CI)
@example(["workflow", "workflow", "workflow", "workflow"], False, 0)  # scored 4.90 against a bar of 4.95
def test_camel_case_operation_name_is_never_detected(words: list[str], pascal: bool, suffix: int) -> None:
    name = "".join(word.capitalize() for word in words)
    name = (name if pascal else name[0].lower() + name[1:]) + (str(suffix) if suffix % 3 == 0 else "")
    assert detect(name) is None


def test_base64_glued_to_a_long_run_is_detected() -> None:
    assert detect("x" * 1000 + b64(PDF)) is Finding.BASE64
    assert detect("ReportArchive" * 40 + b64(JAPANESE.encode())) is Finding.BASE64


def test_base64_glued_to_a_mixed_alphabet_prefix_is_detected() -> None:
    assert detect("a/b-" + b64(PDF)) is Finding.BASE64
    assert detect("a/b-" + base64.urlsafe_b64encode(PDF).decode()) is Finding.BASE64


_SUBJECT_BASE64 = "U3ViamVjdDogcGF5IGN1dCBmb3IgU2F0byBuZXh0IG1vbnRo"  # "Subject: pay cut for Sato next month"


@pytest.mark.parametrize(
    "value",
    [
        "Team sync\rSubject: Pay cut for Sato",
        "Team sync\u2028Subject: Pay cut for Sato",
        "Team sync\u2029Subject: Pay cut for Sato",
        "Team sync\x85Subject: Pay cut for Sato",
        "Team sync\vSubject: Pay cut for Sato",
        "ok\r> We will cut your pay\r> from next month",
        "Subject\ua789 Pay cut for Sato",
        "Subject\u2236 Pay cut for Sato",
        "\ua4e2ubject: Pay cut for Sato",  # a Lisu S
        _SUBJECT_BASE64.translate(str.maketrans("SVBGIUM", "\ua4e2\ua4e6\ua4d0\ua4d6\ua4f2\ua4f4\ua4df")),  # Lisu
        _SUBJECT_BASE64.translate(str.maketrans("SVBGUM", "ᏚᏙᏴᏀᏌᎷ")),  # Cherokee
        _SUBJECT_BASE64.translate(str.maketrans("iagcv", "ıɑɡᴄᴠ")),  # Latin IPA and small capitals
    ],
)
def test_messages_behind_other_line_breaks_and_look_alikes_are_detected(value: str) -> None:
    """Seventh red-team pass: header lines and quoted replies after a bare CR, U+2028/2029, NEL or a vertical tab,
    look-alike colons, and base64 in Lisu, Cherokee or small-capital letters were kept."""
    assert detect(value) is not None


def _groups(encoded: str, size: int, separator: str = " ") -> str:
    return separator.join(encoded[i : i + size] for i in range(0, len(encoded), size))


_MESSAGE = b"Subject: pay cut for Sato. Body: effective next month, sorry."
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61")


@pytest.mark.parametrize(
    "value",
    [
        "Team sync about the plan " + _groups(base64.b64encode(_MESSAGE).decode(), 8),  # five words before
        "a b c d e f g h i j " + _groups(base64.b64encode(_MESSAGE).decode(), 8, "."),
        "Team sync about the plan " + ":".join(f"{b:02x}" for b in _MESSAGE[:30]),
        "Team sync about the plan " + _groups(base64.b32encode(_MESSAGE).decode().rstrip("="), 8),
        _groups(base64.b64encode(__import__("zlib").compress(_MESSAGE)).decode(), 12),  # compressed, in groups
        _groups(base64.b64encode(__import__("gzip").compress(_MESSAGE, mtime=0)).decode(), 12),
        _groups(base64.b64encode(_PNG).decode(), 12),  # an attachment's bytes
        _groups(base64.b32encode(__import__("zlib").compress(_MESSAGE)).decode().rstrip("="), 8),
        " ".join(f"{b:02x}" for b in "件名：給与カットの件について".encode("cp932")),  # bytes one by one
    ],
)
def test_grouped_encodings_after_words_and_of_compressed_or_binary_content_are_detected(value: str) -> None:
    """Seventh red-team pass: groups were put back together from the first four only, and judged as UTF-8 text
    only: five words before them, or a compressed stream, a PNG or Shift_JIS bytes in groups, were kept."""
    assert detect(value) is not None


_SUBJECT_TEXT = b"Subject: pay cut for Sato"


def _base36(data: bytes) -> str:
    number, digits = int.from_bytes(data, "big"), []
    while number:
        number, digit = divmod(number, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits))


@pytest.mark.parametrize(
    "value",
    [
        ".".join(str(b) for b in _SUBJECT_TEXT),
        "-".join(str(b) for b in _SUBJECT_TEXT),
        "/".join(str(b) for b in _SUBJECT_TEXT),
        " ".join(f"0x{b:02x}" for b in _SUBJECT_TEXT),
        "{" + ",".join(f"0x{b:02x}" for b in _SUBJECT_TEXT) + "}",
        " ".join(f"U+{b:04X}" for b in _SUBJECT_TEXT),
        " ".join(f"{b:o}" for b in _SUBJECT_TEXT),  # octal
        " ".join(f"{b:07b}" for b in _SUBJECT_TEXT),  # seven bits
        "Ref " + str(int.from_bytes(_SUBJECT_TEXT + b" next month", "big")),  # one decimal number
        _base36(_SUBJECT_TEXT + b" next month"),
        base64.b32hexencode(_SUBJECT_TEXT + b" next month").decode(),
    ],
)
def test_text_written_as_numbers_in_any_notation_is_detected(value: str) -> None:
    """Seventh red-team pass: bytes split by '.', '-' or '/', in 0x or U+ notation, octal or seven-bit binary, and
    text written as one decimal, base36 or base32hex number were kept (identifiers already refused the last three)."""
    assert detect(value) is not None


_RFC4648_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@pytest.mark.parametrize(
    ("alphabet", "big_number"),
    [
        ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", True),  # base62
        ("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", True),  # base58
        ("ybndrfg8ejkmcpqxot1uwisza345h769", False),  # z-base-32
        ("0123456789ABCDEFGHJKMNPQRSTVWXYZ", False),  # Crockford's base32
        ("0123456789bcdefghjkmnpqrstuvwxyz", False),  # geohash's (twenty-second red-team pass)
        ("0123456789abcdfghijklmnpqrsvwxyz", False),  # Nix's
    ],
)
def test_text_in_the_other_alphabets_of_identifiers_is_detected_in_free_text(alphabet: str, big_number: bool) -> None:
    """Twenty-first session: a kept text holding a message as z-base-32 or Crockford's base32 was kept (base62 and
    base58 were removed as base64 of binary bytes; now each is read as what it is)."""
    data = "件名：来月の給与削減について".encode()
    if big_number:
        number, digits = int.from_bytes(data, "big"), []
        while number:
            number, digit = divmod(number, len(alphabet))
            digits.append(alphabet[digit])
        value = "".join(reversed(digits))
    else:
        value = base64.b32encode(data).decode().rstrip("=").translate(str.maketrans(_RFC4648_BASE32, alphabet))

    assert detect("資料 " + value) is Finding.ESCAPED_TEXT


def test_base64_of_a_text_that_says_something_twice_is_detected() -> None:
    """Found by a property test: a text that repeats a 3-byte-aligned chunk ("Re: 残 aaaa 残 …") decodes from base64
    that repeats itself, which was taken for a name that says a word twice ("ListWeeklyInWeekly12")."""
    value = base64.b64encode("Re: 残 aaaa 残 SENTINEL0".encode()).decode()
    assert detect(value) is Finding.BASE64
    assert detect("ListWeeklyInWeekly12") is None


_MESSAGES_IN_CJK = [
    "明日の会議は中止です。資料は来週送ります",  # Japanese
    "明天的會議取消了，資料下週寄出，謝謝",  # Chinese, traditional
    "明天的会议取消了，资料下周寄出，谢谢",  # Chinese, simplified
    "내일 회의는 취소되었습니다 자료는 다음주에 보내겠습니다",  # Korean
]


@pytest.mark.parametrize("message", _MESSAGES_IN_CJK)
@pytest.mark.parametrize("separator", [",", " ", ";"])
def test_messages_written_as_code_points_are_detected(message: str, separator: str) -> None:
    assert detect(separator.join(str(ord(char)) for char in message), 256) is Finding.ESCAPED_TEXT
    assert detect(separator.join(f"U+{ord(char):04X}" for char in message), 256) is not None


@pytest.mark.parametrize(
    "value",
    [
        "/export/csv?ids=96302,46888,70327,51068,83309,40514,58155,33200,91495,27234,23577,99745,39397,26882,13816",
        "/export/csv?ids=22004,33081,52156,43284,31653,13641,69619,54755",
        "bulk_approve(ids=[38211, 40512, 29983, 31744, 25012, 36120, 27780, 39001])",
    ],
)
def test_lists_of_ids_are_not_code_points_of_text(value: str) -> None:
    """Ids of 4-5 digits land among the CJK ideographs when read as code points, but on rare ones: 14 % of
    /export?ids= screens with 8-15 ids were removed as text (eleventh red-team pass's screen set; 0.5 % after)."""
    assert detect(value, 256) is None


@pytest.mark.parametrize(
    "value", ["2024-05-01 10:00-11:00", "v1.2.3.4", "192.168.10.20", "Room 1 2 3 4 5 6 7 8", "0x1F 0x2A color"]
)
def test_ordinary_numbers_are_not_text(value: str) -> None:
    assert detect(value) is None


@pytest.mark.parametrize(
    "value",
    [
        'Note: {"subject":"Pay cut for Sato","body":"Effective next month, sorry"}',
        '{"subject":"Pay cut for Sato","body":"Effective next month"} thanks',
        '({"subject":"Pay cut for Sato","body":"Effective next month"})',
        '{\\"subject\\":\\"Pay cut for Sato\\",\\"body\\":\\"Effective next month\\"}',
        '{subject="Pay cut for Sato", body="Effective next month"}',
        '{:subject => "Pay cut for Sato", :body => "Effective next month"}',
        "array('subject' => 'Pay cut for Sato', 'body' => 'Effective next month')",
    ],
)
def test_a_mapping_with_anything_around_it_is_structured(value: str) -> None:
    """Seventh red-team pass: only a value that was a mapping from end to end was structured."""
    assert detect(value) is not None


@pytest.mark.parametrize("value", ["(note: bring laptop, charger)", "Sync (room: A, floor: 3)", "Team {A, B}"])
def test_parenthesized_notes_are_no_mapping(value: str) -> None:
    assert detect(value) is None


_SUBJECT = "Pay cut for Sato from next month"
LABELS_ANYWHERE = [
    f"**Subject**: {_SUBJECT}",
    f"# Subject: {_SUBJECT}",
    f"_Subject_: {_SUBJECT}",
    f"`Subject`: {_SUBJECT}",
    f'"Subject: {_SUBJECT}"',
    f"\u201cSubject: {_SUBJECT}\u201d",
    f"(Subject: {_SUBJECT})",
    f"1. Subject: {_SUBJECT}",
    f"FYI Subject: {_SUBJECT}",
    f"\U0001f4e7 Subject: {_SUBJECT}",
    f"[b]Subject:[/b] {_SUBJECT}",
    f"\u25a0件名\uff1a{_SUBJECT}",
    f"\u25cf件名\uff1a{_SUBJECT}",
    f"\u203b件名\uff1a{_SUBJECT}",
    f"\u2605Subject: {_SUBJECT}",
    f"【件\u3000名】{_SUBJECT}",
    f"《件名》{_SUBJECT}",
    f"<件名>{_SUBJECT}",
    "Body: Dear Sato, your salary will be cut",
    "Message: Dear Sato, your salary will be cut",
    f"Re[2]: {_SUBJECT}",
    f"[EXT] Re: Re: {_SUBJECT}",
    f"Re: [ext] Re: {_SUBJECT}",
    *(f"Subject{colon} {_SUBJECT}" for colon in "\u02d0\u05c3\u205a\u0589\ua4fd\u1361\u16ec\u1803\u0703"),
]


@pytest.mark.parametrize("value", LABELS_ANYWHERE)
def test_a_message_label_after_anything_but_a_letter_is_a_mail_header(value: str) -> None:
    """Eighth red-team pass: any character before a label but a few bullets hid it; Body:, Re[2]: and colons
    Unicode takes for ':' too."""
    assert detect(value) is Finding.MAIL_HEADER


@pytest.mark.parametrize(
    "value",
    [
        "Items received: 3",
        "Governing body: board meeting",
        "Error message: disk full",
        "Message board review",
        "Subjects covered in training",
        "Re: budget",  # one reply prefix opens ordinary titles too
        "Meeting at 10:30",
        "内容: 定例会議",
        "タイトル：週次定例",
    ],
)
def test_labels_inside_ordinary_titles_are_not_mail_headers(value: str) -> None:
    assert detect(value) is None


def _letters(base: int, text: str) -> str:
    return "".join(chr(base + ord(c) - ord("A")) if "A" <= c <= "Z" else c for c in text.upper())


@pytest.mark.parametrize(
    "value",
    [
        "\u202e" + f"Subject: {_SUBJECT}"[::-1],  # right-to-left override: shows "Subject: …"
        "\u2067" + f"Subject: {_SUBJECT}"[::-1] + "\u2069",  # right-to-left isolate
        "\u202b" + f"件名: {_SUBJECT}"[::-1] + "\u202c",  # embedding
        _letters(0x1F1E6, "Subject") + f": {_SUBJECT}",  # regional indicator letters
        _letters(0x1F170, "Subject") + f": {_SUBJECT}",  # negative squared letters
        _letters(0x1F150, "Subject") + f": {_SUBJECT}",  # negative circled letters
    ],
)
def test_a_header_shown_reversed_or_in_letter_symbols_is_found(value: str) -> None:
    """Eighth and ninth red-team passes: the detectors read the stored order, a reader the displayed one; an
    override, or an embedding or isolate around no right-to-left text, is content whatever it shows."""
    assert detect(value) in {Finding.MAIL_HEADER, Finding.HIDDEN_TEXT}


@pytest.mark.parametrize(
    "value",
    [
        "Subject\u202e" + ": Pay cut for Sato"[::-1],  # only part of the value overridden
        "件名\u202e" + ": 減給"[::-1] + "\u202c",
        "\u2066Team sync\u2069",  # an isolate around left-to-right text has no purpose
    ],
)
def test_a_direction_override_anywhere_is_hidden_text(value: str) -> None:
    assert detect(value) is Finding.HIDDEN_TEXT


@pytest.mark.parametrize(
    "value",
    [
        f"- {{subject: {_SUBJECT}, body: from next month}}",
        f"note {{subject: {_SUBJECT}, body: from next month}}",
        f'Email{{subject: "{_SUBJECT}", body: "from next month"}}',
        f"(subject: {_SUBJECT}; body: from next month)",
        f"[subject: {_SUBJECT}][body: from next month]",
        f'<mail subject="{_SUBJECT}" body="from next month"/>',
        f"<mail subject='{_SUBJECT}'>",
    ],
)
def test_a_subject_named_as_a_key_in_any_syntax_is_found(value: str) -> None:
    assert detect(value) is not None


@pytest.mark.parametrize("value", ["\u200fשלום עולם\u200f", "\u2067مرحبا\u2069 team", "🇯🇵 🇺🇸 joint meeting"])
def test_right_to_left_text_and_flags_are_plain(value: str) -> None:
    assert detect(value) is None


@pytest.mark.parametrize(
    "value",
    [
        *(
            f"{label}: {_SUBJECT}"
            for label in ["Subj", "SUBJ", "Betreff", "Objet ", "Asunto", "Oggetto", "Onderwerp", "Тема", "Θέμα"]
        ),
        f"メール件名\uff1a{_SUBJECT}",
        "Nachricht: Lieber Sato, ab nächstem Monat",
        "メッセージ：佐藤さんの減給について",
        f"S u b j e c t : {_SUBJECT}",
        f"Subject\u1804 {_SUBJECT}",
        f"Subject\ufe30 {_SUBJECT}",
        f"件名\ufe30{_SUBJECT}",
        *(f"{p}: {p}: {_SUBJECT}" for p in ["SV", "RV", "VS", "Odp", "ENC", "回复"]),
    ],
)
def test_mail_labels_of_other_languages_are_mail_headers(value: str) -> None:
    """Ninth red-team pass: the labels were an English and Japanese list (Betreff is the German policy's own)."""
    assert detect(value) is Finding.MAIL_HEADER


@pytest.mark.parametrize(
    "value",
    [
        "Система: учёт рабочего времени",
        "Objetivo: reducir horas extra",
        "Subject matter experts",
        "案件名",
        # Tenth red-team pass: ordinary titles that open with a word some mail client labels with.
        "用件\uff1a打ち合わせ",
        "主題\uff1a予算",
        "題目\uff1a月次報告",
        "主题\uff1a项目会议",
        "제목: 회의",
        "Bericht: Q3",
        "新人研修 本文:就業規則の読み合わせ",
        "Agenda — Konu: güvenlik",
    ],
)
def test_words_that_contain_a_label_are_not_mail_headers(value: str) -> None:
    assert detect(value) is None


# Eleventh red-team pass, false positives: a screen holding an opaque id, or a search in Japanese, was removed.
_RANDOM = random.Random(11)


def _token(size: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_RANDOM.choices(alphabet, k=size))


@pytest.mark.parametrize(
    "screen",
    [
        *(f"/o/{_token(22)}/dashboard" for _ in range(20)),  # shortuuid
        *(f"/s/{_token(21, string.ascii_letters + string.digits + '_-')}" for _ in range(20)),  # nanoid
        *(f"/requests/01J{_token(23, '0123456789ABCDEFGHJKMNPQRSTVWXYZ')}" for _ in range(20)),  # ULID
        *(f"https://kintai.example.jp/orgs/{_token(22)}/members/{_token(21)}" for _ in range(20)),
    ],
)
def test_an_opaque_id_in_a_path_is_no_base64(screen: str) -> None:
    """An id shorter than 32 characters that decodes to no text is at most 23 bytes of no text: kept."""
    assert detect(screen) is None


@pytest.mark.parametrize("size", [32, 48, 96])
def test_base64_of_random_bytes_in_a_path_is_still_detected(size: int) -> None:
    data = random.Random(size).randbytes(size)
    assert detect(f"/files/{base64.urlsafe_b64encode(data).decode()}/view") is Finding.BASE64


@pytest.mark.parametrize(
    "screen",
    [
        "/members/search?q=%E6%96%8E%E8%97%A4",  # 斎藤
        "/members/search?dept=%E5%96%B6%E6%A5%AD%E9%83%A8%20%E7%AC%AC%E4%B8%80%E8%AA%B2",  # 営業部 第一課
        "/members/search?dept=Customer%20Success%20%28APAC%29",
        "https://kintai.example.jp/calendar?tz=Asia%2FTokyo&view=%E9%80%B1",
    ],
)
def test_a_url_escaping_a_search_is_read_as_what_it_spells(screen: str) -> None:
    assert detect(screen) is None


@pytest.mark.parametrize(
    ("screen", "finding"),
    [
        ("/search?q=" + "%E4%BB%B6%E5%90%8D%EF%BC%9A%E7%B5%A6%E4%B8%8E", Finding.MAIL_HEADER),  # 件名：給与
        ("/search?q=Subject%3A%20pay%20cut", Finding.MAIL_HEADER),
        ("/search?q=" + "%F3%A0%81%93" * 8, Finding.HIDDEN_TEXT),  # tag characters
    ],
)
def test_what_a_url_escapes_is_judged_as_written_plainly(screen: str, finding: Finding) -> None:
    assert detect(screen) is finding


@pytest.mark.parametrize(
    "screen",
    [
        "/search?q=" + "%55%33%56%69%61%6D%56%6A%64%44%6F%67%63%47%46%35%49%47%4E%31%64%41",  # escaped letters
        "/search?q=" + "".join(f"%{b:02X}" for b in "来週の会議".encode("shift_jis")),  # no UTF-8
        "/search?q=%25E6%2596%258E%25E8%2597%25A4",  # escaped twice
        "/search?q=%E6%96%8E%00%E8%97%A4",  # a control character
        "%E6%96%8E%E8%97%A4%E3%81%95%E3%82%93",  # escapes outside a URL
    ],
)
def test_escapes_no_url_needs_are_still_a_disguise(screen: str) -> None:
    assert detect(screen) is not None


def test_what_shows_nothing_is_never_passed_over_as_printable() -> None:
    """hidden_count passes a value over in C when Python calls it printable and it holds none of the few printable
    characters that show nothing: checked for every code point, so that no hidden character is passed over."""
    missed = [
        point
        for point in range(0x110000)
        if _shows_nothing(chr(point))
        and chr(point).replace("\u3000", " ").isprintable()
        and _PRINTABLE_NOTHING.search(chr(point)) is None
    ]
    assert missed == []


@settings(max_examples=1000, deadline=None)
@given(value=st.text(max_size=40))
def test_the_count_of_hidden_characters_is_the_walks_count(value: str) -> None:
    assert hidden_count(value) == _hidden_count(value)


def _carrier_walk(value: str) -> bool:
    """hidden_carrier as it was written before its table of character kinds: the oracle of the test below."""
    if hidden_count(value) > detectors.MAX_HIDDEN:
        return True
    marks = stacked = 0
    takes_marks = True
    low: list[int] = []
    by_block: dict[int, list[int]] = {}
    by_category: dict[str, list[int]] = {}
    for char in unicodedata.normalize("NFC", value):
        point, category = ord(char), unicodedata.category(char)
        if detectors._is_selector(point) or char == detectors._KEYCAP:
            continue
        if category in ("Mn", "Me"):
            stacked += 1
            marks += not takes_marks
            if stacked >= 3 or marks >= detectors._STACKED_MARKS:
                return True
            continue
        stacked = 0
        takes_marks = detectors._takes_marks(point)
        if point < 0x80 or category in ("Zs", "Cc", "Cf") or (point >> 8) in detectors._OWN_BLOCK_SCRIPTS:
            continue
        low.append(point & 0xFF)
        by_block.setdefault(point >> 8, []).append(point & 0xFF)
        by_category.setdefault(category, []).append(point & 0xFF)
    if len(low) < detectors._BYTE_TEXT:
        return False
    views = [
        low,
        *(by_block.values() if len(by_block) > 1 else ()),
        *(by_category.values() if len(by_category) > 1 else ()),
    ]
    return any(detectors._bytes_are_text(view) for view in views)


def _visible_in_full(value: str) -> str:
    """visible as it was written before its shortcuts (every translation always made): the oracle below."""
    if value.isascii() and value.isprintable():
        return value
    text = value.replace("\r\n", "\n").translate(detectors._LINE_BREAKS).translate(detectors._TWO_DOTS)
    text = unicodedata.normalize("NFKD", text).translate(detectors._invisible())
    text = unicodedata.normalize("NFKC", text)
    return text if text.isascii() else text.translate(detectors._read_as_latin())


_CHARACTERS = st.one_of(
    st.characters(),  # any code point
    st.sampled_from("給与残業申請のおねがいしますアイウ佐藤大輔 \u3000:\r\n\u2028\ufe30\u2025"),
    st.sampled_from("\u0301\u0308\u20e3\ufe0f\ufe0e\u200d\u200b\U000e0041\U000e0100\u0430\u03bf\U0001f600"),
    st.sampled_from([chr(point) for point in range(0x4E00, 0x4E40)] + [chr(p) for p in range(0x2800, 0x2840)]),
)


@settings(max_examples=3000, deadline=None)
@given(value=st.text(alphabet=_CHARACTERS, max_size=60))
@example(value="b\u0302\u0301\ufe0f\u0301")  # a selector between stacked marks is passed over, not a letter
@example(value="1\ufe0f\u20e3\u0301\u0301\u0301")  # a keycap likewise
@example(value="x\u0301y\u0301z\u0301w\u0301")  # marks on letters that take none
@example(value="\u03b1\u0301\u03b2\u0301\u03b3\u0301\u03b4\u0301")  # and on Greek, which takes them
def test_the_carrier_and_visible_shortcuts_decide_as_the_full_walk(value: str) -> None:
    """hidden_carrier reads a table of character kinds (and passes ASCII over), visible translates only what it
    must: the same answers as the walks they replace, on any text (the characters they treat apart weighted)."""
    assert hidden_carrier(value) is _carrier_walk(value)
    assert visible(value) == _visible_in_full(value)


def test_the_table_of_character_kinds_reads_as_the_predicates_for_every_code_point() -> None:
    kinds = detectors._character_kinds()
    assert all(kinds[point] == detectors._kind_of(point) for point in range(0x10000))
