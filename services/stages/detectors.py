"""Content detectors for the free-text fields minimization keeps.

The privacy policy promises that message subjects and texts (e-mail, chat, social media) and attachment contents
are never collected. A kept free-text field — a scheduler title, an application or screen name, a person,
department or organization name — is where a careless or hostile service smuggles them anyway, in the encoded
shapes mail and web software produce: data URIs, base64, quoted-printable, RFC 2047 encoded words and HTML. A value
in which :func:`detect` finds one of them is removed by minimization and evidenced as ``excluded_content``.

Plain prose is not detectable by shape and is out of scope here: the allow-list and the field bounds limit it.
Every detector is tuned against false positives on the values these fields legitimately hold (Japanese and
English titles, long snake_case/camelCase operation names, UUIDs, URLs, file names, addresses, hex digests).

The module is pure and runs on the hot path for every kept text field: one precompiled prefilter rejects a
typical plain value before any detector runs.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from enum import StrEnum


class Finding(StrEnum):
    """The kind of encoded or oversized content found in a value."""

    DATA_URI = "data_uri"
    BASE64 = "base64"
    QUOTED_PRINTABLE = "quoted_printable"
    MIME_ENCODED_WORD = "mime_encoded_word"
    HTML = "html"
    TOO_LONG = "too_long"


# 20 base64 characters carry 15 bytes: about five Japanese characters or a short English sentence, the smallest
# payload worth smuggling. Shorter mixed-case tokens are common and harmless (video ids, ticket keys, short hashes)
# and too short for the statistics below to tell from words.
_MIN_BASE64 = 20

# A value that matches none of these cannot hold any finding, so a typical plain value costs one regex scan.
# Each alternative is the cheapest shape every detector's input must contain.
_SUSPICIOUS = re.compile(
    rf"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{{{_MIN_BASE64}}}"  # a run long enough to be base64
    r"|=(?:[0-9A-Fa-f]{2}|\?|\r?\n)"  # a quoted-printable escape or soft break, an encoded word's opening
    r"|<[A-Za-z!/?]"  # a tag, a closing tag, a doctype, a comment, an XML declaration
    r"|&#?[A-Za-z0-9]+;"  # a character entity
    r"|[Dd][Aa][Tt][Aa]:"  # a data URI
)

# RFC 2397 needs a media type or a parameter before the comma: "data:," and "data: 10 rows" are prose.
_DATA_URI = re.compile(r"data:(?:[a-z]+/[a-z0-9.+-]+|(?=;))(?:;[a-z0-9.+_-]+(?:=[^;,\s]*)?)*,", re.IGNORECASE)

# RFC 2047: =?charset[*language]?B|Q?text?=; a colon or a lone "=?" in a title is not one.
_MIME_WORD = re.compile(r"=\?[^?\s]+\?[bq]\?[^?\s]+\?=", re.IGNORECASE)

# One "=XX" occurs in prose ("=3D", "x=FF"); two in a row (a UTF-8 sequence) or three anywhere do not.
_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}", re.IGNORECASE)
_QP_ESCAPE_PAIR = re.compile(r"(?:=[0-9A-F]{2}){2}", re.IGNORECASE)
_QP_SOFT_BREAK = re.compile(r"(?<!=)=\r?\n(?=\S)")  # a padded base64 line ends "=\n" too, but last

# Tag names nobody writes in angle brackets as prose or a placeholder count bare ("<p>", "<br/>"); names that are
# also English words ("<title>", "<date>", "<option>") count only with an attribute, closed or self-closed.
_BARE_TAGS = (
    r"html|head|body|div|span|p|br|hr|table|tbody|thead|tfoot|tr|td|th|img|meta|style|script|iframe|ul|ol|li|"
    r"em|strong|font|b|i|u|h[1-6]|blockquote|pre|svg|center|tt|sup|sub|wbr|noscript|frameset|o:p"
)
_WORD_TAGS = (
    r"a|abbr|address|area|article|aside|audio|base|button|caption|cite|code|col|colgroup|data|dd|del|details|"
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
# The statistics are decided within a few hundred characters: a long run is judged window by window.
_WINDOW = 256

# A run that decodes to no text is judged by a log-likelihood ratio (nats): is it likelier a name made of English
# words (snake_case, camelCase, CONSTANT_CASE, paths) or a uniform draw from the base64 alphabet? Weights were
# fitted on ~140,000 identifiers from Python sources, then rounded; classes: U upper, L lower, D digit, S symbol,
# ^ start. Names switch class rarely and use e, t, s more than j, q, z; random base64 switches every other
# character. A run shorter than 32 characters (24 bytes) must be likelier random than a name: short names are
# common and such a payload is a few words at most. From 32 on it must be clearly likelier a name to be kept:
# base64 of 24 random bytes is then missed about once in 300,000, and about one long mixed-case identifier in
# 20,000 (machine-mangled ones) is flagged; base64 of 32 random bytes or more was never missed in 10^6 trials.
_CLASS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_",
    "U" * 26 + "L" * 26 + "D" * 10 + "S" * 4,
)
_TRANSITION = {
    ("^", "U"): 0.5, ("^", "L"): -0.3, ("^", "D"): -3.0, ("^", "S"): 0.8,
    ("U", "U"): 0.0, ("U", "L"): 0.7, ("U", "D"): -2.7, ("U", "S"): -0.5,
    ("L", "U"): -1.3, ("L", "L"): 0.7, ("L", "D"): -3.0, ("L", "S"): 0.3,
    ("D", "U"): 0.0, ("D", "L"): -1.9, ("D", "D"): 1.1, ("D", "S"): 1.0,
    ("S", "U"): -0.2, ("S", "L"): 0.3, ("S", "D"): -2.5, ("S", "S"): 1.0,
}  # fmt: skip
_LETTER = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        (0.6, -1.1, 0.1, -0.2, 1.2, -0.9, -0.8, -1.0, 0.6, -3.1, -1.7, 0.1, -0.2,
         0.5, 0.4, -0.1, -2.6, 0.6, 0.8, 1.1, -0.4, -1.1, -1.7, -1.3, -0.9, -3.1),
        strict=True,
    )
)  # fmt: skip
_NAME_EVIDENCE_PER_CHAR = 0.2
_LONG_RUN = 32
_TWO_UPPER = re.compile(r"[A-Z][^A-Z]*[A-Z]")
_TWO_LOWER = re.compile(r"[a-z][^a-z]*[a-z]")
# Whitespace a text may hold; any other control character means binary.
_TEXT_WHITESPACE = str.maketrans("", "", "\t\n\r")


def detect(value: str, max_chars: int | None = None) -> Finding | None:
    """The first kind of encoded or oversized content found in ``value``, or None for plain text.

    A value longer than ``max_chars`` is :attr:`Finding.TOO_LONG` before anything else is looked at (no scan of a
    hostile megabyte); ``None`` means unbounded. The shapes that contain base64 — data URIs, encoded words — are
    named before base64 itself.
    """
    if max_chars is not None and len(value) > max_chars:
        return Finding.TOO_LONG
    if _SUSPICIOUS.search(value) is None:
        return None
    if _DATA_URI.search(value):
        return Finding.DATA_URI
    if _MIME_WORD.search(value):
        return Finding.MIME_ENCODED_WORD
    if _quoted_printable(value):
        return Finding.QUOTED_PRINTABLE
    if _HTML.search(value) or len(_ENTITY.findall(value)) >= _MIN_ENTITIES:
        return Finding.HTML
    if any(_base64(run.group()) for run in _BASE64_RUN.finditer(value)):
        return Finding.BASE64
    return None


def looks_encoded(value: str) -> bool:
    """Does ``value`` hold encoded content, whatever its length?"""
    return detect(value) is not None


def _quoted_printable(value: str) -> bool:
    if _QP_SOFT_BREAK.search(value) or _QP_ESCAPE_PAIR.search(value):
        return True
    return len(_QP_ESCAPE.findall(value)) >= 3


def _base64(run: str) -> bool:
    payload = _WRAPPING.sub("", run)
    if _STANDARD_ONLY.isdisjoint(payload):
        return _one_alphabet(payload, b"-_")
    if _URLSAFE_ONLY.isdisjoint(payload):
        return _one_alphabet(payload, None)
    # No base64 mixes "+/" with "-_": a path or a name ("a/b-c_d"), unless something is glued to a payload.
    return any(_one_alphabet(part, b"-_") for part in _STANDARD_SEPARATORS.split(payload)) or any(
        _one_alphabet(part, None) for part in _URLSAFE_SEPARATORS.split(payload)
    )


def _one_alphabet(chars: str, altchars: bytes | None) -> bool:
    # Overlapping windows: a payload glued after a long name-like run is still judged on its own.
    start = 0
    while len(chars) - start >= _MIN_BASE64:
        if _window(chars[start : start + _WINDOW], altchars):
            return True
        if start + _WINDOW >= len(chars):
            return False
        start += _WINDOW // 2
    return False


def _window(chars: str, altchars: bytes | None) -> bool:
    # A prefix glued to the payload shifts its alignment; text shows at one of the four offsets.
    decoded = [_decode(chars[offset:], altchars) for offset in range(4)]
    if decoded[0] is not None and b"\0\0\0" in decoded[0]:
        return True  # zero-filled binary ("AAAA…"): no name holds four aligned capital A
    if not (_TWO_UPPER.search(chars) and _TWO_LOWER.search(chars)):
        return False  # hex digests (even "0x…"), UUIDs, snake_case, CONSTANT_CASE: never base64 of 15 bytes or more
    if any(data is not None and _text(data) for data in decoded):
        return True  # base64 of text: no name decodes to 15 bytes of printable UTF-8 by chance
    if decoded[0] is None:
        return False
    bar = _NAME_EVIDENCE_PER_CHAR * len(chars) if len(chars) >= _LONG_RUN else 0.0
    return _name_evidence(chars) < bar


def _decode(chars: str, altchars: bytes | None) -> bytes | None:
    if len(chars) % 4 == 1:
        chars = chars[:-1]  # no base64 has that length: a glued character
    try:
        return base64.b64decode(chars + "=" * (-len(chars) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(data: bytes) -> bool:
    if len(data) < _MIN_BASE64 * 3 // 4:
        return False
    try:
        # Incremental: a window may end inside a multi-byte character.
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return text.translate(_TEXT_WHITESPACE).isprintable()


def _name_evidence(chars: str) -> float:
    classes = chars.translate(_CLASS)
    total = sum(_TRANSITION[pair] for pair in zip("^" + classes, classes, strict=False))
    return total + sum(_LETTER.get(char, 0.0) for char in chars.lower())
