"""Read the lineage store through a running API (the embedded store belongs to the running stack)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from services.errors import LineageError
from services.store.lineage_store import Accounting, Delivery, QueryResult


class LineageReader(Protocol):
    """What the CLI reads; served by the store itself or by a running API."""

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult: ...

    def accounting(self, deliveries: Sequence[Delivery]) -> Accounting: ...

    def summary(self) -> dict[str, Any]: ...


class ApiError(LineageError, RuntimeError):
    """The API refused a request; the message is the API's reason."""


class ApiLineageReader:
    """:class:`LineageReader` over HTTP."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, timeout=timeout, headers=headers)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        if response.status_code >= 400:
            detail = response.json().get("detail", response.text) if response.content else response.reason_phrase
            raise ApiError(str(detail))
        return response.json()

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        data = self._post("/api/v1/query", {"sql": sql, "parameters": parameters or {}})
        return QueryResult(columns=data["columns"], rows=data["rows"])

    def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        data = self._post("/api/v1/accounting", {"deliveries": [list(d) for d in deliveries]})
        return Accounting(
            stored={(t, int(p), int(o)) for t, p, o in data["stored"]},
            dead_lettered={(t, int(p), int(o)) for t, p, o in data["dead_lettered"]},
        )

    def trace(self, tenant_id: str, subject_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._post("/api/v1/trace", {"tenant_id": tenant_id, "subject_id": subject_id})
        return result

    def summary(self) -> dict[str, Any]:
        response = self._http.get("/api/v1/summary")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self._http.close()


def api_is_up(base_url: str) -> bool:
    """True when a purpose-lineage API answers at ``base_url``, whether or not its roles are healthy (503)."""
    try:
        response = httpx.get(f"{base_url}/healthz", timeout=1.0)
        body = response.json() if response.status_code in {200, 503} else None
    except (httpx.HTTPError, ValueError):  # nothing listens, or something else does
        return False
    return isinstance(body, dict) and "status" in body
