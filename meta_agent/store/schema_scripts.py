"""Tables of the script factory — requests, plans, scripts, generations, runs, library (issue 4).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch (``0005_script_factory``, label ``script_factory``).

One row per request in each per-partition table (``script_plans``, ``script_generations``,
``script_runs``): the Dagster asset for a request partition deletes and rewrites its row, so
re-runs never duplicate. ``scripts`` is content-addressed (id = hash of the source) and
append-only; ``script_library`` holds one reusable script per request *shape* (fingerprint).
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

REQUEST_SOURCES = ("cli", "drop_folder", "demo", "api", "test")
REQUEST_STATUSES = ("received", "planned", "refused", "generated", "invalid", "succeeded", "failed")

script_requests = sa.Table(
    "script_requests",
    metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("output_format", sa.String(8)),  # an explicit --format; None = what the text says
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_ref", sa.String(512)),  # the drop-folder file, the CLI user...
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message", sa.Text),  # the latest one-sentence account of the request
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("metadata", JSONDoc),
    sa.Index("ix_script_requests_status", "status"),
    sa.Index("ix_script_requests_submitted_at", "submitted_at"),
)

script_plans = sa.Table(
    "script_plans",
    metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("planner", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # planned | refused
    sa.Column("fingerprint", sa.String(32)),
    sa.Column("requirements", JSONDoc),  # ScriptRequirements
    sa.Column("refusal", JSONDoc),  # PlanRefusal
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("planned_at", UTCDateTime, nullable=False),
)

scripts = sa.Table(
    "scripts",
    metadata,
    sa.Column("script_id", sa.String(32), primary_key=True),  # sha256 of the source, 24 hex
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("template", sa.String(16), nullable=False),
    sa.Column("author", sa.String(16), nullable=False),  # template | llm
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("path", sa.String(1024)),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("validation", JSONDoc),
    sa.Column("first_request_id", sa.String(40), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_scripts_fingerprint", "fingerprint"),
)

script_generations = sa.Table(
    "script_generations",
    metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("script_id", sa.String(32), nullable=False),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("reused", sa.Boolean, nullable=False),
    sa.Column("reused_from", sa.String(40)),  # the request whose script was reused
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("generated_at", UTCDateTime, nullable=False),
    sa.Index("ix_script_generations_script_id", "script_id"),
)

script_runs = sa.Table(
    "script_runs",
    metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("script_id", sa.String(32), nullable=False),
    sa.Column("dagster_run_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),  # RunResult.status
    sa.Column("exit_code", sa.Integer),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("peak_memory_mb", sa.Float),
    sa.Column("runner", sa.String(64), nullable=False),
    sa.Column("isolation", sa.String(16), nullable=False),
    sa.Column("results_dir", sa.String(1024), nullable=False),
    sa.Column("params", JSONDoc),
    sa.Column("outputs", JSONDoc),  # [{path, size_bytes, format}]
    sa.Column("result", JSONDoc),  # the script's result.json
    sa.Column("message", sa.Text),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Index("ix_script_runs_status", "status"),
)

script_library = sa.Table(
    "script_library",
    metadata,
    sa.Column("fingerprint", sa.String(32), primary_key=True),
    sa.Column("script_id", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("shape", JSONDoc, nullable=False),
    sa.Column("first_request_id", sa.String(40), nullable=False),
    sa.Column("successes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reuses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=False),
)
