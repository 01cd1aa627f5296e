-- 0001 already indexes event_id with a bloom filter (idx_event_id); 0007 added a second, identical one. Every
-- insert built both, and the identity lookup needs one.
ALTER TABLE {db}.collection_lineage DROP INDEX IF EXISTS event_id_bloom;
