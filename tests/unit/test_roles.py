"""Roles: each topic the pipeline reads belongs to exactly one role (the label of the lag gauge)."""

from __future__ import annotations

from services.roles import ALL_ROLES, Role, role_topics
from services.topics import Topics


def test_every_topic_the_pipeline_reads_belongs_to_one_role() -> None:
    topics = Topics("p.")
    read = [topic for role in ALL_ROLES for topic in role_topics(topics, role)]

    assert len(read) == len(set(read))  # no topic is read by two roles
    assert set(read) == {*topics.all_collection, *topics.all_tagged, topics.dead_letter, *topics.all_activity}
    assert {role.value for role in Role} == {"collect", "store", "monitor"}
