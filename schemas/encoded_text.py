"""Is a string an encoding of text? Base64 (standard or URL-safe), base32, base85, hex or percent-escapes.

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
import codecs
import re
import urllib.parse
from collections.abc import Callable
from functools import lru_cache

MIN_TEXT_BYTES = 15
"""Fewer decoded bytes are too short to tell text from chance, and too short to carry a message worth hiding."""

# Whitespace a text may hold; any other control character means binary.
_TEXT_WHITESPACE = str.maketrans("", "", "\t\n\r")


def is_text(data: bytes | None) -> bool:
    """Is ``data`` at least :data:`MIN_TEXT_BYTES` of printable UTF-8 in at most two scripts?"""
    if data is None or len(data) < MIN_TEXT_BYTES:
        return False
    try:
        # Incremental: a window of a longer run may end inside a multi-byte character.
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    text = text.translate(_TEXT_WHITESPACE)
    return text.isprintable() and len({_script(char) for char in text}) <= 2


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


_BASE64 = re.compile(r"^[A-Za-z0-9+/]*$")
_URLSAFE = str.maketrans("-_", "+/")


def base64_text(chars: str) -> bool:
    """Is ``chars`` (no whitespace) base64 of text, standard or URL-safe, at any of the four alignments?"""
    chars = chars.rstrip("=")
    if not ("+" in chars or "/" in chars) or not ("-" in chars or "_" in chars):
        chars = chars.translate(_URLSAFE)  # one alphabet or the other: as standard base64
    if len(chars) < 20 or not _BASE64.match(chars):
        return False
    for offset in range(4):
        piece = chars[offset:]
        piece = piece[: len(piece) - 1] if len(piece) % 4 == 1 else piece  # a glued character
        if is_text(binascii.a2b_base64(piece + "=" * (-len(piece) % 4))):
            return True
    return False


_BASE32 = re.compile(r"^[A-Z2-7]+=*$")


def base32_text(chars: str) -> bool:
    """Is ``chars`` base32 (RFC 4648, either case) of text?"""
    upper = chars.upper()
    if not _BASE32.match(upper):
        return False
    payload = upper.rstrip("=")
    usable = len(payload) - len(payload) % 8 if len(payload) % 8 in (1, 3, 6) else len(payload)
    try:
        return is_text(base64.b32decode(payload[:usable] + "=" * (-usable % 8)))
    except binascii.Error:
        return False


_HEX = re.compile(r"^(?:0x)?([0-9A-Fa-f]+)$")


def hex_text(chars: str) -> bool:
    """Is ``chars`` hexadecimal of text (a digest's hex decodes to random bytes, never to text)?"""
    match = _HEX.match(chars)
    if match is None:
        return False
    digits = match.group(1)
    return any(is_text(bytes.fromhex(digits[offset : offset + (len(digits) - offset) // 2 * 2])) for offset in (0, 1))


def base85_text(chars: str) -> bool:
    """Is ``chars`` base85 (RFC 1924 / git) or Ascii85 (Adobe, with or without ``<~ ~>``) of text?"""
    decoders: tuple[Callable[[str], bytes], ...] = (
        base64.b85decode,
        lambda text: base64.a85decode(text, adobe=text.startswith("<~")),
    )
    for decode in decoders:
        try:
            if is_text(decode(chars)):
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
    """Is ``value``, as a whole, an encoding of text in any of the encodings above?

    For opaque tokens: a value shorter than 20 characters holds under 15 bytes in any of them and is not decoded.
    """
    if len(value) < 20:
        return False
    return _encoded_text(value) if len(value) <= 256 else _decodes(value)


@lru_cache(maxsize=16_384)
def _encoded_text(value: str) -> bool:
    # Identifiers come again and again (a tenant, a terminal, a subject's cookie): each is decoded once while recent.
    return _decodes(value)


_SEPARATOR = re.compile(r"[._:@/-]")


def _decodes(value: str) -> bool:
    # The value itself, what follows each of its first separators ("ck-" + hex of text), and each piece between
    # separators: a prefix or a suffix glued to an encoding hides nothing.
    starts = [m.end() for m, _ in zip(_SEPARATOR.finditer(value), range(3), strict=False)]
    candidates = [value, *(value[start:] for start in starts), *_SEPARATOR.split(value)]
    return any(
        base64_text(candidate)
        or base32_text(candidate)
        or hex_text(candidate)
        or percent_text(candidate)
        or base85_text(candidate)
        for candidate in dict.fromkeys(candidates)
        if len(candidate) >= 20
    )


def not_encoded_text(value: str) -> str:
    """The contract's check of an identifier: the value unchanged, or ValueError when it encodes text."""
    if encoded_text(value):
        raise ValueError("an identifier that decodes to text is a message, not an identifier")
    return value


__all__ = [
    "MIN_TEXT_BYTES",
    "base32_text",
    "base64_text",
    "base85_text",
    "encoded_text",
    "hex_text",
    "is_text",
    "not_encoded_text",
    "percent_text",
]
