"""The lineage store: ClickHouse over HTTP in production, the embedded chDB engine locally."""
