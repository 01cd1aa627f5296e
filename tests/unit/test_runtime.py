"""settle_heap changes the process's collector: checked in a child process, so this test process keeps its own."""

from __future__ import annotations

import json
import subprocess
import sys

from services.runtime import YOUNG_THRESHOLD

_CHILD = """
import gc, json
from services.runtime import settle_heap
built_at_start = [[i] for i in range(1000)]
before = gc.get_threshold()
settle_heap()
cycle = []
cycle.append(cycle)
del cycle
print(json.dumps({"frozen": gc.get_freeze_count(), "before": before, "after": gc.get_threshold(),
                  "collected": gc.collect()}))
"""


def test_settle_heap_freezes_start_up_objects_and_raises_only_the_young_threshold():
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, cwd=".")
    result = json.loads(out.stdout)
    assert result["frozen"] >= 1000  # at least the lists built before it
    assert result["after"] == [YOUNG_THRESHOLD, *result["before"][1:]]
    assert result["collected"] >= 1  # a reference cycle made afterwards is still collected
