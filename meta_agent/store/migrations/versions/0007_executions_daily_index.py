"""executions: the (agent_id, started_at) index covers the daily reads

Revision ID: 0007_executions_daily_index
Revises: 0001_foundation
Create Date: 2026-12-01

``ix_executions_agent_started (agent_id, started_at)`` becomes
``ix_executions_agent_day (agent_id, started_at, status, latency_ms, cost_usd, tokens_in,
tokens_out, human_intervention, error_type, model, prompt_version)``: the same leading
columns, so every lookup by agent and time still uses it, plus every column the daily
metrics and SLA attribution read, so those read the index alone — one agent after another,
in index order, without a sort or a table row (meta_agent.ops.frames.read_by_agent). It
replaces the old index instead of adding one, so an insert still updates one index per
(agent, time) key, just a wider one.

The new index is built before the old one is dropped, inside the migration's transaction;
on PostgreSQL that build blocks writes to executions for its duration (seconds per million
rows) — on a large table, create it by hand with CREATE INDEX CONCURRENTLY first (same name
and columns) and this migration only drops the old one.
"""

from alembic import op

revision = "0007_executions_daily_index"
down_revision = "0001_foundation"
branch_labels = ("executions_daily_index",)
depends_on = None

COLUMNS = ["agent_id", "started_at", "status", "latency_ms", "cost_usd", "tokens_in", "tokens_out",
           "human_intervention", "error_type", "model", "prompt_version"]


def upgrade() -> None:
    op.create_index("ix_executions_agent_day", "executions", COLUMNS, if_not_exists=True)
    op.drop_index("ix_executions_agent_started", table_name="executions")


def downgrade() -> None:
    op.create_index("ix_executions_agent_started", "executions", ["agent_id", "started_at"])
    op.drop_index("ix_executions_agent_day", table_name="executions")
