-- Every use and disclosure the purpose monitor decided, with the decision; one row per event (re-delivery
-- collapses). Sorted by subject for trace queries.
CREATE TABLE IF NOT EXISTS {db}.activity_decisions
(
    event_id          UUID,
    activity          LowCardinality(String),
    tenant_id         LowCardinality(String),
    actor             LowCardinality(String),
    subject_pseudonym FixedString(64),
    purpose           LowCardinality(String),
    data              Array(LowCardinality(String)),
    recipient_kind    LowCardinality(String),
    recipient_id      LowCardinality(String),
    allowed           Bool,
    legal_basis       LowCardinality(Nullable(String)),
    policy_version    LowCardinality(Nullable(String)),
    violation_codes   Array(LowCardinality(String)),
    occurred_at       DateTime64(3, 'UTC'),
    decided_at        DateTime64(3, 'UTC'),
    source_topic      LowCardinality(String),
    source_partition  UInt32,
    source_offset     UInt64
)
ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, subject_pseudonym, event_id);

-- One row per violation of a decided use or disclosure.
CREATE TABLE IF NOT EXISTS {db}.violations
(
    event_id          UUID,
    code              LowCardinality(String),
    article           LowCardinality(String),
    severity          LowCardinality(String),
    message           String,
    tenant_id         LowCardinality(String),
    actor             LowCardinality(String),
    subject_pseudonym FixedString(64),
    purpose           LowCardinality(String),
    recipient_id      LowCardinality(String),
    occurred_at       DateTime64(3, 'UTC'),
    decided_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_id, code);
