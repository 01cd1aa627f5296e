"""Deliberately broken collection events, so that the dead-letter path is visible in the demo."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from services.demo.world import DemoEvent, Malformation, World

UNKNOWN_KINDS = ("payslip", "expense_report", "face_image")


def _wrong_types(world: World, document: dict[str, Any]) -> None:
    """A field of the wrong JSON type (one that lax parsing cannot coerce either)."""
    match world.rng.randrange(3):
        case 0:
            document["subject"] = document["subject"]["id"]
        case 1:
            document["occurred_at"] = "last Tuesday"
        case _:
            document["payload"] = [document["payload"]]


def malform(world: World, event: DemoEvent) -> DemoEvent:
    """``event`` broken in one of the ways a producer breaks events; it stays on its topic with its key."""
    how = world.rng.choice(list(Malformation))
    document: dict[str, Any] = orjson.loads(event.value)
    value: bytes
    if how is Malformation.TRUNCATED_JSON:
        # Cut between characters (not inside a UTF-8 sequence), before the closing brace.
        text = orjson.dumps(document).decode()
        value = text[: world.rng.randrange(len(text) // 3, len(text) - 1)].encode()
    elif how is Malformation.INVALID_UTF8:
        marker = b'"source_service":"'
        raw = orjson.dumps(document)
        at = raw.index(marker) + len(marker)
        value = raw[:at] + b"\xff\xfe" + raw[at:]
    else:
        if how is Malformation.WRONG_TYPES:
            _wrong_types(world, document)
        elif how is Malformation.UNKNOWN_KIND:
            document["kind"] = world.rng.choice(UNKNOWN_KINDS)
        else:
            document["kind_version"] = world.rng.choice((2, 3, 99))
        value = orjson.dumps(document)
    return replace(event, value=value, malformed=how)
