"""Send a batch of outgoing messages and wait for all acknowledgements at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from faust.types import ProducerT

from services.stages.messages import OutgoingMessage


async def publish(producer: ProducerT, messages: Sequence[OutgoingMessage]) -> None:
    """Queue every message, then await the acks together; raises if any send failed.

    Awaiting the acks before returning is what makes the consumed batch safe to commit.
    """
    pending = [
        await producer.send(m.topic, m.key, m.value, partition=None, timestamp=None, headers=m.headers)
        for m in messages
    ]
    if pending:
        await asyncio.gather(*pending)
