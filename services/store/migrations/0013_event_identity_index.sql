-- The store role looks up every batch's identities (tenant_id, event_id) before inserting it. Asked of
-- collection_lineage, that lookup grew with the table: sorted by subject and partitioned by month, the table
-- has no order an event id can be found by, and its event_id bloom filter answers "maybe" for nearly every
-- granule when 2,000 ids are asked at once (measured with 24 months of history: 82 ms a batch at 5 million
-- rows, 618 ms at 20 million). event_identity holds the same identities sorted by event id, unpartitioned,
-- four narrow columns: the lookup reads a few granules per part (~10-20 ms a batch at 60 million rows).
--
-- The writer claims an identity here before it inserts the lineage row (services/sink/writer.py). A claim whose
-- row never landed (the store stopped between the two inserts) is confirmed against collection_lineage by its
-- primary key when its event comes again, and the row is inserted then: nothing is lost, nothing doubled.
CREATE TABLE IF NOT EXISTS {db}.event_identity
(
    event_id       UUID,
    tenant_id      LowCardinality(String),
    content_digest String,
    claimed_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (event_id, tenant_id, content_digest)
SETTINGS non_replicated_deduplication_window = 10000;
-- Every identity stored before this migration, claimed and landed.
INSERT INTO {db}.event_identity (event_id, tenant_id, content_digest)
SELECT DISTINCT event_id, tenant_id, content_digest FROM {db}.collection_lineage;
