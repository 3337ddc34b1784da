"""Tables of isolated execution — sandbox runs and artifacts (issue 5).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch (``0006_sandbox``, label ``sandbox``).

``sandbox_runs`` has one row per script run (container or local runner: ``isolation`` says
which kind); ``sandbox_artifacts`` one row per file the run wrote, kept under
``META_AGENT_ARTIFACTS`` at ``artifact_path``. A run is keyed by its ``run_id``; recording it
again replaces its rows (idempotent).
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

RUN_STATUSES = ("succeeded", "failed", "timeout", "out_of_memory", "error")

sandbox_runs = sa.Table(
    "sandbox_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("request_id", sa.String(64)),  # the script-factory request, when there is one
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
    sa.Index("ix_sandbox_runs_request_id", "request_id"),
    sa.Index("ix_sandbox_runs_started_at", "started_at"),
)

sandbox_artifacts = sa.Table(
    "sandbox_artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("sandbox_runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("path", sa.String(512), primary_key=True),  # relative to the run's results dir
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("artifact_path", sa.Text, nullable=False),  # absolute, under META_AGENT_ARTIFACTS
    sa.Column("preview_md", sa.Text),  # markdown table of the first rows (csv/xlsx)
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)
