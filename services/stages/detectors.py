"""Content detectors for the free-text fields minimization keeps.

The privacy policy promises that message subjects and texts (e-mail, chat, social media) and attachment contents
are never collected. A kept free-text field — a scheduler title, an application or screen name, a person,
department or organization name — is where a careless or hostile service smuggles them anyway, in the encoded
shapes mail and web software produce: data URIs, base64, quoted-printable, RFC 2047 encoded words and HTML; in the
shapes of a message itself: a header line (``Subject:``, ``件名:``, ``Content-Type:``), a quoted reply, a JSON object;
and in any other common encoding of text: percent-escapes, string-literal escapes, hex, base32, base85, uuencode.
The value is read as :func:`visible` makes it (one width, nothing invisible), so a zero-width space every few
characters, full-width letters or groups split by spaces do not hide an encoding. A value in which :func:`detect`
finds one of them is removed by minimization and evidenced as ``excluded_content``.

Every detector is tuned against false positives on the values these fields legitimately hold (Japanese and
English titles, long snake_case/camelCase operation names, UUIDs, URLs, file names, addresses, hex digests).
Out of scope by design: plain prose (no shape to detect; the allow-list and the field bounds limit it), base64
shorter than 20 characters, and single-case or periodic base64 of content-free bytes ("AQEBAQEB…", "////…").
Base64 of 15 to 31 bytes, or glued without a separator to a name ("ReportExportJVBERi0x…"), is detected
statistically; see the measured rates below.

The module is pure and runs on the hot path for every kept text field: one precompiled prefilter rejects a
typical plain value before any detector runs.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import re
import string
import unicodedata
import urllib.parse
from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import cache, lru_cache
from typing import NamedTuple

import orjson

from schemas.encoded_text import (
    COMPRESSED_MAGIC,
    FILE_SIGNATURES,
    MIN_TEXT_BYTES,
    base32_text,
    base45_text,
    base64_text,
    base85_text,
    base100_text,
    code_point_text,
    common_character,
    hex_text,
    is_text,
    joined_content,
    legacy_text,
    mail_charset_text,
    number_text,
    octal_text,
    other_base32_text,
    pronounceable_text,
    punycode_text,
    starts_with_text,
    stream_text,
    utf7_text,
    wrapped_numbers_text,
)
from schemas.memo import remembered


class Finding(StrEnum):
    """The kind of encoded or oversized content found in a value."""

    DATA_URI = "data_uri"
    BASE64 = "base64"
    QUOTED_PRINTABLE = "quoted_printable"
    MIME_ENCODED_WORD = "mime_encoded_word"
    HTML = "html"
    MAIL_HEADER = "mail_header"
    STRUCTURED = "structured"
    ESCAPED_TEXT = "escaped_text"
    ENCODED_TEXT = "encoded_text"
    HIDDEN_TEXT = "hidden_text"
    """Text carried by characters a reader does not see, or one code point per byte (:func:`hidden_carrier`)."""
    MESSAGE_FRAMING = "message_framing"
    """What a mail or chat client writes around a message: a forward or original-message separator, a reply's
    attribution line, a client's signature or window title; or a list of messages (:func:`_message_shape`)."""
    CHAT_MARKUP = "chat_markup"
    """A chat message's own markup: Slack and Discord tokens, Chatwork and BBCode tags (:data:`_CHAT_MARKUP`)."""
    MULTI_LINE = "multi_line"
    """Lines of a body in a one-line field (:func:`_lines`)."""
    MISDECODED_TEXT = "misdecoded_text"
    """Japanese text read in the wrong charset, or left in ISO-2022-JP (:func:`_misdecoded`)."""
    TOO_LONG = "too_long"


# 20 base64 characters carry 15 bytes: about five Japanese characters or a short English sentence, the smallest
# payload worth smuggling. Shorter mixed-case tokens are common and harmless (video ids, ticket keys, short hashes)
# and too short for the statistics below to tell from words.
_MIN_BASE64 = 20

# A value that matches none of these cannot hold any finding, so a typical plain value costs one regex scan.
# Each alternative is the cheapest shape every detector's input must contain.
_SUSPICIOUS = re.compile(
    rf"[A-Za-z0-9+/_-]{{{_MIN_BASE64}}}"  # a run long enough to be base64
    r"|=(?:[0-9A-Fa-f]{2}|\?|\r?\n)"  # a quoted-printable escape or soft break, an encoded word's opening
    r"|<[A-Za-z!/?]"  # a tag, a closing tag, a doctype, a comment, an XML declaration
    r"|&#?[A-Za-z0-9]+;"  # a character entity
    r"|[Dd][Aa][Tt][Aa]\s*:"  # a data URI
    r"|%[0-9A-Fa-f]{2}|%u[0-9A-Fa-f]{4}|\\(?:[uUx][0-9A-Fa-f]{2}|u\{|[0-7]{3}|'[0-9A-Fa-f]{2})"  # escapes
    r"|&#|\\N\{|(?:\d{1,8}[\s,;./-]+){7}"  # character references, named escapes; numbers that may be bytes
    r"|(?:(?:0[xX]|[uU]\+)[0-9A-Fa-f]{1,8}\W+){7}"  # the same in hex, each with 0x or U+
    r"|[!-~]{20}"  # a run long enough for base85, hex or base32
    r"|^\s*[\[{]"  # a JSON object or array
    r"|[{(\[]\s*[\\'\":A-Za-z_]"  # a mapping inside brackets, anywhere (_EMBEDDED_MAPPING)
)

# Lines of a mail header or a MIME part (RFC 5322, 2045), and their Japanese labels: a value that holds one is a
# message, whatever follows. From, To, Cc and Date also open ordinary titles ("To do: …"): two of them make a
# header block. Read on the normalized value, where a full-width colon is ":".
# A label that names a message's subject or body, or a MIME header, is one wherever it stands after something that
# is not a letter or digit ("FYI Subject:", "**Subject**:", "■件名:", "1. Subject:"; eighth red-team pass: any
# character before it but a few bullets hid it), with closing markup or quotes before its colon; the labels that
# also open ordinary text ("Received:", "References:", "Message:", "Body:") count at the start of a line, after
# anything but letters. A reply's prefixes ("Re: Fwd:", "Re[2]:", "[EXT] Re: Re:") at the start of a line.
_SUBJECT_LABELS = ("subject", "subj")
"""Labels of a mail's subject that count wherever they stand after something that is not a letter."""
_MAIL_CLIENT_LABELS = (
    *("betreff", "objet", "asunto", "oggetto", "onderwerp", "assunto", "temat", "ämne", "emne", "aihe", "konu"),
    *("předmět", "tárgy", "subiect", "perihal", "subjek", "тема", "θέμα", "nachricht"),
)
"""A mail's subject (and body) as mail clients label it in the languages of the policies' users and their
neighbours' (ninth red-team pass: "Betreff:" — the German provider's own —, "Objet :", "Asunto:", "Тема:" were
kept). These words also open ordinary titles ("Konu: toplanti" is a topic as often as a subject), so they count
only at a line's start, as "Message:" does (tenth pass: anywhere, ordinary titles were removed)."""
_CJK_LABELS = ("件名",)
"""The Japanese label of a mail's subject, which may follow other letters ("メール件名:"); 題名 and 本文 count at a
line's start ("研修 本文: 就業規則" is a training's text; tenth pass). Not 用件, 題目,
主題, 主题 or 제목: ordinary titles open with them ("用件: 打ち合わせ"; tenth pass)."""
_LINE_LABELS = (
    *("references", "received", "return-path", "thread-topic", "thread-index", "body", "message"),
    *("mensaje", "messaggio", "mensagem", "wiadomość", "сообщение", "表題", "題名", "本文", "メッセージ", "메시지"),
    *_MAIL_CLIENT_LABELS,
)
_MIME_LABELS = (
    *("content-type", "content-transfer-encoding", "content-disposition", "content-id", "content-description"),
    *("mime-version", "message-id", "in-reply-to", "dkim-signature", "x-mailer"),
)
_REPLIES = (
    *("re", "fwd", "fw", "aw", "wg", "tr", "sv", "rv", "vs", "odp", "antw", "doorst", "enc", "res", "ynt", "ilt"),
    *("返信", "転送", "回复", "答复", "转发", "回覆", "轉寄", "답장", "전달"),
)
"""Reply and forward prefixes of mail clients in those languages: two in a row make a reply's subject."""


def _spelled(label: str) -> str:
    """``label`` as a pattern that also takes one blank, dot or dash between its letters ("S u b j e c t")."""
    return r"[ ._\u00b7-]?".join(re.escape(char) for char in label)


_LABEL_END = r"""[\s*_~`'"\u201d\u2019\])」』】》>]*[:=]"""  # read after NFKC: full-width forms are ASCII
_REPLY = rf"(?:{'|'.join(_REPLIES)})(?:\[\d{{1,3}}\]|\(\d{{1,3}}\))?[ \t]*:[ \t]*"
_TAGS = r"(?:\[[^\]\n]{1,20}\][ \t]*)*"
_NOT_AFTER_A_LETTER = r"(?<![^\W\d_])(?<![0-9])"


@cache
def _mail_header() -> re.Pattern[str]:
    """The labels as the detectors read a value (:func:`visible`: a Cyrillic capital Te is a "T", a voiced kana
    loses its mark), in each case; compiled on first use, after the look-alikes are known."""

    def spellings(labels: tuple[str, ...]) -> str:
        read = {visible(form) for label in labels for form in (label, label.capitalize(), label.upper())}
        return "|".join(_spelled(label) for label in sorted(read, key=len, reverse=True))

    return re.compile(
        rf"{_NOT_AFTER_A_LETTER}(?:{spellings((*_SUBJECT_LABELS, *_MIME_LABELS))})"
        + _LABEL_END
        + rf"|(?:{spellings(_CJK_LABELS)})"
        + _LABEL_END
        + rf"|^[^\w\n]*(?:{spellings(_LINE_LABELS)})"
        + _LABEL_END
        + r"|[【\[《<〈「『(]\s*(?:件\s*名|題\s*名|本\s*文|subject)\s*[】\]》>〉」』)]"  # a quoted mail's 【件名】
        + rf"|^[^\w\n]*{_TAGS}{_REPLY}{_TAGS}{_REPLY}"  # Re: Fwd:
        + rf"|^[^\w\n]*{_TAGS}(?:re|aw|wg|sv|fwd?|fw)[\[(]\d{{1,3}}[\])][ \t]*:",  # a counted reply alone: Re[2]:
        re.IGNORECASE | re.MULTILINE,
    )


_COMPOSE_LINK = re.compile(
    r"mailto:\S*?[?&](?:subject|body)=|[?&](?:subject|su)=[^&#\s]+(?:&[^&#\s]*)*?&body=", re.IGNORECASE
)
"""A link that writes a message: mailto: with a subject or body, or a web mail compose link with both (seventh
red-team pass: 'mailto:?subject=Pay cut for Sato&body=…' was kept as a title)."""
_ADDRESS_HEADER = re.compile(
    r"^[ \t>]*(?:from|to|cc|bcc|reply-to|sender|date|差出人|宛先|送信者|送信日時)[ \t]*:", re.IGNORECASE | re.MULTILINE
)

# Escaped text: two percent-escapes are an encoded string (a phrase "Re:%20pay%20cut", a URL's query; one alone is
# "100%25"); two "\uXXXX" escapes or three "\xXX" are a string literal's escapes.
_PERCENT = re.compile(r"%(?:[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})")  # %XX, and JavaScript's escape() %uXXXX
_UNICODE_ESCAPE = re.compile(r"\\[uU](?:[0-9A-Fa-f]{4}|\{[0-9A-Fa-f]{1,6}\})")  # \uXXXX, \u{XXXXX}
_BYTE_ESCAPE = re.compile(r"\\(?:x[0-9A-Fa-f]{2}|[0-7]{3}|'[0-9A-Fa-f]{2})")  # \xXX, octal \347, RTF's \'8e
_CHARACTER_REFERENCE = re.compile(r"&#(?:x[0-9A-Fa-f]{1,6}|[0-9]{1,7})")  # &#x53 with or without its ";"
# Bytes or code points written as numbers: "83,117,98,106,…", "01010011 01110101 …".
_NUMBER = r"(?:0[xX]|[uU]\+)?[0-9A-Fa-f]{1,8}"  # decimal, octal, binary, or hex with 0x or U+ before it
_NUMBER_LIST = re.compile(rf"(?:{_NUMBER}[\s,;./{{}}-]+){{7,}}{_NUMBER}")
"""Eight numbers or more split by spaces or punctuation: the bytes or code points of a text, in any notation
(seventh red-team pass: '83.117.98…', '0x53 0x75…', 'U+0053 U+0075…', octal and 7-bit binary were kept)."""
_NAMED_ESCAPE = re.compile(r"\\N\{[A-Za-z0-9 -]+\}")  # \N{HIRAGANA LETTER A}
_OCTETS = re.compile(r"(?:[01]{8}[\s,]*){15,}")

# Runs other encodings of text take: hex (30 digits: 15 bytes), base32 (24 characters: 15 bytes), Ascii85 in its
# delimiters, base85 (a run with a character base64 has not), uuencode's header line.
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{30,}")
_BASE32_RUN = re.compile(r"[A-Za-z2-7]{24,}=*")
_ASCII85 = re.compile(r"<~[!-u\s]{20,}~>")
_SYMBOL_RUN = re.compile(r"[!-~]{20,}")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=_-]")
_UUENCODE = re.compile(r"^begin [0-7]{3} ", re.MULTILINE)
_UU_LINE = re.compile(r"^[!-M][ -`]{19,}$", re.MULTILINE)  # a length character ("M": 45 bytes), then the data

# A value made only of base64-alphabet groups split by spaces, line breaks or punctuation ("U0VOVElO RUwtRjJh …",
# hex bytes "53 45 4e …"): joined, it is decoded as one run, and counts when it decodes to text.
_GROUPS = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]+(?:[^A-Za-z0-9+/_=\w]+[A-Za-z0-9+/_=-]+)+", re.ASCII)
"""Linear: it starts only where a run of group characters starts (the look-behind), so a run without a separator
is backtracked through once, not once from each of its characters: 4,096 letters took 0.2 s, a 62 KB event 3 s
(eighth red-team pass). A "-" is both a group's character and a separator ("53-75-62")."""
_GROUP = re.compile(r"[A-Za-z0-9+/_-]+")
_JOIN_STARTS = 128
"""Groups put back together from each of the first this many on: every group of a kept value (at most 256
characters, so at most 128 groups); the first four only let five words before the groups hide them (seventh
red-team pass)."""

# A quoted reply ("> …" on two lines or more) is a message; so is a pair of tags around text, whatever their names.
_QUOTED_LINES = re.compile(r"^[ \t]*[>〉|]", re.MULTILINE)
_ELEMENT = re.compile(r"<([a-z][a-z0-9:-]*)(?:\s[^<>]*)?>.{0,512}?</\1\s*>", re.IGNORECASE | re.DOTALL)
"""An element with its closing tag, at most 512 characters apart: an unbounded ``.*?`` scanned to the end of the
value for every opening tag (quadratic); a kept value is at most 256 characters, so nothing kept is judged less."""

# RFC 2397 needs a media type or a parameter before the comma: "data:," and "data: 10 rows" are prose.
_DATA_URI = re.compile(r"data\s*:\s*(?:[a-z]+/[a-z0-9.+-]+|(?=;))(?:;[a-z0-9.+_-]+(?:=[^;,\s]*)?)*,", re.IGNORECASE)

# RFC 2047: =?charset[*language]?B|Q?text?=; a colon or a lone "=?" in a title is not one.
_MIME_WORD = re.compile(r"=\?[^?\s]+\?[bq]\?[^?\s]+\?=", re.IGNORECASE)

# One "=XX" occurs in prose ("=3D", "x=FF"); two in a row (a UTF-8 sequence) or three anywhere do not.
_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}", re.IGNORECASE)
_QP_ESCAPE_PAIR = re.compile(r"(?:=[0-9A-F]{2}){2}", re.IGNORECASE)
# Text must follow: a padded base64 block ends "=\n" as well, but only at its very end.
_QP_SOFT_BREAK = re.compile(r"(?<!=)=\r?\n(?=\S)")

# Tag names nobody writes in angle brackets as prose or a placeholder count bare ("<p>", "<br/>"); names that are
# also words or letters ("<title>", "<option>", "<a> or <b>") count only with an attribute, closed or self-closed.
_BARE_TAGS = (
    r"html|head|body|div|span|p|br|hr|table|tbody|thead|tfoot|tr|td|th|img|meta|style|script|iframe|ul|ol|li|"
    r"em|strong|font|h[1-6]|blockquote|pre|svg|center|tt|sup|sub|wbr|noscript|frameset|o:p"
)
_WORD_TAGS = (
    r"a|b|i|u|abbr|address|area|article|aside|audio|base|button|caption|cite|code|col|colgroup|data|dd|del|details|"
    r"dialog|dl|dt|embed|fieldset|figure|footer|form|frame|header|input|ins|kbd|label|legend|link|main|mark|menu|"
    r"nav|object|option|output|param|picture|q|s|section|select|small|source|summary|template|textarea|time|"
    r"title|track|var|video"
)
_HTML = re.compile(
    r"<!doctype\s+html|<!--|<!\[CDATA\[|<\?xml\s"
    rf"|</?(?:{_BARE_TAGS})(?=[\s/>])[^<>]*>"
    rf"|<(?:{_WORD_TAGS})\s+[a-z_:][\w:.-]*\s*=[^<>]*>"
    rf"|</(?:{_WORD_TAGS}|{_BARE_TAGS})\s*>"
    rf"|<(?:{_WORD_TAGS})\s*/>",
    re.IGNORECASE,
)
# One or two entities are an escaped "&" or quote in a title ("R&amp;D"); three or more are markup.
_ENTITY = re.compile(r"&(?:[a-z][a-z0-9]{1,31}|#[0-9]{1,7}|#x[0-9a-f]{1,6});", re.IGNORECASE)
_MIN_ENTITIES = 3

# A run of the base64 alphabet, joined across the line breaks or spaces of wrapped output (76 or 64 characters a
# line); only a long line joins the next, so the words of prose stay apart.
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])(?:[A-Za-z0-9+/_-]{40,}(?:\r?\n|[ \t])+)*[A-Za-z0-9+/_-]+")
_WRAPPING = re.compile(r"\s+")
_STANDARD_ONLY = frozenset("+/")
_URLSAFE_ONLY = frozenset("-_")
_STANDARD_SEPARATORS = re.compile(r"[+/]")
_URLSAFE_SEPARATORS = re.compile(r"[-_]")
_SEPARATOR = re.compile(r"[+/_-]")
_GLUED_NAMES = 3
# The statistics are decided within a few hundred characters: a long run is judged window by window.
_WINDOW = 256

# A run that decodes to no text is judged by a log-likelihood ratio (nats): is it likelier a name made of English
# words (snake_case, camelCase, CONSTANT_CASE, paths) or a uniform draw from the base64 alphabet? Class
# transitions (U upper, L lower, D digit, S symbol, ^ start) were fitted on ~140,000 identifiers from Python sources,
# letter weights blend those with English letter frequencies, all rounded. Names switch class rarely and use e, t, s
# more than j, q, z; random base64 switches every other character. A run of 32 characters (24 bytes) or more,
# without a path's words, must be clearly likelier a name to be kept; a shorter one is an opaque id or a name, and
# is refused only when it decodes to text (:func:`_random`). Measured: base64 of 32 random bytes was missed once in
# 10^6, of 48 never; 8 of 54,000 long mixed-case identifiers are flagged, all machine-made
# ("N8pkcs7_st4DOLLAR_15E"), and none of 700,000 camelCase, snake_case and kebab-case names of English words.
_CLASS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_",
    "U" * 26 + "L" * 26 + "D" * 10 + "S" * 4,
)
_TRANSITION = {
    ("^", "U"): 0.5, ("^", "L"): -0.3, ("^", "D"): -3.0, ("^", "S"): 0.8,
    ("U", "U"): 0.0, ("U", "L"): 0.7, ("U", "D"): -2.7, ("U", "S"): -0.5,
    ("L", "U"): -1.3, ("L", "L"): 0.7, ("L", "D"): -2.5, ("L", "S"): 0.3,
    ("D", "U"): 0.0, ("D", "L"): -1.9, ("D", "D"): 1.1, ("D", "S"): 1.0,
    ("S", "U"): -0.2, ("S", "L"): 0.3, ("S", "D"): -2.5, ("S", "S"): 1.0,
}  # fmt: skip
_LETTER = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        (0.5, -0.7, -0.1, -0.1, 0.8, -0.6, -0.6, -0.1, 0.4, -2.2, -1.1, 0.1, -0.2,
         0.4, 0.4, -0.3, -2.2, 0.4, 0.5, 0.7, -0.2, -0.8, -0.8, -1.5, -0.6, -2.5),
        strict=True,
    )
)  # fmt: skip
_NAME_EVIDENCE_PER_CHAR = 0.15
_TEXT_EVIDENCE_PER_CHAR = 0.4
_LONG_RUN = 32
_TWO_UPPER = re.compile(r"[A-Z][^A-Z]*[A-Z]")
_TWO_LOWER = re.compile(r"[a-z][^a-z]*[a-z]")


def detect(value: str, max_chars: int | None = None) -> Finding | None:
    """The first kind of encoded, structured or oversized content found in ``value``, or None for plain text.

    A value longer than ``max_chars`` is :attr:`Finding.TOO_LONG` before anything else is looked at (no scan of a
    hostile megabyte); ``None`` means unbounded. The detectors read the value as :func:`visible` makes it — one
    width, no invisible characters — so a zero-width space every few characters or full-width letters hide
    nothing. The shapes that contain base64 — data URIs, encoded words — are named before base64 itself.
    """
    if max_chars is not None and len(value) > max_chars:
        return Finding.TOO_LONG
    return _detect_recent(value) if len(value) <= _CACHED_CHARS else _detect(value)


_CACHED_CHARS = 256
"""Kept values come again and again (a department, a screen, a subject's name and address on each of their events):
a value this short is judged once while it is among the most recent ones, like a subject's pseudonym. Bounded so
that hostile unique values hold at most ~16 MB (16,384 values of 256 characters of four bytes)."""


@lru_cache(maxsize=16_384)
def _detect_recent(value: str) -> Finding | None:
    return _detect(value)


def _detect(value: str) -> Finding | None:
    if value.isascii() and value.isprintable():
        return _judge(value)
    if hidden_carrier(value):
        return Finding.HIDDEN_TEXT
    if _BIDI_OVERRIDE.search(value) or (_BIDI_CONTROL.search(value) and not _RIGHT_TO_LEFT.search(value)):
        # An override makes the order shown differ from the order stored: "\u202e…tcejbuS" shows "Subject…", and
        # only some runs may be overridden (eighth and ninth red-team passes); an embedding or isolate reorders
        # runs, and has a purpose only around right-to-left text. A name, a title or a screen needs no override.
        return Finding.HIDDEN_TEXT
    if _misdecoded(value):  # before visible(): NFKC rewrites the misread characters ("½" is "1", a slash, "2")
        return Finding.MISDECODED_TEXT
    text = visible(value)
    finding = _judge(text)
    if finding is None:
        numbers = text.translate(_AS_NUMBERS)
        if numbers != text and len(_ASCII_DIGIT.findall(numbers)) >= _NUMBER_DIGITS:
            return _judge(numbers)  # numbers in kanji or between Japanese or Arabic separators, read again
    return finding


_AS_NUMBERS = str.maketrans("〇一二三四五六七八九・、\u060c\u066c\u066b", "0123456789.,,,.")
"""Kanji digits as ASCII digits, and the separators Japanese and Arabic write between numbers as ASCII ones: code
points or bytes in kanji numerals ("三二一〇二・一九九八二・…") or between "、" or "،" were kept (twenty-second
red-team pass). Positional numerals (三万二千百二) are not read as numbers."""
_ASCII_DIGIT = re.compile("[0-9]")
_NUMBER_DIGITS = 12
"""Digits from which a text is read again as :data:`_AS_NUMBERS` makes it: a date or an address holds fewer
("二〇二四年一二月八日", "一丁目二番三号")."""


_OCTAL_LIST = re.compile(r"(?:(?<![0-9])0[0-7]{2,3}(?![0-9])[\s,;]*){15,}")
_OCTAL_NUMBER = re.compile(r"0[0-7]{2,3}")


def _octal_text(text: str) -> bool:
    """Bytes in octal, three digits each glued together ("347265246344270216…": :func:`octal_text`), or as C writes
    them ("0123 0141 …"), that are text (twenty-third red-team pass: kept; octal between separators or after a
    backslash was read already)."""
    return octal_text(text) or (
        "0" in text  # C's octal numbers begin with one; glued octal need not hold any ("sunnyskies…" has none)
        and any(
            is_text(bytes(int(number, 8) & 0xFF for number in _OCTAL_NUMBER.findall(listed.group())))
            for listed in _OCTAL_LIST.finditer(text)
        )
    )


_BASE32HEX_GROUPS = re.compile(r"[0-9A-V]{2,8}(?:[-. ][0-9A-V]{2,8}){3,}|[0-9a-v]{2,8}(?:[-. ][0-9a-v]{2,8}){3,}")
_GROUP_SEPARATORS = str.maketrans("", "", "-. ")
_BASE32_TEXT_CHARS = 24
"""Base32 characters that carry fifteen bytes: fewer are not read."""


def _base32hex_groups(text: str) -> bool:
    """Base32 in RFC 4648's extended-hex alphabet (0-9, A-V), in groups like a product key's ("SUQQD-P5OHR-…"), of
    text: standard base32 in groups was read, this alphabet was not (twenty-third red-team pass: kept)."""
    for groups in _BASE32HEX_GROUPS.finditer(text):
        joined = groups.group().translate(_GROUP_SEPARATORS).upper()
        if len(joined) < _BASE32_TEXT_CHARS:
            continue
        for cut in range(8):
            chars = joined[: len(joined) - cut]
            try:
                data = base64.b32hexdecode(chars + "=" * (-len(chars) % 8))
            except (binascii.Error, ValueError):
                continue
            if is_text(data):
                return True
    return False


_BARE_ESCAPES = re.compile(r"(?:(?:[uU]\+?|_x)[0-9A-Fa-f]{4}_?\s*){8,}")
_BARE_ESCAPE = re.compile(r"(?:[uU]\+?|_x)([0-9A-Fa-f]{4})")


def _bare_escapes_text(text: str) -> bool:
    """Eight escapes or more of code points that lost their backslashes ("u0050u0061u0079…") or in XML's names
    ("_x0050__x0061_…"), spelling text in any script (twenty-third red-team pass: English in them was kept; the
    code point readers ask for text beyond ASCII)."""
    for run in _BARE_ESCAPES.finditer(text):
        spelled = "".join(chr(int(point, 16)) for point in _BARE_ESCAPE.findall(run.group()))
        try:
            if is_text(spelled.encode("utf-8")):
                return True
        except UnicodeEncodeError:  # a lone surrogate's escape
            continue
    return False


def _message_carrier(text: str) -> Finding | None:
    """What carries a message the twenty-third and twenty-fourth red-team passes found kept in every free-text field:
    a link that shares or composes one, a mail's header block in other languages or on one line, a document or a
    mailbox a message is kept in, a link to a mail, a mail's window, a notification, a data URI without a media
    type. (A chat log's line, "[10:05] 佐藤: 明日は休みます。", is not read: a meeting's title with its time is
    written alike, and 12 % of the twenty-fourth pass's were removed.)"""
    if ("/" in text or ":" in text) and (link := _SHARED_MESSAGE_LINK.search(text)) is not None:
        if link.lastgroup == "compose" and _COMPOSED.search(text) is not None:
            return Finding.MAIL_HEADER  # a mail's subject however short: "…&su=Salary%20negotiation"
        if _shares_a_message(text):
            return Finding.MESSAGE_FRAMING
    if ":" in text and _header_block(text):
        return Finding.MAIL_HEADER
    if _MESSAGE_DOCUMENT.search(text) is not None or _MESSAGE_LINK.search(text) is not None:
        return Finding.MESSAGE_FRAMING
    if _OUTLOOK_WINDOW.search(text) is not None or _notification(text):
        return Finding.MESSAGE_FRAMING
    if (bare := _BARE_DATA_URI.search(text)) is not None and (
        _PERCENT.search(bare.group(1)) or _short_message(bare.group(1))
    ):
        return Finding.DATA_URI
    return None


_SHARED_MESSAGE_LINK = re.compile(
    r"wa\.me/|(?:api|web)\.whatsapp\.com/send|whatsapp://send|t(?:elegram)?\.me/share|tg://msg"
    r"|line\.me/R/(?:msg/text|share)|line://msg/text|lineit/share|twitter\.com/intent/tweet|x\.com/intent/(?:tweet|post)"
    r"|facebook\.com/(?:dialog/send|sharer)|fb-messenger://share|m\.me/|viber://forward|sharer\.kakao\.com"
    r"|kakaotalk://|reddit\.com/submit|linkedin\.com/(?:shareArticle|feed/\?shareActive)|bsky\.app/intent/compose"
    r"|/share\?text=|threads\.net/intent|messenger\.com/t/|line\.me/R/oaMessage/|tg://\w+\?|^SMSTO:|imessage:"
    r"|(?P<compose>mail\.google\.com/mail/\S*[?&](?:view|tf)=cm|outlook\.(?:live|office)\.com/\S*compose"
    r"|compose\.mail\.yahoo)",
    re.IGNORECASE,
)
"""Links that share or compose a message (WhatsApp, Telegram, LINE, X, Facebook and Messenger, Viber, Kakao, Reddit,
LinkedIn, Bluesky, Mastodon, Threads, iMessage, a QR code's SMSTO:, Gmail, Outlook and Yahoo's compose): what their
text parameter holds is a message (twenty-third and twenty-fourth passes: kept, plain or escaped)."""
_SHARED_TEXT = re.compile(
    r"(?:[?&](?:text|msg|message|body|su|subject|quote)=|msg/text/\??|oaMessage/[^/]+/\??|^SMSTO:[^:]*:"
    r"|(?:reddit\.com/submit|linkedin\.com/shareArticle)[^#\s]*?[?&](?:title|summary)=)([^&#]+)",
    re.IGNORECASE,
)
"""A shared or composed message's parameter; a post's title where the link submits one (Reddit, LinkedIn), not a
shared page's own title (Facebook's sharer holds it inside the shared URL)."""
_COMPOSED = re.compile(r"[?&](?:su|subject|body)=[^&#\s]{2,}", re.IGNORECASE)
_SHORT_MESSAGE_CHARS = 4
_SHORT_MESSAGE_WORDS = 3


def _short_message(text: str) -> bool:
    """Is ``text``, a link's parameter read as a server reads it, a message: four characters beyond ASCII, or three
    words? (A shared link alone is ``url=…``; a message has words.)"""
    text = urllib.parse.unquote_plus(text).strip()
    return sum(1 for char in text if not char.isascii()) >= _SHORT_MESSAGE_CHARS or len(text.split()) >= (
        _SHORT_MESSAGE_WORDS
    )


def _shares_a_message(text: str) -> bool:
    return any(_short_message(value.group(1)) for value in _SHARED_TEXT.finditer(text))


_HEADER_LABELS = (
    *("发件人", "收件人", "抄送", "发送时间", "主题", "寄件者", "收件者", "副本", "主旨", "日期", "寄件日期"),
    *("보낸 사람", "받는 사람", "참조", "보낸 날짜", "제목"),
    *("Von", "An", "Gesendet", "Betreff", "De", "À", "A", "Envoyé", "Envoye", "Objet", "Para", "Enviado", "Asunto"),
    *("Enviado el", "Da", "Inviato", "Oggetto", "Enviada em", "Assunto", "Van", "Verzonden", "Aan", "Onderwerp"),
    *("От", "Отправлено", "Кому", "Тема", "Дата", "Od", "Wysłano", "Do", "Temat", "Från", "Skickat", "Till", "Ämne"),
    *("Kimden", "Gönderildi", "Kime", "Konu", "Odesláno", "Komu", "Předmět", "Từ", "Đã gửi", "Đến", "Chủ đề"),
    *("Dari", "Dikirim", "Kepada", "Perihal"),
    *("From", "To", "Cc", "Sent", "Date", "Subject", "差出人", "宛先", "送信日時", "送信者", "件名", "送信元"),
    *("送信日", "受信者", "発信者", "タイトル", "日付"),
)
"""The labels of a mail's header block as Outlook quotes it in its users' languages."""
_TELLING_LABELS = (
    *("发送时间", "寄件日期", "보낸 날짜", "Gesendet", "Envoyé", "Envoye", "Enviado", "Enviado el", "Enviada em"),
    *("送信日時", "送信日", "Inviato", "Verzonden", "Отправлено", "Wysłano", "Skickat", "Gönderildi", "Odesláno"),
    *(
        "Đã gửi",
        "Dikirim",
        "发件人",
        "收件人",
        "寄件者",
        "收件者",
        "보낸 사람",
        "받는 사람",
        "Kimden",
        "Kime",
        "受信者",
    ),
)
"""Labels no title writes with a colon after them: when a mail was sent, and words only mail uses. "De:", "An:",
"From:", "To:", 差出人 and 宛先 are also a route's or a shipment's ("De: Paris À: Lyon", "差出人: 大阪倉庫 宛先:
神戸センター": twenty-fourth pass, every such title was removed)."""


@cache
def _header_labels() -> tuple[re.Pattern[str], frozenset[str]]:
    """The labels' pattern and the telling ones, as :func:`visible` reads them; compiled on first use."""
    pattern = re.compile(
        r"(?:^|(?<=\s))("
        + "|".join(re.escape(visible(label)) for label in sorted(_HEADER_LABELS, key=len, reverse=True))
        + r")\s*:",
        re.IGNORECASE,
    )
    return pattern, frozenset(visible(label).casefold() for label in _TELLING_LABELS)


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _header_block(text: str) -> bool:
    """Two header labels of a mail or more, anywhere in the value (Outlook quotes a mail's header block in the
    language of its user: "发件人: 佐藤 收件人: 田中 主题: …", "Von: … Gesendet: … An: …"), of which one no title
    writes, or "From:" with "Sent:", or an address among them ("@会議室A" is a room: twenty-third and twenty-fourth
    passes)."""
    pattern, telling = _header_labels()
    labels = {label.casefold() for label in pattern.findall(text)}
    return len(labels) >= 2 and (
        bool(labels & telling) or {"from", "sent"} <= labels or _ADDRESS.search(text) is not None
    )


_SAID_END = re.compile(r"[。.!?]\s*$")


def _said(text: str) -> bool:
    """Is what follows a chat log's speaker said, a sentence (it ends as one, or says a predicate)?"""
    return _SAID_END.search(text) is not None or _predicate().search(text) is not None


_MESSAGE_DOCUMENT = re.compile(
    r"\{\\rtf|BEGIN:V(?:CARD|CALENDAR|EVENT|TODO|JOURNAL|NOTE)\b"
    r"|^From \S+@\S+\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    r"|(?:^|\s)--[\w'()+,./:=?-]{6,}\s+(?:Content-|name=\")",
    re.MULTILINE,
)
"""A document a message is kept in, on one line: rich text (Outlook's bodies), a card or a calendar object with
its notes, an mbox's separator, a multipart boundary and its part's header."""
_MESSAGE_LINK = re.compile(r"\[[^\]]{2,}\]\(message://|message://%3C", re.IGNORECASE)
"""A link to a mail in Apple Mail, the subject as its text ("[給与削減の件](message://%3C…%3E)")."""
_OUTLOOK_WINDOW = re.compile(
    r"\s-\s(?:Nachricht|Message|Messaggio|Mensaje|Mensagem|Bericht|Wiadomość|Сообщение|邮件|郵件|메시지|Meddelande)"
    r"\s\((?:HTML|Nur-Text|Rich-Text|Text|Texte brut|Texto sin formato|纯文本)\)\s*$",
    re.IGNORECASE,
)
"""Outlook's window of one message, in its users' languages ("<subject> - Nachricht (HTML)")."""
_CHAT_APPS = "LINE|Slack|Teams|Messenger|WhatsApp|Chatwork|LINE WORKS|Discord|Telegram|Signal|Viber"
_NOTIFICATION = (
    r"(?:新着メール\s*:|New (?:mail|message) from\b|(?:SMS|MMS|Text|iMessage|Voicemail) from\b"
    r"|[^:]{1,40}\s(?:replied|mentioned you|sent (?:you )?a message)\s*:|[^:]{1,40}があなたをメンションしました"
    rf"|(?:{_CHAT_APPS})\s+-\s+[^:]{{1,40}}:\s*\S)"
)
_APP_SAYS = re.compile(rf"(?:{_CHAT_APPS})\s+-\s+[^:]{{1,40}}:\s*(.+)", re.IGNORECASE)


@cache
def _notification_pattern() -> re.Pattern[str]:
    """A notification of a message, as :func:`visible` reads it (が loses its voiced mark)."""
    return re.compile(
        _NOTIFICATION.replace("があなたをメンションしました", visible("があなたをメンションしました")), re.IGNORECASE
    )


def _notification(text: str) -> bool:
    """Is ``text`` a notification of a message with the message in it ("New mail from 佐藤: <subject>", "LINE -
    佐藤: <text>", "SMS from +81…: …"; twenty-fourth pass)? An app's line says a sentence."""
    if _notification_pattern().match(text) is None:
        return False
    says = _APP_SAYS.match(text)
    return says is None or _said(says.group(1))


_BARE_DATA_URI = re.compile(r"""(?:^|[\s("'=<])data\s*:\s*,(.+)""", re.IGNORECASE)
"""A data URI without a media type ("data:,退職届を…"), which is text/plain: read when what follows is escaped or
a message, not "data:, none"."""


def _message_shape(text: str) -> Finding | None:
    """A message's shape other than its header fields and lines (twelfth and thirteenth red-team passes: each was
    kept in every free-text field): a client's framing, a list of messages, chat markup, markup escaped once.
    A message's own keys in a value are the policy's markers: the minimization
    walk reads them (:func:`services.stages.allowlist.marked_pair`); ISO-2022-JP and HZ left undecoded are read
    when nothing more particular is (:func:`_judge`)."""
    if _framed(text) or any(_messages(match.group()) for match in _STRING_LIST.finditer(text)):
        return Finding.MESSAGE_FRAMING
    if _CHAT_MARKUP.search(text) or _BBCODE.search(text):
        return Finding.CHAT_MARKUP
    if "&" in text and (unescaped := _unescaped(text)) != text:
        # "&lt;br&gt;": markup escaped is judged as the markup, once (no recursion: 4 KB of nested "&amp;" once
        # exhausted the stack, thirteenth pass); "R&amp;amp;D" escaped twice is "R&D" (fourteenth pass: removed).
        if unescaped is None:
            return Finding.HTML  # escaped over and over: no value is, a disguise is
        return _judge(unescaped)  # it holds no reference left, so this judges it once
    return None


_UNESCAPINGS = 3


def _unescaped(text: str) -> str | None:
    """``text`` with its character references undone, up to three times over; None when still escaped after."""
    for _ in range(_UNESCAPINGS):
        unescaped = html.unescape(text)
        if unescaped == text:
            return text
        text = unescaped
    return None if _ENTITY.search(text) else text


def _messages(literal: str) -> bool:
    """Does a list, tuple or set literal of strings hold a message, any of them a sentence (:func:`_sentence`)? Not
    options or labels ("['早番 07:00-16:00', …]", '("Option A", "Option B")': fourteenth pass, up to 67 %)."""
    return any(_sentence(single or double) for single, double in _QUOTED.findall(literal))


_QUOTED = re.compile(r"'([^'\n]*)'" r'|"([^"\n]*)"')


def _lines(text: str) -> bool:
    """Lines of a body in ``text``: lines of which one is a sentence, or with four words in lower case, or fields
    of a calendar or a card ("SUMMARY:…"); or a string literal's line breaks in prose (twelfth to fourteenth
    passes). Lines of names are a spreadsheet cell's: a name, its kana and its romaji, 本部/部/課, an address, a
    shift and its break (fourteenth pass: 100 % of such cells were removed when three lines, or a long one, were a
    body)."""
    if "\n" not in text and "\\" not in text and "%" not in text:
        return False  # the common case: one line, no escapes
    lines = [line for line in text.strip().split("\n") if line.strip()]
    if len(lines) > 1 and (
        any(_sentence(line) for line in lines)
        or sum(1 for line in lines for word in line.split() if word[0].islower()) >= _BODY_WORDS
        or sum(1 for line in lines if _CARD_FIELD.match(line)) >= 2
    ):
        return True
    return _escaped_lines(text)


def _sentence(line: str) -> bool:
    """Is ``line`` a sentence of a message, not a name, a unit, an address or a time? It ends as one ("。", "!",
    "?", read after NFKC), says one (a polite or past predicate: です, ます, ください, ました, お願い), or runs six
    words or more, some in lower case (a name in title case, "Customer Success Team - Asia Pacific Region", is
    none: fourteenth pass)."""
    words = line.split()
    return bool(
        _SENTENCE_END.search(line)
        or _predicate().search(line)
        or (len(words) >= _SENTENCE_WORDS and sum(1 for word in words if word[0].islower()) >= 2)
    )


@cache
def _predicate() -> re.Pattern[str]:
    """The predicates, read as :func:`visible` makes a value (です loses its voiced mark: "てす")."""
    return re.compile("|".join(re.escape(visible(word)) for word in _PREDICATES))


_SENTENCE_END = re.compile(r"[。!?]\s*$")
_PREDICATES = (
    "です",
    "ます",
    "でした",
    "ました",
    "ません",
    "ください",
    "下さい",
    "お願い",
    "ありがとう",
    "よろしく",
    "了解",
)
_SENTENCE_WORDS = 6
_BODY_WORDS = 4
"""Words in lower case across the lines of a body: prose ("running late, sorry / be there in 10 min"), where the
lines of a cell are names ("Kobe Logistics Co., Ltd. / HR & General Affairs Dept.")."""
_CARD_FIELD = re.compile(r"[A-Z][A-Z-]{2,}[;:]")
"""A line of an .ics or a .vcf attachment ("SUMMARY:…", "DTSTART;TZID=…")."""


def _escaped_lines(text: str) -> bool:
    """A string literal's or a URL's line breaks in prose: "\\r\\n", "\\n" ("…。\\n明日の…", "Hi team,\\nplease…"),
    "\\x0a", "\\u000a", "%0A". Not in a path, whose other backslashes separate its segments ("..\\nakamura\\日報",
    "Shared\\reports\\…"), nor in one token ("DOMAIN\\nakamura-pc", "CORP\\r1234"): fourteenth pass, 100 %."""
    if _PATH_SEPARATOR.search(text) or _DRIVE.search(text) or (" " not in text and text.isascii()):
        return False
    return _ESCAPED_BREAK.search(text) is not None


_ESCAPED_BREAK = re.compile(r"\S(?:\\r\\n|\\[nr]|\\x0[adAD]|\\u000[adAD]|%0[adAD]|%5[cC][nr])(?=\S|\s\S)")
_PATH_SEPARATOR = re.compile(r"\\(?![nrtxu\"'\\])")
"""A backslash that escapes nothing a string literal escapes: a path's separator."""
_DRIVE = re.compile(r"(?:^|[\s\"'(=])(?:[A-Za-z]:\\|\\\\[\w.-])")
"""A path's drive or share ("C:\\new folder\\…", "\\\\server\\…")."""
_CHAT_MARKUP = re.compile(
    r"<[@#!][A-Za-z0-9^&|!]+(?:\|[^<>]*)?>"  # Slack and Discord: <@U024BE7LH>, <!here>, <#C0…|general>, <@!id>
    r"|<(?:https?|mailto):[^|<>\s]+\|[^<>]+>"  # Slack: <url|label>
    r"|<a?:\w{2,32}:\d{6,}>|<t:\d{1,12}(?::[tTdDfFR])?>|</[\w -]{1,32}:\d{6,}>"  # Discord: emoji, time, command
    r"|<users/[\w.-]+>"  # Google Chat: <users/123456789>
    r"|<m\s+userId=[\"'][^\"'<>]+[\"']\s*/?>"  # LINE WORKS: <m userId="…">
    r"|\[~accountid:[\w:-]+\]|\[~[\w.-]+\]"  # Jira: [~accountid:…], [~user]
    r"|\[(?:To:\d+|toall|rp aid=\d+[^\]\n]{0,40}|qtmeta [^\]\n]{0,40}"  # Chatwork's marks
    r"|piconname:\d+|picon:\d+|preview [^\]\n]{0,40}|download:\d+)\]"
    r"|\[(info|title|qt|code)\].{0,256}?\[/\1\]"  # and its blocks, closed
)
"""Chat messages as their platforms' APIs return them (twelfth and thirteenth passes): Chatwork's [To:…] [rp aid=…]
[qt]…[/qt] [info][title]…[/title]…[/info] are the message and its subject. A block counts closed, and in Chatwork's
lower case: a title's "[HR] …", "[Info] …" or "[info] 全体会議" is a tag (13th and 14th passes: 100 % removed)."""
_BBCODE = re.compile(
    r"\[(quote|url|img|spoiler|color|size|code|b|i|u|s)(?:[= ][^\]\n]{0,40})?\].{0,256}?\[/\1\]",
    re.IGNORECASE | re.DOTALL,
)
"""A tag pair of forums' and chats' markup ([quote]…[/quote], [b]…[/b]); not any word in brackets ("[tbd] …")."""
_STRING_LIST = re.compile(r"""[\[({]\s*(['"])[^'"\n]*\1(?:\s*,\s*(['"])[^'"\n]*\2)+\s*,?\s*[\])}]""")
"""Two strings or more in a list, a tuple or a set literal: a program's messages, as JSON arrays are, when one of
them is a sentence (:func:`_messages`; thirteenth pass: "post(['Hi', '<message>'])" was kept)."""


def _framed(text: str) -> bool:
    """Does ``text`` hold what a mail or chat client writes around a message (:func:`_framing`)? Its words are looked
    for first, as literals: the pattern's many alternatives cost ~18 us a value, the words ~1."""
    pattern, words = _framing()
    return words.search(text.lower()) is not None and pattern.search(text) is not None


@cache
def _framing() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Lines mail and chat clients write around a message, read as :func:`visible` makes a value (which drops the
    voiced mark of "メッセージ" and reads a Cyrillic letter that looks Latin as the Latin one: each literal is read so
    too), and the words one of which each holds."""

    def read(words: tuple[str, ...]) -> list[str]:
        return [visible(word).lower() for word in words]

    def literals(words: tuple[str, ...]) -> str:
        return "|".join(re.escape(word) for word in read(words))

    separators = literals(_SEPARATOR_LABELS)
    labelled = literals(_FORWARD_LINES)
    when = r"(?:\d{1,2}:\d{2}|\d{4}|@)[^\n]{0,80}?"  # an attribution names when, or who by address
    pattern = re.compile(
        rf"-{{3,}}\s*(?:{separators})[^\n]{{0,80}}?-{{3,}}|(?:{labelled})\s*:"
        rf"|\bbegin forwarded message\b|{when}(?:\bschrieb\b|\bschreef\b)[^\n]{{0,80}}:|{when}\bnapisał\w*\s*:"
        rf"|{when}(?:{literals(_ATTRIBUTIONS)})\s*:"
        rf"|(?:{literals(_SIGNATURES)})[^\n:]{{0,30}}$"
        rf"|(?:iphone|ipad|android|outlook|docomo|au|softbank)\s*(?:{literals(('から送信',))})"
        rf"| - (?:{literals(_WINDOW_TITLES)})(?:\s*$| - )",
        re.IGNORECASE | re.MULTILINE,
    )
    words = (
        *read(_SEPARATOR_LABELS),
        *read(_ATTRIBUTIONS),
        *read(_SIGNATURES),
        *read(_WINDOW_TITLES),
        *read(_FORWARD_LINES),
        *("schrieb", "schreef", "napisa", "から送信"),
    )
    # The words as one alternation of literals: 1.3 us a title, against 3.5 for 79 substring tests in a generator.
    return pattern, re.compile("|".join(re.escape(word) for word in dict.fromkeys(words)))


_ATTRIBUTIONS = (
    *("さんは書きました", "が書きました", "님이 작성", "写道", "寫道", "đã viết", "ha scritto", "wrote", "a écrit"),
    *("escribió", "escreveu", "menulis", "написал", "написала"),
)
"""A reply's attribution line ("2026年12月1日 10:00 佐藤 太郎 さんは書きました:"), in the languages above: with its
colon, since "書きました" alone is ordinary Japanese, and after a time, a year or an address, since "wrote:" or
"menulis:" open ordinary titles ("Pelatihan menulis: laporan bulanan": fourteenth pass, 73 %)."""
_SIGNATURES = (
    *("sent from my iphone", "sent from my ipad", "sent from my android", "sent from my galaxy", "sent from my xperia"),
    *("sent from my pixel", "sent from my samsung", "sent from my mobile"),
    *("sent from outlook", "sent from mail for", "sent from yahoo mail", "sent from gmail"),
    *("get outlook for ios", "get outlook for android", "outlook for ios を入手", "outlook for android を入手"),
    *("von meinem iphone gesendet", "envoyé de mon iphone", "enviado desde mi iphone", "enviado do meu iphone"),
    *("verzonden vanaf mijn iphone", "отправлено \u0441 iphone", "dikirim dari iphone"),
)
"""What a mail client appends to a message it sends, in the languages above (thirteenth pass: iOS's in de, fr, es,
pt, Outlook mobile's "Get Outlook for iOS" were kept): at the value's or a line's end, since "Sent from my desk:
weekly report" opens a title (fourteenth pass)."""
_WINDOW_TITLES = (
    *("メッセージ (HTML)", "メッセージ (テキスト形式)", "メッセージ (リッチ テキスト)", "Message (HTML)"),
    *("Message (Plain Text)", "Message (Rich Text)"),
)
"""What follows a message's subject in a mail client's message window, at the title's end or before another " - "
("Re: 残業申請について - メッセージ (HTML)"): a PC agent's usage history records window titles (twelfth pass).
Not an inbox's, a calendar's or a web mail's front page: they name no message (thirteenth pass)."""
_FORWARD_LINES = ("以下のメッセージを転送します", "begin forwarded message")
"""The line Apple Mail writes above a forwarded message, with its colon; a separator's words are read between dashes
only ("Original message: archive policy" is a title: fourteenth pass)."""
_SEPARATOR_LABELS = (
    *("original message", "forwarded message", "forwarded by", "weitergeleitete nachricht", "ursprüngliche nachricht"),
    *("message transféré", "message d'origine", "mensaje original", "mensaje reenviado", "messaggio originale"),
    *("mensagem original", "mensagem encaminhada", "oorspronkelijk bericht", "doorgestuurd bericht"),
    *("исходное сообщение", "пересылаемое сообщение", "pesan asli", "pesan yang diteruskan", "thư gốc"),
    *("thư đã chuyển tiếp", "messaggio inoltrato"),
    *("転送メッセージ", "元のメッセージ", "転送されたメッセージ", "原始邮件", "转发的邮件", "原始郵件", "轉寄郵件"),
    *("원본 메시지", "전달된 메시지"),
)
"""The separators mail clients write above a forwarded or quoted message, in the policies' users' languages and
their neighbours' (thirteenth pass: Portuguese, Dutch, Russian, Traditional Chinese, Vietnamese, Indonesian)."""

_JIS_ESCAPE = re.compile(r"\x1b?(\$[B@]|\([BJ])")
_HZ = re.compile(r"~\{[!-~]{4,}?~\}")
_MISREADINGS = (
    ("cp1252", ("utf-8", "cp932", "euc_jp")),
    ("latin-1", ("utf-8", "cp932", "euc_jp")),
    ("cp932", ("utf-8",)),
    ("cp1251", ("utf-8",)),
    ("gbk", ("utf-8", "cp932")),
    ("cp437", ("utf-8", "cp932")),
    ("cp850", ("utf-8", "cp932")),
    ("mac_roman", ("utf-8", "cp932")),
)
"""(the charset bytes were read in, the charsets they may have been written in): Western and Windows-console
codecs, and the Chinese and Japanese ones, reading UTF-8, Shift_JIS or EUC-JP (thirteenth pass: GBK, cp437, cp850
and Mac Roman readings were kept). Not EUC-JP read as cp932 or GBK: their kanji and cp932's half-width katakana
share bytes, so ordinary names would read as kanji."""
_MISREAD_RUN = re.compile(r"[^\x00-\x7f]{4}")
"""Misread Japanese is dense: each character becomes two or three others beyond ASCII, side by side. Accented
letters in a name stand alone ("Hélène Lefèvre", "Hämäläinen": thirteenth pass, 14.5 % and 25 % were removed)."""


def _misdecoded(text: str) -> bool:
    """Is ``text`` Japanese text read in the wrong charset — UTF-8, Shift_JIS or EUC-JP bytes read as cp1252,
    Latin-1, cp932, GBK, cp437, cp850 or Mac Roman? (ISO-2022-JP or HZ left undecoded, "$B;D6H?=@A$K$D$$$F(B", is
    ASCII, and read by :func:`_undecoded` once nothing more particular is found.) Mail software does both to a
    subject it reads with the wrong codec, and one encode/decode gives the message back (twelfth pass: 48 of 48
    kept). The reading must be Japanese with more hiragana than the text itself has
    (:func:`_japanese`); ftfy reads UTF-8 mojibake only, and the Japanese charsets are the ones this policy's mail
    comes in.
    """
    if _MISREAD_RUN.search(text) is None or _hiragana(text) >= _CJK_MIN:
        return False  # accented letters alone; or Japanese as written (no misreading above gives hiragana)
    for wrong, written in _MISREADINGS:
        try:
            raw = text.replace("\ufffd", "?").encode(wrong)
        except UnicodeError:
            continue
        for right in written:
            read = raw.decode(right, errors="replace")
            lost = read.count("\ufffd")
            if lost * 2 > len(read):  # lossy misreadings ('ã�«') lose a byte in four
                continue
            read = read.replace("\ufffd", "")
            if read == text:
                continue
            if _japanese(read, _hiragana(text), kana=2 if _cjk(text) >= _CJK_MIN else 0):
                return True
            if (
                right == "utf-8"
                and wrong in _SINGLE_BYTE
                and lost * _UTF8_LOSS <= sum(1 for char in read if not char.isascii())
                and _utf8_text(read, text)
            ):
                return True
    return False


_UTF8_LOSS = 3
_SINGLE_BYTE = frozenset({"cp1252", "latin-1", "cp437", "cp850", "mac_roman", "cp1251"})
"""Charsets whose misreading of UTF-8 is read back in any script: a double-byte one's (GBK, cp932) would read
Japanese as written as some other text (fourteenth pass: a search URL in kanji after a long ASCII part, 1-14 %);
what is lost is counted against the characters beyond ASCII, not the whole value."""


def _utf8_text(read: str, text: str) -> bool:
    """Is ``read`` the text ``text`` was before its UTF-8 was read in a single-byte charset, in any script
    (Vietnamese read as cp932, Korean as cp1251: thirteenth pass)? UTF-8 reads back shorter, its letters beyond
    ASCII all of one script."""
    letters = [char for char in read if not char.isascii() and char.isalpha()]
    return (
        len(letters) >= _CJK_MIN
        and len(read) < len(text)
        and read.isprintable()
        and len({unicodedata.name(char, "").partition(" ")[0] for char in letters}) == 1
    )


def _undecoded(text: str) -> bool:
    """ISO-2022-JP with or without its escape characters, every run of it; or HZ."""
    if _JIS_ESCAPE.search(text):
        restored = _JIS_ESCAPE.sub(lambda escape: "\x1b" + escape.group(1), text)
        try:
            read = restored.encode("ascii").decode("iso2022_jp", errors="replace").replace("\ufffd", "")
            if _japanese(read, 0, kana=0):
                return True
        except UnicodeError:
            pass
    hz = _HZ.search(text)
    return hz is not None and _japanese(hz.group().encode("ascii").decode("hz", errors="replace"), 0, kana=0)


def _hiragana(text: str) -> int:
    """Hiragana letters in ``text`` — not the sound marks and iteration marks of the block (゛ ゜ ゝ ゞ), which a
    misreading of rare kanji gives as readily as any symbol (found by a property test: "\u3000丣丬乀", read from GBK
    as cp932, gave "｡｡゛聢ゝ", taken for Japanese)."""
    return sum(1 for char in text if "\u3041" <= char <= "\u3096")


def _cjk(text: str) -> int:
    return sum(1 for char in text if "\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff")


_CJK_MIN = 3


def _japanese(text: str, hiragana_before: int, kana: int = 2) -> bool:
    """Three kana or kanji or more, most of the text beyond ASCII, and ``kana`` hiragana more than the text it was
    read from had: a Chinese name read in another charset is kanji soup without the particles (の, は, を). Misread
    Latin letters need none (a lossy cp1252 reading loses every hiragana's middle byte, and keeps the kanji)."""
    beyond = sum(1 for char in text if not char.isascii())
    hiragana = _hiragana(text)
    cjk = _cjk(text)
    return (
        text.isprintable()
        and cjk >= _CJK_MIN
        and cjk * 2 >= beyond
        and hiragana >= kana
        and (kana == 0 or hiragana > hiragana_before)
    )


def replied(value: str) -> bool:
    """Does ``value`` hold one reply or forward prefix ("Fwd: 残業申請について", "Outlook - Re: …",
    "send_mail(Re: …)")? :func:`detect` takes two as a mail's subject, since a calendar entry's title may open
    with one; in any other field one is a subject too (twelfth red-team pass)."""
    return len(value) <= _CACHED_CHARS and _replied(value)


@lru_cache(maxsize=16_384)
def _replied(value: str) -> bool:
    text = visible(value)
    return _one_reply().search(text) is not None or _reply_at_start().match(text) is not None


@cache
def _reply_at_start() -> re.Pattern[str]:
    """Reply and forward prefixes a value opens with, as other clients and languages write them ("\u3014返信\u3015",
    "*FW*", "YNT:", "Отв:", "회신:", "Fwd - ", Outlook's "AW_ "/"SV_ " in a saved reply's name: twenty-fourth pass);
    the words as :func:`visible` reads them (a Cyrillic "Отв" is partly Latin then)."""
    words = "|".join(re.escape(visible(word)) for word in ("ynt", "отв", "пересл", "회신", "forwarded"))
    return re.compile(
        rf"\s*(?:[\u3014\[(*【<]\s*(?:re|fwd?|返信|転送)\s*[\u3015\])*】>]|(?:{words})\s*:|fwd?\s+-\s"
        r"|(?:re|fwd?|aw|wg|sv|tr|rv|vs)_(?=\s))",
        re.IGNORECASE,
    )


@cache
def _one_reply() -> re.Pattern[str]:
    replies = "|".join(re.escape(visible(prefix)) for prefix in _ONE_REPLY)
    return re.compile(
        rf"{_NOT_AFTER_A_LETTER}(?:(?:{replies})(?:\[\d{{1,3}}\]|\(\d{{1,3}}\)|\^\d{{1,3}})?[ \t]*[:>]"
        rf"|[\[(](?:re|fwd?|返信|転送)[\])]|【(?:{replies})】|(?:re|fwd?)_(?=[ \t]))(?:[ \t]+|(?=[^\x00-\x7f]))",
        re.IGNORECASE,
    )


_ONE_REPLY = (
    *("re", "fw", "fwd", "aw", "wg", "返信", "転送", "回复", "答复", "转发", "回覆", "轉寄", "답장", "전달"),
    # Outlook's in other languages (sixteenth red-team pass): French, Spanish, Dutch, Polish, Finnish, Swedish.
    *("tr", "rv", "antw", "odp", "vl", "vb"),
)
"""The prefixes one of which makes a subject outside a title, with a blank or a letter beyond ASCII after its colon
(or ">", "Re^2:", "[Re]", "(Fwd)", "[転送]", "【返信】", and Outlook's "RE_ " in the name of a saved reply:
twenty-third red-team pass);
not the short words that are also units' and hosts' names ("SV: スーパーバイザー課", "kintai-sv:8080", "rv:109.0"),
nor a name's colon ("Re:Work 合同会社", "Re:lation", "fw:update"; thirteenth pass, up to 100 % were removed)."""


_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_OVERRIDE = re.compile("[\u202d\u202e]")
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
"""Hebrew, Arabic, Syriac, Thaana, NKo and their presentation forms."""


def _read_on_both_paths(text: str) -> bool:
    """The encodings read on both of :func:`_first_finding`'s paths: their characters stand between blanks, commas,
    symbols or emoji, in groups shorter than the prefilter's runs (Morse, proquints and Bubble Babble, UTF-7 one
    character a run, base100, octal, base32hex in groups split by blanks: the last was read on one path only)."""
    return (
        _morse(text)
        or pronounceable_text(text)
        or utf7_text(text)
        or base100_text(text)
        or _octal_text(text)
        or _base32hex_groups(text)
    )


def _judge(text: str) -> Finding | None:
    """The first finding in ``text``, read as :func:`visible` made it; lines of text are one when nothing more
    particular is found (wrapped base64 is base64)."""
    finding = _first_finding(text)
    if finding is None and _lines(text):
        return Finding.MULTI_LINE
    if finding is None and text.isascii() and ("$" in text or "~{" in text) and _undecoded(text):
        return Finding.MISDECODED_TEXT  # ISO-2022-JP or HZ left undecoded (a non-ASCII misreading: :func:`_detect`)
    return finding


def _first_finding(text: str) -> Finding | None:
    if "%" in text and (spelled := _url_spelling(text)) is not None:
        return _detect(spelled)
    if _mail_header().search(text) or len(_ADDRESS_HEADER.findall(text)) >= 2 or len(_QUOTED_LINES.findall(text)) >= 2:
        return Finding.MAIL_HEADER
    if (shape := _message_shape(text)) is not None:
        return shape
    if _COMPOSE_LINK.search(text):
        return Finding.MAIL_HEADER
    if (carrier := _message_carrier(text)) is not None:
        return carrier
    grouped = _grouped(text)  # groups of base64, hex or base32 characters, each too short for the prefilter's runs
    if grouped is None and _SUSPICIOUS.search(text) is None:
        # A uuencoded line and base45 are the shapes the prefilter's runs can miss (spaces are among their
        # characters; sixteenth red-team pass: base45 of a subject with blanks in it was kept).
        if any(_uu_text(line.group()) for line in _UU_LINE.finditer(text)):
            return Finding.ENCODED_TEXT
        if code_point_text(text, bare=True) or _bare_escapes_text(text):  # "U+7D66 U+4E0E …", "u0050 u0061 …"
            return Finding.ESCAPED_TEXT
        if wrapped_numbers_text(text):  # "ChrW(&H7D66) & ChrW(&H4E0E) & …", "517,204,422,…"
            return Finding.ESCAPED_TEXT
        if _read_on_both_paths(text):
            return Finding.ENCODED_TEXT
        return Finding.ENCODED_TEXT if base45_text(text, _hex_begins_with_text) else None
    if _DATA_URI.search(text):
        return Finding.DATA_URI
    if _MIME_WORD.search(text):
        return Finding.MIME_ENCODED_WORD
    if _quoted_printable(text):
        return Finding.QUOTED_PRINTABLE
    if _HTML.search(text) or _ELEMENT.search(text) or len(_ENTITY.findall(text)) >= _MIN_ENTITIES:
        return Finding.HTML
    if grouped is not None:
        return grouped
    if _structured(text):
        return Finding.STRUCTURED
    if _escaped(text) or wrapped_numbers_text(text):
        return Finding.ESCAPED_TEXT
    if _read_on_both_paths(text) or _bare_escapes_text(text):
        return Finding.ENCODED_TEXT
    url = "://" in text
    if any(
        _base64(run.group(), url or _path(run.group()), text.startswith("=", run.end()))
        for run in _BASE64_RUN.finditer(text)
    ):
        return Finding.BASE64
    if _encoded(text):
        return Finding.ENCODED_TEXT
    return None


MAX_HIDDEN = 4
"""Characters that show nothing a kept value may hold (a soft hyphen, a zero-width space or two, a mark of
direction): beyond this, they are a channel — tag characters spell ASCII one for one, variation selectors carry a
byte each, zero-width spaces and joiners, control characters, Hangul fillers or the kind of each space carry bits
(eighth and ninth red-team passes). Counted per value here, and over all of an event's kept values by the
minimization walk (:func:`hidden_count`)."""
_STACKED_MARKS = 4
"""Combining marks on letters of scripts that take none (Latin after composition, Han, kana, Hangul, symbols), or
stacked three deep, beyond which marks are a channel."""
_BYTE_TEXT = 15
"""Code points read one byte each (the low byte) that are judged as text, from this many on."""
_DISTINCT_BYTES = 6
"""A message read one byte a character has at least this many distinct bytes; a repeated word does not."""
_ZWJ, _VS15, _VS16 = "\u200d", "\ufe0e", "\ufe0f"
_KEYCAP = "\u20e3"
_SUBDIVISION_FLAG = re.compile(
    "\U0001f3f4(?:\U000e0067\U000e0062(?:\U000e0065\U000e006e\U000e0067|\U000e0073\U000e0063\U000e0074"
    "|\U000e0077\U000e006c\U000e0073))\U000e007f"
)
"""The three subdivision flags Unicode recommends (England, Scotland, Wales): a black flag, the region in tag
characters, a cancel tag. Any other tag character is hidden (ninth pass: a flag and seven tags, repeated)."""
_IGNORABLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")
"""Default-ignorable code points that are not format characters (Hangul fillers, the combining grapheme joiner,
Khmer inherent vowels), and the blank Braille pattern: each shows nothing. Mongolian free variation selectors
(U+180B-180F) are counted with the variation selectors (tenth pass: two bits a Cyrillic letter)."""
_OWN_BLOCK_SCRIPTS = frozenset(
    {0x04, 0x05, 0x06, 0x07, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x17, 0x30, 0xFF}
)
"""256-aligned blocks whose script's ordinary text stays inside one block and whose low bytes are often printable
(Cyrillic, Armenian and Hebrew, Arabic, Syriac and Thaana, the Indic scripts, Thai and Lao, Tibetan, Myanmar and
Georgian, Khmer, kana, full-width forms): not read as bytes. Every other non-ASCII code point is."""


_MORSE = re.compile(r"(?:[.\-]{1,7}[ /|]+){8,}[.\-]{1,7}")
"""Nine letters or more in Morse code, dots and dashes between blanks, slashes or bars (twenty-second red-team
pass: ".-. . ---... / ... .- .-.. .- .-. -.--" was kept), as :data:`_MORSE_GLYPHS` writes them."""
_MORSE_GLYPHS = str.maketrans(
    {
        **dict.fromkeys("・·•∙⋅。", "."),
        **dict.fromkeys("\uff0dー\uff70\u2014\u2013\u2212\u2010\u2012\u2015_━", "-"),
        **dict.fromkeys("\u3000\t\n、,;", " "),
    }
)
"""Dots and dashes as Morse is written by hand or in Japanese ("・ー", bullets and en dashes, "._"), read as
"." and "-"; an ideographic space, a tab, a line break, "、", "," and ";" as a blank (twenty-third and
twenty-fourth passes: wabun and Morse written with "ー", em dashes, "_" or minus signs, or between commas, were
kept).
Only runs of nothing but dots and dashes between blanks count, so a katakana word's "ー" is no dash of a letter."""
_SPOKEN_MORSE = re.compile("(?:ツー|ﾂｰ|ト|ﾄ)+")
_SPOKEN = str.maketrans({"ト": ".", "ﾄ": ".", "ツ": "-", "ﾂ": ""})
_SAID_MORSE = re.compile(r"\b(?:dit|dah|di)(?:-?(?:dit|dah|di))*\b", re.IGNORECASE)
"""Morse said in English ("di-dah dah-di-di-dit …"): each letter one word of dits and dahs."""


def _said_letter(said: str) -> str:
    return said.replace("-", "").casefold().replace("dit", ".").replace("dah", "-").replace("di", ".")


"""Morse as Japanese say it, a dot "ト", a dash "ツー" ("トツー トトト …"): each letter one run of them."""
_MORSE_LETTERS = 4


def _morse(text: str) -> bool:
    """Does ``text`` hold Morse code (:data:`_MORSE`), dots and dashes both and four letters or more of it different
    (a row of dashes or dots between words is a rule, not a message)?"""
    if "ト" in text or "ﾄ" in text:
        text = text.replace("トン", "ト").replace("。", " / ")
        text = _SPOKEN_MORSE.sub(
            lambda run: run.group().replace("ツー", "-").replace("ﾂｰ", "-").translate(_SPOKEN), text
        )
    if "di" in text.casefold():
        text = _SAID_MORSE.sub(lambda said: _said_letter(said.group()), text)
    text = text.translate(_MORSE_GLYPHS)
    if "-" not in text or "." not in text:
        return False
    run = _MORSE.search(text)
    return run is not None and len(set(_MORSE_SPLIT.split(run.group()))) >= _MORSE_LETTERS


_MORSE_SPLIT = re.compile(r"[ /|]+")


_PIECE = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
"""A piece of base64, hex or base32 in a kept value: a run of their alphabet long enough to carry a few bytes."""
_HEX_PIECE = re.compile(r"[0-9A-Fa-f]+")
_BASE32_PIECE = re.compile(r"[A-Z2-7]+=*|[a-z2-7]+=*")
_URLSAFE_AS_STANDARD = str.maketrans("-_", "+/")


def split_content(values: Sequence[str]) -> list[int]:
    """The values among one event's kept free texts that together carry an encoded message, each piece under what
    one value is judged on (fewer than 15 bytes); none when they do not.

    Twenty-second red-team pass: a message cut into 14-byte pieces, each in hex, base64 or base32, in a user's name,
    department, organization and division was kept whole, each value judged alone. The pieces of base64, hex and
    base32 in the values (runs of eight characters or more, :func:`_pieces`) are read in the walk's order: put
    together as they stand and decoded as one (an encoding cut anywhere); decoded each alone, the pieces whose
    bytes read as UTF-8 put together (so that a word or an id between them hides nothing), or all their bytes
    together as a compressed stream or a file.
    """
    pieces = [(index, piece) for index, value in enumerate(values) for piece in _pieces(value)]
    if len(pieces) < 2 or pieces[0][0] == pieces[-1][0]:  # in the values' order: all in one value or none
        return []
    joined = "".join(piece.rstrip("=") for _, piece in pieces)
    if len(joined) < _JOINED_CHARS:
        return []
    # As they stand: what stands before the encoding would make its decoding begin with other bytes, so only the
    # first alignment is read, and only if its first bytes read as UTF-8 (or begin a stream or a file).
    hexadecimal = _HEX_PIECE.fullmatch(joined) is not None
    head = _hex_piece(joined[:16]) if hexadecimal else _base64_piece(joined[:16])
    if head is not None and (_utf8_piece(head) or head.startswith(_CONTENT_STARTS)):
        whole = (
            _hex_piece(joined[: len(joined) // 2 * 2]) if hexadecimal else _base64_piece(joined[: len(joined) // 4 * 4])
        )
        if whole is not None and (joined_content(whole) or starts_with_text(whole, MIN_TEXT_BYTES)):
            return sorted({index for index, _ in pieces})
    readings = [(index, _piece_readings(piece)) for index, piece in pieces]
    hopeful = {index for index, each in readings if each.hopeful}
    if not hopeful or (len(hopeful) < 2 and not any(each.starts for _, each in readings)):
        return []  # a compressed stream or a file in pieces: only its first piece shows how it begins
    for reading in range(len(_PIECE_READINGS)):
        read = [(index, each.decoded[reading]) for index, each in readings if each.decoded[reading][0] is not None]
        if len(read) < 2 or read[0][0] == read[-1][0]:
            continue
        first = read[0][1][0]
        if first is not None and first.startswith(_CONTENT_STARTS) and _content(b"".join(r[0] or b"" for _, r in read)):
            return sorted({index for index, _ in read})  # a compressed stream or a file, in pieces
        texty = [(index, data) for index, (data, utf8) in read if utf8 and data is not None]
        if len(texty) < 2 or texty[0][0] == texty[-1][0]:
            continue
        if is_text(b"".join(data for _, data in texty).decode("utf-8", "ignore").encode()):
            return sorted({index for index, _ in texty})
    return []


class _PieceReadings(NamedTuple):
    decoded: tuple[tuple[bytes | None, bool], ...]
    """The piece's bytes as hex, base32 and base64 (None where it is none of them), each with whether they read as
    UTF-8 (:func:`_utf8_piece`)."""
    starts: bool
    """Whether any of them begins a compressed stream or a file."""

    @property
    def hopeful(self) -> bool:
        """May the piece be part of a message: text, or the start of a stream or a file?"""
        return self.starts or any(utf8 for _, utf8 in self.decoded)


@lru_cache(maxsize=16_384)
def _piece_readings(piece: str) -> _PieceReadings:
    """A piece's readings, remembered: a computer's name, a file's, a screen come again and again."""
    decoded = [decode(piece) if alphabet.fullmatch(piece) else None for alphabet, decode in _PIECE_READINGS]
    return _PieceReadings(
        tuple((data, data is not None and _utf8_piece(data)) for data in decoded),
        any(data is not None and data.startswith(_CONTENT_STARTS) for data in decoded),
    )


_JOINED_CHARS = 20
"""Characters of pieces that hold 15 bytes in base64 (:data:`MIN_TEXT_BYTES`); fewer carry no message."""


def _pieces(value: str) -> tuple[str, ...]:
    """The pieces :func:`split_content` reads in a kept value: a short one's remembered (a department, a title
    come again and again). A word is no piece: letters alone, in lower case or capitalized ("planning",
    "Engineering") — a piece of base64 or hex has digits or both cases all but always, and one that has not is
    passed over as a word between the others is. Upper case alone is base32's alphabet (a tenth of its pieces have
    no digit): read."""
    return _pieces_recent(value) if len(value) <= _CACHED_CHARS else _pieces_in(value[:JUDGED_CHARS])


def _pieces_in(value: str) -> tuple[str, ...]:
    return tuple(piece for match in _PIECE.finditer(visible(value)) if not _worded(piece := match.group()))


def _worded(piece: str) -> bool:
    """Is ``piece`` a word (letters alone, lower case or capitalized), or words and numbers joined by dashes or
    underscores ("KOBE-PC-0123", "report-554433", "sales_Q3")? Such a name is no piece of an encoding."""
    if piece.isalpha():
        return piece.islower() or piece.istitle()
    if "-" not in piece and "_" not in piece:
        return False
    return all(
        part.isdigit() or (part.isalpha() and (part.islower() or part.istitle() or part.isupper()))
        for part in _NAME_PARTS.split(piece)
        if part
    )


_NAME_PARTS = re.compile("[-_]+")


_pieces_recent = lru_cache(maxsize=16_384)(_pieces_in)


def _utf8_piece(data: bytes) -> bool:
    """Is ``data`` a piece of printable UTF-8 text, perhaps cut inside a character at either end (up to three bytes
    of it)? Random bytes of a piece's length are so once in hundreds or more."""
    if len(data) < 4:
        return False
    start = 0
    while start < 3 and 0x80 <= data[start] <= 0xBF:
        start += 1  # the end of a character cut before the piece
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(data) - start - 3:
            return False  # not UTF-8 before its last three bytes
        try:  # the start of a character cut after the piece
            text = data[start : start + error.start].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return text.isprintable() and bool(text)  # blanks alone are a piece of a message too


_BASE64_PIECE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def _hex_piece(piece: str) -> bytes | None:
    return bytes.fromhex(piece) if len(piece) % 2 == 0 else None


def _base32_piece(piece: str) -> bytes | None:
    letters = piece.rstrip("=").upper()
    try:
        return base64.b32decode(letters + "=" * (-len(letters) % 8))
    except ValueError:
        return None


def _base64_piece(piece: str) -> bytes | None:
    letters = piece.rstrip("=").translate(_URLSAFE_AS_STANDARD)
    if len(letters) % 4 == 1:
        return None
    try:
        return binascii.a2b_base64(letters + "=" * (-len(letters) % 4))
    except binascii.Error:
        return None


_PIECE_READINGS: tuple[tuple[re.Pattern[str], Callable[[str], bytes | None]], ...] = (
    (_HEX_PIECE, _hex_piece),
    (_BASE32_PIECE, _base32_piece),
    (_BASE64_PIECE, _base64_piece),
)
_CONTENT_STARTS = (*COMPRESSED_MAGIC, b"BZh", b"\xfd7zXZ", *FILE_SIGNATURES)
"""How a compressed stream or a file begins (:func:`joined_content`, :func:`stream_text`)."""


def hidden_count(value: str) -> int:
    """How many characters of ``value`` show nothing (see :data:`MAX_HIDDEN`), emoji sequences' joiners and
    selectors and the recommended subdivision flags not counted."""
    if value.isascii() and value.isprintable():
        return 0
    if (value.replace("\u3000", " ") if "\u3000" in value else value).isprintable() and (
        _PRINTABLE_NOTHING.search(value) is None
    ):
        # Every character that shows nothing is either one Python calls unprintable (the categories Cc, Cf, Co, Cn
        # and Zs but the blank; the ideographic space is ordinary) or one of these: none is here, so none is
        # counted. Found in C: a fresh non-ASCII kept text was walked character by character (~5 us a name).
        return 0
    return _hidden_count(value)


_PRINTABLE_NOTHING = re.compile(
    "[\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b-\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]"
)
"""What :func:`_shows_nothing` is true of that ``str.isprintable`` calls printable: :data:`_IGNORABLE_LETTERS`,
Mongolian free variation selectors and the variation selectors (``tests/unit/stages`` checks every code point)."""


@remembered(maxsize=16_384)
def _hidden_count(value: str) -> int:
    value = _SUBDIVISION_FLAG.sub("", value)
    hidden = 0
    previous = ""
    for index, char in enumerate(value):
        if _shows_nothing(char) and not _joins(char, previous, value[index + 1 : index + 2]):
            hidden += 1
        previous = char
    return hidden


def _joins(char: str, previous: str, following: str) -> bool:
    """Is ``char`` a joiner or selector doing its ordinary work: in an emoji sequence (after a symbol, a skin tone
    or a presentation selector), a keycap's selector (a digit, the selector, the enclosing keycap), or a joiner or
    non-joiner inside a word of a script written with them (Indic, Sinhala, Arabic and Persian, Myanmar, Khmer)?
    Tenth red-team pass: Sinhala names, Persian text and skin-toned emoji were counted as hidden; a selector after
    any digit carried a bit."""
    if not previous:
        return False
    if char in (_ZWJ, _ZWNJ):
        if previous in (_VS16, _ZWJ) or unicodedata.category(previous) in ("So", "Sk"):
            return char == _ZWJ
        return _JOINING_SCRIPT.match(previous) is not None and _JOINING_SCRIPT.match(following) is not None
    if char in (_VS15, _VS16):
        if previous.isdigit() or previous in "#*":
            return following == _KEYCAP
        return unicodedata.category(previous) == "So"
    return False


_ZWNJ = "\u200c"
_JOINING_SCRIPT = re.compile(
    "[\u0600-\u06ff\u0750-\u077f\u0900-\u0dff\u1000-\u109f\u1780-\u17ff\ufb50-\ufdff\ufe70-\ufeff]"
)
"""Arabic and Persian, Devanagari to Sinhala, Myanmar, Khmer: scripts whose words hold a zero-width joiner or
non-joiner between two of their letters."""


def _shows_nothing(char: str) -> bool:
    if char in "\t\n\r ":
        return False
    category = unicodedata.category(char)
    if category in ("Cf", "Cc", "Co", "Cn") or char in _IGNORABLE_LETTERS:
        return True
    if category == "Zs":
        return char != "\u3000"  # the ideographic space is ordinary; a no-break space beside spaces chose a bit
    point = ord(char)
    return _is_selector(point) or 0x180B <= point <= 0x180F  # and Mongolian free variation selectors


def _is_selector(point: int) -> bool:
    """A variation selector: the standard ones (VS1-VS16) or the supplement's (VS17-VS256)."""
    return 0xFE00 <= point <= 0xFE0F or 0xE0100 <= point <= 0xE01EF


def hidden_carrier(value: str) -> bool:
    """Does ``value`` carry text in characters a reader does not see or cannot read as its letters?

    :func:`visible` drops invisible characters so that they hide nothing *inside* a disguise; this judges what
    it drops and what it keeps as one byte a character:

    - more than :data:`MAX_HIDDEN` characters that show nothing (:func:`hidden_count`);
    - combining marks used as a channel: four or more on letters of scripts that take none, or three stacked;
    - the low bytes of the non-ASCII code points outside :data:`_OWN_BLOCK_SCRIPTS` — all of them in order, those
      of each 256-aligned block apart, and those of each Unicode category apart — that are text, or whose low
      nibbles paired are (Braille, syllabics, hieroglyphs, CJK or private-use code points + a byte, symbols of
      alternating blocks among kanji, spaces between them).
    """
    if hidden_count(value) > MAX_HIDDEN:
        return True
    if value.isascii():
        return False  # no marks, and no byte read: ASCII is no carrier of bytes
    marks = 0
    stacked = 0
    takes_marks = True
    low: list[int] = []
    by_block: dict[int, list[int]] = {}
    by_category: dict[str, list[int]] = {}
    kinds = _character_kinds()
    for char in unicodedata.normalize("NFC", value):
        point = ord(char)
        kind = kinds[point] if point < _TABLED else _kind_of(point)
        if kind == _SKIPPED:
            continue  # selectors are counted as hidden; a keycap encloses the digit before it (1️⃣)
        if kind == _MARK:
            stacked += 1
            marks += not takes_marks
            if stacked >= 3 or marks >= _STACKED_MARKS:
                return True
            continue
        stacked = 0
        takes_marks = kind & _TAKES_MARKS != 0
        if kind & _READ:
            byte = point & 0xFF
            low.append(byte)
            by_block.setdefault(point >> 8, []).append(byte)
            by_category.setdefault(unicodedata.category(char), []).append(byte)
    if len(low) < _BYTE_TEXT:
        return False
    views = (
        low,
        *(by_block.values() if len(by_block) > 1 else ()),
        *(by_category.values() if len(by_category) > 1 else ()),
    )
    return any(_bytes_are_text(view) for view in views)


_SKIPPED, _MARK, _PASSED, _READ, _TAKES_MARKS = 1, 2, 4, 8, 16
"""What :func:`hidden_carrier` does with a character: passes over it (a selector, a keycap), counts it as a
combining mark, passes it (ASCII, a blank, a control, a letter of :data:`_OWN_BLOCK_SCRIPTS`) or reads its low
byte; and whether combining marks may follow it (:func:`_takes_marks`)."""
_TABLED = 0x10000


def _kind_of(point: int) -> int:
    """The kind of the character at ``point`` (see :data:`_SKIPPED`)."""
    char = chr(point)
    category = unicodedata.category(char)
    if _is_selector(point) or char == _KEYCAP:
        return _SKIPPED
    if category in ("Mn", "Me"):
        return _MARK
    takes = _TAKES_MARKS if _takes_marks(point) else 0
    if point < 0x80 or category in ("Zs", "Cc", "Cf") or (point >> 8) in _OWN_BLOCK_SCRIPTS:
        return _PASSED | takes
    return _READ | takes


@cache
def _character_kinds() -> bytes:
    """:func:`_kind_of` every code point of the Basic Multilingual Plane, as one byte each: a fresh kept text was
    walked at ~0.35 us a character, a category and three range tests each. Built on first use (~40 ms)."""
    return bytes(_kind_of(point) for point in range(_TABLED))


def _takes_marks(point: int) -> bool:
    """Letters of scripts written with combining marks after composition (Greek to Mongolian, the Indic and South
    East Asian extensions, Hebrew and Arabic presentation forms)."""
    return 0x370 <= point < 0x1D00 or 0xA800 <= point < 0xAB00 or 0xFB1D <= point < 0xFE00


def _bytes_are_text(values: list[int]) -> bool:
    if len(values) < _BYTE_TEXT or len(set(values)) < _DISTINCT_BYTES:
        return False  # a character repeated ("週次定例 " ten thousand times) spells nothing
    if is_text(bytes(values)):
        return True
    if len(values) >= 2 * _BYTE_TEXT and max(values) < 16:  # one nibble a code point
        return is_text(bytes((high << 4) | low for high, low in zip(values[::2], values[1::2], strict=False)))
    return False


@cache
def _invisible() -> dict[int, None]:
    """Every code point that shows nothing by itself: format characters (zero-width spaces and joiners, marks of
    direction, the soft hyphen, the byte-order mark), combining marks, and control characters other than tab and
    line breaks. Built on first use (a walk over Unicode), not at import."""
    drop = {"Cf", "Mn", "Me", "Cc"}
    return {
        point: None
        for point in range(0x110000)
        if unicodedata.category(chr(point)) in drop and chr(point) not in "\t\n\r"
    }


@cache
def _invisible_in_bmp() -> list[int | None]:
    """:func:`_invisible` as a translation list of the Basic Multilingual Plane: None where a character is dropped."""
    invisible = _invisible()
    return [None if point in invisible else point for point in range(0x10000)]


def _in_bmp(text: str) -> bool:
    """Is every character of ``text`` in the Basic Multilingual Plane (one UTF-16 code unit each)?"""
    return len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text)


def visible(value: str) -> str:
    """``value`` as the detectors read it: NFKC-normalized (full-width letters and digits, the ideographic space
    and the full-width colon become their ASCII forms) without the characters that show nothing."""
    if value.isascii() and value.isprintable():
        return value  # the common case: nothing to normalize, nothing invisible
    # Decomposed first, so that a combining mark glued to a letter ("m" + U+0301, which NFKC would compose into
    # "ḿ") is dropped from it; composed again after. Then Cyrillic and Greek letters that look Latin are read as
    # the Latin ones (NFKC keeps them apart): "U3Vi\u0430mVj", with a Cyrillic a, is base64 to a reader's eye.
    # Every line break a reader sees as one is a line feed first: header lines and quoted replies after a bare
    # CR, a line or paragraph separator, NEL or a vertical tab were glued to the line before (seventh pass).
    if _BREAK_OR_TWO_DOTS.search(value) is not None:  # rare: a search is ~20 times cheaper than two translations
        value = value.replace("\r\n", "\n").translate(_LINE_BREAKS).translate(_TWO_DOTS)
    text = unicodedata.normalize("NFKD", value)
    # A list indexed by code point translates faster than the dict (0.7 against 1.6 us for 25 characters) but
    # holds the Basic Multilingual Plane only: beyond it (an emoji, a tag character), the dict.
    text = text.translate(_invisible_in_bmp() if _in_bmp(text) else _invisible())
    text = unicodedata.normalize("NFKC", text)
    return text if text.isascii() else text.translate(_read_as_latin())


_TWO_DOTS = str.maketrans({"\ufe30": ":", "\u2025": ":"})
"""Vertical and horizontal two-dot leaders, which look like a colon and which NFKC would make "..": a colon."""
_LINE_BREAKS = str.maketrans({brk: "\n" for brk in "\r\v\f\x85\u2028\u2029"})
_BREAK_OR_TWO_DOTS = re.compile("\r|[\v\f\x85\u2028\u2029\ufe30\u2025]")
"""What :data:`_LINE_BREAKS` and :data:`_TWO_DOTS` translate: where none is, neither translation is made."""
_LOOK_ALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјорсхуѕԁһԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧαβεικνορτυχ"
    "ꓐꓑꓒꓓꓔꓖꓗꓙꓚꓜꓝꓟꓠꓡꓢꓣꓦꓧꓪꓫꓬꓮꓰꓲꓳꓴ"  # noqa: RUF001 - look-alikes on purpose
    "ᎪᏴᏟᎠᎬᏀᎻᎫᏦᏞᎷᎾᏢᎡᏚᎢᏙᎳᏃ"
    "ᴀʙᴄᴅᴇɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢıɑɡȷɩ"
    + "".join(chr(base + n) for base in (0x1F1E6, 0x1F170, 0x1F150) for n in range(26))
    + "\ua789\u2236\u02f8\u02d0\u0589\u05c3\u0703\u0704\u0903\u0a83\u16ec\u1361\u1803\u1804\u1809\u205a\ua4fd\u2025",
    "ABESIJKMHOPCTXYaeijopcxysdhqwABEZHIKMNOPTYXaBeikvoptuxBPdDTGKJCZFMNLSRVHWXYAEIOUABCDEGHJKLMOPRSTVWZ"
    "abcdeghijklmnoprstuvwyziagji" + string.ascii_uppercase * 3 + ":::" + ":" * 15,
)
"""Letters a reader takes for Latin ones, and colons for ':' (the common part of Unicode's confusables): Cyrillic
and Greek; Lisu and Cherokee capitals, Latin small capitals and IPA letters (seventh red-team pass: base64 spelled
with them was kept); the modifier
letter colon, the ratio sign, the raised colon and every other character Unicode's confusables take for ':' (a
'Subject' line with one was kept; seventh and eighth red-team passes)."""


@cache
def _read_as_latin() -> dict[int, int]:
    """:data:`_LOOK_ALIKES`, and every decimal digit of another script as its ASCII digit (Devanagari ७, Arabic-Indic
    ٣, Myanmar ၅: NFKC keeps them apart). Twenty-second red-team pass: hex, decimal bytes and code points written
    in such digits were kept, read as no number. Built on first use (a walk over Unicode), not at import."""
    digits = {
        point: ord("0") + unicodedata.digit(chr(point))
        for point in range(0x80, 0x110000)
        if unicodedata.category(chr(point)) == "Nd"
    }
    return {**digits, **_LOOK_ALIKES}


_MAPPING_ENTRY = re.compile(r"[{,]\s*(['\"]?)[^\s'\":,{}]{1,40}\1\s*:\s*\S")


_ENTRY = r"""(?:\\?["'][^"'\\\n]{1,40}\\?["']\s*(?::|=>|=)|:?[A-Za-z_]\w{0,39}\s*=>|[A-Za-z_]\w{0,39}\s*=\s*\\?["'])"""
_EMBEDDED_MAPPING = re.compile(rf"[{{(\[]\s*{_ENTRY}[^{{}}()\[\]]{{0,200}}?,\s*{_ENTRY}")
"""Two entries of a mapping inside brackets, anywhere in the value: JSON (escaped once more too), Lua, Ruby, PHP
(seventh red-team pass: '{"subject": …, "body": …}' with a word before it, in parentheses, escaped, or in another
language's syntax, was kept). A key is quoted, or followed by '=>', or by '=' and a quote: '(note: bring it)' is
no mapping."""


def _structured(text: str) -> bool:
    """A JSON object or array, which no name or title is (an e-mail as ``{"subject": …, "body": …}``); also a
    mapping written in another language's syntax (``{'subject': 'pay cut'}``)."""
    if _EMBEDDED_MAPPING.search(text):
        return True
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return False
    if stripped[0] == "{" and _MAPPING_ENTRY.search(stripped):
        return True
    try:
        document = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict | list) and len(document) > 0


def _escaped(text: str) -> bool:
    return (
        len(_PERCENT.findall(text)) >= 2
        or len(_UNICODE_ESCAPE.findall(text)) >= 2
        or len(_BYTE_ESCAPE.findall(text)) >= 3
        or len(_CHARACTER_REFERENCE.findall(text)) >= 3
        or len(_NAMED_ESCAPE.findall(text)) >= 2
        or _OCTETS.search(text) is not None
        or any(_numbers_text(run.group()) for run in _NUMBER_LIST.finditer(text))
        or any(number_text(run.group()) or other_base32_text(run.group()) for run in _ALPHANUMERIC_RUN.finditer(text))
        or code_point_text(text, bare=True)  # u7D66u4E0E… (a JSON string's escapes without backslashes), #x7D66;
    )


def _url_spelling(text: str) -> str | None:
    """What the percent-escapes of a URL or a path spell, where they write what a URL must escape; else None.

    Percent-escapes are how a URL writes any character: "/members/search?q=%E6%96%8E%E8%97%A4" is a search for
    斎藤, and such screens were all removed (eleventh red-team pass: 86-100 % of queries in Japanese). What they
    spell is judged as the same characters written plainly would be — a mail header, base64, hidden characters
    are found in it as anywhere — so escaping hides nothing, and shows nothing more than plain text may. Only in a
    URL or a path, and only what a URL escapes is read so: escapes anywhere else, an escaped letter or digit
    (which no URL needs), a control character, bytes that are no UTF-8 text, or escapes escaped again stay a
    disguise (seventh pass), which :func:`_escaped` refuses.
    """
    escapes = _PERCENT.findall(text)
    if len(escapes) < 2 or not (text.startswith("/") or "://" in text):
        return None
    if any(not _URL_CHARACTER.fullmatch(escape) for escape in escapes):
        return None
    try:
        spelled = urllib.parse.unquote(text, errors="strict")
    except UnicodeDecodeError:
        return None
    return spelled if len(_PERCENT.findall(spelled)) < 2 else None


_URL_CHARACTER = re.compile(r"%(?:2[0-9A-Fa-f]|3[A-Fa-f]|40|5[B-Fb-f]|60|7[B-Eb-e]|[89A-Fa-f][0-9A-Fa-f])")
"""What a URL escapes: a blank, punctuation, the bytes of a character beyond ASCII. Not a letter or a digit, which
no URL needs to escape, nor a control character, which is no text."""
_ALPHANUMERIC_RUN = re.compile(r"[0-9A-Za-z]{30,}")
"""Text written as one number: decimal (40 digits or more), base36, base32hex, base62 or base58
(schemas.encoded_text.number_text, as identifiers are read; seventh red-team pass: free text kept the first three),
or base32 in z-base-32's or Crockford's alphabet (twenty-first session)."""


def _numbers_text(run: str) -> bool:
    """A list of numbers that are the bytes, or the code points, of a text: read as decimal, as hex when each has
    0x or U+ before it, as octal when each is three octal digits, as binary when each is seven or eight bits."""
    tokens = _NUMBER_TOKEN.findall(run)
    readings: list[list[int]] = []
    if all(token.isdigit() for token in tokens):
        readings.append([int(token) for token in tokens])
        if all(len(token) <= 3 and not token.strip("01234567") for token in tokens):
            readings.append([int(token, 8) for token in tokens])
        if all(7 <= len(token) <= 8 and not token.strip("01") for token in tokens):
            readings.append([int(token, 2) for token in tokens])
    elif all(token[:2].lower() in ("0x", "u+") for token in tokens):
        readings.append([int(token[2:], 16) for token in tokens])
    return any(_code_text(numbers) for numbers in readings)


_NUMBER_TOKEN = re.compile(r"(?:0[xX]|[uU]\+)?[0-9A-Fa-f]+")


def _code_text(numbers: list[int]) -> bool:
    if all(n < 256 for n in numbers) and _begins_with_text(bytes(numbers)):
        return True
    if all(n < 0x110000 for n in numbers):
        text = "".join(map(chr, numbers))
        return _begins_with_text(text.encode("utf-8", "replace")) and _common_ideographs(text)
    return False


_IDEOGRAPHIC = 0x2E80
"""Code points from here on are CJK ideographs, Hangul syllables and other large syllabaries (kana excepted)."""


def _common_ideographs(text: str) -> bool:
    """Are three in four of the ideographs and syllables of ``text`` ones texts are written with? Numbers read as
    code points land anywhere among 20,000 ideographs (a list of ids 1000-99999 "spelled" CJK: 14 % of
    /export?ids= screens with 8-15 ids were removed), while a text's characters, kana and kanji, hanzi or
    Hangul, come from its charset's common level (one in ten of the numbers 1000-99999 does)."""
    rare = judged = 0
    for char in text:
        if ord(char) >= _IDEOGRAPHIC and char.isalpha():
            judged += 1
            rare += not common_character(char)
    return rare * 4 <= judged


_HEX_GROUP = re.compile(r"[0-9A-Fa-f]+")


_JUDGED_BEGINNING = 256
"""Base32 characters of a join decoded for :func:`_begins_with_text` (160 bytes: text, or a compressed stream's or
a file's beginning)."""


def _begins_with_text(data: bytes) -> bool:
    # One value's joins are tried here, not an identifier's many decodings: the bar of a whole decoding; or a
    # compressed stream of text or a file's bytes (joined_content).
    return starts_with_text(data, MIN_TEXT_BYTES) or joined_content(data)


def _hex_begins_with_text(data: bytes) -> bool:
    return _begins_with_text(data) or legacy_text(data)  # hex and base45 are read in the Japanese charsets too


def _grouped(text: str) -> Finding | None:
    """Groups of base64, hex or base32 characters split by anything else ("U3Vi!amVj!dDog…", "53:75:62:…", a
    word before them, an address after them): put back together from each group on, and judged by the text
    their decoding begins with (or a compressed stream, a Japanese charset, a file's signature). Only these
    count: the joins of a phrase's words ("HAS_TLSv1_1HAS_TLSv1_2") look random to the statistics of _window,
    which judge one run of characters, not words put together."""
    for sequence in _GROUPS.finditer(text):
        groups = _GROUP.findall(sequence.group())
        joins = [
            joined
            for start in range(min(len(groups) - 1, _JOIN_STARTS))
            if len(joined := "".join(groups[start:])) >= _MIN_BASE64
        ]
        if any(base64_text(joined, _begins_with_text) for joined in joins):  # named first, whichever join
            return Finding.BASE64
        if any(
            hex_text(j, _hex_begins_with_text) or base32_text(j, _begins_with_text, _JUDGED_BEGINNING) for j in joins
        ):
            return Finding.ENCODED_TEXT
    # Hex digits split by what base64 has too ("5375-626a-…", "53/75/62/…"): its groups, joined the same way.
    hex_groups = _HEX_GROUP.findall(text)
    for start in range(min(len(hex_groups) - 1, _JOIN_STARTS)):
        joined = "".join(hex_groups[start:])
        if len(joined) < 2 * MIN_TEXT_BYTES:
            break
        if hex_text(joined, _begins_with_text):  # not in the Japanese charsets: hex digits picked out of words
            return Finding.ENCODED_TEXT
    # Bytes written one by one ("8c 8f 96 bc …"): text in a Japanese charset from 15 bytes on, which the charset
    # test alone would take for random bytes below 36 (a token's hex), but no token is written a byte at a time.
    pairs = _BYTE_PAIRS.search(text)
    if pairs is not None and legacy_text(bytes.fromhex(_HEX_GROUP_SEPARATOR.sub("", pairs.group())), MIN_TEXT_BYTES):
        return Finding.ENCODED_TEXT
    return None


_BYTE_PAIRS = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{2}(?:[ :,.-][0-9A-Fa-f]{2}){14,}(?![0-9A-Fa-f])")
_HEX_GROUP_SEPARATOR = re.compile(r"[ :,.-]")


def _encoded(text: str) -> bool:
    """Hex, base32, base45, Ascii85 or base85 of text, a uuencoded file or line of text, punycode of more than a
    domain name's labels."""
    return (
        _UUENCODE.search(text) is not None
        or any(_hex_bytes(run.group()) for run in _HEX_RUN.finditer(text))
        or any(_base32_bytes(run.group()) for run in _BASE32_RUN.finditer(text))
        or any(base85_text(_WRAPPING.sub("", run.group()), _content) for run in _ASCII85.finditer(text))
        or base45_text(text, _hex_begins_with_text)
        or punycode_text(text, hosts=True)
        or any(
            _NOT_BASE64.search(run.group()) and base85_text(run.group(), _content) for run in _SYMBOL_RUN.finditer(text)
        )
        or any(_uu_text(line.group()) for line in _UU_LINE.finditer(text))
    )


_DIGEST_HEX_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
"""MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 in hex: the lengths a hex run in a name or title legitimately has."""


_LEGACY_DIGEST_BYTES = 20
"""A digest-length run is read as legacy-charset text from this size on: MD5's 16 bytes (and a UUID's) are not."""


def _hex_bytes(run: str) -> bool:
    """Hex of text, or hex of bytes that is no digest (text in another charset, compressed), or a digest-length run
    that is Japanese text in a legacy charset, padded to that length."""
    if hex_text(run):
        return True
    digits = run[2:] if run[:2].lower() == "0x" else run
    if digits.isdigit() or digits.isalpha() or not (digits.islower() or digits.isupper()):
        return False  # a number, a word of hex letters ("aaaa…", "deadbeef"), or a mixed-case run: no byte dump
    if len(digits) not in _DIGEST_HEX_LENGTHS:
        return True
    return legacy_text(bytes.fromhex(digits), _LEGACY_DIGEST_BYTES)


def _base32_bytes(run: str) -> bool:
    """Base32 of text, or a long single-case base32 run with its digits: bytes in another charset, compressed."""
    if base32_text(run):
        return True
    letters = run.rstrip("=")
    if len(letters) < 32:
        return False
    # Upper case: base32 as it is written (a name in capitals has underscores or spaces between its words); lower
    # case only with its digits (words run together are lower case too).
    return letters.isupper() or (letters.islower() and sum(c in "234567" for c in letters) >= 3)


def _uu_text(line: str) -> bool:
    try:
        return _content(binascii.a2b_uu(line))
    except binascii.Error:
        return False


def _content(data: bytes) -> bool:
    """What base85, Ascii85, Z85 and uuencode decode to that is content: text, a compressed stream of text, or a
    file by its signature (twenty-second red-team pass: an attachment or compressed text in them was kept, while
    base64 of the same bytes was removed)."""
    return is_text(data) or joined_content(data) or stream_text(data)


def looks_encoded(value: str) -> bool:
    """Does ``value`` hold encoded content? Asked of values that are removed anyway (to name the reason), so only
    the first :data:`JUDGED_CHARS` are read: a hostile megabyte under an unknown key took minutes before (seventh
    red-team pass: 62 KB of ``<a>x`` 3.9 s, the scan of an element quadratic), holding its whole batch."""
    return detect(value[:JUDGED_CHARS]) is not None


JUDGED_CHARS = 4096
"""How much of a removed value :func:`looks_encoded` reads: its reason needs one hit, and a kept value is at most
256 characters (every free-text bound of the policy), read whole."""

JUDGED_CHARS_PER_EVENT = 8192
"""How much of all of one event's removed values is read for their reasons (``allowlist.JudgingBudget``): the
detectors are linear, but at up to ~10 µs a character on hostile shapes (measured: a 4,096-character value of
``begin 644 `` 41 ms, ``%2`` 34 ms), so an event costs at most ~0.1 s however many values it removes."""


def _quoted_printable(value: str) -> bool:
    if _QP_SOFT_BREAK.search(value) or _QP_ESCAPE_PAIR.search(value):
        return True
    if "?" in value:  # a query's parameters: "?from=2026-11-01&to=2026-11-30&dept=4714" holds no escape
        value = _QUERY_ASSIGNMENT.sub("", value)
    return len(_QP_ESCAPE.findall(value)) >= 3


_QUERY_ASSIGNMENT = re.compile(r"(?<=[?&;])[\w.\[\]%-]{1,64}=")
"""A URL query's "key=" (seventeenth red-team pass: three parameters whose values begin with two hex digits were
quoted-printable: 40 of 40 date-range screens, 27 of 40 shift screens removed)."""


def _base64(run: str, path: bool, padded: bool = False) -> bool:
    """Is ``run`` base64 of text, or of something random? ``path``: it is a URL's or a path's ("/o/<id>/dashboard");
    ``padded``: "=" follows it, as an encoder pads its output."""
    payload = _WRAPPING.sub("", run)
    # An encoder's output outside a path: padded, or with "+" or "/", which no opaque id's alphabet has.
    encoded = not path and (padded or not _STANDARD_ONLY.isdisjoint(payload))
    if _STANDARD_ONLY.isdisjoint(payload):
        return _one_alphabet(payload, b"-_", path, encoded)
    if _URLSAFE_ONLY.isdisjoint(payload):
        return _one_alphabet(payload, None, path, encoded)
    # No base64 mixes "+/" with "-_": a path or a name ("a/b-c_d"), unless something is glued to a payload.
    return any(_one_alphabet(part, b"-_", path, encoded) for part in _STANDARD_SEPARATORS.split(payload)) or any(
        _one_alphabet(part, None, path, encoded) for part in _URLSAFE_SEPARATORS.split(payload)
    )


def _one_alphabet(chars: str, altchars: bytes | None, path: bool, encoded: bool) -> bool:
    # A name glued before a payload ("attachment_…", "files/…") would lend it its evidence: what follows each of the
    # first separators is judged on its own too.
    starts = [0, *(m.end() for m in itertools.islice(_SEPARATOR.finditer(chars, 0, _WINDOW), _GLUED_NAMES))]
    return any(_windows(chars[start:], altchars, path, encoded) for start in starts)


def _windows(chars: str, altchars: bytes | None, path: bool, encoded: bool) -> bool:
    # Overlapping windows: a payload glued after a long run is still judged on its own.
    start = 0
    while len(chars) - start >= _MIN_BASE64:
        if _window(chars[start : start + _WINDOW], altchars, path, encoded):
            return True
        if start + _WINDOW >= len(chars):
            return False
        start += _WINDOW // 2
    return False


def _window(chars: str, altchars: bytes | None, path: bool, encoded: bool) -> bool:
    if "AAAA" in chars and b"\0\0\0" in (_decode(chars, altchars) or b""):
        return True  # zero-filled binary: no name holds four aligned capital A
    if not (_TWO_UPPER.search(chars) and _TWO_LOWER.search(chars)):
        return False  # hex digests (even "0x…"), UUIDs, snake_case, CONSTANT_CASE: never base64 of 15 bytes or more
    evidence = _name_evidence(chars)
    # Base64 of text, at one of four offsets (a glued character shifts the alignment). A name decodes to 15 bytes of
    # printable UTF-8 only when it repeats itself ("ScheduleSchedule"), and then it is plainly a name; base64 of text
    # never scored above 0.15 a character in 10^5 samples.
    if _said_again(chars) and evidence > 0.0:
        # "ListWeeklyInWeekly12": a name that says a word twice decodes to bytes said twice. Base64 of a text that
        # says something twice does too ("Re: 残 aaaa 残 …"), but reads as no name at all (found by a property test).
        return False
    if evidence < _TEXT_EVIDENCE_PER_CHAR * len(chars) and any(
        _varied_text(_decode(chars[offset:], altchars)) for offset in range(4)
    ):
        return True
    if _repeated_word(chars):
        return False  # "workflowWorkflowWorkflowWorkflow0": a name saying one word again, whatever its letters score
    if _decode(chars, altchars) is None:
        return False
    # In a path, its words ("/o/<id>/dashboard") lent an opaque id their length: the id is judged alone. One shorter
    # than 32 characters is judged by what it decodes to; and, as an encoder's output (padded, or with "+" or "/"),
    # when likelier random than a name (thirteenth and fourteenth passes: base64 of a subject in Shift_JIS or EUC-JP
    # reads as no text, and nanoid, ULID or Stripe ids outside a path were removed when every short run was judged).
    return any(
        _random(piece)
        if len(piece) >= _LONG_RUN
        else (encoded and _name_evidence(piece) < 0.0) or _short_payload(_decode(piece, altchars))
        for piece in (_PATH_WORD.split(chars) if path else [chars])
        if len(piece) >= _MIN_BASE64
    )


def _short_payload(data: bytes | None) -> bool:
    """Is a run of 20-31 characters that decodes to no UTF-8 text still content: text in a mail's other charsets
    (ISO-2022-JP, UTF-16: :func:`schemas.encoded_text.mail_charset_text`), or the start of a gzip or zlib stream (a
    compressed message cut into pieces: thirteenth pass)? Anything else is an opaque id — nanoid, shortuuid, ULID,
    Stripe's — kept (eleventh and fourteenth passes: 50-100 % of such screens and operations were removed when a
    short run likelier random than a name was content)."""
    return data is not None and (mail_charset_text(data) or data.startswith(COMPRESSED_MAGIC))


_PATH_WORD = re.compile(r"(?:(?<=/)|^)[a-z]+(?:/|$)")
"""A lowercase word between slashes ("/o/", "/dashboard"): a path's own segment, around the ids it holds."""


def _path(run: str) -> bool:
    """Is ``run`` a path ("/requests/<id>", "/s/<id>", "/o/<id>/dashboard"): does it begin with a slash and a word of
    a path, or hold two such words? (Or its value holds a URL: "https://….") Base64 of random bytes begins so about
    once in 10^4 runs, and is then judged as a path is."""
    return run.startswith("/") and (_PATH_START.match(run) is not None or len(_PATH_WORD.findall(run)) >= 2)


_PATH_START = re.compile(r"/[a-z]+/")


def _random(piece: str) -> bool:
    """Is ``piece``, :data:`_LONG_RUN` characters or more, a uniform draw from the base64 alphabet rather than a
    name? It must be clearly likelier a name to be kept."""
    return _name_evidence(piece) < _NAME_EVIDENCE_PER_CHAR * len(piece)


def _varied_text(data: bytes | None) -> bool:
    """Text, and not one short unit said again: a name repeating its words ("getWeeklyInWeeklyInWeekly0") decodes to
    the same few bytes again and again ('Y礗"' three times), which no message does in 15 bytes."""
    if not is_text(data):
        return False
    assert data is not None
    return len(set(data.decode("utf-8", "ignore"))) >= _VARIED_CHARACTERS


_VARIED_CHARACTERS = 6
_WORD_OF_A_NAME = re.compile(r"(?:^|(?<=[^A-Za-z])|(?<=[a-z])(?=[A-Z]))[A-Za-z][a-z]{4,}")
"""A word of five letters or more in a camelCase, PascalCase or dotted name, its first letter in either case: "weekly"
and "Weekly" are one word said twice (a property test found "weeklyListListWeekly1971" read as base64)."""
_WORD_TWICE = re.compile(r"([A-Z][a-z]{3,})\1")
"""A capitalized word of four letters or more said twice in a row ("ListList")."""


def _said_again(chars: str) -> bool:
    """Does the run say one capitalized word of five letters or more twice? Base64 of anything does not: its
    characters follow no words, and a repeated phrase of the text lands at other offsets of the alphabet."""
    words = [word.casefold() for word in _WORD_OF_A_NAME.findall(chars)]
    return len(words) != len(set(words)) or _WORD_TWICE.search(chars) is not None


_WORD_UNIT = re.compile(r"^([a-z]{4,}?)\1+$")
_VOWELS = frozenset("aeiouy")


def _repeated_word(chars: str) -> bool:
    """Is the run one lowercase word of four letters or more said again and again (any case, digits after)?

    Base64 of anything with information in it does not repeat a run of letters end to end; a name built from
    one word ("ScheduleSchedule", "workflowWorkflow…") does.
    """
    match = _WORD_UNIT.match(chars.rstrip("0123456789").lower())
    return match is not None and not _VOWELS.isdisjoint(match.group(1))


def _decode(chars: str, altchars: bytes | None) -> bytes | None:
    if len(chars) % 4 == 1:
        chars = chars[:-1]  # no base64 has that length: a glued character
    try:
        return base64.b64decode(chars + "=" * (-len(chars) % 4), altchars=altchars, validate=True)
    except binascii.Error:
        return None


def _name_evidence(chars: str) -> float:
    classes = chars.translate(_CLASS)
    total = sum(_TRANSITION[pair] for pair in zip("^" + classes, classes, strict=False))
    return total + sum(_LETTER.get(char, 0.0) for char in chars.lower())
