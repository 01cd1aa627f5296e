-- Event identity is (tenant_id, event_id). content_digest (SHA-256 of what the record says, without when it
-- was ingested or where it was read) tells a re-delivery (same digest: one row) from a conflict (another
-- digest: refused, dead-lettered as event_id_conflict). Rows stored before this migration have '' and are
-- taken as re-deliveries. The bloom filter keeps the store role's per-batch identity lookup off a full scan.
ALTER TABLE {db}.collection_lineage ADD COLUMN IF NOT EXISTS content_digest String DEFAULT '';
ALTER TABLE {db}.collection_lineage ADD INDEX IF NOT EXISTS event_id_bloom event_id TYPE bloom_filter GRANULARITY 4;
