"""sandbox: script runs and their artifacts

Revision ID: 0006_sandbox
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0006_sandbox"
down_revision = "0001_foundation"
branch_labels = ("sandbox",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_runs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("script_sha256", sa.String(64), nullable=False),
        sa.Column("runner", sa.String(64), nullable=False),
        sa.Column("isolation", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("peak_memory_mb", sa.Float),
        sa.Column("limits", JSONDoc),
        sa.Column("result_json", JSONDoc),
        sa.Column("figures", JSONDoc),
        sa.Column("details", JSONDoc),
        sa.Column("results_dir", sa.Text, nullable=False),
        sa.Column("stdout_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("stderr_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("stderr_tail", sa.Text),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_sandbox_runs"),
    )
    op.create_index("ix_sandbox_runs_request_id", "sandbox_runs", ["request_id"])
    op.create_index("ix_sandbox_runs_started_at", "sandbox_runs", ["started_at"])
    op.create_table(
        "sandbox_artifacts",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("artifact_path", sa.Text, nullable=False),
        sa.Column("preview_md", sa.Text),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sandbox_runs.run_id"], ondelete="CASCADE",
                                name="fk_sandbox_artifacts_run_id_sandbox_runs"),
        sa.PrimaryKeyConstraint("run_id", "path", name="pk_sandbox_artifacts"),
    )


def downgrade() -> None:
    op.drop_table("sandbox_artifacts")
    op.drop_index("ix_sandbox_runs_started_at", table_name="sandbox_runs")
    op.drop_index("ix_sandbox_runs_request_id", table_name="sandbox_runs")
    op.drop_table("sandbox_runs")
