-- Record-level lineage of every collection event that passed the collection stages.
-- ReplacingMergeTree on (tenant_id, subject_pseudonym, event_id): a re-delivered event collapses into one
-- row; queries that count use FINAL or count(DISTINCT event_id). Sorted by subject for trace queries.
CREATE TABLE IF NOT EXISTS {db}.collection_lineage
(
    event_id          UUID,
    kind              LowCardinality(String),
    kind_version      UInt16,
    tenant_id         LowCardinality(String),
    source_service    LowCardinality(String),
    subject_type      LowCardinality(String),
    subject_pseudonym FixedString(64),
    pseudonym_key_id  LowCardinality(String),
    data_categories   Array(LowCardinality(String)),
    fields_kept       Array(LowCardinality(String)),
    purposes          Array(LowCardinality(String)),
    legal_bases       Array(LowCardinality(String)),
    policy_id         LowCardinality(String),
    policy_version    LowCardinality(String),
    removed_paths     Array(String),
    removed_sizes     Array(UInt32),
    occurred_at       DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC'),
    stored_at         DateTime64(3, 'UTC') DEFAULT now64(3),
    source_topic      LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64,
    INDEX idx_event_id event_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, subject_pseudonym, event_id);

-- Every event a stage refused. No payload is stored here, only where it came from and why it failed.
CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    stage            LowCardinality(String),
    reason           LowCardinality(String),
    message          String,
    event_id         Nullable(String),
    kind             LowCardinality(Nullable(String)),
    payload_bytes    UInt32,
    dead_lettered_at DateTime64(3, 'UTC'),
    stored_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(dead_lettered_at)
PARTITION BY toYYYYMM(dead_lettered_at)
ORDER BY (source_topic, source_partition, source_offset);
