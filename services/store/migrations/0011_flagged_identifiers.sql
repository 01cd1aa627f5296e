-- Kept free text the policy flags (flag_identifiers) rather than redacts: per record, the path of each flagged
-- field and the kinds of identifier it holds (comma-separated: my_number,telephone_number), never the value.
ALTER TABLE {db}.collection_lineage ADD COLUMN IF NOT EXISTS flagged_paths Array(String) DEFAULT [];
ALTER TABLE {db}.collection_lineage ADD COLUMN IF NOT EXISTS flagged_identifiers Array(String) DEFAULT [];
