-- Every message the store recognised as a re-delivery of an event it already holds (same identity, same
-- content), at the coordinates it was collected from. With lineage and dead letters, every collected message
-- is then somewhere by its own coordinates: accounting never has to infer a message's fate from its event id
-- (an id in lineage says nothing about whether a second message with that id was stored, refused or is still
-- on its way). No payload, no subject: identity and coordinates only.
CREATE TABLE IF NOT EXISTS {db}.redeliveries
(
    tenant_id        LowCardinality(String),
    event_id         UUID,
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    redelivered_at   DateTime64(3, 'UTC'),
    stored_at        DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(redelivered_at)
PARTITION BY toYYYYMM(redelivered_at)
ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = 10000;
