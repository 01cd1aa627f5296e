"""The lineage sink: tagged records and dead letters -> ClickHouse rows, batched and idempotent."""
