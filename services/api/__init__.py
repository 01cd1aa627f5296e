"""The HTTP API: queries over the lineage store, accounting for replays, metrics."""
