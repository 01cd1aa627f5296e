"""Text carried by characters a reader does not see, or one code point per byte (eighth red-team pass).

:func:`visible` drops what shows nothing so that it hides nothing *inside* a disguise; what it drops, and what a
reader cannot read as letters, is judged too (:func:`hidden_carrier`).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import CollectionKind
from services.stages.detectors import Finding, detect, hidden_carrier

MESSAGES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=15, max_size=60).filter(
    lambda text: len(set(text)) >= 6  # detectors.DISTINCT_BYTES: a repeated character spells nothing
)
COVER = st.sampled_from(["Team sync", "定例会議", "Lunch 🍕", "", "clock_in", "山田 太郎"])


def tags(message: str) -> str:
    return "".join(chr(0xE0000 + ord(c)) for c in message)


def variation_selectors(message: str) -> str:
    """The "emoji smuggling" scheme: one selector a byte (VS1-VS16 for 0-15, VS17-VS256 for 16-255)."""
    return "😀" + "".join(chr(0xFE00 + b) if b < 16 else chr(0xE0100 + b - 16) for b in message.encode())


def zero_width_bits(message: str) -> str:
    return "".join("\u200b" if bit == "0" else "\u200c" for b in message.encode() for bit in f"{b:08b}")


def control_bits(message: str) -> str:
    return "".join("\x01" if bit == "0" else "\x02" for b in message.encode() for bit in f"{b:08b}")


def one_per_byte(base: int):
    return lambda message: "".join(chr(base + b) for b in message.encode())


def combining_marks(message: str) -> str:
    """Each byte as a combining mark (U+0300 + byte % 112) on a Latin letter."""
    return "".join("a" + chr(0x300 + b % 0x70) for b in message.encode())


def flag_tags(message: str) -> str:
    """A black flag and seven tag characters, repeated: shows as a row of flags (ninth red-team pass)."""
    data = message.encode()
    return "".join("\U0001f3f4" + "".join(chr(0xE0000 + b) for b in data[i : i + 7]) for i in range(0, len(data), 7))


def bits_as(zero: str, one: str):
    return lambda message: "".join(zero if bit == "0" else one for b in message.encode() for bit in f"{b:08b}")


def space_nibbles(message: str) -> str:
    """Ordinary words; the kind of each space between them (16 kinds) carries a nibble."""
    spaces = "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u1680\u3000\u00a0"
    nibbles = [n for b in message.encode() for n in (b >> 4, b & 15)]
    return "".join("ok" + spaces[n] for n in nibbles)


def mark_per_kanji(message: str) -> str:
    return "".join("漢" + chr(0x300 + (b - 0x20) % 0x70) for b in message.encode())


def alternating_blocks(message: str) -> str:
    return "".join(chr((0x2800 if i % 2 else 0x2500) + b) for i, b in enumerate(message.encode()))


def spaced(base: int, every: int):
    return lambda message: " ".join(
        "".join(chr(base + b) for b in message.encode()[i : i + every]) for i in range(0, len(message.encode()), every)
    )


def nibbles_of(base: int):
    return lambda message: "".join(chr(base + n) for b in message.encode() for n in (b >> 4, b & 15))


CARRIERS = {
    "flag and tags, repeated": flag_tags,
    "hangul fillers as bits": bits_as("\u3164", "\uffa0"),
    "hangul jamo fillers as bits": bits_as("\u115f", "\u1160"),
    "space kinds as nibbles": space_nibbles,
    "a mark per kanji": mark_per_kanji,
    "canadian syllabics": one_per_byte(0x1400),
    "ethiopic": one_per_byte(0x1200),
    "vai": one_per_byte(0xA500),
    "hieroglyphs": one_per_byte(0x13000),
    "cuneiform": one_per_byte(0x12000),
    "tangut": one_per_byte(0x17000),
    "braille and box drawing alternating": alternating_blocks,
    "braille, a space every 14": spaced(0x2800, 14),
    "braille nibbles": nibbles_of(0x2800),
    "tag characters": tags,
    "variation selectors": variation_selectors,
    "zero-width bits": zero_width_bits,
    "control bits": control_bits,
    "braille": one_per_byte(0x2800),
    "private use": one_per_byte(0xF0000),
    "CJK of one block": one_per_byte(0x4E00),
    "Yi": one_per_byte(0xA000),
    "math symbols": one_per_byte(0x2200),
    "combining marks": combining_marks,
}


@pytest.mark.parametrize("carrier", CARRIERS)
@settings(max_examples=60, deadline=None)
@given(message=MESSAGES, cover=COVER)
def test_a_message_in_hidden_characters_is_found(carrier, message, cover) -> None:
    value = cover + CARRIERS[carrier](message)

    assert hidden_carrier(value)
    assert detect(value) is Finding.HIDDEN_TEXT


LEGITIMATE = [
    "山田 太郎 さん 打ち合わせ",
    "あいうえおかきくけこさしすせそたちつてと",  # one block, but a script that stays in one
    "ｶﾀｶﾅ ﾃｽﾄ 全角ＡＢＣ",
    "Lunch 🍕🍔 🎉",
    "👨\u200d👩\u200d👧\u200d👦 family day 👩\u200d💻👨\u200d🔬",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f fans",  # England's flag: tag characters
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland
    " 🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",  # and Wales
    "週次定例 " * 40,  # one word repeated: one byte repeated spells nothing
    "Amharic ሰላም ለዓለም እንኳን ደህና መጡ",
    "Inuktitut ᐃᓄᒃᑎᑐᑦ ᑕᑯᔪᖅ",
    "1️⃣ 2️⃣ 3️⃣ ☺️ ❤️",
    "достопримечательность Москвы",
    "Ελληνικά γράμματα",
    "हैं नमस्ते स्वाति",
    "สวัสดีครับยินดีต้อนรับสู่บริษัท",
    "Nguyễn Thị Minh Khai",
    "مُحَمَّد عَبْد اللّٰه",
    "\u200fשלום\u200f עולם",
    "北京市朝阳区建国门外大街一号",
    "안녕하세요 반갑습니다 김민수입니다",
    "────────────────────",
    "★★★★★★★★★★★★★★★★ ※注意",
    "Zoe\u0308 Ame\u0301lie Rene\u0301e",  # decomposed: composition makes them letters
    "a tab\tbetween two words, and a line read with its end\n",  # lines are a body (test_message_shapes.py)
    "soft\u00adhyphen and a zero\u200bwidth space",
]


@pytest.mark.parametrize("value", LEGITIMATE)
def test_text_people_write_is_no_carrier(value: str) -> None:
    assert not hidden_carrier(value)
    assert detect(value) is None


def test_invisible_characters_spread_over_an_events_fields_are_counted_together(make_event, context) -> None:
    """Ninth red-team pass: four tag characters in each of four fields, each under the per-value limit."""
    import orjson

    from tests.unit.stages.test_hostile_input import event_with, run

    message = tags("Pay cut Sato 20%")
    profile = {"name": "Sato" + message[:4], "department": "Sales" + message[4:8]}
    profile["organization"] = {"name": "Acme" + message[8:12], "division": "East" + message[12:16]}
    event = event_with(make_event, CollectionKind.USER_PROFILE, profile)

    (record,) = run(context, orjson.dumps(event), kind=CollectionKind.USER_PROFILE).ok

    kept = orjson.dumps(record.payload).decode()
    assert not any(char in kept for char in message)


def test_a_few_invisible_characters_are_no_carrier_and_more_are() -> None:
    assert not hidden_carrier("a\u200bb\u200bc\u200bd\u200be")  # four
    assert hidden_carrier("a\u200bb\u200bc\u200bd\u200be\u200bf")  # five


@pytest.mark.parametrize(
    "value",
    [
        "ශ්\u200dරී ලංකා ප්\u200dරදේශය",  # Sinhala: a joiner inside words
        "می\u200cخواهم برنامه\u200cریزی",  # Persian: non-joiners inside words
        "👩🏽\u200d💻 👨🏿\u200d🔬 🏳️\u200d🌈 team",  # skin tones, a selector, then a joiner
        "1️⃣ 2️⃣ 3️⃣ 4️⃣ 5️⃣ 6️⃣",  # keycaps: digit, selector, enclosing keycap
    ],
)
def test_joiners_and_selectors_doing_their_ordinary_work_are_not_hidden(value: str) -> None:
    """Tenth red-team pass: these were counted as hidden, and five of them removed a worker's name."""
    from services.stages.detectors import hidden_count

    assert hidden_count(value) == 0


@pytest.mark.parametrize(
    "carrier",
    [
        bits_as(" ", "\u00a0"),  # no-break space against space: a bit a space
        lambda m: "".join("д" + "\u180b\u180c\u180d\u180f"[b & 3] for b in m.encode()),  # Mongolian selectors
        lambda m: "".join(str(b % 10) + ("\ufe0f" if b & 1 else "") for b in m.encode()),  # a selector after digits
    ],
    ids=["no-break spaces", "mongolian selectors", "selectors after digits"],
)
def test_tenth_pass_channels_are_hidden(carrier) -> None:
    assert hidden_carrier("Team " + carrier("Pay cut for Sato from next month"))
