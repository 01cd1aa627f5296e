"""HTTP API (FastAPI, OpenAPI at /docs). Built by :func:`create_api`; nothing happens at import."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Query, Response
from fastapi.encoders import jsonable_encoder
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from services.metrics import PipelineMetrics
from services.stages.pseudonymize import PseudonymKeyring
from services.store.async_store import AsyncLineageStore


class QueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="A read-only ClickHouse query.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Server-side {name:Type} parameters.")


class QueryResponse(BaseModel):
    columns: list[str]
    rows: list[list[Any]]


class AccountingRequest(BaseModel):
    event_ids: list[str] = Field(default_factory=list, max_length=100_000)
    offsets: list[tuple[str, int, int]] = Field(
        default_factory=list, max_length=100_000, description="(topic, partition, offset) of produced messages."
    )


class AccountingResponse(BaseModel):
    event_ids: list[str]
    offsets: list[tuple[str, int, int]]


def _token_guard(token: str | None) -> list[Any]:
    """A dependency demanding ``Authorization: Bearer <token>`` when a token is configured."""
    if token is None:
        return []
    expected = f"Bearer {token}".encode()

    async def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    return [Depends(require_token)]


class TraceRequest(BaseModel):
    tenant_id: str = Field(min_length=1, max_length=128)
    subject_id: str = Field(min_length=1, max_length=256, description="Pseudonymized here; never stored or logged.")


def create_api(
    store: AsyncLineageStore,
    metrics: PipelineMetrics,
    token: str | None = None,
    keyring: PseudonymKeyring | None = None,
) -> FastAPI:
    """The API over one store (owned by the caller); every route but /healthz needs ``token`` when set."""
    api = FastAPI(title="purpose-lineage", version="0.1.0", description="Privacy lineage queries and metrics.")
    guarded = APIRouter(dependencies=_token_guard(token))

    @api.get("/healthz", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @guarded.get("/metrics", tags=["ops"])
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @guarded.get("/api/v1/summary", tags=["lineage"])
    async def summary() -> dict[str, Any]:
        """Lineage events by kind and dead letters by reason."""
        return await store.summary()

    @guarded.get("/api/v1/lineage/recent", tags=["lineage"], response_model=QueryResponse)
    async def recent(limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> QueryResponse:
        """The most recently ingested lineage rows."""
        result = await store.query(
            "SELECT event_id, kind, tenant_id, subject_type, subject_pseudonym, data_categories, purposes, "
            "legal_bases, policy_version, removed_paths, occurred_at, source_topic, source_partition, source_offset "
            "FROM collection_lineage ORDER BY ingested_at DESC LIMIT {limit:UInt32}",
            {"limit": limit},
        )
        return QueryResponse(columns=result.columns, rows=jsonable_encoder(result.rows))

    @guarded.post("/api/v1/query", tags=["lineage"], response_model=QueryResponse)
    async def query(request: Annotated[QueryRequest, Body()]) -> QueryResponse:
        """Run a read-only query; writes, DDL and settings changes are refused by the store."""
        try:
            result = await store.query(request.sql, request.parameters)
        except ClickHouseError as exc:
            raise HTTPException(status_code=400, detail=_first_line(str(exc))) from exc
        return QueryResponse(columns=result.columns, rows=jsonable_encoder(result.rows))

    @guarded.post("/api/v1/accounting", tags=["lineage"], response_model=AccountingResponse)
    async def accounting(request: Annotated[AccountingRequest, Body()]) -> AccountingResponse:
        """Which events reached lineage (by id) and which produced offsets were dead-lettered."""
        found = await store.accounting(request.event_ids, request.offsets)
        return AccountingResponse(event_ids=sorted(found.event_ids), offsets=sorted(found.dead_letter_offsets))

    @guarded.post("/api/v1/trace", tags=["rights"])
    async def subject_trace(request: Annotated[TraceRequest, Body()]) -> Any:
        """Everything recorded about one subject (Art. 8 disclosure requests), found by pseudonym under every key.

        POST, so the raw subject id travels in the body and never in a URL or an access log.
        """
        if keyring is None:
            raise HTTPException(status_code=503, detail="this API has no pseudonym keyring")
        return jsonable_encoder(await store.trace(keyring, request.tenant_id, request.subject_id))

    api.include_router(guarded)
    return api


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else "query failed"
