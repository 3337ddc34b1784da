"""improvement: prompt registry, proposals and their audit trail, knowledge base

Revision ID: 0010_improvement
Revises: 0001_foundation
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0010_improvement"
down_revision = "0001_foundation"
branch_labels = ("improvement",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_versions",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("variables", JSONDoc, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("parent_version", sa.String(64)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("proposal_id", sa.String(64)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "name", "version", name="pk_prompt_versions"),
    )
    op.create_table(
        "prompt_labels",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("previous_version", sa.String(64)),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "name", "label", name="pk_prompt_labels"),
    )
    op.create_table(
        "prompt_label_events",
        sa.Column("event_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("from_version", sa.String(64)),
        sa.Column("to_version", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("proposal_id", sa.String(64)),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_prompt_label_events"),
    )
    op.create_index("ix_prompt_label_events_prompt", "prompt_label_events", ["agent_id", "name", "at"])
    op.create_table(
        "improvement_proposals",
        sa.Column("proposal_id", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.String(128)),
        sa.Column("agents", JSONDoc, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("change", JSONDoc, nullable=False),
        sa.Column("diff", sa.Text),
        sa.Column("expected", JSONDoc, nullable=False),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("blast_radius", JSONDoc, nullable=False),
        sa.Column("rollback_plan", sa.Text, nullable=False),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("evidence", JSONDoc, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("first_seen_day", sa.Date, nullable=False),
        sa.Column("last_seen_day", sa.Date, nullable=False),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("applied", JSONDoc),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", name="pk_improvement_proposals"),
        sa.UniqueConstraint("dedup_key", name="uq_improvement_proposals_dedup_key"),
    )
    op.create_index("ix_improvement_proposals_agent", "improvement_proposals", ["agent_id"])
    op.create_index("ix_improvement_proposals_state", "improvement_proposals", ["state"])
    op.create_table(
        "proposal_events",
        sa.Column("event_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", JSONDoc),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_proposal_events"),
    )
    op.create_index("ix_proposal_events_proposal", "proposal_events", ["proposal_id", "at"])
    op.create_table(
        "learnings",
        sa.Column("learning_id", sa.String(64), nullable=False),
        sa.Column("learning_key", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(128)),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("effect", sa.Float, nullable=False),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("confirmations", sa.Integer, nullable=False),
        sa.Column("contradictions", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_signature", sa.Text),
        sa.Column("evidence", JSONDoc, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("last_evidence_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("learning_id", name="pk_learnings"),
        sa.UniqueConstraint("learning_key", name="uq_learnings_learning_key"),
    )
    op.create_index("ix_learnings_status", "learnings", ["status"])
    op.create_table(
        "learning_events",
        sa.Column("event_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("learning_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("effect", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("confidence_before", sa.Float),
        sa.Column("confidence_after", sa.Float, nullable=False),
        sa.Column("source", sa.String(128)),
        sa.Column("details", JSONDoc),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_learning_events"),
    )
    op.create_index("ix_learning_events_learning", "learning_events", ["learning_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_learning_events_learning", table_name="learning_events")
    op.drop_table("learning_events")
    op.drop_index("ix_learnings_status", table_name="learnings")
    op.drop_table("learnings")
    op.drop_index("ix_proposal_events_proposal", table_name="proposal_events")
    op.drop_table("proposal_events")
    op.drop_index("ix_improvement_proposals_state", table_name="improvement_proposals")
    op.drop_index("ix_improvement_proposals_agent", table_name="improvement_proposals")
    op.drop_table("improvement_proposals")
    op.drop_index("ix_prompt_label_events_prompt", table_name="prompt_label_events")
    op.drop_table("prompt_label_events")
    op.drop_table("prompt_labels")
    op.drop_table("prompt_versions")
