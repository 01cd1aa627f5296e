"""What the stages remember of hostile input is bounded by how many texts, and by how long each may be.

The stages remember their verdicts on texts that come again and again (key names, kept values, identifiers).
A cache bounded only in entries holds texts as long as an event: 3,000 events each with a new 100 KB key name
grew a collect worker by 960 MB (session 14). Here every shape that reaches one of those caches — a new key name
at the top and nested, a long kept free text, a long refused tenant or subject id, a long removed value — is sent
new and long in every event, and the memory still held after the batches is measured: it must not grow with what
was sent.
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from datetime import UTC, datetime
from typing import Any

from schemas.events import CollectionKind
from services.stages.collection import process_collection_batch

INGESTED_AT = datetime(2024, 1, 1, tzinfo=UTC)
LONG = 20_000
"""Characters of each hostile text: far beyond any text worth remembering."""


def _long(seed: str) -> str:
    """A new text of LONG characters, letters only (a key name the stages read, not one they refuse at once)."""
    letters = uuid.uuid5(uuid.NAMESPACE_URL, seed).hex
    return ("".join(chr(ord("a") + int(char, 16)) for char in letters) * (LONG // 32 + 1))[:LONG]


def _hostile_batch(make_event, make_record, batch: int) -> list[Any]:
    records = []
    for n in range(20):
        seed = f"{batch}-{n}"
        unknown = make_event(CollectionKind.TERMINAL)
        unknown["payload"][_long("key" + seed)] = "x"  # a new long key name
        unknown["payload"]["\ufdfa" * 200 + seed] = "x"  # short, but 18 characters each once normalized (NFKC)
        unknown["payload"]["extra"] = {_long("nested" + seed): _long("value" + seed)}  # nested, with a long value
        kept = make_event(CollectionKind.ACCESS_LOG)
        kept["payload"]["operation"] = "操作" + _long("operation" + seed)  # a kept free-text field, too long
        refused = make_event(CollectionKind.TERMINAL)
        refused["tenant_id"] = _long("tenant" + seed)  # refused by the contract, redacted in its dead letter
        subject = make_event(CollectionKind.COOKIE)
        subject["subject"]["id"] = _long("subject" + seed)  # refused; pseudonymized as sent for its dead letter
        records += [make_record(event, offset=len(records)) for event in (unknown, kept, refused, subject)]
    return records


def test_memory_held_after_hostile_batches_does_not_grow_with_them(make_event, make_record, context):
    process_collection_batch(_hostile_batch(make_event, make_record, 0), context, INGESTED_AT)  # warm up
    gc.collect()
    tracemalloc.start()
    try:
        held = []
        for batch in range(1, 6):
            result = process_collection_batch(_hostile_batch(make_event, make_record, batch), context, INGESTED_AT)
            assert len(result.ok) + len(result.dead) == 80
            del result
            gc.collect()
            held.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()

    sent_per_batch = 20 * 6 * LONG  # six long texts in each four events, ~2.4 MB of characters a batch
    growth = held[-1] - held[0]
    assert growth < sent_per_batch / 4, f"{growth:,} bytes held more after 4 batches of {sent_per_batch:,} chars"
