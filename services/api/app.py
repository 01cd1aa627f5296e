"""HTTP API (FastAPI, OpenAPI at /docs). Built by :func:`create_api`; nothing happens at import."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.dashboard.routes import add_dashboard
from services.metrics import PipelineMetrics
from services.policy.engine import PolicyEngine
from services.pseudonymize import PseudonymKeyring
from services.reports.model import PurposeReport
from services.reports.period import InvalidPeriod, check_period
from services.reports.provisions import PROVISION_QUERY, provision_csv, provision_parameters
from services.reports.queries import build_report
from services.reports.render import MEDIA_TYPES, ReportFormat, render
from services.settings import LOOPBACK_NAMES
from services.store.async_store import AsyncLineageStore
from services.store.client import describe_store_error
from services.store.lineage_store import Delivery

log = logging.getLogger(__name__)


class QueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="A read-only ClickHouse query.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Server-side {name:Type} parameters.")


class QueryResponse(BaseModel):
    columns: list[str]
    rows: list[list[Any]]


Partition = Annotated[int, Field(ge=0, le=2**31 - 1, description="A Kafka partition (int32, not negative).")]
Offset = Annotated[int, Field(ge=0, le=2**63 - 1, description="A Kafka offset (int64, not negative).")]


class AccountingRequest(BaseModel):
    deliveries: list[tuple[str, Partition, Offset, str | None]] = Field(
        default_factory=list,
        max_length=100_000,
        description="(topic, partition, offset, event id or null) of produced messages, as the broker acknowledged.",
    )


class AccountingResponse(BaseModel):
    stored: list[tuple[str, int, int]] = Field(description="Coordinates in lineage (or a recorded re-delivery).")
    dead_lettered: list[tuple[str, int, int]] = Field(description="Coordinates with a dead letter.")


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


class RecordsFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


PeriodStart = Annotated[
    datetime,
    Query(
        alias="from",
        description="Start of the period, inclusive: ISO 8601 date or date-time; without an offset, UTC.",
        examples=["2026-11-01"],
    ),
]
PeriodEnd = Annotated[
    datetime,
    Query(
        alias="to",
        description="End of the period, exclusive: ISO 8601 date or date-time; without an offset, UTC.",
        examples=["2026-12-01"],
    ),
]
Tenant = Annotated[
    str | None,
    Query(min_length=1, max_length=128, description="One Registered User (tenant); omitted: every tenant."),
]

_TEXT = {"schema": {"type": "string"}}
_PERIOD_ERROR: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid parameters, or `from` not before `to`."}
}


def _text_of_bytes(value: bytes) -> str:
    return value.decode("utf-8", "backslashreplace")


def _period(start: datetime, end: datetime) -> None:
    try:
        check_period(start, end)
    except InvalidPeriod as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def is_loopback_host(host_header: str) -> bool:
    """Does a request's Host header name this machine's loopback (``127.0.0.1:8765``, ``[::1]``, ``localhost``)?"""
    try:
        parts = urlsplit(f"//{host_header}")
        parts.port  # noqa: B018 - read for its check: a port that is no number raises
    except ValueError:  # an unbalanced "[" or a port that is no number
        return False
    return parts.hostname in LOOPBACK_NAMES and parts.username is None


class LoopbackHostsOnly:
    """Answers 421 to a request whose Host header is not a loopback name: a defence against DNS rebinding.

    Without a token the API serves loopback alone, so any local process may ask — and so may a web page the
    operator opens, once its own host name resolves to 127.0.0.1: the browser then sends that name as the Host.
    Every route is covered, the dashboard's static files included. With a token this is not needed (a page
    cannot know the token) and not used (a proxy or a probe may use any name).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"} and not is_loopback_host(Headers(scope=scope).get("host", "")):
            refusal = PlainTextResponse(
                "this API answers loopback host names only (localhost, 127.0.0.1, [::1]); "
                "set LINEAGE_API_TOKEN to serve it under another name",
                status_code=421,
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_api(
    store: AsyncLineageStore,
    metrics: PipelineMetrics,
    token: str | None = None,
    keyring: PseudonymKeyring | None = None,
    engine: PolicyEngine | None = None,
    health: Callable[[], dict[str, dict[str, Any]]] | None = None,
    loopback_hosts_only: bool = False,
) -> FastAPI:
    """The API over one store (owned by the caller); every route but /healthz needs ``token`` when set.

    Without ``keyring`` the trace route answers 503, without ``engine`` (the policy) the report route does.
    ``health`` reports the roles of this process (name -> its state, with a ``healthy`` flag): /healthz is 503
    while any of them is not healthy. ``loopback_hosts_only`` refuses requests whose Host header is no loopback
    name (:class:`LoopbackHostsOnly`); the stack sets it when it serves without a token.
    """
    api = FastAPI(title="purpose-lineage", version="0.1.0", description="Privacy lineage queries and metrics.")
    if loopback_hosts_only:
        api.add_middleware(LoopbackHostsOnly)
    guarded = APIRouter(dependencies=_token_guard(token))

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 without the ``input`` it echoes: a request body can hold anything, ids included."""
        del request
        errors = [{k: v for k, v in error.items() if k in {"type", "loc", "msg"}} for error in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    _add_error_handlers(api)
    _add_health_routes(api, health)

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
        # Bytes (a FixedString or String that is not UTF-8) as text, undecodable bytes escaped, never a 500.
        rows = jsonable_encoder(result.rows, custom_encoder={bytes: _text_of_bytes})
        return QueryResponse(columns=result.columns, rows=rows)

    @guarded.post("/api/v1/query", tags=["lineage"], response_model=QueryResponse)
    async def query(request: Annotated[QueryRequest, Body()]) -> QueryResponse:
        """Run one read (SELECT, WITH, EXPLAIN, SHOW TABLES, DESCRIBE TABLE) under the store's time, memory and
        result limits; writes, INTO OUTFILE, FORMAT and SETTINGS clauses and functions that read files or reach
        other services are refused. An error names the ClickHouse code (and a syntax error's position), never the
        query's text or values."""
        try:
            result = await store.query(request.sql, request.parameters)
        except ClickHouseError as exc:
            raise HTTPException(status_code=400, detail=describe_store_error(exc)) from exc
        # Bytes (a FixedString or String that is not UTF-8) as text, undecodable bytes escaped, never a 500.
        rows = jsonable_encoder(result.rows, custom_encoder={bytes: _text_of_bytes})
        return QueryResponse(columns=result.columns, rows=rows)

    @guarded.post("/api/v1/accounting", tags=["lineage"], response_model=AccountingResponse)
    async def accounting(request: Annotated[AccountingRequest, Body()]) -> AccountingResponse:
        """Which produced messages are stored and which were dead-lettered, each by its coordinates."""
        found = await store.accounting([Delivery(*d) for d in request.deliveries])
        return AccountingResponse(stored=sorted(found.stored), dead_lettered=sorted(found.dead_lettered))

    @guarded.post("/api/v1/trace", tags=["rights"])
    async def subject_trace(request: Annotated[TraceRequest, Body()]) -> Any:
        """Everything recorded about one subject (Art. 8 disclosure requests), found by pseudonym under every key.

        POST, so the raw subject id travels in the body and never in a URL or an access log.
        """
        if keyring is None:
            raise HTTPException(status_code=503, detail="this API has no pseudonym keyring")
        return jsonable_encoder(await store.trace(keyring, request.tenant_id, request.subject_id))

    @guarded.get(
        "/api/v1/report",
        tags=["reports"],
        response_model=PurposeReport,
        summary="Purpose-limitation report of a period",
        description=(
            "For a period [from, to): collections by data category and purpose (every purpose of the policy, "
            "zero when unused), uses and disclosures allowed and denied by category, purpose and recipient, "
            "violations with their articles, gaps in the policy, dead letters, and provisions to third parties "
            "(Art. 4). Counts only: no payload value, subject id or pseudonym. `format` chooses JSON (the "
            "PurposeReport model), Markdown or a self-contained HTML page."
        ),
        responses={
            200: {"content": {MEDIA_TYPES[ReportFormat.MARKDOWN]: _TEXT, MEDIA_TYPES[ReportFormat.HTML]: _TEXT}},
            503: {"description": "This API was started without the policy."},
            **_PERIOD_ERROR,
        },
    )
    async def purpose_report(
        start: PeriodStart,
        end: PeriodEnd,
        tenant: Tenant = None,
        output_format: Annotated[
            ReportFormat, Query(alias="format", description="json, markdown (GitHub tables) or html.")
        ] = ReportFormat.JSON,
    ) -> Any:
        if engine is None:
            raise HTTPException(status_code=503, detail="this API has no policy to report against")
        _period(start, end)
        report = await store.call(build_report, engine, start, end, tenant)  # on the store's own thread
        if output_format is ReportFormat.JSON:
            return report
        return Response(render(report, output_format), media_type=MEDIA_TYPES[output_format])

    @guarded.get(
        "/api/v1/records/third-party",
        tags=["reports"],
        response_model=QueryResponse,
        summary="Records of provision to third parties (Art. 4.2)",
        description=(
            "Every provision to a third party with consent in the period [from, to): the fact of consent, the "
            "recipient's name and address or representative, the person (by pseudonym only) and the items "
            "provided. CSV by default, with the columns of `purpose-lineage records third-party`; JSON columns "
            "and rows with `format=json`."
        ),
        responses={200: {"content": {"text/csv": _TEXT}}, **_PERIOD_ERROR},
    )
    async def third_party_records(
        start: PeriodStart,
        end: PeriodEnd,
        tenant: Tenant = None,
        output_format: Annotated[RecordsFormat, Query(alias="format", description="csv or json.")] = RecordsFormat.CSV,
    ) -> Any:
        _period(start, end)
        result = await store.query(PROVISION_QUERY, provision_parameters(start, end, tenant))
        if output_format is RecordsFormat.JSON:
            return QueryResponse(columns=result.columns, rows=jsonable_encoder(result.rows))
        return Response(
            provision_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="third-party-provisions.csv"'},
        )

    add_dashboard(api, guarded, store, metrics, engine)
    api.include_router(guarded)
    return api


def _add_health_routes(api: FastAPI, health: Callable[[], dict[str, dict[str, Any]]] | None) -> None:
    """/healthz (readiness: the roles' report) and /livez (liveness: the process answers), both without a token."""

    @api.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """200 while every role of this process consumes and commits; 503, with what is wrong, otherwise."""
        roles = health() if health is not None else {}
        healthy = all(role["healthy"] for role in roles.values())
        body = {"status": "ok" if healthy else "unhealthy", "roles": roles}
        return JSONResponse(status_code=200 if healthy else 503, content=body)

    @api.get("/livez", tags=["ops"])
    async def livez() -> dict[str, str]:
        """200 while the process serves requests: a broker or store outage makes it unready, not dead."""
        return {"status": "alive"}


def create_health_app(health: Callable[[], dict[str, dict[str, Any]]], metrics: PipelineMetrics) -> FastAPI:
    """/healthz, /livez and /metrics of a process that runs roles without the API (``LINEAGE_HEALTH_PORT``).

    Probes and Prometheus reach every role process this way; no lineage data is served, so no token is asked
    (metric labels carry policy terms only).
    """
    app = FastAPI(title="purpose-lineage health", docs_url=None, redoc_url=None, openapi_url=None)
    _add_health_routes(app, health)

    @app.get("/metrics", tags=["ops"])
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _add_error_handlers(api: FastAPI) -> None:
    """Answers, not tracebacks, for what a request can cause beyond its validation; no text from the request."""

    @api.exception_handler(InvalidPeriod)
    async def invalid_period(request: Request, exc: InvalidPeriod) -> JSONResponse:
        del request
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @api.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        """A date the request names lies outside what can be computed (a window before year 1, after 9999)."""
        del request, exc
        return JSONResponse(status_code=422, content={"detail": "a date or number of the request is out of range"})

    @api.exception_handler(ClickHouseError)
    async def store_failed(request: Request, exc: ClickHouseError) -> JSONResponse:
        """The store did not answer a read (down, over a query limit): its code and name, logged and answered."""
        reason = f"the store did not answer: {describe_store_error(exc)}"
        log.warning("%s %s: %s", request.method, request.url.path, reason)
        return JSONResponse(status_code=503, content={"detail": reason})
