"""Walk a payload against a kind's allow-list: what is kept, and evidence of everything removed.

Shared by minimization and by dead-lettering of invalid events, so that what leaves the collection stages
is always reduced the same way. Evidence is a path, a size and a reason — never content, never a hash of it
(a hash of a short value can be reversed by guessing).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson

from services.stages.errors import safe_name
from services.stages.records import RemovalReason, RemovedField

_BASE64 = re.compile(r"^[A-Za-z0-9+/]{24,}={0,2}$")


@dataclass(frozen=True)
class AllowList:
    """One kind's allow-list: leaf path -> ``category.item``, plus the markers of excluded content."""

    leaves: Mapping[str, str]
    markers: tuple[str, ...]

    @cached_property
    def branches(self) -> frozenset[str]:
        """Paths of objects the walk descends into (``bank_account`` for ``bank_account.bank_code``)."""
        return frozenset(
            ".".join(path.split(".")[:depth]) for path in self.leaves for depth in range(1, path.count(".") + 1)
        )


@dataclass(frozen=True)
class Reduction:
    kept: dict[str, Any]
    items: tuple[str, ...]
    removed: tuple[RemovedField, ...]


def size_of(value: Any) -> int:
    """Bytes of ``value`` as compact JSON."""
    try:
        return len(orjson.dumps(value))
    except TypeError:  # integers beyond 64 bits: orjson refuses them, the standard library does not
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def looks_encoded(value: str) -> bool:
    """True for a base64 blob that decodes to text: content smuggled into a text field."""
    if len(value) % 4 or not _BASE64.match(value):
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return decoded.isprintable() or any(ch in decoded for ch in "\n\r\t ")


def _marked(name: str, value: Any, markers: tuple[str, ...]) -> bool:
    """Does this key, or any key or encoded text inside its value, mark excluded content?"""
    lowered = name.lower()
    if any(marker in lowered for marker in markers):
        return True
    if isinstance(value, Mapping):
        return any(_marked(str(k), v, markers) for k, v in value.items())
    if isinstance(value, list):
        return any(_marked("", v, markers) for v in value)
    return isinstance(value, str) and looks_encoded(value)


def reduce(payload: Mapping[str, Any], allow: AllowList) -> Reduction:
    """Keep allow-listed leaves (descending into allowed objects); evidence every other field."""
    kept: dict[str, Any] = {}
    items: set[str] = set()
    removed: list[RemovedField] = []
    branches = allow.branches

    def walk(document: Mapping[str, Any], prefix: str, shown: str, into: dict[str, Any]) -> None:
        for raw_name, value in sorted(document.items()):
            name = str(raw_name)
            path = prefix + name
            evidence = f"{shown}.{safe_name(name)}"
            item = allow.leaves.get(path)
            if item is not None:
                if value is None:
                    continue
                if isinstance(value, str) and looks_encoded(value):
                    removed.append(RemovedField(evidence, size_of(value), RemovalReason.EXCLUDED_CONTENT))
                    continue
                into[name] = value
                items.add(item)
            elif path in branches and isinstance(value, Mapping):
                inner: dict[str, Any] = {}
                walk(value, path + ".", evidence, inner)
                if inner:
                    into[name] = inner
            else:
                reason = (
                    RemovalReason.EXCLUDED_CONTENT if _marked(name, value, allow.markers) else RemovalReason.NOT_ALLOWED
                )
                removed.append(RemovedField(evidence, size_of(value), reason))

    walk(payload, "", "payload", kept)
    return Reduction(kept=kept, items=tuple(sorted(items)), removed=tuple(removed))
