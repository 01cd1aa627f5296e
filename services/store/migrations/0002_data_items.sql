-- The policy's data items (category.item) each lineage record holds, so that later uses can be checked
-- item by item (Art. 3.1 allows some purposes only some items of a category).
ALTER TABLE {db}.collection_lineage ADD COLUMN IF NOT EXISTS data_items Array(LowCardinality(String)) AFTER data_categories;
