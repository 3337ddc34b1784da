"""Tables of improvement (issue 12): the prompt registry, improvement proposals with their
approval audit trail, and the knowledge base of learnings.

Declared on the shared ``metadata`` (see schema.py); created by this capability's own Alembic
migration branch (``0010_improvement``, label ``improvement``).

- ``prompt_versions``: every version of an agent's prompt template (``name``), immutable once
  written; ``version`` is ``v1``, ``v2``, … per agent × name — the same strings executions
  carry in ``prompt_version``, which is how an execution links to the text it ran with.
- ``prompt_labels``: movable pointers (``production``, ``candidate``, …) to a version; a
  rollback moves a label back. ``prompt_label_events`` is every move, who and why.
- ``improvement_proposals``: one row per distinct proposal (``dedup_key`` unique: the same
  change for the same target is merged into the open row, ``occurrences`` counts it), with the
  exact change, its expected effect with an interval, risk, blast radius, rollback plan,
  priority and evidence; ``proposal_events`` is the audit trail of every state change.
- ``learnings`` / ``learning_events``: what was learned (a change, where, its measured effect
  with an interval, a confidence that rises with confirmations and decays with age or contrary
  evidence); deprecated learnings stay, unsurfaced.
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

PROPOSAL_KINDS = ("prompt_change", "prompt_rollback", "tool_change", "config_change", "sla_change")
PROPOSAL_STATES = ("proposed", "approved", "rejected", "experimenting", "adopted", "rolled_back", "expired")
RISK_LEVELS = ("low", "medium", "high")
LEARNING_STATUSES = ("active", "deprecated")
LEARNING_EVENT_KINDS = ("created", "confirmed", "contradicted", "decayed", "deprecated", "restored")

prompt_versions = sa.Table(
    "prompt_versions",
    metadata,
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),  # v1, v2, …
    sa.Column("seq", sa.Integer, nullable=False),  # 1, 2, …: the order versions were written
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("variables", JSONDoc, nullable=False),  # ["customer", "question"]: the {placeholders}
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),  # why this version
    sa.Column("parent_version", sa.String(64)),
    sa.Column("source", sa.String(32), nullable=False),  # manual | proposal | import
    sa.Column("proposal_id", sa.String(64)),
    sa.Column("content_hash", sa.String(64), nullable=False),  # sha256 of the text
    sa.Column("created_at", UTCDateTime, nullable=False),
)

prompt_labels = sa.Table(
    "prompt_labels",
    metadata,
    sa.Column("agent_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("label", sa.String(32), primary_key=True),  # production | candidate | …
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("previous_version", sa.String(64)),  # where the label pointed before (rollback target)
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)

prompt_label_events = sa.Table(
    "prompt_label_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(128), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("label", sa.String(32), nullable=False),
    sa.Column("from_version", sa.String(64)),
    sa.Column("to_version", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("proposal_id", sa.String(64)),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_prompt_label_events_prompt", "agent_id", "name", "at"),
)

improvement_proposals = sa.Table(
    "improvement_proposals",
    metadata,
    sa.Column("proposal_id", sa.String(64), primary_key=True),  # prop-<12 hex>
    sa.Column("dedup_key", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # PROPOSAL_KINDS
    sa.Column("agent_id", sa.String(128)),  # None: several agents (see agents)
    sa.Column("agents", JSONDoc, nullable=False),
    sa.Column("category", sa.String(16), nullable=False),  # the finding's root-cause category
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("change", JSONDoc, nullable=False),  # the exact change (per kind, see improvement.model)
    sa.Column("diff", sa.Text),  # prompt changes: the unified diff
    sa.Column("expected", JSONDoc, nullable=False),  # metric, current, expected, effect, ci_low, ci_high, method
    sa.Column("risk", sa.String(8), nullable=False),  # low | medium | high
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("blast_radius", JSONDoc, nullable=False),  # traffic_share, agents, executions_per_day
    sa.Column("rollback_plan", sa.Text, nullable=False),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("evidence", JSONDoc, nullable=False),  # finding_ids, report, cluster_key, execution_ids
    sa.Column("source", sa.String(64), nullable=False),  # rules | llm:<model>
    sa.Column("state", sa.String(16), nullable=False),  # PROPOSAL_STATES
    sa.Column("occurrences", sa.Integer, nullable=False),  # times generated (duplicates merged)
    sa.Column("first_seen_day", sa.Date, nullable=False),
    sa.Column("last_seen_day", sa.Date, nullable=False),
    sa.Column("expires_at", UTCDateTime),  # proposed and untouched past this: expired
    sa.Column("applied", JSONDoc),  # what applying did: {"prompt_version": …, "label": …, "previous": …}
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("dedup_key", name="uq_improvement_proposals_dedup_key"),
    sa.Index("ix_improvement_proposals_state", "state"),
    sa.Index("ix_improvement_proposals_agent", "agent_id"),
)

proposal_events = sa.Table(
    "proposal_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("proposal_id", sa.String(64), nullable=False),
    sa.Column("from_state", sa.String(16)),  # None: created
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # a person, "auto:<rule>", "sensor", …
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", JSONDoc),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_proposal_events_proposal", "proposal_id", "at"),
)

learnings = sa.Table(
    "learnings",
    metadata,
    sa.Column("learning_id", sa.String(64), primary_key=True),  # learn-<12 hex>
    sa.Column("learning_key", sa.String(128), nullable=False),  # same change, same place: one row
    sa.Column("agent_id", sa.String(128)),  # where it was learned (None: fleet-wide)
    sa.Column("category", sa.String(16), nullable=False),  # prompt | tool | context | external | unknown
    sa.Column("kind", sa.String(32), nullable=False),  # the proposal kind that was tried
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("change", sa.Text, nullable=False),  # what changed, in words
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("effect", sa.Float, nullable=False),  # measured: after − before (in unit)
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("confidence", sa.Float, nullable=False),  # 0..1, as of updated_at
    sa.Column("confirmations", sa.Integer, nullable=False),
    sa.Column("contradictions", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # active | deprecated
    sa.Column("failure_signature", sa.Text),  # the failure cluster's signature it fixed (for similarity)
    sa.Column("evidence", JSONDoc, nullable=False),  # proposal_ids, experiment ids, execution_ids
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_evidence_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("learning_key", name="uq_learnings_learning_key"),
    sa.Index("ix_learnings_status", "status"),
)

learning_events = sa.Table(
    "learning_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("learning_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # LEARNING_EVENT_KINDS
    sa.Column("effect", sa.Float),
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("confidence_before", sa.Float),
    sa.Column("confidence_after", sa.Float, nullable=False),
    sa.Column("source", sa.String(128)),  # proposal id, experiment name, "decay"
    sa.Column("details", JSONDoc),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_learning_events_learning", "learning_id", "at"),
)
