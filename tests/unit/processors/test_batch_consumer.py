"""What the batch consumer hands the stages: every consumed message, whatever its headers hold."""

from __future__ import annotations


def test_a_consumed_message_with_a_null_header_value_reaches_the_stages() -> None:
    from aiokafka.structs import ConsumerRecord

    from services.processors.batch_consumer import source_record

    message = ConsumerRecord(
        topic="t", partition=0, offset=3, timestamp=1_700_000_000_000, timestamp_type=0, key=None,
        value=b"{}", checksum=None, serialized_key_size=-1, serialized_value_size=2,
        headers=(("trace", b"x"), ("empty", None)),
    )  # fmt: skip

    record = source_record(message)

    assert record.headers[0] == ("trace", b"x")
    assert record.headers[1][0] == "empty"
    assert isinstance(record.headers[1][1], bytes)
    assert record.timestamp_ms == 1_700_000_000_000
