"""Is a string an encoding of text? Base64 (standard or URL-safe), base32, base45, base85, hex or percent-escapes.

An identifier (a tenant, a terminal, a cookie) is an opaque token: random bytes in some alphabet, a name, a
number. One that *decodes to readable text* is not an identifier but a message in disguise
(``U3ViamVjdDogcGF5IGN1dA`` is "Subject: pay cut"), and the collection contract refuses it; minimization's content
detectors (:mod:`services.stages.detectors`) use the same test on the runs they find in free text.

Random bytes almost never decode to 15 or more bytes of printable UTF-8 in at most two scripts: printable ASCII
alone is 95 of 256 byte values, so 15 random bytes are printable ASCII once in ~3 million draws, and every
further byte divides that by 2.7. Short tokens (GraphQL's ``VXNlcjox``, "User:1") stay below the 15 bytes.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import itertools
import lzma
import re
import string
import unicodedata
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from schemas.memo import remembered

MIN_TEXT_BYTES = 15
"""Fewer decoded bytes are too short to tell text from chance, and too short to carry a message worth hiding."""
PREFIX_TEXT_BYTES = 24
"""What pieces joined back together must begin with: several joins are tried per value, so the bar is higher."""

# Whitespace a text may hold; any other control character means binary.
_TEXT_WHITESPACE = str.maketrans("", "", "\t\n\r")


def _printable(data: bytes | None, minimum: int) -> str | None:
    """``data`` as printable UTF-8 of at least ``minimum`` bytes in whole characters (line breaks and tabs left
    out), or None. A character cut at the very end (a window of a longer run, a value cut at its field's length)
    is left out, and not counted; so are the last bytes of one cut at the very start."""
    if data is None or len(data) < minimum:
        return None
    # Nor at the very start: a decoding that begins inside a character (an encoding cut or glued at its front)
    # loses that character's last bytes, never the text after them.
    start = 0
    while start < 3 and start < len(data) and 0x80 <= data[start] <= 0xBF:
        start += 1
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data[start:], final=False)
    except UnicodeDecodeError:
        return None
    if len(text.encode()) < minimum:
        return None
    text = text.translate(_TEXT_WHITESPACE)
    return text if text.isprintable() else None


def is_text(data: bytes | None, minimum: int = MIN_TEXT_BYTES) -> bool:
    """Is ``data`` at least ``minimum`` bytes of printable UTF-8 in at most two scripts?"""
    text = _printable(data, minimum)
    return text is not None and len({_script(char) for char in text}) <= 2


COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
"""The magic numbers of gzip and zlib streams."""


def _inflated(data: bytes) -> bytes | None:
    """The first 4 KB of a gzip or zlib stream's content, or None for anything else."""
    if not data.startswith(COMPRESSED_MAGIC):
        return None
    try:
        return zlib.decompressobj(wbits=47).decompress(data, 4096)  # 47: gzip or zlib, by the header
    except zlib.error:
        return None


_LEGACY_CHARSETS = ("cp932", "euc_jp", "iso2022_jp")
_WORDLIKE = re.compile(r"[A-Za-z0-9 .,:;!?'\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e-]")
LEGACY_MIN_BYTES = 36
"""Below this, random bytes decode in a Japanese charset to letters, digits, kana and kanji too often (measured:
211 in 2 x 10^5 draws at 16 bytes, 2 at 24, 2 at 32, none in 4 x 10^5 at 36): a 32-byte token's hex is no text."""


_KANA = re.compile("[\u3040-\u30ff]")
_COMMON_ROWS = (("euc_jp", 0xB0, 0xCF), ("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6), ("euc_kr", 0xB0, 0xC8))
"""Where each charset keeps the characters text is written with: JIS X 0208 level 1 (2,965 kanji), GB 2312 level 1
(3,755 hanzi), Big5's frequent characters (5,401), KS X 1001's 2,350 Hangul syllables — a third of the
ideographs and a fifth of the syllables between them."""


@lru_cache(maxsize=65_536)
def common_character(char: str, japanese: bool = False) -> bool:
    """Is ``char`` kana, or an ideograph or syllable of its charset's common level (what texts are written with)?
    With ``japanese``, only kana and JIS X 0208 level 1 kanji count (3,150 of 65,536 code units)."""
    if _KANA.match(char):
        return True
    for charset, first, last in _COMMON_ROWS[:1] if japanese else _COMMON_ROWS:
        try:
            encoded = char.encode(charset)
        except UnicodeEncodeError:
            continue
        if len(encoded) == 2 and first <= encoded[0] <= last:
            return True
    return False


_MARKED_CODE_POINT = re.compile(
    r"(?:[uU]\+?|uni|&?#[xX]|[xX]|\$|&[hH]|0[hH])0{0,2}(?P<hex>[0-9A-Fa-f]{4,5})(?![0-9A-Fa-f]);?"
    r"|&#0*(?P<decimal>[0-9]{4,6});?|#0*(?P<referenced>[0-9]{4,6});"
    r"|(?<![0-9A-Za-z])0?(?P<suffixed>[0-9A-Fa-f]{4,5})[hH](?![0-9A-Za-z])"
)
"""A code point written with a mark before it: u7D66 (a JSON string's escape without its backslash, as PHP's
stripslashes leaves it), U+7D66, uni7D66 (a font's glyph name), x7D66, $7D66, &H7D66, 0h7D66, 7D66h (an
assembler's), #x7D66; and &#32102 or #32102; — leading zeros allowed."""
_BARE_CODE_POINT = re.compile(
    r"(?<![0-9A-Fa-f])0{0,2}(?P<hex>[0-9A-Fa-f]{4})(?![0-9A-Fa-f])"
    r"|(?<![0-9A-Fa-f])0{0,2}(?P<decimal>[0-9]{5})(?![0-9A-Fa-f])"
)
"""A code point written as four hex digits between other characters (7d66.4e0e, 7d66g4e0e, 07d66), or as five
decimal digits (32102-19982, 32102z19982; not inside a UUID's hex groups)."""
_MARKS = ("u", "U", "x", "X", "#", "$", "&", "h", "H")
CODE_POINT_RUN = 4
"""Code points in a row that spell a text: four kana or kanji are a word (給与削減)."""
_CODE_POINT_GAP = 3
"""Characters that may stand between two code points of one run (", ", " | ", "、")."""
_IPV6_GROUPS = 8


def code_point_text(value: str, bare: bool = False) -> bool:
    """Does ``value`` write text as code points, :data:`CODE_POINT_RUN` or more in a row, three in four of them
    characters texts are written with (kana, common kanji, hanzi or Hangul)? Marked ones (u7D66u4E0E…, U+7D66,
    #x7D66;) anywhere; with ``bare``, also unmarked ones between other characters (an identifier's alphabet
    spells them no other way). Seventeenth red-team pass: 51 kanji a free-text field, 20-27 an identifier, 1,536
    in a use's data, all kept; eighteenth: leading zeros, other marks, glue letters, a blank code point between
    words. Random hex and decimal groups, IPv6 addresses, UUIDs and lists of ticket numbers hold no such run
    (measured)."""
    if not bare and sum(map(value.count, _MARKS)) < CODE_POINT_RUN:
        return False  # nine substring counts: a fifth of the pattern's search, and most texts hold fewer marks
    found = [_code_point(match, True) for match in _MARKED_CODE_POINT.finditer(value)]
    if bare:
        found += [_code_point(match, False) for match in _BARE_CODE_POINT.finditer(value)]
        found.sort()
    if len(found) < CODE_POINT_RUN:
        return False
    run: list[_Written] = []
    colons = False  # a run of unmarked groups joined by ":" is an IPv6 address's, up to eight of them
    end = -_CODE_POINT_GAP - 1
    for written in found:
        if written.start < end:
            continue  # a bare match inside a marked one (#32102;)
        if written.start - end > _CODE_POINT_GAP:
            if _spelled(run, colons):
                return True
            run, colons = [], False
        elif run:
            colons = colons or ":" in value[end : written.start]
        run.append(written)
        end = written.end
    return _spelled(run, colons)


def _syllable(point: int) -> bool:
    """Is ``point`` a kana or a Hangul syllable (which a Japanese or Korean sentence all but always holds)?"""
    return 0x3040 <= point <= 0x30FF or 0xAC00 <= point <= 0xD7A3


class _Written(NamedTuple):
    start: int
    end: int
    point: int
    lettered: bool  # decimal, or hex with a letter in it
    marked: bool


def _code_point(match: re.Match[str], marked: bool) -> _Written:
    start, end, hexa = match.start(), match.end(), match.group("hex")
    if marked and hexa is None:
        hexa = match.group("suffixed")
    if hexa is not None:
        return _Written(start, end, int(hexa, 16), not hexa.isdigit(), marked)
    decimal = match.group("decimal") or match.group("referenced")
    return _Written(start, end, int(decimal), True, marked)


def _spelled(run: list[_Written], colons: bool) -> bool:
    """Are the code points of ``run`` a text? ASCII blanks and punctuation among them count for nothing (a space
    written as u0020 between words). Hex written with digits alone must have a letter in one of its neighbours
    ("x5098-u6270-5544-3067" is a numbered id; read as hex, it holds kana and kanji once in ~10^3; four kanji all
    of whose code points are digits are one text in ~250). Unmarked ones must be one more (random 4-group serials
    hold four common characters in a row 5 times in 10^4) and hold a kana or a Hangul syllable (ticket and PR
    numbers in 20000-29999 are kanji a third of the time: 3-4 % of such lists were removed, eighteenth red-team
    pass); numbers that go up or down by one step (tickets 12352, 12353, …) are a list, not a text."""
    points = [written for written in run if written.point >= 0x80 or chr(written.point).isalnum()]
    marked = any(written.marked for written in points)
    needed = CODE_POINT_RUN + (not marked)
    if len(points) < needed or not any(written.lettered for written in points):
        return False
    if colons and not marked and len(points) <= _IPV6_GROUPS:
        return False  # an IPv6 address (random ones spell text 2 times in 10^4)
    if not marked and not any(_syllable(written.point) for written in points):
        return False
    steps = {later.point - earlier.point for earlier, later in itertools.pairwise(points)}
    if len(steps) == 1:
        return False
    # Every point is below 0x110000: five hex digits or six decimal ones at most (the patterns' bounds).
    common = sum(1 for written in points if common_character(chr(written.point)))
    return common >= needed and common >= 0.75 * len(points)


_WRAPPED_NUMBER = re.compile(
    r"(?P<mark>0[xX]|&[hH]|\\x\{|\^\^\^\^|#[xX])(?P<hex>[0-9A-Fa-f]{1,6})(?![0-9A-Fa-f])"
    r"|(?<![0-9A-Za-z])(?P<decimal>[0-9]{1,7})(?![0-9A-Za-z])"
)
"""A number standing alone: hex after a mark (0x7D66, &H7D66, \\x{7d66}, TeX's ^^^^7d66, #x7D66) or decimal."""
_WRAPPED_RUN = 5
"""Numbers in a row, each wrapped alike, from which they are read as text."""
_WRAPPER_CHARS = 40
"""The longest wrapper between two numbers: ")+NCHAR(", "), String.fromCodePoint(&H" and any call of that length."""
_MIXED_RUN = 8
"""Code points of a text mixing ASCII letters with others are read from this many on."""
_GROUPED_DIGITS = 40
"""Digits of a number written in groups of three from which it is read as bytes (as :func:`number_text` reads an
unbroken one)."""


def wrapped_numbers_text(text: str) -> bool:
    """Does ``text`` write a message as numbers each wrapped alike — one per character or byte as the arguments of
    a call or operator (``NCHAR(32102)+NCHAR(19982)+…``, ``CHAR(231)||CHAR(181)||…``, ``ChrW(&H7D66) & ChrW(…``,
    ``(char)0x7D66+(char)0x4E0E``, ``\\x{7d66}\\x{4e0e}``), or one big number in groups of three
    (``517,204,422,…``)? Twenty-second red-team pass: a careless service logs the expression, not its value, and
    :func:`code_point_text` reads code points at most three characters apart.

    A run is five numbers or more with the very same characters (at most :data:`_WRAPPER_CHARS`) between each two.
    Its numbers are read as bytes when all are below 256 (text as any decoding is), as code points as
    :func:`code_point_text` judges them (marked hex, or decimal with a kana among them: lists of ids are not text),
    and, written in groups of three, as one big number's bytes.
    """
    numbers = list(_WRAPPED_NUMBER.finditer(text))
    if len(numbers) < _WRAPPED_RUN:
        return False
    run = numbers[:1]
    wrapper: str | None = None
    for earlier, later in itertools.pairwise(numbers):
        between = text[earlier.end() : later.start()]
        # Nothing between two numbers only where the later one's mark parts them (TeX's ^^^^7d66^^^^4e0e).
        if len(between) <= _WRAPPER_CHARS and (wrapper is None or between == wrapper):
            run.append(later)
            wrapper = between
            continue
        if len(run) >= _WRAPPED_RUN and _numbers_spell(run):
            return True
        fresh = len(between) <= _WRAPPER_CHARS
        run, wrapper = ([earlier, later], between) if fresh else ([later], None)
    return len(run) >= _WRAPPED_RUN and _numbers_spell(run)


def _numbers_spell(run: list[re.Match[str]]) -> bool:
    values = [int(m.group("hex"), 16) if m.group("mark") else int(m.group("decimal")) for m in run]
    if all(value < 256 for value in values) and is_text(bytes(values)):
        return True
    written = [
        _Written(m.start(), m.end(), value, not m.group("mark") or not m.group("hex").isdigit(), bool(m.group("mark")))
        for m, value in zip(run, values, strict=True)
        if value < 0x110000
    ]
    if _spelled(written, colons=False) or _mixed_text(values):
        return True
    digits = [m.group("decimal") for m in run]
    if all(digits) and all(len(group) == 3 for group in digits[1:]) and 1 <= len(digits[0] or "") <= 3:
        joined = "".join(group or "" for group in digits)
        if len(joined) >= _GROUPED_DIGITS:
            number = int(joined)
            return is_text(number.to_bytes((number.bit_length() + 7) // 8, "big"))
    return False


def _mixed_text(points: list[int]) -> bool:
    """Code points that spell a text of ASCII words and Japanese ("Re: 給与の件"), which :func:`_spelled` (kana and
    kanji three in four) does not take: printable, 90 % word characters (:data:`_WORDLIKE`) with three ASCII letters
    or more, and three in four of its letters beyond ASCII the common ones. Lists of ids mixing small numbers with
    large ones spell symbols and rare characters (measured: of 5,000 random lists of ids in
    30-126 and 19968-40959, other readers removed 106 before this one, 111 with it)."""
    if len(points) < _MIXED_RUN or any(point >= 0x110000 for point in points):
        return False
    text = "".join(map(chr, points))
    if text.isascii() or not text.isprintable() or len(_WORDLIKE.findall(text)) < 0.9 * len(text):
        return False
    letters = [char for char in text if char.isalpha() and not char.isascii()]
    ascii_letters = sum(1 for char in text if char.isascii() and char.isalpha())
    return ascii_letters >= 3 and sum(1 for char in letters if common_character(char)) >= 0.75 * len(letters)


def legacy_text(data: bytes, minimum: int = LEGACY_MIN_BYTES) -> bool:
    """Text in Shift_JIS, EUC-JP or ISO-2022-JP: printable, and at least 80 % letters, digits, kana and kanji."""
    if len(data) < minimum:
        return False
    for charset, cut in itertools.product(_LEGACY_CHARSETS, (0, 1)):  # cut: a last double-byte character cut short
        try:
            text = data[: len(data) - cut].decode(charset)
        except UnicodeDecodeError:
            continue
        if text.isprintable() and len(_WORDLIKE.findall(text)) >= 0.8 * len(text):
            return True
    return False


def _inflated_text(inflated: bytes, minimum: int) -> bool:
    # Perhaps cut short (as an identifier's 128 characters cut it): what the stream's content begins with.
    return starts_with_text(inflated, minimum) or legacy_text(inflated, minimum)


def compressed_text(data: bytes | None) -> bool:
    """A gzip or zlib stream of text."""
    inflated = _inflated(data) if data is not None else None
    return inflated is not None and _inflated_text(inflated, MIN_TEXT_BYTES)


def encoded_bytes_text(data: bytes | None, minimum: int = MIN_TEXT_BYTES) -> bool:
    """Bytes behind an encoding that are text: UTF-8 (letters of two scripts, any symbols) or a Japanese charset,
    compressed or not (a NUL or two before it hide nothing)."""
    if data is None:
        return False
    data = data.lstrip(b"\0")
    inflated = _inflated(data)
    if inflated is not None:
        return _inflated_text(inflated, minimum)
    return is_utf8_text(data, minimum) or legacy_text(data, max(minimum, LEGACY_MIN_BYTES))


def is_utf8_text(data: bytes | None, minimum: int = MIN_TEXT_BYTES) -> bool:
    """Is ``data`` at least ``minimum`` bytes of printable UTF-8 whose letters are of two scripts at most, with any
    symbols among them (an emoji among Japanese, which :func:`is_text` refuses)?"""
    text = _printable(data, minimum)
    # Symbols and punctuation (an emoji, ※, →) belong to no script; the letters of a text are of two at most.
    return text is not None and len({_script(c) for c in text if unicodedata.category(c)[0] not in "SPZ"}) <= 2


def starts_with_text(data: bytes | None, minimum: int = PREFIX_TEXT_BYTES) -> bool:
    """Do ``data`` begin with :data:`PREFIX_TEXT_BYTES` or more of printable UTF-8 in at most two scripts?

    For decodings of pieces joined back together, whose tail may be a glued suffix ("…@example.jp"): random bytes
    begin so once in millions of draws, as they are so whole.
    """
    if data is None or len(data) < minimum:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data[: error.start].decode("utf-8")
    end = next((i for i, char in enumerate(text) if not (char.isprintable() or char in "\t\n\r")), len(text))
    prefix = text[:end]
    return len(prefix.encode()) >= minimum and len({_script(char) for char in prefix}) <= 2


def _script(char: str) -> int:
    """A coarse script class: text mixes at most two (English, Japanese with ASCII, European with Latin-1).

    A name that happens to decode to printable UTF-8 ("weeklyUserWeeklyInWeekly0") strews ASCII, Latin
    extensions and CJK characters together, which no text does.
    """
    point = ord(char)
    if point < 0x80:
        return 0
    if point < 0x300:
        return 1
    if 0x3000 <= point < 0xA000 or 0xFF00 <= point < 0xFFF0:
        return 2
    return 3


_BASE64 = re.compile(r"[A-Za-z0-9+/]*")
_URLSAFE = str.maketrans("-_", "+/")
_ONE_CASE_HEX = re.compile(r"[0-9a-f]*|[0-9A-F]*")


def base64_text(chars: str, text: Callable[[bytes], bool] = is_text) -> bool:
    """Is ``chars`` (no whitespace) base64 of text, standard or URL-safe, at any of the four alignments?"""
    chars = chars.rstrip("=")
    if not ("+" in chars or "/" in chars) or not ("-" in chars or "_" in chars):
        chars = chars.translate(_URLSAFE)  # one alphabet or the other: as standard base64
    if len(chars) < 20 or not _BASE64.fullmatch(chars) or _hex_token(chars):
        return False
    for offset in range(4):
        piece = chars[offset:]
        piece = piece[: len(piece) - 1] if len(piece) % 4 == 1 else piece  # a glued character
        # As it ends, and without its last group: characters glued at the end decode to stray bytes there.
        for whole in (piece, piece[: (len(piece) - 1) // 4 * 4]):
            try:
                decoded = binascii.a2b_base64(whole + "=" * (-len(whole) % 4))
            except binascii.Error:
                continue
            if text(decoded):
                return True
    return False


_BASE64_SYMBOL = re.compile(r"[+/]")
_TOKEN_PREFIX_CHARS = 4


def _hex_token(chars: str) -> bool:
    """Is ``chars`` (base64's alphabet, ``-`` and ``_`` read as ``+`` and ``/``) hex digits in one case, also
    between dashes (a UUID) or after a short prefix ("ck-", "sid-")? Then it is hex, not base64: base64 of text
    has both cases, and a prefix of four characters holds three bytes. A fresh UUID cost ~250 us, a prefixed
    hex token ~130 us, in base64's eight decodings of each of its pieces."""
    if _ONE_CASE_HEX.fullmatch(chars):
        return True
    if _BASE64_SYMBOL.search(chars) is None:
        return False
    digits: list[str] = []
    others: list[str] = []
    for piece in _BASE64_SYMBOL.split(chars):
        (digits if _HEX_DIGITS.fullmatch(piece) else others).append(piece)
    return (
        _ONE_CASE_HEX.fullmatch("".join(digits)) is not None
        and len(others) <= 1
        and sum(len(other) for other in others) <= _TOKEN_PREFIX_CHARS
    )


_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]*")
_BASE32 = re.compile(r"[A-Z2-7]+=*")


def base32_text(chars: str, text: Callable[[bytes], bool] = encoded_bytes_text, limit: int | None = None) -> bool:
    """Is ``chars`` base32 (RFC 4648, either case) of text? With ``limit``, only its first ``limit`` characters
    (a multiple of 8) are decoded: for a ``text`` that judges how the bytes begin (the standard library's decoder
    is written in Python: a 4 KB join took 0.3 ms, 128 of them 44 ms)."""
    upper = chars.upper()
    if not _BASE32.fullmatch(upper):
        return False
    payload = upper.rstrip("=")
    if limit is not None:
        payload = payload[:limit]
    usable = len(payload) - len(payload) % 8 if len(payload) % 8 in (1, 3, 6) else len(payload)
    try:
        return text(base64.b32decode(payload[:usable] + "=" * (-usable % 8)))
    except binascii.Error:
        return False


_HEX = re.compile(r"(?:0x)?([0-9A-Fa-f]*[A-Fa-f][0-9A-Fa-f]*)")
"""Hex digits with a letter among them: a long run of decimal digits is a number (an order or tracking number),
read as hex its digit pairs 20-79 would be printable."""


def hex_text(chars: str, text: Callable[[bytes], bool] = encoded_bytes_text) -> bool:
    """Is ``chars`` hexadecimal of text (a digest's hex decodes to random bytes, never to text)?"""
    match = _HEX.fullmatch(chars)
    if match is None:
        return False
    digits = match.group(1)
    for offset in (0, 1):
        data = bytes.fromhex(digits[offset : offset + (len(digits) - offset) // 2 * 2])
        if text(data):
            return True
    return False


_BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_DIGIT = {char: value for value, char in enumerate(_BASE45_ALPHABET)}


def _base45_groups(chars: str) -> list[bytes | None]:
    """Each group of three characters (two at the end) of ``chars`` decoded as base45 (RFC 9285: two bytes as three
    digits, least significant first), or None where it is none (a character outside the alphabet, a group above
    65535, a lone digit at the end)."""
    groups: list[bytes | None] = []
    for start in range(0, len(chars), 3):
        group = chars[start : start + 3]
        if len(group) == 1:  # a lone digit at the end is no byte
            groups.append(None)
            continue
        try:
            value = sum(_BASE45_DIGIT[char] * 45**place for place, char in enumerate(group))
        except KeyError:
            groups.append(None)
            continue
        size = 2 if len(group) == 3 else 1
        groups.append(value.to_bytes(size, "big") if value < 256**size else None)
    return groups


_BASE45_STARTS = 128
"""Groups of one alignment a decoding is judged from: upper-case words glued before base45 share its alphabet."""


def base45_text(chars: str, text: Callable[[bytes], bool] = is_text) -> bool:
    """Does ``chars`` hold base45 (QR codes' encoding, RFC 9285) of text, in a run of its alphabet long enough to
    hold 15 bytes? Seventh red-team pass: a message subject in base45 was kept.

    The alphabet is upper-case letters, digits, the blank and ``$%*+-./:``, so upper-case words before it (or a
    phrase) are part of the same run: each alignment is decoded once, and judged from each of its groups on up to
    the next group that is no base45. As base45 an upper-case phrase decodes to bytes no text has.
    """
    return any(
        _base45_run_text(run.group().strip(), text)
        for run in _BASE45_RUN.finditer(chars)
        # Base45 of text writes letters; digits and "-.:" alone are numbers and ids. Nor is it hex digits alone,
        # or between dashes and colons (a UUID, an address in upper case): a random hex token's base45 decodes
        # to bytes of 0-121 every second byte, read as text once in ~30,000 (twenty-first session, measured).
        if _UPPER.search(run.group()) and not _UPPER_HEX.fullmatch(run.group().strip())
    )


_UPPER = re.compile("[A-Z]")
_UPPER_HEX = re.compile("[0-9A-F:-]*")


_BASE45_RUN = re.compile(r"[0-9A-Z $%*+./:-]{23,}")  # 23 characters: 15 bytes


def _base45_run_text(run: str, text: Callable[[bytes], bool]) -> bool:
    for offset in range(3):  # one or two characters glued before it shift every group
        decoded = bytearray()
        starts: list[int] = []
        for piece in [*_base45_groups(run[offset:]), None]:
            if piece is not None:
                starts.append(len(decoded))
                decoded += piece
                continue
            if any(
                text(bytes(decoded[start:]))
                for start in starts[:_BASE45_STARTS]
                if len(decoded) - start >= MIN_TEXT_BYTES
            ):
                return True
            decoded.clear()
            starts.clear()
    return False


_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_BASE85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
_Z85_AS_BASE85 = str.maketrans(_Z85, _BASE85)
"""Z85 (ZeroMQ) is base 85 in the same digits' order with another alphabet: one table makes it RFC 1924's."""


def base85_text(chars: str, text: Callable[[bytes], bool] = is_text) -> bool:
    """Is ``chars`` base85 (RFC 1924 / git), Ascii85 (Adobe, with or without ``<~ ~>``) or Z85 of text (as
    ``text`` judges the bytes)?

    A run of letters and digits alone is left to the other encodings: base85 of 15 bytes or more holds a symbol
    all but always, and a token of letters and digits decodes as base85 to printable bytes too often.
    """
    if chars.isalnum():
        return False
    decoders: tuple[Callable[[str], bytes], ...] = (
        base64.b85decode,
        lambda text: base64.a85decode(text, adobe=text.startswith("<~")),
        # ZeroMQ's, whose encoders pad the last group with zero bytes (seventeenth red-team pass)
        lambda text: base64.b85decode(text.translate(_Z85_AS_BASE85)).rstrip(b"\0"),
    )
    for decode in decoders:
        try:
            if text(decode(chars)):
                return True
        except (ValueError, binascii.Error):
            continue
    return False


_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def percent_text(chars: str) -> bool:
    """Does ``chars`` hold percent-escapes (two or more) that decode, with the rest, to text?"""
    if len(_PERCENT.findall(chars)) < 2:
        return False
    return is_text(urllib.parse.unquote_to_bytes(chars))


def encoded_text(value: str) -> bool:
    """Is ``value`` an opaque token that is really an encoding of text: base64 (also backwards, also of compressed
    text), base32, base45, hex (also of text in a Japanese charset, or compressed) or percent-escapes, as a whole,
    after a prefix, or in pieces between separators put back together; or punycode or UTF-7 of text beyond ASCII?

    A value shorter than 20 characters holds under 15 bytes in any of them and is not decoded (punycode and UTF-7
    aside: four characters of either spell a kanji). Fifteen bytes as binary digits are refused unread.
    """
    if punycode_text(value) or utf7_text(value):
        return True
    if len(value) < 20:
        return False
    if _BITS.search(value) is not None or octal_text(value, _bytes_text) or _morse_id(value):
        return True
    return _encoded_text(value) if len(value) <= 256 else _decodes(value)


_ID_MORSE = re.compile(r"(?:[.-]{1,7}[_:]){8,}[.-]{1,7}")


def _morse_id(value: str) -> bool:
    """Nine letters or more of Morse code between "_" or ":" (an identifier's separators), four of them different
    (twenty-fourth pass: "m.--._.-_-.--_…" was kept as an id)."""
    run = _ID_MORSE.search(value) if "." in value and "-" in value else None
    return run is not None and len(set(re.split("[_:]", run.group()))) >= 4


_BITS = re.compile(f"[01]{{{MIN_TEXT_BYTES * 8},}}")
"""Fifteen bytes or more as binary digits: no identifier's, however random (twenty-second red-team pass, left open
then: text as bits was kept as an id); free text's octets are read alike (:mod:`services.stages.detectors`)."""


_PUNYCODE = re.compile(r"([A-Za-z0-9])?[Xx][Nn](--|__|-|_)([A-Za-z0-9_-]+)")
"""A label in punycode, the ASCII spelling of a domain name's label beyond ASCII ("xn--" + its code); also spelled
otherwise: "xn__", "xn-", glued after a letter or digit, with a suffix (sixteenth red-team pass)."""
DNS_LABEL_CHARS = 63
"""The longest label a domain name may have (RFC 1035), "xn--" included: about 20 kanji."""
_SPELLED_OTHERWISE_CHARS = 4


def punycode_text(value: str, hosts: bool = False) -> bool:
    """Does ``value`` hold punycode of text beyond ASCII, but for an internationalized domain name's labels
    (日本語.jp, 北海道旅客鉄道株式会社.jp: 63 characters a label at most, as DNS has them) in an e-mail address —
    or, with ``hosts`` (free text), anywhere (a link's host)? An identifier's charset refuses Japanese text;
    punycode wrote 40-50 kanji in one as ASCII (fifteenth red-team pass: in a login, a terminal, a cookie, a
    tenant, a service, a recipient, a consent reference, a purpose, a data term, and an e-mail address's domain).

    "xn--" after a letter or digit, or with one hyphen or an underscore, is no domain name's label: it counts when
    it spells four kana or common kanji (random letters and digits after such a spelling, which a random token
    holds once in ~10^3, decode so once in ~4,000). Punycode without any "xn" is not read: decoding every run of
    letters and digits would cost ~40 us each, and they decode to Japanese too often.
    """
    if "n-" not in value and "n_" not in value and "N-" not in value and "N_" not in value:
        return False  # no "xn" and its separator: four substring scans cost a tenth of the pattern's search
    if hosts:
        domain = 0  # where a domain's labels may start
    elif "@" in value:
        domain = value.rfind("@") + 1
    else:
        domain = len(value) + 1  # no e-mail address: no label is a domain's
    for match in _PUNYCODE.finditer(value):
        glued, separator, code = match.groups()
        decoded = _punycode(code)
        if decoded is None or decoded.isascii():
            continue
        if glued is not None or separator not in ("--", "__"):
            if sum(not char.isascii() for char in decoded) >= _SPELLED_OTHERWISE_CHARS and all(
                char.isascii() or common_character(char, japanese=True) for char in decoded
            ):
                return True
            continue
        if separator == "__" or match.start() < domain or len(match.group()) > DNS_LABEL_CHARS:
            return True
        if not _label_text(decoded):
            return True
    return False


_LABEL_CONTEXT_CHARS = frozenset("-\u30fb\u00b7")
"""The characters a domain's label may hold beyond letters, marks and digits: the hyphen, and the middle dots
IDNA allows in context (katakana's "・", Catalan's "·")."""


def _label_text(decoded: str) -> bool:
    """Could ``decoded`` be a domain name's label: letters, marks, digits, pictographs (some registries take emoji)
    and :data:`_LABEL_CONTEXT_CHARS` only? IDNA maps "。" and the full-width full stop to the dot between labels,
    and allows no blank or punctuation in one: a label that holds any spells a sentence ("明日の会議は中止です。
    詳細は…" in 63 characters of punycode was kept as a link's host: twenty-third red-team pass)."""
    return all(unicodedata.category(char) in _LABEL_CATEGORIES or char in _LABEL_CONTEXT_CHARS for char in decoded)


_LABEL_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "So"})


@remembered(maxsize=4096)
def _punycode(code: str) -> str | None:
    """``code`` decoded, or, if it does not decode, without its last "-"/"_" segments (a suffix glued to it)."""
    code = code.replace("_", "-")
    for _ in range(3):
        try:
            return code.encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            if "-" not in code:
                return None
            code = code.rpartition("-")[0]
    return None


@lru_cache(maxsize=16_384)
def _encoded_text(value: str) -> bool:
    # Identifiers come again and again (a tenant, a terminal, a subject's cookie): each is decoded once while recent.
    return _decodes(value)


_SEPARATOR = re.compile(r"[._:@/\\-]")
_SEPARATOR_BUT_DASH = re.compile(r"[._:@/\\]")


IDENTIFIER_TEXT_BYTES = 20
"""The text an identifier must decode to, to be refused: an identifier is tried at many offsets, pieces and in
several encodings, and random tokens decode to 15 bytes of something printable once in ~10^5 values (measured).
Base85 is not tried: an identifier's alphabet ([A-Za-z0-9._:@+-]) leaves it almost no symbols, while hex and
random tokens in that alphabet decode as base85 to printable bytes too often."""


# An identifier's decodings are read more widely than a free-text field's runs (whose false positives on kept
# values are measured apart): control characters are left out, so that one before or among the text hides
# nothing, and a text's letters need only be 90 % of two scripts (a word of a third hides nothing either).
_C0_AND_DEL = bytes([*range(0x20), 0x7F])
_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080-U+009F in UTF-8


def _without_controls(data: bytes) -> bytes:
    return _C1.sub(b"", data.translate(None, _C0_AND_DEL))  # C0 bytes are never part of a UTF-8 sequence


def _mostly_two_scripts(text: str) -> bool:
    scripts = Counter(_script(char) for char in text if unicodedata.category(char)[0] not in "SPZ")
    return sum(count for _, count in scripts.most_common(2)) >= 0.9 * sum(scripts.values())


def _text(data: bytes | None) -> bool:
    """An identifier's decoding is text: 20 bytes or more of printable UTF-8 once controls are left out.

    Controls besides line breaks and tabs (one before the text, one every 14 bytes among it) are left out if they
    are few, and what is left must then read as words (90 % letters, digits, spaces and common punctuation, two
    scripts): random bytes hold a control every 8 bytes, and what is left of them is strewn with symbols.
    """
    # Two cheap necessary tests first (an identifier's ~30 decodings, nearly all random): 20 bytes at least, and no
    # more controls than allowed below, where C1 controls count too (:func:`_few_controls`).
    if data is None or len(data) < IDENTIFIER_TEXT_BYTES or not _few_controls(data):
        return False
    cleaned = _without_controls(data)
    controls = len(data) - len(cleaned) - sum(data.count(byte) for byte in (b"\t", b"\n", b"\r"))
    if controls > max(1, len(data) // 12):
        return False
    text = _printable(cleaned, IDENTIFIER_TEXT_BYTES)
    if text is None or not _mostly_two_scripts(text):
        return False
    if controls == 0:
        return True
    # Measured on random tokens: at 80 % words and a stray third-script letter, 1 in 40,000 passed.
    return len({_script(char) for char in text}) <= 2 and len(_WORDLIKE.findall(text)) >= 0.9 * len(text)


def _cp1252_text(data: bytes) -> bool:
    """Text in Windows-1252 / Latin-1 (a no-break space, an accented letter): as a Japanese charset is judged."""
    if len(data) < LEGACY_MIN_BYTES or data.isascii():
        return False
    try:
        text = data.decode("cp1252").replace("\xa0", " ")  # a no-break space is a space
    except UnicodeDecodeError:
        return False
    return text.isprintable() and len(_WORDLIKE.findall(text)) >= 0.8 * len(text)


_EBCDIC_WORDS = 0.9


def _ebcdic_text(data: bytes) -> bool:
    """Text in EBCDIC (code page 500): 20 bytes or more, none of them a control (all at 0x40 or above, which random
    bytes are once in ~300 at 20), read as 90 % letters, digits, blanks and common punctuation (twenty-second
    red-team pass, left open then: hex of a subject in EBCDIC was kept as an id)."""
    if len(data) < IDENTIFIER_TEXT_BYTES or min(data) < 0x40:
        return False
    text = data.decode("cp500")
    return text.isprintable() and len(_WORDLIKE.findall(text)) >= _EBCDIC_WORDS * len(text)


_UNREAD_STREAMS = (b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18")
"""The magic numbers of a Zstandard frame and an LZ4 frame: four bytes random ones begin with once in 2^31."""
_SKIPPABLE_FIRST = frozenset(bytes([byte]) for byte in range(0x50, 0x60))
"""The first byte of a skippable frame's magic (0x184D2A50-5F, little-endian), which both formats share: a frame
behind one was kept (eighteenth red-team pass)."""


def _stream_text(data: bytes) -> bool:
    """Is ``data`` a whole compressed stream of text? gzip, zlib, bzip2 and xz carry a checksum that random bytes
    never pass, so their content is read as any decoding (controls left out); a raw deflate stream has none, and
    random bytes inflate to runs of back-references ("XBv"), so its content must be text as it is."""
    if data.startswith(_UNREAD_STREAMS) or (data[:1] in _SKIPPABLE_FIRST and data[1:4] == b"\x2a\x4d\x18"):
        return True  # zstd and LZ4 frames: no decompressor here; an identifier is never one (seventeenth pass)
    try:
        if data.startswith(b"BZh"):
            return _text(bz2.BZ2Decompressor().decompress(data, 4096))
        if data.startswith(b"\xfd7zXZ"):
            return _text(lzma.LZMADecompressor().decompress(data, 4096))
        checksummed = data.startswith(COMPRESSED_MAGIC)
        if not checksummed and not _may_be_deflate(data):
            return False
        stream = zlib.decompressobj(47 if checksummed else -15)  # gzip/zlib by their header, or raw deflate
        content = stream.decompress(data, 4096)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        return False
    if not stream.eof or len(stream.unused_data) > 3:
        return False
    if checksummed:
        return _text(content)
    # A short message barely compresses; random bytes inflate to runs of a few characters, many times as long.
    varied = 0 < len(content) <= 3 * len(data) and Counter(content).most_common(1)[0][1] <= len(content) // 4
    return varied and is_text(content, IDENTIFIER_TEXT_BYTES)


def stream_text(data: bytes) -> bool:
    """Is ``data`` a whole compressed stream of text (gzip, zlib, bzip2, xz; raw deflate of text as it is), or a
    Zstandard or LZ4 frame? For readers outside this module (:func:`_stream_text`)."""
    return _stream_text(data)


def _may_be_deflate(data: bytes) -> bool:
    """Can ``data`` begin a raw deflate stream? Its first block's type is not the reserved one (3), and a stored
    block's length is followed by its complement. Half of all random bytes fail this, which zlib would refuse too,
    at a tenth of the cost of asking it."""
    if not data:
        return False
    block_type = (data[0] >> 1) & 3
    if block_type == 3:
        return False
    return block_type != 0 or (len(data) >= 5 and data[1] ^ data[3] == 0xFF and data[2] ^ data[4] == 0xFF)


def _bytes_text(data: bytes | None) -> bool:
    """Bytes behind an identifier's encoding that are text, in any of the charsets and streams it is read in.

    An identifier is read in many decodings, nearly all of random bytes, so what every text it reads must show
    comes first (:func:`_may_be_text`), which three random decodings in four fail at once.
    """
    if data is None:
        return False
    stripped = data.lstrip(b"\0")
    if _may_be_text(stripped) and (
        encoded_bytes_text(data, IDENTIFIER_TEXT_BYTES) or _text(stripped) or _cp1252_text(data)
    ):
        return True
    # A stream without a magic number (raw deflate) is read by trying; EBCDIC has no controls in ASCII's places.
    return _wide_text(data) or _stream_text(data) or _ebcdic_text(data)


def _base64_bytes_text(data: bytes | None) -> bool:
    """As :func:`_bytes_text`, but for base64's eight decodings of each candidate: without Shift_JIS and EUC-JP,
    which random bytes at that many tries read as kana and kanji once in ~10^5 (measured); ISO-2022-JP and UTF-16
    are read by their marks (thirteenth red-team pass: a login id that was base64 of a subject in them was kept)."""
    if data is None:
        return False
    if _few_controls(data) and (_text(data) or _cp1252_text(data)):
        return True
    # UTF-16 kana hold a 0x30 byte each, ISO-2022-JP's escape to kanji is ESC $.
    if (b"\x1b$" in data or data.count(b"0") >= _UTF16_KANA) and mail_charset_text(data):
        return True
    return _wide_text(data) or _stream_text(data) or _ebcdic_text(data)


_WIDE_CODECS = (("utf-16-le", 2), ("utf-16-be", 2), ("utf-32-le", 4), ("utf-32-be", 4))


def _wide_text(data: bytes) -> bool:
    """Is ``data`` text in UTF-16 or UTF-32 that :func:`mail_charset_text` does not read — ASCII or Latin text in
    UTF-16, anything in UTF-32 — at any alignment? Such text is a quarter NUL bytes or more (ASCII in UTF-16 half,
    with CJK punctuation among it less), which random decodings never are (one byte in 256). Twenty-second
    red-team pass: an identifier that was hex of a subject in UTF-32 was kept."""
    if len(data) < 2 * IDENTIFIER_TEXT_BYTES or data.count(0) * 4 < len(data):
        return False
    for codec, unit in _WIDE_CODECS:
        for skip in range(unit):
            chunk = data[skip:]
            try:
                text = chunk[: len(chunk) // unit * unit].decode(codec)
            except UnicodeDecodeError:
                continue
            if _text(text.encode()):
                return True
    return False


_CONTROLS = bytes(byte for byte in _C0_AND_DEL if byte not in b"\t\n\r")


def _few_controls(data: bytes) -> bool:
    """No more control characters than :func:`_text` lets pass (line breaks and tabs aside): printable UTF-8, a
    Japanese charset and Windows-1252 hold none. A cheap first test of a decoding (~0.3 us against ~5-9 for the
    readings it spares): random bytes hold one every 8 bytes."""
    return len(data) - len(data.translate(None, _CONTROLS)) <= max(1, len(data) // 12)


def _may_be_text(data: bytes) -> bool:
    """What every reading of :func:`_bytes_text` but the stream without a magic number needs: few controls, a
    gzip or zlib stream's start, or ISO-2022-JP, whose escapes are controls."""
    return _few_controls(data) or data.startswith(COMPRESSED_MAGIC) or b"\x1b" in data


def mail_charset_text(data: bytes | None) -> bool:
    """A short decoding that is text in a mail's other charsets: ISO-2022-JP (:func:`_iso2022_text`), or UTF-16
    Japanese (three kana or more, and 80 % letters, digits, kana and kanji as in :func:`legacy_text`; after a
    byte-order mark, in the order it names).

    Random bytes give one code unit in ~180 a kana, and hold ISO-2022-JP's escape alone once in ~2^23 places:
    base64's eight decodings of a random 27-character token (a base58 or base64 session id) were read so once in
    ~7,500 (twenty-first session: such identifiers were refused); what the escape and the kana must be followed by
    or among now makes each far rarer.
    """
    if data is None:
        return False
    if _iso2022_text(data):
        return True
    readings = [("utf-16-be", data), ("utf-16-le", data)]
    if data.startswith((b"\xfe\xff", b"\xff\xfe")):  # a byte-order mark (Windows' and Python's "utf-16") names it
        readings.insert(0, ("utf-16-be" if data[0] == 0xFE else "utf-16-le", data[2:]))
    for charset, piece in readings:
        text = piece[: len(piece) // 2 * 2].decode(charset, errors="replace")
        if (
            text.isprintable()
            and sum(1 for char in text if "\u3041" <= char <= "\u30ff") >= _UTF16_KANA
            and len(_WORDLIKE.findall(text)) >= 0.8 * len(text)
        ):
            return True
    return False


def _iso2022_text(data: bytes) -> bool:
    """Does ``data`` hold ISO-2022-JP text: from an escape to kanji on, the longest run of its seven-bit bytes that
    decodes strictly, printable, with two kana or common kanji? The escape alone is three bytes chance writes (a
    random base58 id's decoding held it and four bytes); bytes glued before or after the text hide nothing."""
    for match in _ISO2022_SEGMENT.finditer(data):
        segment = match.group()
        for end in range(len(segment), _ISO2022_SHORTEST - 1, -1):
            try:
                text = segment[:end].decode("iso2022_jp")
            except UnicodeDecodeError:
                continue
            text = text.translate(_TEXT_WHITESPACE)
            if text.isprintable() and sum(1 for char in text if common_character(char, japanese=True)) >= 2:
                return True
            break  # the longest run that decodes is the one judged
    return False


_ISO2022_SEGMENT = re.compile(rb"\x1b\$[B@][\x1b\x20-\x7e\t\n\r]*")
"""An escape to kanji and the seven-bit bytes after it (ISO-2022-JP writes nothing else)."""
_ISO2022_SHORTEST = 7
"""The escape and two kanji."""


_UTF16_KANA = 3


def iso2022_escape(data: bytes) -> bool:
    """Does ``data`` hold ISO-2022-JP's escape to kanji (JIS X 0208-1983 or -1978): kanji follow in two bytes each."""
    return b"\x1b$B" in data or b"\x1b$@" in data


def _starts_with_text(data: bytes | None) -> bool:
    return data is not None and (starts_with_text(_without_controls(data)) or joined_content(data))


def _hex_starts_with_text(data: bytes | None) -> bool:
    """As :func:`_starts_with_text`, for hex, which is read in the Japanese charsets and in UTF-16 and UTF-32 too
    ("004d.0065.0064…" was kept as an id: twenty-third red-team pass): base64's and base32's many decodings of a
    value's joins would read random bytes as kana and kanji too often."""
    return _starts_with_text(data) or (data is not None and (legacy_text(data) or _wide_text(data)))


FILE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n", b"%PDF-", b"\xff\xd8\xff", b"PK\x03\x04", b"GIF87a", b"GIF89a",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"{\\rtf",
)  # fmt: skip
"""PNG, PDF, JPEG, ZIP (and Office), GIF, OLE (old Office), RAR, 7-Zip and RTF files: an attachment's bytes."""


def joined_content(data: bytes | None) -> bool:
    """What the decoding of pieces put back together may be besides text in UTF-8 (seventh red-team pass: base64,
    hex or base32 of these, split into groups, was kept): a compressed stream of text, or a file, by its signature
    (random bytes begin with one of four bytes or more once in 2^32 tries)."""
    if data is None:
        return False
    return compressed_text(data) or data.startswith(FILE_SIGNATURES)


_BASE32HEX = re.compile(r"[0-9A-V]+|[0-9a-v]+")
_BASE36 = re.compile(r"[0-9A-Z]+|[0-9a-z]+")
_BEYOND_HEX = re.compile(r"[G-Zg-z]")


def number_text(chars: str) -> bool:
    """Text written as a number: base32hex, base36, decimal (digits of hex alone are read as hex), base62 or base58
    (:func:`_big_number_text`)."""
    decodings: list[bytes] = []
    beyond_hex = _BEYOND_HEX.search(chars) is not None
    if len(chars) >= 32 and _base32hex(chars):
        whole = chars.upper()[: len(chars) // 8 * 8]
        decodings.append(base64.b32hexdecode(whole))
    if beyond_hex and len(chars) >= 30 and _BASE36.fullmatch(chars):
        number = int(chars, 36)
        decodings.append(number.to_bytes((number.bit_length() + 7) // 8, "big"))
    if len(chars) >= 40 and chars.isascii() and chars.isdigit():
        number = int(chars)
        decodings.append(number.to_bytes((number.bit_length() + 7) // 8, "big"))
    return any(_bytes_text(data) for data in decodings) or _big_number_text(chars)


_DIGITS_UPPER_LOWER = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BITCOIN = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BIG_NUMBER_ALPHABETS = (
    _DIGITS_UPPER_LOWER,  # base62 as GMP and most libraries write it
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",  # base62, lower case first
    _BITCOIN,  # base58 (Bitcoin, IPFS)
    "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ",  # base58 (Flickr's short links)
)
"""The alphabets of text written as one big number in both letter cases: base62 and base58, each in its two
common orders. Base36 and base32hex (one case) are read by :func:`number_text` itself."""
_DIGIT_VALUES = tuple({char: value for value, char in enumerate(alphabet)} for alphabet in BIG_NUMBER_ALPHABETS)
_BIG_NUMBER_CHARS = 27
"""Base58 and base62 characters that hold 20 bytes (:data:`IDENTIFIER_TEXT_BYTES`): fewer hold no text read here."""
_MIXED_CASE = re.compile(r"[A-Z].*[a-z]|[a-z].*[A-Z]")


def _big_number_text(chars: str) -> bool:
    """Is ``chars`` text written as one base62 or base58 number, also with one character glued before or after it?

    Base62 and base58 write bytes as one big number (Bitcoin's addresses, short links, many id libraries), so
    each character changes every byte: random tokens in those alphabets decode to random bytes, and text to
    itself. A glued character is undone arithmetically (the number's value without its first digit is its
    remainder by the base's power, without its last its quotient by the base), so each reading is one decode.
    Twenty-first session: an identifier or a free-text run that was base62 or base58 of a message was kept.
    """
    if len(chars) < _BIG_NUMBER_CHARS or not chars.isalnum() or not chars.isascii() or not _MIXED_CASE.search(chars):
        return False
    for digits in _DIGIT_VALUES:
        base, number = len(digits), 0
        try:
            for char in chars:
                number = number * base + digits[char]
        except KeyError:
            continue  # a character outside this alphabet (0, O, I and l are not base58)
        readings = (number, number % base ** (len(chars) - 1), number // base)  # as sent, without its first or last
        if any(_bytes_text(value.to_bytes((value.bit_length() + 7) // 8, "big")) for value in readings):
            return True
    return False


def _decodes(value: str) -> bool:
    if code_point_text(value, bare=True) or pronounceable_text(value):
        return True
    if "+" in value and _decodes(value.replace("+", ".")):
        return True  # "+" split pieces too (a login's one symbol that is no separator; seventeenth red-team pass)
    if _byte_list_text(value) or hex_text(value[::-1], _bytes_text):
        return True  # bytes as dotted decimal numbers, hex written backwards (seventeenth red-team pass)
    # The value itself, what follows each of its first separators ("ck-" + hex of text), and each piece between
    # separators: a prefix or a suffix glued to an encoding hides nothing.
    starts = [m.end() for m, _ in zip(_SEPARATOR.finditer(value), range(3), strict=False)]
    pieces = _SEPARATOR.split(value)
    candidates = [value, *(value[start:] for start in starts), *pieces]
    if _hex_dashes(value):
        # Hex digits in one case and dashes (a UUID, a digest, a token in hex): every candidate and join is too,
        # so the readings below that could only say no are skipped — base64 (:func:`_hex_token`: hex, not
        # base64), base45 (no run of its alphabet with a letter beyond hex), percent-escapes (no "%"), base32
        # in the other alphabets (no letter beyond hex). A fresh UUID cost ~70 us, most of it there.
        return any(
            _base32_glued(candidate) or hex_text(candidate, _bytes_text) or number_text(candidate)
            for candidate in dict.fromkeys(candidates)
            if len(candidate) >= 20
        ) or _runs_or_joins_text(value, pieces, base64=False)
    if base64_text(value[::-1], _text) or base64_text(value, compressed_text):
        return True  # base64 written backwards, or of compressed text
    if _OTHER_BASE64.fullmatch(value) and any(
        base64_text(value.translate(as_standard), _text) for as_standard in _AS_BASE64
    ):
        return True  # base64 in xxencode's or crypt's alphabet
    if any(
        base64_text(candidate, _base64_bytes_text)  # at four alignments: three glued characters hide nothing
        or _base32_glued(candidate)
        or other_base32_text(candidate)
        or hex_text(candidate, _bytes_text)
        or base45_text(candidate, _bytes_text)
        or percent_text(candidate)
        or number_text(candidate)
        for candidate in dict.fromkeys(candidates)
        if len(candidate) >= 20
    ):
        return True
    return _runs_or_joins_text(value, pieces)


_STANDARD_BASE64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
_AS_BASE64 = tuple(
    str.maketrans(alphabet, _STANDARD_BASE64)
    for alphabet in (
        "+-" + string.digits + string.ascii_uppercase + string.ascii_lowercase,  # xxencode
        "./" + string.digits + string.ascii_uppercase + string.ascii_lowercase,  # crypt(3), bcrypt's order aside
    )
)
"""Other alphabets of base64 an identifier's charset can hold, each as a table to the standard one (twenty-second
red-team pass: text in xxencode's or crypt's base64 was kept as a terminal or a login id)."""
_OTHER_BASE64 = re.compile(f"[A-Za-z0-9+.-]{{{-(-IDENTIFIER_TEXT_BYTES * 4 // 3)},}}")
"""A value these alphabets may write and long enough for the 20 bytes an identifier's text must have
(:func:`_text`): a 22-character token (a base62 id, 16 bytes) or a ULID is not read so (~10 us each)."""


_HEX_DASHES = re.compile(r"[0-9a-f-]*|[0-9A-F-]*")


def _hex_dashes(value: str) -> bool:
    """Is ``value`` hex digits in one case and dashes only (see :func:`_decodes`)?"""
    return _HEX_DASHES.fullmatch(value) is not None


def _runs_or_joins_text(value: str, pieces: list[str], base64: bool = True) -> bool:
    """The last readings of :func:`_decodes`: runs of hex or base32 inside ``value``, and its ``pieces`` put back
    together; without ``base64``, the joins are not read as base64 (hex in one case is not: :func:`_hex_token`)."""
    # Hex and base32 runs inside the value: characters glued without a separator ("x" + hex, base32 + "9") hide
    # nothing.
    if any(hex_text(run, _bytes_text) for run in _HEX_RUN.findall(value) if len(run) < len(value)):
        return True
    if any(_base32_glued(run) for run in _BASE32_RUN.findall(value) if len(run) < len(value)):
        return True
    # Pieces put back together ("U3ViamVj.dDogcGF5…", "53:75:62:…"), from each of the first pieces on: what they
    # begin with is judged, so that a glued suffix ("@example.jp") hides nothing either.
    # From every piece on (seventh red-team pass: four or five junk pieces before them hid them from the first four).
    joins = ["".join(pieces[start:]) for start in range(len(pieces))] if len(pieces) > 1 else []
    # "-" is also a character of URL-safe base64: its pieces are joined again with their dashes kept.
    dashed = _SEPARATOR_BUT_DASH.split(value) if "-" in value else []
    joins += ["".join(dashed[start:]) for start in range(len(dashed))] if len(dashed) > 1 else []
    return any(
        (base64 and base64_text(joined, _starts_with_text))
        or hex_text(joined, _hex_starts_with_text)
        or base32_text(joined, _starts_with_text)
        or (_base32hex(joined) and base32_text(joined.upper().translate(_BASE32HEX_AS_STANDARD)))
        for joined in joins
        if len(joined) >= 20
    )


_BASE32HEX_AS_STANDARD = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUV", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
"""RFC 4648's base32 in its extended-hex alphabet, as the standard alphabet: in pieces (a product key's
"SUQQD-P5OHR-…") it was kept as an id (twenty-third red-team pass)."""


def _base32hex(chars: str) -> bool:
    """Is ``chars`` base32hex with a letter beyond hex? Hex alone is read as hex (a UUID's joins were read again as
    base32, doubling its cost), as :func:`number_text` reads it."""
    return _BEYOND_HEX.search(chars) is not None and _BASE32HEX.fullmatch(chars) is not None


def _byte_list_text(value: str) -> bool:
    """Are ``value``'s numbers the bytes of a text: decimal ("230.157.165.230…", zero-padded, glued by letters) or
    three octal digits each ("347.265.246…")? Eighteenth red-team pass: padded, glued and octal lists were kept."""
    pieces = _NOT_DIGITS.split(value.strip("._:@/\\-+"))
    pieces = [piece.lstrip("0") or "0" for piece in pieces if piece]
    if len(pieces) < MIN_TEXT_BYTES or any(len(piece) > 3 for piece in pieces):
        return False
    readings = [[int(piece) for piece in pieces]]
    if all(piece.isdigit() and not piece.strip("01234567") for piece in pieces):
        readings.append([int(piece, 8) for piece in pieces])
    for numbers in readings:
        if all(number < 256 for number in numbers):
            data = bytes(numbers)
            if any(_bytes_text(data[: len(data) - cut]) for cut in range(3)):  # its last character may be cut
                return True
    return False


_NOT_DIGITS = re.compile(r"[^0-9]+")


_HEX_RUN = re.compile(rf"[0-9A-Fa-f]{{{2 * IDENTIFIER_TEXT_BYTES},}}")
"""A run of hex digits long enough to hold an identifier's text; random tokens hold one once in ~10^18."""
_BASE32_RUN_CHARS = (8 * IDENTIFIER_TEXT_BYTES + 4) // 5
_BASE32_RUN = re.compile(rf"[A-Z2-7]{{{_BASE32_RUN_CHARS},}}|[a-z2-7]{{{_BASE32_RUN_CHARS},}}")
"""A run of base32 in one case long enough to hold an identifier's text."""
_BASE32_ALPHABET = re.compile(r"[A-Za-z2-7]+=*")


def _base32_glued(chars: str) -> bool:
    """Base32 of text, also behind up to seven glued characters of its alphabet ("x" + base32), each of which
    shifts every 5-bit group (so each such start is tried), or before glued characters (its last group left out)."""
    if not _BASE32_ALPHABET.fullmatch(chars):
        return False
    for skip in range(8):
        piece = chars[skip:]
        # As it ends, and without its last group: characters glued at the end decode to stray bytes there.
        if len(piece) >= 20 and any(
            base32_text(whole, _bytes_text) for whole in (piece, piece[: (len(piece) - 1) // 8 * 8])
        ):
            return True
    return False


_STANDARD_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_OTHER_BASE32 = {
    "z-base-32": "ybndrfg8ejkmcpqxot1uwisza345h769",
    "Crockford": "0123456789ABCDEFGHJKMNPQRSTVWXYZ",
    "geohash": "0123456789bcdefghjkmnpqrstuvwxyz",
    "Nix": "0123456789abcdfghijklmnpqrsvwxyz",
    "word-safe": "23456789CFGHJMPQRVWXcfghjmpqrvwx",  # Open Location Code's (plus codes)
}
"""Base32 alphabets besides RFC 4648's, each in the order of its digits' values; Crockford's in either case."""
_OTHER_BASE32_RUNS = {
    name: re.compile(
        f"[{re.escape(alphabet)}]+|[{re.escape(alphabet.lower())}]+"
        if name == "Crockford"
        else f"[{re.escape(alphabet)}]+"
    )
    for name, alphabet in _OTHER_BASE32.items()
}
_AS_BASE32 = {
    name: str.maketrans(
        alphabet + (alphabet.lower() if name == "Crockford" else ""),
        _STANDARD_BASE32 * (2 if name == "Crockford" else 1),
    )
    for name, alphabet in _OTHER_BASE32.items()
}


def other_base32_text(chars: str) -> bool:
    """Base32 of text in the other alphabets in use (:data:`_OTHER_BASE32`: z-base-32, Crockford's, geohash's, Nix's
    and the word-safe one of plus codes), read as RFC 4648 base32, also with one character glued before it.
    Twenty-first session: an identifier that was z-base-32 or Crockford's of a message was kept; twenty-second red-team
    pass: geohash's, Nix's (also in free text) and word-safe (identifiers). Digits and a-f alone are hex.

    Not through :func:`_base32_glued`'s eight starts: a ULID is Crockford's base32, and reading every fresh one at
    eight starts cost 470 against 230 us (measured); one glued character, before or after, is undone here."""
    if len(chars) < 20 or _BEYOND_HEX.search(chars) is None:
        return False
    for name, pattern in _OTHER_BASE32_RUNS.items():
        for piece in (chars, chars[1:]):  # a character glued before it, in the alphabet or not
            if pattern.fullmatch(piece):
                standard = piece.translate(_AS_BASE32[name])
                # As it ends, and without its last group: a character glued at the end decodes to a stray byte.
                cut = standard[: (len(standard) - 1) // 8 * 8]
                if base32_text(standard, _bytes_text) or base32_text(cut, _bytes_text):
                    return True
    return False


_PROQUINT_CONSONANTS, _PROQUINT_VOWELS = "bdfghjklmnprstvz", "aiou"
_PROQUINT = re.compile(
    r"(?:[bdfghjklmnprstvz][aiou][bdfghjklmnprstvz][aiou][bdfghjklmnprstvz](?:[-._ ]|(?=[^a-z])|$)){4,}"
)
"""Four or more proquints (two bytes each as consonant, vowel, consonant, vowel, consonant) in a row."""
_BUBBLE_VOWELS, _BUBBLE_CONSONANTS = "aeiouy", "bcdfghklmnprstvzx"
_BUBBLEBABBLE = re.compile(
    r"x(?:[aeiouy][bcdfghklmnprstvzx][aeiouy][bcdfghklmnprstvzx]-[bcdfghklmnprstvzx])*[aeiouy][bcdfghklmnprstvzx][aeiouy]x"
)
"""Bubble Babble (OpenSSH's fingerprints): "x", five letters and a dash for every two bytes, three letters, "x"."""
_PRONOUNCED_BYTES = 8
"""Bytes from which a pronounceable encoding is read as text (four proquints)."""


def pronounceable_text(value: str) -> bool:
    """Does ``value`` write text in an encoding made to be read aloud — proquints ("janoj-gomob-latod-…") or Bubble
    Babble ("xunor-hyniv-…x")? Twenty-second red-team pass: both were kept in every field. Judged as any decoding
    of an identifier is (:func:`_bytes_text`), also a file or a compressed stream."""
    lowered = value.lower()
    for run in _PROQUINT.finditer(lowered):
        if _bytes_text(_proquint_bytes(run.group())):
            return True
    return any(_bytes_text(_bubblebabble_bytes(run.group())) for run in _BUBBLEBABBLE.finditer(lowered))


_OCTAL_RUN = re.compile(f"[0-7]{{{MIN_TEXT_BYTES * 3},}}")


def octal_text(value: str, text: Callable[[bytes], bool] = is_text) -> bool:
    """Does ``value`` hold bytes in octal, three digits each, glued together ("347265246344270216…"), that are
    ``text``? Fifteen bytes are forty-five digits 0-7 in a row: a number that long without an 8 or a 9 is rare, and
    its bytes must then be text (twenty-third red-team pass: kept in free text and as an id)."""
    for run in _OCTAL_RUN.finditer(value):
        for offset in range(3):
            digits = run.group()[offset:]
            digits = digits[: len(digits) // 3 * 3]
            if (
                all(digits[index] <= "3" for index in range(0, len(digits), 3))
                and text(  # each at most 0o377
                    bytes(int(digits[index : index + 3], 8) for index in range(0, len(digits), 3))
                )
            ):
                return True
    return False


_UTF7_PIECE = re.compile(r"&([A-Za-z0-9+,]{3,})-|\+([A-Za-z0-9+/]{3,})(?:-|(?=[^A-Za-z0-9+/=&_%-])|\Z)")
"""A shifted run of UTF-7 ("+ZeVnLIqe-", its "-" left out before a character that cannot continue it) or of IMAP's
modified UTF-7 ("&ZeVnLIqe-", "," for "/", always closed by "-"): UTF-16 in base64, one run a character as
readily as one a text. A query's "&mode=…" is none."""
UTF7_TEXT_CHARS = 8
"""Characters beyond ASCII from which UTF-7 is read as a message (a mailbox's name, "&ZeVnLIqe-", is two or
three): a message's length, as :func:`services.stages.allowlist.marked_pair` counts a sentence."""


def utf7_text(value: str) -> bool:
    """Does ``value`` write a message in UTF-7 or IMAP's modified UTF-7, one shifted run or one a character
    ("&Zg4-&ZeU-&MG4-…": twenty-third red-team pass, kept when each run was too short for the base64 reader)?
    Read when its runs spell :data:`UTF7_TEXT_CHARS` characters or more beyond ASCII, three in four of them kana,
    common ideographs or syllables (:func:`common_character`) or the punctuation between them: a random UTF-16
    code unit is one in about seven times, so a base64 token that holds a "+" does not. Or ASCII text, each word
    a run ("+AFAAYQB5-+AGMAdQB0-": twenty-fourth pass): eight printable characters or more, four of them letters."""
    if "&" not in value and "+" not in value:
        return False
    read = "".join(
        _utf16_read((piece.group(1) or "").replace(",", "/") or piece.group(2)) for piece in _UTF7_PIECE.finditer(value)
    )
    beyond = [char for char in read if not char.isascii()]
    if len(beyond) >= UTF7_TEXT_CHARS and 4 * sum(map(_text_char, beyond)) >= 3 * len(beyond):
        return True
    letters = sum(1 for char in read if char.isascii() and char.isalpha())
    return len(read) >= UTF7_TEXT_CHARS and read.isascii() and read.isprintable() and letters >= 4


def _utf16_read(run: str) -> str:
    """What ``run``, modified base64 of UTF-16 (big-endian), writes."""
    if len(run) % 4 == 1:
        run = run[:-1]  # six bits: no byte
    data = binascii.a2b_base64(run + "=" * (-len(run) % 4))
    return data[: len(data) // 2 * 2].decode("utf-16-be", errors="replace")


_TEXT_PUNCTUATION = frozenset("\u3000\u3001\u3002\uff01\uff1f\u300c\u300d\uff08\uff09\u30fb\u30fc")


def _text_char(char: str) -> bool:
    return char in _TEXT_PUNCTUATION or common_character(char)


_BASE100_FIRST = 0x1F3F7
_BASE100_CHAR = f"[{chr(_BASE100_FIRST)}-{chr(_BASE100_FIRST + 255)}]"
_BASE100_RUN = re.compile(f"{_BASE100_CHAR}(?:[\\s\ufe0f\u200d]*{_BASE100_CHAR}){{{MIN_TEXT_BYTES - 1},}}")
"""Base100 ("emoji encoding"): each byte b as the code point U+1F3F7 + b, a run of 🏷 to 📶."""


def base100_text(value: str) -> bool:
    """Does ``value`` hold base100, a byte an emoji, of text, a file or a compressed stream (twenty-third red-team
    pass: "👊👬👙👡👜👚👫🐱🐗…" is "Subject: pay cut…", and was kept), also with blanks or emoji joiners between them
    (twenty-fourth pass)? Text in UTF-8, a compressed stream or a file's signature: a row of office emoji read in
    a legacy charset was text too often."""
    if value.isascii():
        return False
    for run in _BASE100_RUN.finditer(value):
        data = bytes(ord(char) - _BASE100_FIRST for char in run.group() if ord(char) >= _BASE100_FIRST)
        if len(set(data)) < _BASE100_DISTINCT:
            continue  # a row of one emoji, or two ("👍👍👍…" reads "VVV…")
        if is_text(data) or compressed_text(data) or data.startswith(FILE_SIGNATURES):
            return True
    return False


_BASE100_DISTINCT = 6
"""Distinct bytes a base100 run must write to be read: a message has more than a row of office emoji."""


def _proquint_bytes(run: str) -> bytes:
    data = bytearray()
    for word in re.findall("[a-z]{5}", run):
        c1, v1, c2, v2, c3 = word[0], word[1], word[2], word[3], word[4]
        consonant, vowel = _PROQUINT_CONSONANTS.index, _PROQUINT_VOWELS.index
        number = consonant(c1) << 12 | vowel(v1) << 10 | consonant(c2) << 6 | vowel(v2) << 4 | consonant(c3)
        data += number.to_bytes(2, "big")
    return bytes(data)


def _bubblebabble_bytes(run: str) -> bytes | None:
    """The bytes Bubble Babble ``run`` encodes (RFC draft of Huima, as OpenSSH writes it), or None if its checksum
    letters do not hold (a word that only looks like it)."""
    vowel, consonant = _BUBBLE_VOWELS.index, _BUBBLE_CONSONANTS.index
    body, data, seed = run[1:-1].replace("-", ""), bytearray(), 1
    while len(body) > 3:
        v1, c1, v2, c2, c3, body = body[0], body[1], body[2], body[3], body[4], body[5:]
        high, low = (vowel(v1) - seed % 6) % 6, (vowel(v2) - seed // 6) % 6
        if high > 3 or low > 3 or consonant(c1) > 15 or consonant(c2) > 15 or consonant(c3) > 15:
            return None
        first, second = high << 6 | consonant(c1) << 2 | low, consonant(c2) << 4 | consonant(c3)
        data += bytes([first, second])
        seed = (seed * 5 + first * 7 + second) % 36
    v1, c1, v2 = body[0], body[1], body[2]
    if c1 == "x":
        return bytes(data) if (vowel(v1), vowel(v2)) == (seed % 6, seed // 6) else None
    high, low = (vowel(v1) - seed % 6) % 6, (vowel(v2) - seed // 6) % 6
    if high > 3 or low > 3 or consonant(c1) > 15:
        return None
    return bytes([*data, high << 6 | consonant(c1) << 2 | low])


def not_encoded_text(value: str) -> str:
    """The contract's check of an identifier: the value unchanged, or ValueError when it encodes text."""
    if encoded_text(value):
        raise ValueError("an identifier that decodes to text is a message, not an identifier")
    return value


__all__ = [
    "COMPRESSED_MAGIC",
    "DNS_LABEL_CHARS",
    "FILE_SIGNATURES",
    "MIN_TEXT_BYTES",
    "base32_text",
    "base45_text",
    "base64_text",
    "base85_text",
    "base100_text",
    "code_point_text",
    "common_character",
    "compressed_text",
    "encoded_bytes_text",
    "encoded_text",
    "hex_text",
    "is_text",
    "is_utf8_text",
    "legacy_text",
    "mail_charset_text",
    "not_encoded_text",
    "number_text",
    "octal_text",
    "other_base32_text",
    "percent_text",
    "pronounceable_text",
    "punycode_text",
    "starts_with_text",
    "stream_text",
    "utf7_text",
    "wrapped_numbers_text",
]
