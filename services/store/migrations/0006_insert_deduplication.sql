-- A retried insert of the same batch (same deduplication token: the batch's topic, partition and offset
-- ranges) leaves no second physical copy. Replicated tables deduplicate by default; these are not, so the
-- window of remembered blocks is switched on (ClickHouse's default for non-replicated tables is 0: off).
ALTER TABLE {db}.collection_lineage MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.dead_letters MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.activity_decisions MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.violations MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.provision_records MODIFY SETTING non_replicated_deduplication_window = 10000;
