"""The dashboard's routes: the page at ``/`` with its offline assets, and the data it polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from services.dashboard.data import dashboard_data, live_counters, policy_terms
from services.metrics import PipelineMetrics
from services.policy.engine import PolicyEngine
from services.reports.period import as_utc
from services.store.async_store import AsyncLineageStore

STATIC = Path(__file__).parent / "static"
MAX_WINDOW_MINUTES = 31 * 24 * 60


def add_dashboard(
    api: FastAPI, guarded: APIRouter, store: AsyncLineageStore, metrics: PipelineMetrics, engine: PolicyEngine | None
) -> None:
    """Serve the page and its assets openly (they hold no data) and its data behind ``guarded``'s token."""

    @api.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    api.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")

    @guarded.get("/api/v1/dashboard", tags=["dashboard"], summary="What the dashboard page shows")
    async def dashboard(
        minutes: Annotated[int, Query(ge=1, le=MAX_WINDOW_MINUTES, description="Length of the window.")] = 60,
        until: Annotated[
            datetime | None, Query(description="End of the window (default: now); without an offset, UTC.")
        ] = None,
    ) -> Any:
        """Counts, flows (category → purpose → recipient), the category-by-purpose matrix, the violations
        timeline and dead letters of a window on processing time, plus this process's live counters."""
        if engine is None:
            raise HTTPException(status_code=503, detail="this API has no policy to name the dashboard's terms")
        end = as_utc(until) if until is not None else datetime.now(UTC)
        data = await store.call(dashboard_data, end, timedelta(minutes=minutes), engine.policy.controller)
        data["policy"] = policy_terms(engine, end)
        data["live"] = live_counters(metrics.registry)
        return jsonable_encoder(data)
