"""Japanese identifiers in kept free text: a My Number, a telephone number, a postal code, an e-mail address.

A scheduler title or a screen name is kept because the policy collects it, but a careless service can put into
it what nobody meant to collect there ("Call Sato 090-1234-5678", "マイナンバー 6214 9832 0257"). No widely used
recognizer covers Japanese identifiers (Presidio has none), so this module is small and specific:

- the text is NFKC-normalized first, so full-width digits, at signs and hyphens, and the dashes people type
  between digit groups (hyphens, en and em dashes, the minus sign, the katakana prolonged sound mark) count as
  their ASCII forms; every script's decimal digits count as ASCII digits; groups may be split by a dash, a dot, a
  slash, a middle dot or an underscore, with blanks around it or not, or by blanks;
- **My Number** (個人番号): twelve digits, grouped 4-4-4 or not, whose check digit holds (python-stdnum's
  ``jp.in_``, the algorithm of the Individual Number Act's ordinance). An order number of twelve digits fails
  the check nine times in ten and is not reported;
- **telephone numbers**: ``+81`` or a leading ``0``, then ten digits for a mobile, IP or toll-free number
  (070/080/090/050/0120/0800…) or nine for a landline, written with separators (``03-1234-5678``, ``080.1234.5678``,
  ``03(1234)5678``) or as a mobile number in one run (``09012345678``) — a bare run of ten digits is as often
  an id as a number, and is left alone;
- **postal codes**: ``〒`` (or a label: 郵便番号, 住所, zip) and seven digits, or three digits, a dash and four
  before an address (``530-0001 大阪市北区``), not inside a longer run of digits and dashes (a telephone number's
  tail is no postal code);
- **e-mail addresses**: a local part, ``@`` and a dotted domain.

Which kept fields are checked, and what happens to a hit, is the policy's to say (``identifiers`` of a
collection kind): the field is removed with evidence ``identifier_in_free_text``.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import cache

from stdnum.jp import in_ as my_number

from schemas.memo import remembered
from services.stages.detectors import visible


class IdentifierKind(StrEnum):
    MY_NUMBER = "my_number"
    TELEPHONE_NUMBER = "telephone_number"
    POSTAL_CODE = "postal_code"
    EMAIL_ADDRESS = "email_address"


_DASHES = str.maketrans(
    {dash: "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\u301c\uff5e"}
    | {stop: "." for stop in "\u3002\uff61"}  # the ideographic full stop in a domain: sato@example。jp
)
_SEP = r"(?:[ \t]*[-./·・_,|=+:~][ \t]*|[ \t]{1,3})"
"""What people put between a number's digit groups: a dash, a dot, a slash, a middle dot or an underscore, with
blanks around it or not, or blanks alone (eighth red-team pass: any of these but one dash, dot or space hid a
number)."""
_MY_NUMBER = re.compile(rf"(?<![\dA-Fa-f-])(\d{{4}}){_SEP}?(\d{{4}}){_SEP}?(\d{{4}})(?![\d-])")
# +81 (with a trunk "(0)" or not) or 0, an area or service code, then groups; separators as above, or an area code
# in parentheses. The local exchange never begins with 0 (tenth red-team pass: a shift "12/04 0900-2230" was read
# as 04-0900-2230).
_PHONE_SEPARATED = re.compile(
    rf"(?<![\dA-Fa-f.-])(?:(?:\+|00|(?<![^\W\d_]))81{_SEP}?(?:\(0\){_SEP}?)?\(?0?|\(?0)\d{{1,4}}(?:{_SEP}|\){_SEP}?|{_SEP}?\()[1-9]\d{{0,3}}"
    rf"(?:{_SEP}|\){_SEP}?)\d{{3,4}}(?![\d.-])"
)
_MOBILE_RUN = re.compile(r"(?<!\d)(?:\+81|0)[5789]0\d{8}(?!\d)")
_POSTAL = re.compile(
    rf"(?:〒|\bzip(?:[ \t]*code)?\b|postal[ \t]*code|郵便番号|住所|\baddress\b)[ \t]*:?[ \t]*"
    rf"\d{{3}}{_SEP}?\d{{4}}(?!\d)"
    r"|(?<![\dA-Fa-f-])\d{3}[ \t]*-[ \t]*\d{4}(?![\dA-Fa-f-])"
    r"(?=[ \t,]*(?:[^\W\d_]{1,4}?[都道府県]|[^\W\d_]{1,6}?[市区町村郡]))",
    re.IGNORECASE,
)
"""A postal code after its mark or label, or written 3-4 before an address (a prefecture, a city, a ward, a town,
a village): bare, "NNN-NNNN" is as often a product code ("品番823-4446": eleventh red-team pass, 100 % of such
titles were removed), and a postal code alone names a town's district, no one."""
# Local parts and domains in any script. Each starts only where a run of its characters starts (the look-behind):
# a long run without an "@" was scanned again from each of its characters (ninth red-team pass: 4,096 characters
# 0.2 s, and NFKC makes a 256-character value six times longer).
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+[ \t]*@[ \t]*[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_EMAIL_SPACED_DOT = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+[ \t]*@[ \t]*[\w-]+(?:[ \t]*\.[ \t]*[\w-]+)*[ \t]*\.[ \t]*"
    r"(?:jp|com|net|org|co|ne|or|ac|go|io|info)\b"
)
"""An address with blanks around a dot too ("sato@example . jp"): only before a common top-level domain, since a
sentence's full stop is followed by a blank and a word ("Lunch @ Cafe. Tomorrow")."""
_DIGIT_OR_AT = re.compile(r"[0-9@]")
_NUMBER_SEQUENCE = re.compile(r"(?<![\w+:])(?<!\w[-./_])(?:\+[ \t]*)?\d(?:[^\w:~]{0,3}\d|_{1,3}\d)*(?![-./_]?\w|:\d)")
"""Digits written with anything but letters between them, at most three characters at a time: a number however
its groups are split ("090,1234,5678", "090|1234|5678", "6 2 1 4 …", "621 498 320 257", a line break; ninth
red-team pass) — but not a part of a token joined to letters (a UUID's "6522-4186-8505" is none) or to a time's
colon ("12:56:03.003258+09:00" holds none). A colon or a
tilde does not join here (times and ranges: "08:30~17:30 (60分)" is no number); the grouped patterns above take
them, where a group of four digits tells a number from a time."""
_KANJI_NUMERALS = "\u3007一二三四五六七八九"  # the first is the ideographic zero
_KANJI_DIGITS = str.maketrans(_KANJI_NUMERALS, "0123456789")
_KANJI_NUMBER = re.compile(rf"[{_KANJI_NUMERALS}](?:[^\w:~]{{0,3}}[{_KANJI_NUMERALS}0-9])+")
"""Kanji numerals written digit by digit, as vertical Japanese writes telephone numbers and postal codes."""


@cache
def _digits() -> dict[int, str]:
    """Every decimal digit of every script (Unicode category Nd) as its ASCII digit: NFKC leaves Arabic-Indic,
    Devanagari or Bengali digits as they are, and a telephone number in them was kept (eighth red-team pass).
    Built on first use (a walk over Unicode), not at import."""
    return {
        point: str(unicodedata.digit(chr(point)))
        for point in range(0x80, 0x110000)
        if unicodedata.category(chr(point)) == "Nd"
    }


def normalize(text: str) -> str:
    """``text`` as the recognizers read it: as the content detectors read it (NFKC, full-width to ASCII, without
    the characters that show nothing: a zero-width space, a word joiner or a soft hyphen inside a number hid it —
    seventh red-team pass), every dash-like character a '-' (the wave dash too), an ideographic full stop a '.'."""
    text = visible(text).translate(_DASHES)
    if text.isascii():
        return text
    text = text.translate(_digits())
    return _KANJI_NUMBER.sub(lambda number: number.group().translate(_KANJI_DIGITS), text)


def _phone_digits(match: str) -> int:
    """The digits after the country code and the trunk 0 ("+81 (0)90 1234 5678": ten)."""
    digits = re.sub(r"\D", "", match)
    if digits.startswith("0081"):
        digits = digits[4:]
    elif digits.startswith("81") and not match.lstrip().startswith("0"):
        digits = digits[2:]
    return len(digits) - 1 if digits.startswith("0") else len(digits)


def _not_after_a_slash(text: str, match: re.Match[str]) -> bool:
    """A number right after a "/" is one only if it is written with slashes too ("callback/090/1234/5678"): a
    date's "07/08 2215-0700" holds a shift, not 08-2215-0700 (tenth red-team pass)."""
    return match.start() == 0 or text[match.start() - 1] != "/" or "/" in match.group()


def _is_phone(candidate: str) -> bool:
    """A separated match is a telephone number when its digits after the trunk 0 (or +81) number nine or ten."""
    return _phone_digits(candidate) in (9, 10)


def _sequence_kinds(normalized: str) -> set[IdentifierKind]:
    """Identifiers read from each number's digits alone, however they are grouped — where the groups are a
    number's: digits one by one, or at most four groups, not a date, a time or an IPv4 address (tenth red-team
    pass: "0830-1730 (60)", "2024.05.01 0930" and "192.168.100.200" were read as numbers)."""
    kinds: set[IdentifierKind] = set()
    for match in _NUMBER_SEQUENCE.finditer(normalized):
        written = match.group()
        digits = "".join(char for char in written if char.isdigit())
        if len(digits) < 10 or digits == written:
            continue  # one bare run is as often an id as a number: the patterns above judge it
        groups = _GROUP_DIGITS.findall(written)
        one_by_one = all(len(group) == 1 for group in groups)
        if not one_by_one and (len(groups) > 4 or _dated(groups) or _IPV4.fullmatch(written.strip())):
            continue
        national = digits
        if written.startswith("+81") or (written.startswith("+") and digits.startswith("81")):
            national = digits[2:]
        elif digits.startswith("0081"):
            national = digits[4:]
        trunk = national.startswith("0") and not national.startswith("00") and len(national) in (10, 11)
        subscriber = one_by_one or len(groups[-1]) >= 3  # a number ends in a group of three or four
        if subscriber and (trunk or (national is not digits and len(national) in (9, 10))):
            kinds.add(IdentifierKind.TELEPHONE_NUMBER)
        # Written as My Numbers are, 4-4-4, or digit by digit: not a dial-in id's 3-3-3-3 nor "08/01 1045-1745".
        fours = [len(group) for group in groups] == [4, 4, 4]
        if len(digits) == 12 and (one_by_one or fours) and my_number.is_valid(digits):
            kinds.add(IdentifierKind.MY_NUMBER)
    return kinds


_GROUP_DIGITS = re.compile(r"\d+")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)")


def _dated(groups: list[str]) -> bool:
    """Do the groups begin with a date: a year, then a month (2024.05.01 0930), or a day, a month and a year?"""
    if len(groups) >= 3 and len(groups[0]) == 4 and groups[0][:2] in ("19", "20") and len(groups[1]) <= 2:
        return int(groups[1]) <= 12
    return len(groups) >= 3 and len(groups[2]) == 4 and groups[2][:2] in ("19", "20") and len(groups[1]) <= 2


@remembered(maxsize=4096)
def find_identifiers(text: str) -> tuple[IdentifierKind, ...]:
    """The kinds of identifier found in ``text``, in a fixed order (empty: none)."""
    normalized = normalize(text)
    if not _DIGIT_OR_AT.search(normalized):
        return ()  # most kept text has neither a digit nor an "@": nothing to look for
    by_sequence = _sequence_kinds(normalized)
    found: list[IdentifierKind] = []
    if IdentifierKind.MY_NUMBER in by_sequence or any(
        my_number.is_valid("".join(m.groups())) for m in _MY_NUMBER.finditer(normalized)
    ):
        found.append(IdentifierKind.MY_NUMBER)
    if (
        IdentifierKind.TELEPHONE_NUMBER in by_sequence
        or _MOBILE_RUN.search(normalized)
        or any(
            _is_phone(m.group()) and _not_after_a_slash(normalized, m) for m in _PHONE_SEPARATED.finditer(normalized)
        )
    ):
        found.append(IdentifierKind.TELEPHONE_NUMBER)
    if _POSTAL.search(normalized):
        found.append(IdentifierKind.POSTAL_CODE)
    if "@" in normalized and (_EMAIL.search(normalized) or _EMAIL_SPACED_DOT.search(normalized)):
        found.append(IdentifierKind.EMAIL_ADDRESS)
    return tuple(found)
