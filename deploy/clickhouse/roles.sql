-- Least-privilege roles for purpose-lineage on a ClickHouse server (run as an access-management admin).
-- Roles and grants only: no user, no password here. deploy/clickhouse/create-users.sh creates the users from
-- passwords in its environment and gives each one role. The database is `lineage` (LINEAGE_CLICKHOUSE_DATABASE);
-- with another name, replace `lineage.` below. Grants name tables that may not exist yet, which ClickHouse allows.
-- With LINEAGE_CLICKHOUSE_CLUSTER, each table is a Distributed table in front of `<table>_local`: both are
-- granted. On a cluster without replicated access storage, run this file on every server (or add ON CLUSTER).
--
-- Who reads and writes what (services/sink/writer.py, services/processors/monitor.py, services/store/):
--   collect   no ClickHouse access at all (Kafka in, Kafka out): it has no role here.
--   store     INSERT event_identity, collection_lineage, dead_letters, redeliveries; SELECT event_identity
--             (claimed identities: tenant, event id, content digest), collection_lineage (whether a claimed
--             identity's row landed, by primary key), dead_letters (the progress log line).
--   monitor   INSERT event_identity (activity events' identities), activity_decisions, violations, provision_records,
--             monitor_state, alerts, and dead_letters (a row the store refuses is dead-lettered at its message's
--             coordinates); SELECT event_identity (claimed identities), monitor_state
--             (state below the resume offset), alerts (open windows), violations (window summaries),
--             collection_lineage and dead_letters (the progress log line).
--   reader    SELECT on the database: the API (dashboard, reports, trace, read-only queries) and Grafana.
--   migrator  `purpose-lineage init`: creates the database and tables and applies migrations (ON CLUSTER).
-- Every role that starts a store reads schema_migrations: with every migration applied, it runs no DDL.

CREATE ROLE IF NOT EXISTS lineage_store;
CREATE ROLE IF NOT EXISTS lineage_monitor;
CREATE ROLE IF NOT EXISTS lineage_reader;
CREATE ROLE IF NOT EXISTS lineage_migrator;

-- Inserts into a Distributed table are forwarded to the shards before the insert returns, so that the offsets
-- committed after it are committed after the rows are on a replica (and the batch's deduplication token travels
-- with them). Harmless on a single node.
CREATE SETTINGS PROFILE IF NOT EXISTS lineage_writer SETTINGS distributed_foreground_insert = 1 TO lineage_store, lineage_monitor;

GRANT SELECT ON lineage.schema_migrations TO lineage_store;
GRANT INSERT, SELECT ON lineage.event_identity TO lineage_store;
GRANT INSERT, SELECT ON lineage.event_identity_local TO lineage_store;
GRANT INSERT, SELECT ON lineage.collection_lineage TO lineage_store;
GRANT INSERT, SELECT ON lineage.collection_lineage_local TO lineage_store;
GRANT INSERT, SELECT ON lineage.dead_letters TO lineage_store;
GRANT INSERT, SELECT ON lineage.dead_letters_local TO lineage_store;
GRANT INSERT ON lineage.redeliveries TO lineage_store;
GRANT INSERT ON lineage.redeliveries_local TO lineage_store;

GRANT SELECT ON lineage.schema_migrations TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.event_identity TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.event_identity_local TO lineage_monitor;
GRANT INSERT ON lineage.activity_decisions TO lineage_monitor;
GRANT INSERT ON lineage.activity_decisions_local TO lineage_monitor;
GRANT INSERT ON lineage.provision_records TO lineage_monitor;
GRANT INSERT ON lineage.provision_records_local TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.violations TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.violations_local TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.monitor_state TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.monitor_state_local TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.alerts TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.alerts_local TO lineage_monitor;
GRANT SELECT ON lineage.collection_lineage TO lineage_monitor;
GRANT SELECT ON lineage.collection_lineage_local TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.dead_letters TO lineage_monitor;
GRANT INSERT, SELECT ON lineage.dead_letters_local TO lineage_monitor;

GRANT SELECT ON lineage.* TO lineage_reader;

GRANT CREATE DATABASE, CREATE TABLE, ALTER TABLE, SELECT, INSERT ON lineage.* TO lineage_migrator;
GRANT CLUSTER ON *.* TO lineage_migrator;
