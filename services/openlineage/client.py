"""An OpenLineage client that sends exactly where the settings say, and nowhere else.

``OpenLineageClient`` configures itself from the environment even when given a transport: it reads
``openlineage.yml`` (``$OPENLINEAGE_CONFIG``, the working directory, ``~/.openlineage``) and ``OPENLINEAGE__*``
variables for filters, tags, dataset-name reduction and environment-variable facets (values copied into every
event), copies ``OPENLINEAGE_URL`` into ``os.environ``, and ``OPENLINEAGE_DISABLED`` silently replaces the
transport. The subclass here switches all of that off: the settings are the only configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.client import Event, OpenLineageConfig
from openlineage.client.transport import Transport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG

HTTP_TIMEOUT_S = 5.0
# Fewer retries than the client's default (5): a lineage backend that is down should cost a flush seconds, not
# a minute. Only the pipeline's own data must never be dropped; a missed lineage event is counted and logged.
HTTP_RETRY = {**DEFAULT_RETRY_CONFIG, "total": 2, "connect": 2, "read": 2, "backoff_factor": 0.5}


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
        auth = ApiKeyTokenProvider({"apiKey": api_key}) if api_key else TokenProvider({})
        config = HttpConfig(url=url, timeout=HTTP_TIMEOUT_S, auth=auth, retry=dict(HTTP_RETRY))
        transports.append(HttpTransport(config))
    if not transports:
        return None
    return ExplicitClient(transports[0] if len(transports) == 1 else FanOutTransport(transports))
