"""Tables of agent operations — metrics, data quality, SLA (issue 3).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch (``0002_ops_metrics``, label ``ops_metrics``).

Every table is keyed by the UTC ``day`` it describes, so an asset re-materializing a day
deletes that day's rows and inserts the new ones in one transaction (idempotent).
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

SLA_STATUSES = ("ok", "warn", "breach")

# One row per (day, execution, failed expectation): the executions the quality suite kept
# out of the metrics, and why.
execution_rejections = sa.Table(
    "execution_rejections",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("expectation", sa.String(128), primary_key=True),
    sa.Column("agent_id", sa.String(128)),
    sa.Column("detail", sa.Text),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)

# One row per day: the suite's outcome (per-expectation counts and examples in ``results``).
data_quality_results = sa.Table(
    "data_quality_results",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("rows_checked", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("results", JSONDoc),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)

# One row per (day, agent): the day's metrics over the executions that passed the suite.
daily_agent_metrics = sa.Table(
    "daily_agent_metrics",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("executions", sa.Integer, nullable=False),
    sa.Column("successes", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("timeouts", sa.Integer, nullable=False),
    sa.Column("cancelled", sa.Integer, nullable=False),
    sa.Column("success_rate", sa.Float),
    sa.Column("latency_p50_ms", sa.Float),
    sa.Column("latency_p95_ms", sa.Float),
    sa.Column("latency_p99_ms", sa.Float),
    sa.Column("tokens_in", sa.BigInteger, nullable=False),
    sa.Column("tokens_out", sa.BigInteger, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("cost_per_success_usd", sa.Float),
    sa.Column("human_interventions", sa.Integer, nullable=False),
    sa.Column("human_intervention_rate", sa.Float, nullable=False),
    sa.Column("error_types", JSONDoc),
    sa.Column("computed_at", UTCDateTime, nullable=False),
)

# SLA settings changed from the CLI; they override config/slas.yaml (see meta_agent.ops.sla).
# ``scope`` is an agent id or '*' for the default; a NULL limit switches the metric off.
sla_definitions = sa.Table(
    "sla_definitions",
    metadata,
    sa.Column("scope", sa.String(128), primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("limit_value", sa.Float),
    sa.Column("note", sa.Text),
    sa.Column("updated_by", sa.String(128)),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per (day, agent, metric): the SLA budget evaluation. The alerts sensor reads the
# warn/breach rows (keep the name and these columns).
sla_evaluations = sa.Table(
    "sla_evaluations",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("actual", sa.Float, nullable=False),
    sa.Column("limit_value", sa.Float, nullable=False),
    sa.Column("consumed", sa.Float, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("limit_source", sa.String(32)),
    sa.Column("attribution", JSONDoc),
    sa.Column("evaluated_at", UTCDateTime, nullable=False),
    sa.Index("ix_sla_evaluations_evaluated_at", "evaluated_at"),
)

# Weekly / monthly roll-ups of sla_evaluations per agent (the SLA report assets).
sla_period_reports = sa.Table(
    "sla_period_reports",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("period_start", sa.Date, primary_key=True),
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("days_evaluated", sa.Integer, nullable=False),
    sa.Column("days_ok", sa.Integer, nullable=False),
    sa.Column("days_warn", sa.Integer, nullable=False),
    sa.Column("days_breach", sa.Integer, nullable=False),
    sa.Column("breaches", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("compliance", sa.Float, nullable=False),
    sa.Column("breached_metrics", JSONDoc),
    sa.Column("computed_at", UTCDateTime, nullable=False),
)

# How far raw data has been pruned (meta_agent.ops.retention): aggregation never rewrites the
# metrics of a day whose raw executions are gone.
raw_retention = sa.Table(
    "raw_retention",
    metadata,
    sa.Column("dataset", sa.String(32), primary_key=True),
    sa.Column("pruned_before", UTCDateTime, nullable=False),
    sa.Column("executions_deleted", sa.BigInteger, nullable=False),
    sa.Column("actions_deleted", sa.BigInteger, nullable=False),
    sa.Column("pruned_at", UTCDateTime, nullable=False),
)
