"""The deduplication token of a consumed batch: the same for a retry, different for anything else."""

from __future__ import annotations

from services.processors.batches import batch_token
from services.records import SourceRecord


def _batch(*values: bytes, first: int = 0, topic: str = "tagged.terminal.v1") -> list[SourceRecord]:
    return [SourceRecord(topic, 0, first + i, value) for i, value in enumerate(values)]


def test_the_same_batch_has_the_same_token() -> None:
    assert batch_token(_batch(b"a", b"b")) == batch_token(_batch(b"a", b"b"))


def test_other_offsets_other_content_or_other_topic_give_another_token() -> None:
    token = batch_token(_batch(b"a", b"b"))
    assert batch_token(_batch(b"a", b"b", first=2)) != token
    assert batch_token(_batch(b"a", b"c")) != token  # a broker that restarted empty reuses offsets
    assert batch_token(_batch(b"ab", b"")) != token  # the same bytes split otherwise
    assert batch_token(_batch(b"a", b"b", topic="tagged.user_profile.v1")) != token


def test_the_token_holds_no_content() -> None:
    assert b"secret-subject" not in batch_token(_batch(b"secret-subject")).encode()
