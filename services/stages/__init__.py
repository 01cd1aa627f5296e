"""Pure stages over batches: ingest -> minimize -> tag. No I/O, no clock reads, no broker."""
