"""ops_alerts: health, circuit breakers, alerts, deliveries, digests

Revision ID: 0003_ops_alerts
Revises: 0001_foundation
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from meta_agent.store.types import JSONDoc, UTCDateTime

revision = "0003_ops_alerts"
down_revision = "0001_foundation"
branch_labels = ("ops_alerts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_health",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.Column("evaluated_at", UTCDateTime, nullable=False),
        sa.Column("details", JSONDoc),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agent_health"),
    )
    op.create_table(
        "health_transitions",
        sa.Column("transition_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", JSONDoc),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("transition_id", name="pk_health_transitions"),
    )
    op.create_index("ix_health_transitions_agent_id_at", "health_transitions", ["agent_id", "at"])
    op.create_table(
        "circuit_breakers",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("override", sa.String(16)),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.Column("evaluated_through", UTCDateTime, nullable=False),
        sa.Column("half_open_successes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failure_rate", sa.Float),
        sa.Column("volume", sa.Integer),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name="pk_circuit_breakers"),
    )
    op.create_table(
        "circuit_transitions",
        sa.Column("transition_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("failure_rate", sa.Float),
        sa.Column("volume", sa.Integer),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("transition_id", name="pk_circuit_transitions"),
    )
    op.create_index("ix_circuit_transitions_agent_id_at", "circuit_transitions", ["agent_id", "at"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("alert_type", sa.String(32), nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
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
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
        sa.UniqueConstraint("agent_id", "alert_type", "window_start",
                            name="uq_alerts_agent_id_alert_type_window_start"),
    )
    op.create_index("ix_alerts_status_agent_id", "alerts", ["status", "agent_id"])
    op.create_index("ix_alerts_triggered_at", "alerts", ["triggered_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("delivery_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_alert_deliveries"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"],
                                name="fk_alert_deliveries_alert_id_alerts"),
        sa.UniqueConstraint("alert_id", "channel", name="uq_alert_deliveries_alert_id_channel"),
    )
    op.create_index("ix_alert_deliveries_status_next_attempt_at", "alert_deliveries",
                    ["status", "next_attempt_at"])
    op.create_table(
        "alert_digests",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("open_alerts", sa.Integer, nullable=False),
        sa.Column("markdown", sa.Text, nullable=False),
        sa.Column("path", sa.String(1024)),
        sa.Column("delivered_to", JSONDoc),
        sa.Column("delivery_errors", JSONDoc),
        sa.Column("generated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_alert_digests"),
    )


def downgrade() -> None:
    op.drop_table("alert_digests")
    op.drop_index("ix_alert_deliveries_status_next_attempt_at", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index("ix_alerts_triggered_at", table_name="alerts")
    op.drop_index("ix_alerts_status_agent_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_circuit_transitions_agent_id_at", table_name="circuit_transitions")
    op.drop_table("circuit_transitions")
    op.drop_table("circuit_breakers")
    op.drop_index("ix_health_transitions_agent_id_at", table_name="health_transitions")
    op.drop_table("health_transitions")
    op.drop_table("agent_health")
