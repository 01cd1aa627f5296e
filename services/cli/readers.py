"""Where the CLI reads lineage from: the running stack's API, else the store itself."""

from __future__ import annotations

import typer
from rich.console import Console

from services.api.client import ApiLineageReader, LineageReader, api_is_up
from services.settings import Settings
from services.store.client import StoreUnavailable
from services.store.lineage_store import LineageStore

console = Console(stderr=True)


def open_reader(settings: Settings) -> tuple[LineageReader, LineageStore | None]:
    """The API when a stack runs (it owns the embedded store), else the store itself."""
    if api_is_up(settings.resolved_api_url):
        token = settings.api_token.get_secret_value() if settings.api_token else None
        return ApiLineageReader(settings.resolved_api_url, token=token), None
    try:
        store = LineageStore.open(settings)
    except StoreUnavailable as exc:
        console.print(f"[red]no lineage store:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    store.migrate()
    return store, store
