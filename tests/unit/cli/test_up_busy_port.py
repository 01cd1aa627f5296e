"""A start that cannot take its API port fails at once with exit 2 and one line, before anything starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def test_up_on_a_busy_port_exits_2_with_one_line_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
        env["LINEAGE_API_PORT"] = str(port)
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "up"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"cannot start: the API cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert not (tmp_path / "var" / "tansu.log").exists(), "no broker was started"
