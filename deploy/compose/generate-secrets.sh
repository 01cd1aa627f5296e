#!/usr/bin/env sh
# Generate what deploy/compose/docker-compose.yml needs and the repository never holds: the three keys
# (pseudonym, partition, quarantine) as files under secrets/, and the passwords and API token in .env.
# Existing files are kept: rerunning never rotates a key (a new pseudonym key would break every trace).
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets

random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

for key in pseudonym partition quarantine; do
    if [ ! -s "secrets/$key.key" ]; then
        random_hex > "secrets/$key.key"
        echo "secrets/$key.key generated"
    fi
done
# The containers run as uid 10001: the key files must be readable by it (secrets/ itself stays 0700 here).
chmod 0644 secrets/*.key

if [ ! -s .env ]; then
    {
        for name in CLICKHOUSE_ADMIN_PASSWORD CLICKHOUSE_MIGRATOR_PASSWORD CLICKHOUSE_STORE_PASSWORD \
            CLICKHOUSE_MONITOR_PASSWORD CLICKHOUSE_API_PASSWORD CLICKHOUSE_GRAFANA_PASSWORD \
            CLICKHOUSE_CLUSTER_SECRET GRAFANA_ADMIN_PASSWORD API_TOKEN; do
            echo "$name=$(random_hex)"
        done
    } > .env
    echo ".env generated"
fi
