#!/usr/bin/env bash
# Whole-run isolation, shown: launches isolation_probe_job and script_factory_job through
# dagster_docker.DockerRunLauncher onto Podman (PostgreSQL storage, a scratch DAGSTER_HOME)
# and prints the evidence that each run's steps executed inside its own container, as JSON.
#
#   scripts/docker-run-launcher-demo.sh [--keep]      (--keep: leave DAGSTER_HOME and the DBs)
#
# Starts what it needs: the container engine (scripts/container-engine.sh) and PostgreSQL
# (scripts/pg-test-setup.sh). See docs/isolation.md, "Per-run containers".
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER_HOST=${DOCKER_HOST:-$(scripts/container-engine.sh)}
export DOCKER_HOST
META_AGENT_TEST_PG_URL=${META_AGENT_TEST_PG_URL:-$(scripts/pg-test-setup.sh)}
export META_AGENT_TEST_PG_URL LITELLM_LOCAL_MODEL_COST_MAP=True
exec .venv/bin/python scripts/docker_run_launcher_demo.py "$@"
