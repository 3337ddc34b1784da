"""Tables of agent operations — health, circuit breakers, alerts (issue 3).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch (``0003_ops_alerts``, label ``ops_alerts``).

Concurrency is settled by the database, never in memory:
- ``alerts`` has a unique key on (agent_id, alert_type, window_start): two sensor
  evaluations that race insert with ``ON CONFLICT DO NOTHING`` and exactly one row survives;
- ``agent_health`` and ``circuit_breakers`` carry a ``version`` that every update checks
  (optimistic locking), so a transition is recorded by exactly one writer;
- ``alert_deliveries`` rows are claimed with a conditional update before a notifier sends.
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

HEALTH_STATUSES = ("healthy", "degraded", "critical")
CIRCUIT_STATES = ("closed", "open", "half_open")
CIRCUIT_OVERRIDES = ("open", "closed")
ALERT_TYPES = ("sla_warning", "sla_breach", "health_degraded", "health_critical", "circuit_open",
               "data_quality", "run_failure", "failure_cluster", "root_cause")
SEVERITIES = ("info", "warning", "critical", "emergency")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
DELIVERY_STATUSES = ("pending", "sent")

# Current health per agent: what the last evaluation said, as of when.
agent_health = sa.Table(
    "agent_health",
    metadata,
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),  # when it entered this status
    sa.Column("evaluated_at", UTCDateTime, nullable=False),  # the "as of" of the last evaluation
    sa.Column("details", JSONDoc),  # window figures and baseline
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime, nullable=False),  # wall clock of the write
)

health_transitions = sa.Table(
    "health_transitions",
    metadata,
    sa.Column("transition_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(128), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("from_status", sa.String(16)),  # NULL: the agent's first evaluation
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", JSONDoc),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index("ix_health_transitions_agent_id_at", "agent_id", "at"),
)

# One circuit breaker per agent. ``state`` is the effective state (what the SDK reads);
# ``override`` pins it by hand ('open' | 'closed') until ``meta-agent circuit auto``.
circuit_breakers = sa.Table(
    "circuit_breakers",
    metadata,
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("override", sa.String(16)),
    sa.Column("since", UTCDateTime, nullable=False),  # when the automatic state was entered
    sa.Column("evaluated_through", UTCDateTime, nullable=False),  # executions up to here are counted
    sa.Column("half_open_successes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failure_rate", sa.Float),  # of the window that decided the last transition
    sa.Column("volume", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

circuit_transitions = sa.Table(
    "circuit_transitions",
    metadata,
    sa.Column("transition_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(128), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # 'auto' or 'manual:<who>'
    sa.Column("failure_rate", sa.Float),
    sa.Column("volume", sa.Integer),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index("ix_circuit_transitions_agent_id_at", "agent_id", "at"),
)

# Alerts: at most one row per (agent, type, 1-hour window), enforced by the unique key.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(128), nullable=False),  # or 'job:<name>' for run failures
    sa.Column("alert_type", sa.String(32), nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),  # the triggering time, floored to the hour
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("title", sa.String(512), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", JSONDoc),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("triggered_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.String(128)),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolved_by", sa.String(128)),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("agent_id", "alert_type", "window_start",
                        name="uq_alerts_agent_id_alert_type_window_start"),
    sa.Index("ix_alerts_status_agent_id", "status", "agent_id"),
    sa.Index("ix_alerts_triggered_at", "triggered_at"),
)

# One row per (alert, channel): pending until a notifier accepted it; failures are kept
# (attempts, last_error) and retried with backoff, so an alert is never lost.
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("delivery_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.alert_id"), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("alert_id", "channel", name="uq_alert_deliveries_alert_id_channel"),
    sa.Index("ix_alert_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

# The daily digest (one row per UTC day, rewritten by its asset).
alert_digests = sa.Table(
    "alert_digests",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("open_alerts", sa.Integer, nullable=False),
    sa.Column("markdown", sa.Text, nullable=False),
    sa.Column("path", sa.String(1024)),
    sa.Column("delivered_to", JSONDoc),
    sa.Column("delivery_errors", JSONDoc),
    sa.Column("generated_at", UTCDateTime, nullable=False),
)
