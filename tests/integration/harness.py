"""Run the real pipeline (every role) on a background event loop, as `up` does, for one test."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient

from services.roles import ALL_ROLES, Pipeline, Role, role_topics
from services.settings import Settings
from services.store.lineage_store import Accounting, Delivery, QueryResult

T = TypeVar("T")

ASSIGNMENT_TIMEOUT_S = 120.0


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 90.0, poll_s: float = 0.2) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` did not happen within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(poll_s)


class PipelineHarness:
    """Start/stop a :class:`Pipeline` in its own thread and loop; read its store from the test thread."""

    def __init__(self, settings: Settings, roles: frozenset[Role] = ALL_ROLES) -> None:
        self.settings = settings
        self.pipeline = Pipeline(settings, roles=roles)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pipeline-loop", daemon=True)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` on the pipeline's loop in the background (a server, say)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def start(self) -> None:
        self._thread.start()
        self.call(self.pipeline.start(), timeout=120)
        self._wait_for_assignment()

    def _wait_for_assignment(self) -> None:
        """Wait until the consumer owns every topic; a group join on Tansu takes ~5 s, rarely much longer."""
        wanted = {topic for role in self.pipeline.roles for topic in role_topics(self.pipeline.topics, role)}
        deadline = time.monotonic() + ASSIGNMENT_TIMEOUT_S
        while time.monotonic() < deadline:
            assigned = {tp.topic for tp in self.pipeline.assignment()}
            if wanted <= assigned:
                return
            time.sleep(0.2)
        raise AssertionError(
            f"the consumer groups of {self.settings.app_id} got no assignment for {sorted(wanted - assigned)} "
            f"within {ASSIGNMENT_TIMEOUT_S:.0f} s"
        )

    def stop(self) -> None:
        try:
            self.call(self.pipeline.stop(), timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    # LineageReader over the pipeline's own store (the embedded engine is owned by it).
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        assert self.pipeline.store is not None
        return self.call(self.pipeline.store.query(sql, parameters))

    def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        assert self.pipeline.store is not None
        return self.call(self.pipeline.store.accounting(deliveries))

    def summary(self) -> dict[str, Any]:
        assert self.pipeline.store is not None
        return self.call(self.pipeline.store.summary())


def consumer_group_members(bootstrap: str, group_id: str) -> tuple[str, list[str]]:
    """The group's state and member ids as the broker describes them (DescribeGroups).

    Who is in the group, not who owns what: Tansu answers with every member's assignment empty, so ownership is
    observed by what each member processes (see tests/integration/test_scale_out.py).
    """

    async def describe() -> tuple[str, list[str]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        await admin.start()
        try:
            responses = await admin.describe_consumer_groups([group_id])
        finally:
            await admin.close()
        group = responses[0].to_object()["groups"][0]
        return str(group["state"]), [str(member["member_id"]) for member in group["members"]]

    return asyncio.run(describe())
