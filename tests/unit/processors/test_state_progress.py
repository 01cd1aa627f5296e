"""Waiting for consent and rights state: offsets applied per partition against the consumer's targets."""

from __future__ import annotations

import asyncio

from faust.types import TP

from services.processors.state_progress import StateProgress, state_targets

CONSENT = TP("consent.v1", 0)
RIGHTS = TP("rights.v1", 0)


def test_a_partition_is_behind_until_every_message_below_its_target_is_applied() -> None:
    progress = StateProgress()
    progress.applied(CONSENT, 7, 100.0)

    assert progress.behind({CONSENT: 10}) == {CONSENT: 2}
    progress.applied(CONSENT, 9, 101.0)
    assert progress.behind({CONSENT: 10}) == {}


def test_a_partition_untouched_since_the_takeover_counts_from_the_committed_offset() -> None:
    progress = StateProgress(committed=lambda tp: 41 if tp == RIGHTS else None)

    assert progress.behind({RIGHTS: 42, CONSENT: 0}) == {}
    assert progress.behind({CONSENT: 3}) == {CONSENT: 3}


def test_waiting_ends_when_the_state_agent_catches_up() -> None:
    async def scenario() -> dict[TP, int]:
        progress = StateProgress()
        waiting = asyncio.create_task(progress.wait_for({CONSENT: 5}, timeout_s=5))
        await asyncio.sleep(0.01)
        progress.applied(CONSENT, 4, 1.0)
        return await waiting

    assert asyncio.run(scenario()) == {}


def test_waiting_is_bounded_and_says_what_is_missing() -> None:
    assert asyncio.run(StateProgress().wait_for({CONSENT: 5}, timeout_s=0.05)) == {CONSENT: 5}


def test_state_not_later_than_a_batch_may_still_be_on_its_way() -> None:
    progress = StateProgress()
    progress.applied(CONSENT, 0, 100.0)

    assert progress.not_after(100.0, {CONSENT: 1})  # same millisecond: a sibling may follow
    assert not progress.not_after(99.0, {CONSENT: 1})
    assert not progress.not_after(100.0, {RIGHTS: 0})  # an empty partition holds nothing to wait for


def test_a_quiet_spell_does_not_count_while_the_state_agent_is_mid_batch() -> None:
    async def scenario() -> tuple[bool, bool]:
        progress = StateProgress()
        progress.working(True)
        quiet = asyncio.create_task(progress.quiet_for(0.02))
        await asyncio.sleep(0.1)
        still_waiting = not quiet.done()
        progress.working(False)
        progress.applied(CONSENT, 0, 1.0)
        return still_waiting, await quiet

    assert asyncio.run(scenario()) == (True, False)


class FakeConsumer:
    """Only what state_targets reads: assignment, high-water marks and positions."""

    def assignment(self) -> set[TP]:
        return {CONSENT, RIGHTS, TP("use.v1", 0)}

    def highwater(self, tp: TP) -> int | None:
        return {CONSENT: 10, RIGHTS: None}.get(tp, 99)

    async def position(self, tp: TP) -> int | None:
        return {CONSENT: 12, RIGHTS: 3}.get(tp, 99)


def test_targets_take_the_further_of_high_water_mark_and_fetch_position_for_state_topics_only() -> None:
    targets = asyncio.run(state_targets(FakeConsumer(), frozenset({"consent.v1", "rights.v1"})))

    assert targets == {CONSENT: 12, RIGHTS: 3}
