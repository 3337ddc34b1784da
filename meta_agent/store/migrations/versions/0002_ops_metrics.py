"""ops metrics: data quality, daily agent metrics, SLA definitions, evaluations, reports, retention

Revision ID: 0002_ops_metrics
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0002_ops_metrics"
down_revision = "0001_foundation"
branch_labels = ("ops_metrics",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_rejections",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("expectation", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(128)),
        sa.Column("detail", sa.Text),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", "execution_id", "expectation", name="pk_execution_rejections"),
    )
    op.create_table(
        "data_quality_results",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("rows_checked", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("results", JSONDoc),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_data_quality_results"),
    )
    op.create_table(
        "daily_agent_metrics",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("executions", sa.Integer, nullable=False),
        sa.Column("successes", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("timeouts", sa.Integer, nullable=False),
        sa.Column("cancelled", sa.Integer, nullable=False),
        sa.Column("success_rate", sa.Float),
        sa.Column("latency_p50_ms", sa.Float),
        sa.Column("latency_p95_ms", sa.Float),
        sa.Column("latency_p99_ms", sa.Float),
        sa.Column("tokens_in", sa.BigInteger, nullable=False),
        sa.Column("tokens_out", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("cost_per_success_usd", sa.Float),
        sa.Column("human_interventions", sa.Integer, nullable=False),
        sa.Column("human_intervention_rate", sa.Float, nullable=False),
        sa.Column("error_types", JSONDoc),
        sa.Column("computed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", "agent_id", name="pk_daily_agent_metrics"),
    )
    op.create_table(
        "sla_definitions",
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("limit_value", sa.Float),
        sa.Column("note", sa.Text),
        sa.Column("updated_by", sa.String(128)),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("scope", "metric", name="pk_sla_definitions"),
    )
    op.create_table(
        "sla_evaluations",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("actual", sa.Float, nullable=False),
        sa.Column("limit_value", sa.Float, nullable=False),
        sa.Column("consumed", sa.Float, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("limit_source", sa.String(32)),
        sa.Column("attribution", JSONDoc),
        sa.Column("evaluated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", "agent_id", "metric", name="pk_sla_evaluations"),
    )
    op.create_index("ix_sla_evaluations_evaluated_at", "sla_evaluations", ["evaluated_at"])
    op.create_table(
        "sla_period_reports",
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("days_evaluated", sa.Integer, nullable=False),
        sa.Column("days_ok", sa.Integer, nullable=False),
        sa.Column("days_warn", sa.Integer, nullable=False),
        sa.Column("days_breach", sa.Integer, nullable=False),
        sa.Column("breaches", sa.Integer, nullable=False),
        sa.Column("warnings", sa.Integer, nullable=False),
        sa.Column("compliance", sa.Float, nullable=False),
        sa.Column("breached_metrics", JSONDoc),
        sa.Column("computed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("period", "period_start", "agent_id", name="pk_sla_period_reports"),
    )
    op.create_table(
        "raw_retention",
        sa.Column("dataset", sa.String(32), nullable=False),
        sa.Column("pruned_before", UTCDateTime, nullable=False),
        sa.Column("executions_deleted", sa.BigInteger, nullable=False),
        sa.Column("actions_deleted", sa.BigInteger, nullable=False),
        sa.Column("pruned_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("dataset", name="pk_raw_retention"),
    )


def downgrade() -> None:
    op.drop_table("raw_retention")
    op.drop_table("sla_period_reports")
    op.drop_index("ix_sla_evaluations_evaluated_at", table_name="sla_evaluations")
    op.drop_table("sla_evaluations")
    op.drop_table("sla_definitions")
    op.drop_table("daily_agent_metrics")
    op.drop_table("data_quality_results")
    op.drop_table("execution_rejections")
