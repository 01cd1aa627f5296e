"""Send a batch of outgoing messages and wait for all acknowledgements at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from services.stages.messages import OutgoingMessage


async def publish_batch(producer: AIOKafkaProducer, messages: Sequence[OutgoingMessage]) -> None:
    """Queue every message, then await the acks together; raises if any send failed.

    Awaiting the acks before returning is what makes the consumed batch safe to commit.
    """
    pending = [
        await producer.send(m.topic, m.value, key=m.key, headers=list(m.headers) if m.headers else None)
        for m in messages
    ]
    if pending:
        await asyncio.gather(*pending)
