"""foundation: agents, executions, actions, quarantine

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0001_foundation"
down_revision = None
branch_labels = ("foundation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(256)),
        sa.Column("owner", sa.String(128)),
        sa.Column("team", sa.String(128)),
        sa.Column("description", sa.Text),
        sa.Column("first_seen_at", UTCDateTime),
        sa.Column("last_seen_at", UTCDateTime),
        sa.Column("registered_at", UTCDateTime, nullable=False),
        sa.Column("metadata", JSONDoc),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agents"),
    )
    op.create_table(
        "executions",
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("model", sa.String(128)),
        sa.Column("prompt_version", sa.String(64)),
        sa.Column("variant", sa.String(64)),
        sa.Column("tokens_in", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tokens_out", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("error_type", sa.String(128)),
        sa.Column("error_message", sa.Text),
        sa.Column("human_intervention", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("metadata", JSONDoc),
        sa.Column("source", sa.String(32), nullable=False, server_default="sdk"),
        sa.Column("ingested_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", name="pk_executions"),
    )
    op.create_index("ix_executions_started_at", "executions", ["started_at"])
    op.create_index("ix_executions_agent_started", "executions", ["agent_id", "started_at"])
    op.create_table(
        "actions",
        sa.Column("execution_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action_type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="success"),
        sa.Column("model", sa.String(128)),
        sa.Column("tokens_in", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tokens_out", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("error_type", sa.String(128)),
        sa.Column("error_message", sa.Text),
        sa.Column("metadata", JSONDoc),
        sa.PrimaryKeyConstraint("execution_id", "seq", name="pk_actions"),
    )
    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("execution_id", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("quarantined_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("quarantine_id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_quarantined_at", "quarantine", ["quarantined_at"])


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_table("actions")
    op.drop_index("ix_executions_agent_started", table_name="executions")
    op.drop_index("ix_executions_started_at", table_name="executions")
    op.drop_table("executions")
    op.drop_table("agents")
