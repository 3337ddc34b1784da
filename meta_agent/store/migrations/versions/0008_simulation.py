"""simulation: scenarios and scenario runs

Revision ID: 0008_simulation
Revises: 0001_foundation
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0008_simulation"
down_revision = "0001_foundation"
branch_labels = ("simulation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("scenario_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(1024)),
        sa.Column("document", JSONDoc, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("scenario_key", name="pk_scenarios"),
    )
    op.create_table(
        "scenario_runs",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("scenario_key", sa.String(64), nullable=False),
        sa.Column("scenario_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("drivers", JSONDoc, nullable=False),
        sa.Column("world", sa.Text),
        sa.Column("results_dir", sa.Text),
        sa.Column("result", JSONDoc),
        sa.Column("dagster_run_id", sa.String(64)),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("request_id", "scenario_key", name="pk_scenario_runs"),
    )
    op.create_index("ix_scenario_runs_scenario_key", "scenario_runs", ["scenario_key"])


def downgrade() -> None:
    op.drop_index("ix_scenario_runs_scenario_key", table_name="scenario_runs")
    op.drop_table("scenario_runs")
    op.drop_table("scenarios")
