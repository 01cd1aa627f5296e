"""Consumed batches as the stages see them: headers normalized, and the identity of a batch."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from services.records import SourceRecord


def record_headers(
    headers: Mapping[str, bytes] | Sequence[tuple[str, bytes | None]] | None,
) -> tuple[tuple[str, bytes], ...]:
    """Headers as the stages see them, whatever the client gave (a mapping, pairs, a null value)."""
    if not headers:  # most messages: checked before the (slower) abstract Mapping test
        return ()
    if type(headers) is tuple and all(type(value) is bytes for _, value in headers):
        return headers  # already pairs of name and bytes, as the clients give them
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((key, value if isinstance(value, bytes) else str(value).encode()) for key, value in pairs)


def batch_token(batch: Sequence[SourceRecord]) -> str:
    """The identity of a consumed batch, for ClickHouse's insert deduplication: offsets *and* content.

    A retry of the same batch gives the same token. Offsets alone would not do: a broker that lost its data
    (the local one, on restart) numbers new events from 0 again, and ClickHouse would drop them as repeats.
    """
    offsets: dict[tuple[str, int], list[int]] = {}
    for record in batch:
        offsets.setdefault((record.topic, record.partition), []).append(record.offset)
    values = [record.value or b"" for record in batch]
    digest = hashlib.sha256()
    digest.update(";".join(f"{t}[{p}]@{min(o)}..{max(o)}" for (t, p), o in sorted(offsets.items())).encode())
    digest.update(",".join(map(str, map(len, values))).encode())
    digest.update(b"".join(values))
    return digest.hexdigest()
