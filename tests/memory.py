"""Measuring what code keeps: memory still held after steps that each send something new."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable


def most_held(step: Callable[[int], object], count: int, every: int) -> int:
    """The most bytes still held (traced, after a collection) beyond what was held before ``step(0)``, looked at
    after every ``every`` of the ``count`` steps ``step(n)``."""
    gc.collect()
    tracemalloc.start()
    try:
        base, held = tracemalloc.get_traced_memory()[0], 0
        for n in range(count):
            step(n)
            if n % every == every - 1:
                gc.collect()
                held = max(held, tracemalloc.get_traced_memory()[0] - base)
    finally:
        tracemalloc.stop()
    return held
