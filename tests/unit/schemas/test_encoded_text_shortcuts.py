"""The identifier readers' cheap first tests decide exactly as the readings they spare.

:mod:`schemas.encoded_text` reads a fresh identifier in dozens of decodings, nearly all of random bytes; three
shortcuts skip work that could only answer "no" (twenty-first session: a fresh UUID cost ~250 us, a prefixed hex
token ~130 us). Each is checked here against the full reading it stands in front of, over generated texts in every
charset the readers know, with controls strewn among them, and over random bytes.
"""

from __future__ import annotations

import base64
import zlib
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import encoded_text
from schemas.encoded_text import (
    _base64_bytes_text,
    _bytes_text,
    _cp1252_text,
    _hex_token,
    _may_be_deflate,
    _stream_text,
    _text,
    encoded_bytes_text,
    mail_charset_text,
)

_WORDS = st.text(
    alphabet=st.sampled_from("abcdefg XYZ 給与残業申請についてお願いします。éà\t\n"), min_size=5, max_size=60
)
_CHARSETS = ["utf-8", "cp932", "euc_jp", "iso2022_jp", "utf-16-be", "utf-16-le", "cp1252", "cp500"]


@st.composite
def decodings(draw: st.DrawFn) -> bytes:
    """What a reader's decoding may be: a text in any charset read here, compressed or not, with controls (NUL
    first, one among it) — or random bytes."""
    if draw(st.booleans()):
        return draw(st.binary(min_size=0, max_size=80))
    text = draw(_WORDS)
    data = text.encode(draw(st.sampled_from(_CHARSETS)), errors="ignore")
    if draw(st.booleans()):
        wbits = draw(st.sampled_from([-15, 15, 31]))  # raw deflate, zlib, gzip
        compressor = zlib.compressobj(draw(st.integers(0, 9)), zlib.DEFLATED, wbits)
        data = compressor.compress(data) + compressor.flush()
    controls = draw(st.lists(st.tuples(st.integers(0, 80), st.sampled_from(b"\x00\x01\x07\x1b\x7f")), max_size=4))
    for position, control in controls:
        data = data[:position] + bytes([control]) + data[position:]
    return data


def _bytes_text_in_full(data: bytes) -> bool:
    return (
        encoded_bytes_text(data, 20)
        or _text(data.lstrip(b"\0"))
        or _cp1252_text(data)
        or encoded_text._wide_text(data)
        or _stream_text(data)
        or encoded_text._ebcdic_text(data)
    )


def _base64_bytes_text_in_full(data: bytes) -> bool:
    return (
        _text(data)
        or _cp1252_text(data)
        or _stream_text(data)
        or mail_charset_text(data)
        or encoded_text._wide_text(data)
        or encoded_text._ebcdic_text(data)
    )


@settings(max_examples=1500, deadline=None)
@given(data=decodings())
def test_the_first_tests_of_a_decoding_decide_as_the_full_reading(data: bytes) -> None:
    assert _bytes_text(data) is _bytes_text_in_full(data)
    assert _base64_bytes_text(data) is _base64_bytes_text_in_full(data)


@settings(max_examples=1500, deadline=None)
@given(data=st.one_of(st.binary(min_size=1, max_size=64), decodings()))
def test_what_zlib_inflates_whole_may_be_deflate(data: bytes) -> None:
    stream = zlib.decompressobj(-15)
    try:
        stream.decompress(data, 4096)
    except zlib.error:
        return
    if stream.eof:  # a whole stream, what _stream_text reads
        assert _may_be_deflate(data)


@settings(max_examples=500, deadline=None)
@given(text=_WORDS.filter(lambda text: len(text.encode()) >= 15), prefix=st.sampled_from(["", "ck-", "sid-", "x-"]))
def test_base64_of_a_text_is_never_taken_for_a_hex_token(text: str, prefix: str) -> None:
    for encoded in (base64.b64encode(text.encode()).decode(), base64.urlsafe_b64encode(text.encode()).decode()):
        chars = (prefix + encoded.rstrip("=")).translate(str.maketrans("-_", "+/"))
        assert not _hex_token(chars)


def test_uuids_and_prefixed_hex_are_hex_tokens() -> None:
    assert _hex_token("0f8e7a52+6a0b+4f51+9d0e+3b1f5e8a9c11")
    assert _hex_token("0F8E7A52+6A0B+4F51+9D0E+3B1F5E8A9C11")
    assert _hex_token("ck+" + "ab12" * 16)
    assert not _hex_token("0F8E7A52+6a0b+4f51")  # two cases: not one hex token
    assert not _hex_token("Abc+dEf+GhI+jKl")  # short pieces of base64 are base64


def _read_in_full(value: str) -> bool:
    """:func:`_decodes` with every reading, the hex gate (:func:`_hex_dashes`) turned off."""
    with patch.object(encoded_text, "_hex_dashes", lambda value: False):
        return encoded_text._decodes(value)


_HEX_CASES = st.sampled_from([str.lower, str.upper])


@st.composite
def hex_dashes(draw: st.DrawFn) -> str:
    """Hex digits in one case and dashes: random tokens (UUIDs, digests, runs of digits), hex of a text in any
    charset read here (also compressed, also backwards), code points in groups of four, and decimal bytes."""
    shape = draw(st.sampled_from(["random", "decoding", "message", "code points", "decimal", "base32 digits"]))
    if shape == "random":
        chars = draw(st.text(alphabet="0123456789abcdef-", min_size=20, max_size=90))
    elif shape == "decoding":
        chars = draw(decodings()).hex()
        chars = chars[::-1] if draw(st.booleans()) else chars
    elif shape == "message":  # long enough to be read as one: most of these must be found
        message = draw(_WORDS.filter(lambda text: len(text) >= 12)).encode(draw(st.sampled_from(_CHARSETS)), "ignore")
        chars = draw(st.sampled_from(["", "ab", "0"])) + message.hex()
    elif shape == "code points":
        chars = "".join(f"{ord(char):04x}" for char in draw(_WORDS))
    elif shape == "decimal":
        chars = "".join(f"{byte:03d}" for byte in draw(_WORDS).encode())
    else:  # hex that is also base32's alphabet (2-7 and a-f)
        chars = draw(st.text(alphabet="234567abcdef", min_size=20, max_size=90))
    dashes = draw(st.lists(st.integers(0, max(0, len(chars))), max_size=6))
    for position in sorted(dashes, reverse=True):
        chars = chars[:position] + "-" + chars[position:]
    return draw(_HEX_CASES)(chars)


@settings(max_examples=1500, deadline=None)
@given(value=hex_dashes())
def test_hex_with_dashes_is_read_as_with_every_reading(value: str) -> None:
    assert encoded_text._hex_dashes(value)
    assert encoded_text._decodes(value) is _read_in_full(value)


def test_the_hex_gate_still_finds_hex_of_a_message_between_dashes() -> None:
    subject = "Re: 給与削減の件について".encode().hex()
    value = "-".join(subject[start : start + 8] for start in range(0, len(subject), 8))
    assert encoded_text._hex_dashes(value)
    assert encoded_text._decodes(value)
    assert encoded_text._decodes(value.upper())


def _text_in_full(data: bytes) -> bool:
    """:func:`_text` before its two first tests (session 17): the reading they stand in front of."""
    cleaned = encoded_text._without_controls(data)
    controls = len(data) - len(cleaned) - sum(data.count(byte) for byte in (b"\t", b"\n", b"\r"))
    if controls > max(1, len(data) // 12):
        return False
    text = encoded_text._printable(cleaned, encoded_text.IDENTIFIER_TEXT_BYTES)
    if text is None or not encoded_text._mostly_two_scripts(text):
        return False
    if controls == 0:
        return True
    return len({encoded_text._script(char) for char in text}) <= 2 and len(
        encoded_text._WORDLIKE.findall(text)
    ) >= 0.9 * len(text)


@settings(max_examples=3000, deadline=None)
@given(data=st.one_of(decodings(), st.binary(min_size=15, max_size=40)))
def test_the_first_tests_of_text_decide_as_its_full_reading(data: bytes) -> None:
    assert _text(data) is _text_in_full(data)
