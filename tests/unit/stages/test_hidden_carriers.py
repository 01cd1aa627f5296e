"""Text carried by characters a reader does not see, or one code point per byte (eighth red-team pass).

:func:`visible` drops what shows nothing so that it hides nothing *inside* a disguise; what it drops, and what a
reader cannot read as letters, is judged too (:func:`hidden_carrier`).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.stages.detectors import Finding, detect, hidden_carrier

MESSAGES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=15, max_size=60).filter(
    lambda text: len(set(text)) >= 4
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


CARRIERS = {
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
    "line one\nline two\r\nline three\ttabbed",
    "soft\u00adhyphen and a zero\u200bwidth space",
]


@pytest.mark.parametrize("value", LEGITIMATE)
def test_text_people_write_is_no_carrier(value: str) -> None:
    assert not hidden_carrier(value)
    assert detect(value) is None


def test_a_few_invisible_characters_are_no_carrier_and_more_are() -> None:
    assert not hidden_carrier("a\u200bb\u200bc\u200bd\u200be")  # four
    assert hidden_carrier("a\u200bb\u200bc\u200bd\u200be\u200bf")  # five
