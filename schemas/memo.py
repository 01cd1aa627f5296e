"""Remembering verdicts on texts that senders choose, in bounded memory.

The stages remember what they judged of a text (a key's name, a kept value, an identifier): the same few come
again and again. An ``lru_cache`` bounds how many texts it holds, not how long they are, and a text can be as
long as an event: 3,000 events each with a new 100 KB key name grew a collect worker by 960 MB, and a cache of
8,192 such names holds 800 MB (found in session 14, measured on a collect worker's stages). :func:`remembered`
holds only texts of at most :data:`REMEMBERED_CHARS` characters; a longer one is judged every time it comes,
which no legitimate sender makes common (a key's name, a kept value of a free-text field: 256 characters at most).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, update_wrapper
from typing import Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

REMEMBERED_CHARS = 256
"""The longest text remembered: the longest kept free text (:data:`schemas.events.TEXT_BOUND`). At four bytes a
character, a cache of 16,384 texts holds at most 16 MB of them."""

MAX_EXPANSION = 18
"""How many characters NFKC makes of one at most (U+FDFA, a ligature of 18 Arabic letters): a function that
normalizes a text may return 18 times as much (nineteenth red-team pass: key names of U+FDFA filled three
caches of names to ~278 MB)."""


def remembered(
    maxsize: int, max_chars: int = REMEMBERED_CHARS, expanding: bool = False
) -> Callable[[Callable[Concatenate[str, P], R]], Callable[Concatenate[str, P], R]]:
    """An ``lru_cache`` of ``maxsize`` entries for a function of a text (its first argument) and other hashable
    arguments, holding only texts of at most ``max_chars`` characters.

    ``expanding``: the function returns the text normalized (NFKC), which may be :data:`MAX_EXPANSION` times as
    long: beyond ASCII (which NFKC and case-folding leave as long as it is), only texts short enough that their
    result is within ``max_chars`` are remembered.
    """
    beyond_ascii = max_chars // MAX_EXPANSION if expanding else max_chars

    def decorate(function: Callable[Concatenate[str, P], R]) -> Callable[Concatenate[str, P], R]:
        cached = lru_cache(maxsize=maxsize)(function)

        def call(text: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if len(text) <= beyond_ascii or (len(text) <= max_chars and text.isascii()):
                return cached(text, *args, **kwargs)  # type: ignore[arg-type]  # hashable, as lru_cache needs
            return function(text, *args, **kwargs)

        update_wrapper(call, function)
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return call

    return decorate


__all__ = ["MAX_EXPANSION", "REMEMBERED_CHARS", "remembered"]
