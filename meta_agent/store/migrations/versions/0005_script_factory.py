"""script_factory: requests, plans, scripts, generations, runs, script library

Revision ID: 0005_script_factory
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0005_script_factory"
down_revision = "0001_foundation"
branch_labels = ("script_factory",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "script_requests",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("output_format", sa.String(8)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(512)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("metadata", JSONDoc),
        sa.PrimaryKeyConstraint("request_id", name="pk_script_requests"),
    )
    op.create_index("ix_script_requests_status", "script_requests", ["status"])
    op.create_index("ix_script_requests_submitted_at", "script_requests", ["submitted_at"])
    op.create_table(
        "script_plans",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("planner", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(32)),
        sa.Column("requirements", JSONDoc),
        sa.Column("refusal", JSONDoc),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("planned_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_script_plans"),
    )
    op.create_table(
        "scripts",
        sa.Column("script_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("template", sa.String(16), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("path", sa.String(1024)),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("validation", JSONDoc),
        sa.Column("first_request_id", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("script_id", name="pk_scripts"),
    )
    op.create_index("ix_scripts_fingerprint", "scripts", ["fingerprint"])
    op.create_table(
        "script_generations",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("script_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("reused", sa.Boolean, nullable=False),
        sa.Column("reused_from", sa.String(40)),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("generated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_script_generations"),
    )
    op.create_index("ix_script_generations_script_id", "script_generations", ["script_id"])
    op.create_table(
        "script_runs",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("script_id", sa.String(32), nullable=False),
        sa.Column("dagster_run_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("peak_memory_mb", sa.Float),
        sa.Column("runner", sa.String(64), nullable=False),
        sa.Column("isolation", sa.String(16), nullable=False),
        sa.Column("results_dir", sa.String(1024), nullable=False),
        sa.Column("params", JSONDoc),
        sa.Column("outputs", JSONDoc),
        sa.Column("result", JSONDoc),
        sa.Column("message", sa.Text),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_script_runs"),
    )
    op.create_index("ix_script_runs_status", "script_runs", ["status"])
    op.create_table(
        "script_library",
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("script_id", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("shape", JSONDoc, nullable=False),
        sa.Column("first_request_id", sa.String(40), nullable=False),
        sa.Column("successes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reuses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_script_library"),
    )


def downgrade() -> None:
    op.drop_table("script_library")
    op.drop_index("ix_script_runs_status", table_name="script_runs")
    op.drop_table("script_runs")
    op.drop_index("ix_script_generations_script_id", table_name="script_generations")
    op.drop_table("script_generations")
    op.drop_index("ix_scripts_fingerprint", table_name="scripts")
    op.drop_table("scripts")
    op.drop_table("script_plans")
    op.drop_index("ix_script_requests_submitted_at", table_name="script_requests")
    op.drop_index("ix_script_requests_status", table_name="script_requests")
    op.drop_table("script_requests")
