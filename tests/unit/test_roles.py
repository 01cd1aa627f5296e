"""Roles: each topic the pipeline reads belongs to exactly one role; a role that stops consuming is named."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.processors.batch_consumer import BatchConsumer, ConsumerConfig
from services.roles import ALL_ROLES, Pipeline, Role, role_topics
from services.settings import Settings
from services.topics import Topics


def test_every_topic_the_pipeline_reads_belongs_to_one_role() -> None:
    topics = Topics("p.")
    read = [topic for role in ALL_ROLES for topic in role_topics(topics, role)]

    assert len(read) == len(set(read))  # no topic is read by two roles
    assert set(read) == {*topics.all_collection, *topics.all_tagged, topics.dead_letter, *topics.all_activity}
    assert {role.value for role in Role} == {"collect", "store", "monitor"}


def test_the_pipeline_names_the_role_that_stopped_consuming(tmp_path: Path) -> None:
    settings = Settings(
        local_key_file=tmp_path / "p.key",
        local_quarantine_key_file=tmp_path / "q.key",
        local_partition_key_file=tmp_path / "k.key",
    )
    pipeline = Pipeline(settings)
    config = ConsumerConfig("127.0.0.1:9", "g", ["t"], 10, 0.1, 6.0, 5.0)

    async def handle(batch: object) -> None:
        return None

    async def broken_loop() -> None:
        raise TimeoutError

    async def scenario() -> str:
        healthy, broken = BatchConsumer("collect", config, handle), BatchConsumer("store", config, handle)
        healthy._launch(asyncio.sleep(60))
        broken._launch(broken_loop())
        pipeline.consumers = {"collect": healthy, "store": broken}
        try:
            return await asyncio.wait_for(pipeline.failure(), 5)
        finally:
            await healthy.stop(grace_s=0.1)

    assert asyncio.run(scenario()) == "the store consumer stopped consuming (TimeoutError)"
