#!/usr/bin/env bash
# Start the PostgreSQL cluster that Debian's postgresql package provides and create the role
# and database meta-agent's tests use. Prints the URL for META_AGENT_TEST_PG_URL on stdout.
#
#   export META_AGENT_TEST_PG_URL=$(scripts/pg-test-setup.sh)
#
# Idempotent. The cluster refuses initdb as root and TCP auth needs a password, so this runs
# the server as the postgres user (pg_ctlcluster does that) and creates a password role.
set -euo pipefail

PG_ROLE=${PG_ROLE:-meta_agent}
PG_PASSWORD=${PG_PASSWORD:-meta_agent}
PG_DB=${PG_DB:-meta_agent_test}

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "pg-test-setup: PostgreSQL server is not installed (apt-get install postgresql)" >&2
  exit 1
fi

read -r ver cluster port status _ < <(pg_lsclusters -h | sort -k1,1nr | head -n 1) || true
if [ -z "${ver:-}" ]; then
  ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  pg_createcluster "$ver" main >/dev/null
  read -r ver cluster port status _ < <(pg_lsclusters -h | sort -k1,1nr | head -n 1)
fi
if [ "$status" != "online" ]; then
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start >&2
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "pg-test-setup: server on port $port did not become ready" >&2; exit 1; }

as_postgres() { runuser -u postgres -- "$@" 2>/dev/null || su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres <<SQL >&2
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_ROLE}') THEN
    CREATE ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}' CREATEDB;
  ELSE
    ALTER ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}' CREATEDB;
  END IF;
END
\$\$;
SQL
if ! as_postgres psql -p "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='${PG_DB}'" | grep -q 1; then
  as_postgres createdb -p "$port" -O "$PG_ROLE" "$PG_DB" >&2
fi
echo "postgresql+psycopg://${PG_ROLE}:${PG_PASSWORD}@127.0.0.1:${port}/${PG_DB}"
