-- Why each field was removed: not_allowed (outside the kind's allow-list) or excluded_content (message
-- subjects and texts, attachment contents, encoded content; Art. 2.1(2)). Parallel to removed_paths.
ALTER TABLE {db}.collection_lineage ADD COLUMN IF NOT EXISTS removed_reasons Array(LowCardinality(String)) AFTER removed_sizes;
