-- Alert grouping that survives restarts and spans workers. Violations carry what makes them identical
-- (activity, recipient kind; the policy version for the summary), so a group's summary is counted from this
-- table when its window closes; every alert published is recorded, so a restarted worker reads back which
-- windows are open instead of announcing their groups again. Rows stored before this migration have ''.
ALTER TABLE {db}.violations ADD COLUMN IF NOT EXISTS activity LowCardinality(String) DEFAULT '';
ALTER TABLE {db}.violations ADD COLUMN IF NOT EXISTS recipient_kind LowCardinality(String) DEFAULT '';
ALTER TABLE {db}.violations ADD COLUMN IF NOT EXISTS policy_version LowCardinality(Nullable(String));

-- Every alert published on the violations topic (one row per alert id: a re-published alert collapses).
CREATE TABLE IF NOT EXISTS {db}.alerts
(
    alert_id          UUID,
    status            LowCardinality(String),
    tenant_id         LowCardinality(String),
    code              LowCardinality(String),
    activity          LowCardinality(String),
    actor             LowCardinality(String),
    purpose           LowCardinality(String),
    recipient_kind    LowCardinality(String),
    recipient_id      LowCardinality(String),
    severity          LowCardinality(String),
    article           LowCardinality(String),
    policy_version    LowCardinality(Nullable(String)),
    count             UInt64,
    subjects          UInt64,
    event_ids         Array(UUID),
    first_occurred_at DateTime64(3, 'UTC'),
    last_occurred_at  DateTime64(3, 'UTC'),
    window_start      DateTime64(3, 'UTC'),
    published_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(published_at)
PARTITION BY toYYYYMM(published_at)
ORDER BY (tenant_id, code, alert_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- When each decision row was inserted, as collection_lineage has it: produce -> queryable, measurable.
ALTER TABLE {db}.activity_decisions ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3);
