"""Property: excluded content hidden anywhere outside the allow-list never leaves the collection stages."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import CollectionKind
from services.stages.collection import process_collection_batch
from services.stages.messages import encode_dead_letter, encode_tagged
from services.topics import Topics

SECRET = "本文: 来週の残業申請について承認をお願いします — Re: overtime"
ENCODED = base64.b64encode(SECRET.encode()).decode()
INGESTED_AT = datetime(2024, 1, 1, tzinfo=UTC)
FORBIDDEN = [SECRET.encode(), ENCODED.encode(), "残業申請".encode()]

key_names = st.one_of(
    st.sampled_from(["subject", "body", "text", "件名", "本文", "attachment", "Message", "EMAIL_BODY", "notes", "x"]),
    st.text(min_size=1, max_size=12),
)
hidden_value = st.sampled_from([SECRET, ENCODED, {"subject": SECRET}, [SECRET], {"files": [{"content": ENCODED}]}])


@st.composite
def nested(draw: st.DrawFn) -> Any:
    """The secret at a random depth under random keys, in objects and lists."""
    value: Any = draw(hidden_value)
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        if draw(st.booleans()):
            value = {draw(key_names): value}
        else:
            value = [draw(st.integers(min_value=-(2**31), max_value=2**31)), value]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(CollectionKind)), top_key=key_names, hidden=nested(), valid=st.booleans())
def test_hidden_excluded_content_never_reaches_a_tagged_or_dead_letter_message(
    make_event, make_record, context, kind, top_key, hidden, valid
):
    event = make_event(kind)
    allowed = context.engine.field_items(kind.value)
    if top_key in allowed or top_key.split(".")[0] in {p.split(".")[0] for p in allowed}:
        top_key = f"smuggled_{len(top_key)}"  # an allow-listed name would be a legitimate field, not a hiding place
    event["payload"][top_key] = hidden
    if not valid:
        event["kind_version"] = 99  # refused: it must be dead-lettered minimized, without the secret
    topics = Topics()

    result = process_collection_batch([make_record(event)], context, INGESTED_AT)

    assert len(result.ok) + len(result.dead) == 1
    messages = [encode_tagged(r, topics.tagged(kind)).value or b"" for r in result.ok]
    messages += [encode_dead_letter(d, topics.dead_letter, context.quarantine).value or b"" for d in result.dead]
    for blob in messages:
        for forbidden in FORBIDDEN:
            assert forbidden not in blob
    if result.ok:
        assert result.ok[0].removed, "the removal must leave evidence"
