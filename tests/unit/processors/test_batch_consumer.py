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


def test_a_consumer_whose_loop_dies_says_so_and_why_and_a_stop_is_no_death() -> None:
    import asyncio

    from services.processors.batch_consumer import BatchConsumer, ConsumerConfig

    config = ConsumerConfig("127.0.0.1:9", "g", ["t"], 10, 0.1, 6.0, 5.0)

    async def handle(batch: object) -> None:
        return None

    async def broken_loop() -> None:
        raise ConnectionResetError("the broker went away with emp-00042's message in flight")

    async def scenario() -> tuple[bool, str | None, bool]:
        dying = BatchConsumer("collect", config, handle)
        dying._launch(broken_loop())
        await asyncio.wait_for(dying.died.wait(), 5)
        stopping = BatchConsumer("store", config, handle)
        stopping._launch(asyncio.sleep(60))
        await stopping.stop(grace_s=0.1)
        return dying.died.is_set(), dying.death, stopping.died.is_set()

    died, death, stopped_died = asyncio.run(scenario())

    assert died
    assert death == "ConnectionResetError"  # the class, never the text (it may hold anything)
    assert not stopped_died
