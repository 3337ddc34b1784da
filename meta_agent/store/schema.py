"""The ops database schema (SQLAlchemy Core), shared by every capability.

Each capability adds its tables here *and* in an Alembic migration under
``migrations/versions``; ``tests/store/test_migrations.py`` fails when the two drift.
"""

from __future__ import annotations

import sqlalchemy as sa

from meta_agent.records.layout import (  # noqa: F401 — re-exported: the store speaks the contract
    A_ERROR_MESSAGE,
    A_EXEC,
    A_METADATA,
    A_NAME,
    ACTION_COLUMNS,
    ACTION_TYPES,
    EXECUTION_STATUSES,
)
from meta_agent.store.types import JSONDoc, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("display_name", sa.String(256)),
    sa.Column("owner", sa.String(128)),
    sa.Column("team", sa.String(128)),
    sa.Column("description", sa.Text),
    sa.Column("first_seen_at", UTCDateTime),
    sa.Column("last_seen_at", UTCDateTime),
    sa.Column("registered_at", UTCDateTime, nullable=False),
    sa.Column("metadata", JSONDoc),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(128), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("model", sa.String(128)),
    sa.Column("prompt_version", sa.String(64)),
    sa.Column("variant", sa.String(64)),
    sa.Column("tokens_in", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("tokens_out", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("error_type", sa.String(128)),
    sa.Column("error_message", sa.Text),
    sa.Column("human_intervention", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("metadata", JSONDoc),
    sa.Column("source", sa.String(32), nullable=False, server_default="sdk"),
    sa.Column("ingested_at", UTCDateTime, nullable=False),
    sa.Index("ix_executions_started_at", "started_at"),
    # by agent and time, and covering what the daily metrics and SLA attribution read (0007)
    sa.Index("ix_executions_agent_day", "agent_id", "started_at", "status", "latency_ms", "cost_usd", "tokens_in",
             "tokens_out", "human_intervention", "error_type", "model", "prompt_version"),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("action_type", sa.String(32), nullable=False),
    sa.Column("name", sa.String(256)),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="success"),
    sa.Column("model", sa.String(128)),
    sa.Column("tokens_in", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("tokens_out", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("error_type", sa.String(128)),
    sa.Column("error_message", sa.Text),
    sa.Column("metadata", JSONDoc),
)

# The SDK and ingest hand over action rows as lists in the contract's column order.
assert tuple(c.name for c in actions.columns) == ACTION_COLUMNS, "actions table != records.ACTION_COLUMNS"  # noqa: S101

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("quarantine_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source", sa.String(512), nullable=False),
    sa.Column("execution_id", sa.String(64)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("quarantined_at", UTCDateTime, nullable=False),
    sa.Index("ix_quarantine_quarantined_at", "quarantined_at"),
)
