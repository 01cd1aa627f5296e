-- Art. 4.2: the record of every provision of personal data to a third party with consent: the fact of consent,
-- the third party's name and address (or representative), information identifying the person (its pseudonym)
-- and the items provided. Kept three years (Art. 4.2; policy third_party_provision.record_retention_years).
CREATE TABLE IF NOT EXISTS {db}.provision_records
(
    event_id                            UUID,
    tenant_id                           LowCardinality(String),
    provided_at                         DateTime64(3, 'UTC'),
    consent_obtained                    Bool,
    consent_reference                   String,
    recipient_id                        LowCardinality(String),
    recipient_name                      String,
    recipient_address_or_representative String,
    subject_pseudonym                   FixedString(64),
    data_items                          Array(LowCardinality(String)),
    purpose                             LowCardinality(String),
    actor                               LowCardinality(String),
    policy_version                      LowCardinality(Nullable(String)),
    recorded_at                         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(recorded_at)
PARTITION BY toYear(provided_at)
ORDER BY (tenant_id, provided_at, event_id)
TTL toDateTime(provided_at) + INTERVAL 3 YEAR;
