"""Lineage I/O never holds the pipeline: START, RUNNING and COMPLETE are sent on daemon threads (fifth red-team
pass: a slow OpenLineage endpoint held the start 48 s before any consumer existed, and the stop 97 s)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from services.roles import _off_loop


def test_the_loop_goes_on_while_lineage_io_blocks_and_learns_when_it_ends() -> None:
    release = threading.Event()

    async def scenario() -> tuple[bool, bool]:
        sending = _off_loop(release.wait, "test-send")
        await asyncio.sleep(0.05)  # the loop runs meanwhile
        pending = not sending.done()
        release.set()
        await asyncio.wait_for(sending, 5)
        return pending, sending.done()

    assert asyncio.run(scenario()) == (True, True)


def test_a_stuck_lineage_send_does_not_hold_the_process_exit() -> None:
    code = (
        "import asyncio, time\n"
        "from services.roles import _off_loop\n"
        "async def main():\n"
        "    _off_loop(lambda: time.sleep(60), 'stuck')\n"
        "asyncio.run(main())\n"
    )
    # Before (the loop's executor), the process waited the 60 s out: past this timeout, which raises.
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
