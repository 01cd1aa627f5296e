-- The purpose monitor's state (consents, suspensions, deletions), one row per change, at the activity
-- message that made it. A monitor worker that takes over a partition loads the latest value of each key
-- from the changes *below* the offset it resumes at: exactly the state the committed messages built, with
-- no trust in a broker's reported end offset (the local broker's lag) and no changelog to replay. A change
-- of a batch that was inserted but not committed is above that offset, so it is applied again, once, when
-- the batch is re-read. Kept whole (MergeTree, not replacing): loading "as of an offset" needs the history.
CREATE TABLE IF NOT EXISTS {db}.monitor_state
(
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    state_table      LowCardinality(String),
    state_key        String,
    value            String,
    changed_at       DateTime64(3, 'UTC'),
    stored_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (source_topic, source_partition, state_table, state_key, source_offset)
SETTINGS non_replicated_deduplication_window = 10000;
