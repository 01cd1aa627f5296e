"""The publisher picks a keyed message's partition as every Kafka client does: one subject, one partition."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner as AioKafkaPartitioner
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from services.processors.publisher import partition_of


@given(key=st.binary(min_size=1, max_size=64), count=st.integers(1, 64))
def test_a_keyed_message_lands_where_aiokafka_and_kafka_python_put_it(key: bytes, count: int) -> None:
    partitions = list(range(count))
    ours = partition_of(key, partitions)
    assert ours == AioKafkaPartitioner()(key, partitions, partitions)
    assert ours == (kafka_python_murmur2(key) & 0x7FFFFFFF) % count  # the emitters' client


def test_the_same_key_gets_the_same_partition_every_time() -> None:
    partitions = list(range(12))
    assert len({partition_of(b"subject-key-0123", partitions) for _ in range(100)}) == 1


@given(count=st.integers(1, 8))
def test_an_unkeyed_message_goes_to_one_of_the_partitions(count: int) -> None:
    assert partition_of(None, list(range(count))) in range(count)
