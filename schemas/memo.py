"""Remembering verdicts on texts that senders choose, in bounded memory.

The stages remember what they judged of a text (a key's name, a kept value, an identifier): the same few come
again and again. An ``lru_cache`` bounds how many texts it holds, not how long they are, and a text can be as
long as an event: 3,000 events each with a new 100 KB key name grew a collect worker by 960 MB, and a cache of
8,192 such names holds 800 MB (found in session 14, measured on a collect worker's stages). :func:`remembered`
holds only texts of at most :data:`REMEMBERED_CHARS` characters; a longer one is judged every time it comes,
which no legitimate sender makes common (a key's name, a kept value of a free-text field: 256 characters at most).

Where a key is many texts, or a result is large, a bound on each text still leaves entries of kilobytes: a
:class:`BoundedMemo` is bounded in bytes instead, each entry charged at least what CPython holds for it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from functools import lru_cache, update_wrapper
from typing import Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

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


class BoundedMemo(dict[K, V]):
    """Results remembered by key in at most ``budget`` bytes: looked up as in a dict (``get``, ``in``), kept by
    :meth:`remember`, which charges each entry what it holds and starts afresh when the next would pass the budget.

    A memo bounded in entries holds as many bytes as senders make its keys take (nineteenth red-team pass):
    decisions keyed by a disclosure's 80 terms held 8 KB each (131 MB at 16,384), pseudonyms of ids in astral
    characters 1.5 KB (156 MB at 65,536); the read guard could hold statements of 100 KB (51 MB at 512).
    Starting afresh rather than evicting the least recently used keeps a hit a plain dict lookup, in C and
    without bookkeeping: the remembered results are those of repeating keys, which come back at once.

    An entry charged more than ``largest`` (by default, the budget) is not kept: where senders choose how long a
    key is, one that long is not one that repeats, and a few would empty the memo of those that do. One thread
    at a time (a race may lose a charge, no more).
    """

    __slots__ = ("budget", "held", "largest")

    def __init__(self, budget: int, largest: int | None = None) -> None:
        super().__init__()
        self.budget = budget
        self.largest = budget if largest is None else min(largest, budget)
        self.held = 0  # bytes charged for the entries kept since the memo last started afresh

    def remember(self, key: K, value: V, charge: int) -> V:
        """Keep ``value`` under ``key``, charged ``charge`` bytes (see :func:`text_bytes`), and return it."""
        if charge > self.largest:
            return value
        held = self.held + charge
        if held > self.budget:
            self.clear()
            held = charge
        self[key] = value
        self.held = held
        return value

    def clear(self) -> None:
        super().clear()
        self.held = 0


TEXT_BYTES = 100
"""What a text costs beside its characters where a memo holds it: its header (up to 76 bytes in CPython), the
allocator's rounding (up to 15) and the slot of the tuple or dict that refers to it (8)."""


def text_bytes(text: str) -> int:
    """Bytes charged for holding ``text``: one a character in ASCII, four otherwise, and :data:`TEXT_BYTES`.

    An upper bound both of its UTF-8 and of what CPython holds (1, 2 or 4 bytes a character), in constant time
    (``isascii`` reads a flag): exact for the ASCII most keys are, and for the astral characters that made
    entries four times as large as their length said.
    """
    return TEXT_BYTES + (len(text) if text.isascii() else 4 * len(text))


def held_by(texts: Iterable[str]) -> int:
    """:func:`text_bytes` of every one of ``texts``."""
    return sum(map(text_bytes, texts))


__all__ = ["MAX_EXPANSION", "REMEMBERED_CHARS", "TEXT_BYTES", "BoundedMemo", "held_by", "remembered", "text_bytes"]
