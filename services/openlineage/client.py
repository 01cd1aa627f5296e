"""An OpenLineage client that sends exactly where the settings say, and nowhere else.

``OpenLineageClient`` configures itself from the environment even when given a transport: it reads
``openlineage.yml`` (``$OPENLINEAGE_CONFIG``, the working directory, ``~/.openlineage``) and ``OPENLINEAGE__*``
variables for filters, tags, dataset-name reduction and environment-variable facets (values copied into every
event), copies ``OPENLINEAGE_URL`` into ``os.environ``, and ``OPENLINEAGE_DISABLED`` silently replaces the
transport. The subclass here switches all of that off: the settings are the only configuration.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from openlineage.client import OpenLineageClient
from openlineage.client.client import Event, OpenLineageConfig
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from openlineage.client.transport.file import FileConfig, FileTransport

from services.errors import LineageError

HTTP_TIMEOUT_S = 5.0
"""Connect and read timeout of one attempt (per socket operation)."""
HTTP_ATTEMPTS = 3
HTTP_DEADLINE_S = 10.0
"""No attempt starts after this long since the first: a lineage backend that is down costs a flush seconds, not a
minute. Only the pipeline's own data must never be dropped; a missed lineage event is counted and logged."""
_RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


class LineageDeliveryError(LineageError):
    """An OpenLineage event was not accepted: the status or the kind of failure, never the URL or the body."""


class BoundedHttpTransport(Transport):
    """POST each event to ``{url}/api/v1/lineage``; only the answer's status is read.

    Fifth red-team pass, against the client's own HTTP transport: it read and gzip-decoded whole answers (398
    KiB inflated to 800 MB in memory), honoured Retry-After up to six hours an attempt, followed redirects to any
    host, and took proxies and .netrc from the environment. Here the body is never read (the answer is streamed
    and closed, ``Accept-Encoding: identity``), a redirect is a failure, the environment is not consulted,
    Retry-After is ignored (backoff 0.5 s, 1 s) and no attempt starts after ``HTTP_DEADLINE_S``.
    """

    kind = "http"

    def __init__(self, url: str, api_key: str | None, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self.url = urljoin(url.rstrip("/") + "/", "api/v1/lineage")
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies, .netrc or CA bundle from the environment: the settings only

    def emit(self, event: Event) -> None:
        body = Serde.to_json(event).encode()
        started = time.monotonic()
        for attempt in range(HTTP_ATTEMPTS):
            if attempt:
                time.sleep(0.5 * attempt)
            try:
                with self.session.post(
                    self.url,
                    data=body,
                    headers=self.headers,
                    timeout=(self.timeout_s, self.timeout_s),
                    stream=True,  # the body is never read
                    allow_redirects=False,
                ) as response:
                    status = response.status_code
            except requests.RequestException as exc:
                failure = LineageDeliveryError(f"OpenLineage endpoint unreachable ({type(exc).__name__})")
            else:
                if 200 <= status < 300:
                    return
                failure = LineageDeliveryError(f"OpenLineage endpoint answered HTTP {status}")
                if status not in _RETRIED_STATUS:
                    break
            if time.monotonic() - started > HTTP_DEADLINE_S:
                break
        raise failure

    def close(self, timeout: float = -1) -> bool:
        self.session.close()
        return True


class ExplicitClient(OpenLineageClient):
    """An ``OpenLineageClient`` whose transport and configuration are exactly the ones given."""

    def __init__(self, transport: Transport) -> None:
        # Defaults: no filters, no tags but the client's own, no environment facets, no git probing.
        self._fixed_config = OpenLineageConfig()
        super().__init__(transport=transport)

    @property
    def config(self) -> OpenLineageConfig:
        return self._fixed_config

    def _alias_env_vars(self) -> None:
        """Upstream writes ``OPENLINEAGE_URL`` into ``os.environ``: nothing here changes the environment."""

    def _resolve_transport(self, **kwargs: Any) -> Transport:
        # Upstream checks OPENLINEAGE_DISABLED before the explicit transport; the settings decide here.
        transport: Transport = kwargs["transport"]
        return transport


class FanOutTransport(Transport):
    """Send every event to each transport; raise the first failure after trying them all, so it is counted."""

    kind = "fan_out"

    def __init__(self, transports: list[Transport]) -> None:
        self.transports = transports

    def emit(self, event: Event) -> None:
        failure: Exception | None = None
        for transport in self.transports:
            try:
                transport.emit(event)
            except Exception as exc:  # noqa: BLE001 - the other transports still get the event
                failure = failure or exc
        if failure is not None:
            raise failure

    def close(self, timeout: float = -1) -> bool:
        return all([transport.close(timeout) for transport in self.transports])  # a list: close every one


def build_client(file_path: Path | None, url: str | None, api_key: str | None) -> OpenLineageClient | None:
    """A client appending JSON lines to ``file_path`` and/or posting to ``url``; None when neither is set."""
    transports: list[Transport] = []
    if file_path is not None:
        file_path.parent.mkdir(parents=True, exist_ok=True)  # else every append would fail, one by one
        transports.append(FileTransport(FileConfig(log_file_path=str(file_path), append=True)))
    if url:
        transports.append(BoundedHttpTransport(url, api_key))
    if not transports:
        return None
    return ExplicitClient(transports[0] if len(transports) == 1 else FanOutTransport(transports))
