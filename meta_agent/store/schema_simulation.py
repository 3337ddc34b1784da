"""Tables of scenario simulation — scenarios and scenario runs (issue 10).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch (``0008_simulation``, label ``simulation``).

``scenarios`` holds every scenario the ``scenarios`` partitions know: the ones synced from
``scenarios/*.yaml`` (``source`` = the file) and the ones added with ``meta-agent simulate
scenarios add`` (``source`` = ``cli``), each with its validated document. ``scenario_runs``
has one row per request × scenario — the ``scenario_run`` asset's partition rewrites its row —
with the drivers it ran under, the figures its script produced, the expected-outcome verdict,
and the Monte Carlo, sensitivity and repeat statistics.
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

SCENARIO_SOURCES = ("file", "cli")
SCENARIO_RUN_STATUSES = ("succeeded", "failed", "refused", "no_data")

scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("scenario_key", sa.String(64), primary_key=True),  # the partition key
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.String(16), nullable=False),  # file | cli
    sa.Column("source_ref", sa.String(1024)),  # the file's path
    sa.Column("document", JSONDoc, nullable=False),  # {"scenario": {...}}, validated
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

scenario_runs = sa.Table(
    "scenario_runs",
    metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("scenario_key", sa.String(64), primary_key=True),
    sa.Column("scenario_hash", sa.String(64), nullable=False),  # the document it ran with
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("drivers", JSONDoc, nullable=False),
    sa.Column("world", sa.Text),  # the scenario world (a SQLite file under the artifacts)
    sa.Column("results_dir", sa.Text),
    sa.Column("result", JSONDoc),  # values, portfolio, expected outcome, monte carlo, tornado, repeat
    sa.Column("dagster_run_id", sa.String(64)),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
    sa.Index("ix_scenario_runs_scenario_key", "scenario_key"),
)
