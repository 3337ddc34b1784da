"""evaluation: execution scores, failure embeddings, clusters, root-cause findings, reports

Revision ID: 0009_evaluation
Revises: 0001_foundation
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import Float32Vector, JSONDoc, UTCDateTime

revision = "0009_evaluation"
down_revision = "0001_foundation"
branch_labels = ("evaluation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_scores",
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(128)),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("scored_at", UTCDateTime, nullable=False),
        sa.Column("ingested_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "name", "source", name="pk_execution_scores"),
    )
    op.create_index("ix_execution_scores_scored_at", "execution_scores", ["scored_at"])
    op.create_table(
        "failure_embeddings",
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128)),
        sa.Column("prompt_version", sa.String(64)),
        sa.Column("error_type", sa.String(128)),
        sa.Column("failing_action", sa.String(300)),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("embedding_model", sa.String(128), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", Float32Vector, nullable=False),
        sa.Column("embedded_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", name="pk_failure_embeddings"),
    )
    op.create_index("ix_failure_embeddings_started_at", "failure_embeddings", ["started_at"])
    op.create_index("ix_failure_embeddings_agent_started", "failure_embeddings", ["agent_id", "started_at"])
    op.create_table(
        "failure_clusters",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("cluster_key", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("agents", JSONDoc, nullable=False),
        sa.Column("error_types", JSONDoc, nullable=False),
        sa.Column("top_terms", JSONDoc, nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("trend", sa.String(16), nullable=False),
        sa.Column("daily_counts", JSONDoc, nullable=False),
        sa.Column("sample_execution_ids", JSONDoc, nullable=False),
        sa.Column("window_start", sa.Date, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", "cluster_key", name="pk_failure_clusters"),
    )
    op.create_table(
        "failure_cluster_members",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("cluster_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("day", "execution_id", name="pk_failure_cluster_members"),
    )
    op.create_index("ix_failure_cluster_members_day_cluster", "failure_cluster_members", ["day", "cluster_key"])
    op.create_table(
        "root_cause_findings",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("finding_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.String(128)),
        sa.Column("agents", JSONDoc, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("metric", sa.String(64)),
        sa.Column("before", sa.Float),
        sa.Column("after", sa.Float),
        sa.Column("started_at", UTCDateTime),
        sa.Column("first_bad_execution_id", sa.String(64)),
        sa.Column("cluster_key", sa.String(64)),
        sa.Column("evidence", JSONDoc, nullable=False),
        sa.Column("recurrence", sa.String(16), nullable=False),
        sa.Column("first_seen_day", sa.Date, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", "finding_id", name="pk_root_cause_findings"),
    )
    op.create_index("ix_root_cause_findings_finding_id", "root_cause_findings", ["finding_id"])
    op.create_table(
        "evaluation_reports",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("overall", sa.Float),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("scores", JSONDoc, nullable=False),
        sa.Column("report", JSONDoc, nullable=False),
        sa.Column("markdown", sa.Text, nullable=False),
        sa.Column("html_path", sa.Text),
        sa.Column("narrative_source", sa.String(32), nullable=False),
        sa.Column("dagster_run_id", sa.String(64)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "period_start", "period_end", "version", name="pk_evaluation_reports"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_reports")
    op.drop_index("ix_root_cause_findings_finding_id", table_name="root_cause_findings")
    op.drop_table("root_cause_findings")
    op.drop_index("ix_failure_cluster_members_day_cluster", table_name="failure_cluster_members")
    op.drop_table("failure_cluster_members")
    op.drop_table("failure_clusters")
    op.drop_index("ix_failure_embeddings_agent_started", table_name="failure_embeddings")
    op.drop_index("ix_failure_embeddings_started_at", table_name="failure_embeddings")
    op.drop_table("failure_embeddings")
    op.drop_index("ix_execution_scores_scored_at", table_name="execution_scores")
    op.drop_table("execution_scores")
