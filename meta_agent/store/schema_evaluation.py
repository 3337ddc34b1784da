"""Tables of evaluation (issue 11): execution scores, failure embeddings, failure clusters,
root-cause findings and evaluation reports.

Declared on the shared ``metadata`` (see schema.py); created by this capability's own Alembic
migration branch (``0009_evaluation``, label ``evaluation``).

- ``execution_scores``: one row per execution × score name × source (``human``,
  ``llm_judge``, ``check``) — the idempotency key; a later write of the same key replaces
  the value (a reviewer correcting a score), it never adds a second row.
- ``failure_embeddings``: one vector per failed execution, of its failure *signature* (error
  type, message with numbers and ids masked, failing action); agent, model and prompt version
  are columns beside it, not inside it, so one provider outage across agents is one cluster.
- ``failure_clusters`` / ``failure_cluster_members``: the clusters of the rolling window that
  ends on a day (the daily partition rewrites its rows).
- ``root_cause_findings``: the findings of a day's window, each with its evidence.
- ``evaluation_reports``: every report ever built, versioned per agent and period.
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import Float32Vector, JSONDoc, UTCDateTime

SCORE_SOURCES = ("human", "llm_judge", "check")
FINDING_CATEGORIES = ("prompt", "tool", "context", "external", "unknown")
CLUSTER_TRENDS = ("new", "growing", "recurring", "resolved")

execution_scores = sa.Table(
    "execution_scores",
    metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(16), primary_key=True),  # human | llm_judge | check
    sa.Column("agent_id", sa.String(128)),  # when known at write time (the SDK, the judge)
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("scored_at", UTCDateTime, nullable=False),
    sa.Column("ingested_at", UTCDateTime, nullable=False),
    sa.Index("ix_execution_scores_scored_at", "scored_at"),
)

failure_embeddings = sa.Table(
    "failure_embeddings",
    metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(128), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("model", sa.String(128)),
    sa.Column("prompt_version", sa.String(64)),
    sa.Column("error_type", sa.String(128)),
    sa.Column("failing_action", sa.String(300)),  # "tool_call:fetch_diff"
    sa.Column("signature", sa.Text, nullable=False),  # the text that was embedded
    sa.Column("embedding_model", sa.String(128), nullable=False),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", Float32Vector, nullable=False),
    sa.Column("embedded_at", UTCDateTime, nullable=False),
    sa.Index("ix_failure_embeddings_started_at", "started_at"),
    sa.Index("ix_failure_embeddings_agent_started", "agent_id", "started_at"),
)

failure_clusters = sa.Table(
    "failure_clusters",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),  # the window's last day (the partition)
    sa.Column("cluster_key", sa.String(64), primary_key=True),  # stable across days
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("agents", JSONDoc, nullable=False),  # {agent_id: count}
    sa.Column("error_types", JSONDoc, nullable=False),  # {error_type: count}
    sa.Column("top_terms", JSONDoc, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("trend", sa.String(16), nullable=False),  # new | growing | recurring | resolved
    sa.Column("daily_counts", JSONDoc, nullable=False),  # {YYYY-MM-DD: count} over the window
    sa.Column("sample_execution_ids", JSONDoc, nullable=False),
    sa.Column("window_start", sa.Date, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

failure_cluster_members = sa.Table(
    "failure_cluster_members",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("cluster_key", sa.String(64), nullable=False),
    sa.Index("ix_failure_cluster_members_day_cluster", "day", "cluster_key"),
)

root_cause_findings = sa.Table(
    "root_cause_findings",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),  # the window's last day (the partition)
    sa.Column("finding_id", sa.String(64), primary_key=True),  # stable: same pattern, same id
    sa.Column("kind", sa.String(32), nullable=False),  # cluster | failure_rate | latency | cost
    sa.Column("agent_id", sa.String(128)),  # None: fleet-wide
    sa.Column("agents", JSONDoc, nullable=False),
    sa.Column("category", sa.String(16), nullable=False),  # prompt | tool | context | external | unknown
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("metric", sa.String(64)),
    sa.Column("before", sa.Float),
    sa.Column("after", sa.Float),
    sa.Column("started_at", UTCDateTime),  # the first bad execution's start
    sa.Column("first_bad_execution_id", sa.String(64)),
    sa.Column("cluster_key", sa.String(64)),
    sa.Column("evidence", JSONDoc, nullable=False),  # dimension, contrast, execution/action ids
    sa.Column("recurrence", sa.String(16), nullable=False),  # new | recurring
    sa.Column("first_seen_day", sa.Date, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_root_cause_findings_finding_id", "finding_id"),
)

evaluation_reports = sa.Table(
    "evaluation_reports",
    metadata,
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("period_start", sa.Date, primary_key=True),
    sa.Column("period_end", sa.Date, primary_key=True),  # inclusive
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("overall", sa.Float),
    sa.Column("risk_level", sa.String(16), nullable=False),
    sa.Column("scores", JSONDoc, nullable=False),
    sa.Column("report", JSONDoc, nullable=False),
    sa.Column("markdown", sa.Text, nullable=False),
    sa.Column("html_path", sa.Text),
    sa.Column("narrative_source", sa.String(32), nullable=False),  # rules | llm:<model>
    sa.Column("dagster_run_id", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
