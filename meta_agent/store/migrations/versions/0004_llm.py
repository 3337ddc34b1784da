"""llm: one row per LLM gateway call (tokens, cost, deployment, fallbacks, JSON repair attempts)

Revision ID: 0004_llm
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0004_llm"
down_revision = "0001_foundation"
branch_labels = ("llm",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_calls",
        sa.Column("call_id", sa.String(40), nullable=False),
        sa.Column("group_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64)),
        sa.Column("model_group", sa.String(128), nullable=False),
        sa.Column("deployment", sa.String(128)),
        sa.Column("model", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fallback_used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("tokens_in", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tokens_out", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("cost_source", sa.String(16), nullable=False, server_default="unpriced"),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("error_type", sa.String(128)),
        sa.Column("error_message", sa.Text),
        sa.Column("metadata", JSONDoc),
        sa.PrimaryKeyConstraint("call_id", name="pk_llm_calls"),
    )
    op.create_index("ix_llm_calls_created_at", "llm_calls", ["created_at"])
    op.create_index("ix_llm_calls_group_id", "llm_calls", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_llm_calls_group_id", table_name="llm_calls")
    op.drop_index("ix_llm_calls_created_at", table_name="llm_calls")
    op.drop_table("llm_calls")
