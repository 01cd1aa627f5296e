#!/usr/bin/env bash
# One ClickHouse user per purpose-lineage role, each with its role from roles.sql (run that file first).
# Passwords come from the environment at run time, never from a file in the image or the repository; a user
# whose password variable is unset is not created. In the ClickHouse image, mount this file and roles.sql under
# /docker-entrypoint-initdb.d/ (run once, on an empty data directory, as CLICKHOUSE_USER with
# CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1); elsewhere run it with CLICKHOUSE_HOST and an admin's credentials.
#
#   user               role               password variable                used by
#   lineage_migrator   lineage_migrator   CLICKHOUSE_MIGRATOR_PASSWORD     purpose-lineage init
#   lineage_store      lineage_store      CLICKHOUSE_STORE_PASSWORD        purpose-lineage run store
#   lineage_monitor    lineage_monitor    CLICKHOUSE_MONITOR_PASSWORD      purpose-lineage run monitor
#   lineage_api        lineage_reader     CLICKHOUSE_API_PASSWORD          purpose-lineage run api
#   grafana_readonly   lineage_reader     CLICKHOUSE_GRAFANA_PASSWORD      Grafana's ClickHouse data source
set -euo pipefail

client=(clickhouse client --host "${CLICKHOUSE_HOST:-localhost}" --user "${CLICKHOUSE_USER:-default}")
if [ -n "${CLICKHOUSE_PASSWORD:-}" ]; then
    client+=(--password "$CLICKHOUSE_PASSWORD")
fi

create_user() {
    local user=$1 role=$2 variable=$3
    local password=${!variable:-}
    if [ -z "$password" ]; then
        echo "create-users: $variable unset: user $user not created" >&2
        return 0
    fi
    # The password travels inside a quoted SQL literal: refuse characters that could end it.
    if [[ ! $password =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]]; then
        echo "create-users: $variable must be at least 16 characters of [A-Za-z0-9._~+/=-]" >&2
        return 1
    fi
    "${client[@]}" --query "CREATE USER IF NOT EXISTS $user IDENTIFIED WITH sha256_password BY '$password' DEFAULT ROLE $role"
    "${client[@]}" --query "GRANT $role TO $user"
    echo "create-users: $user ($role)" >&2
}

create_user lineage_migrator lineage_migrator CLICKHOUSE_MIGRATOR_PASSWORD
create_user lineage_store lineage_store CLICKHOUSE_STORE_PASSWORD
create_user lineage_monitor lineage_monitor CLICKHOUSE_MONITOR_PASSWORD
create_user lineage_api lineage_reader CLICKHOUSE_API_PASSWORD
create_user grafana_readonly lineage_reader CLICKHOUSE_GRAFANA_PASSWORD
