"""Tables of the LLM gateway — one row per model call with tokens and cost (issue 4).

Declared on the shared ``metadata`` (see schema.py); created by this capability's own
Alembic migration branch (``0004_llm``, label ``llm``).

Every attempt is a row: a JSON-repair round is several rows sharing ``group_id`` with
``attempt`` 1, 2, ...; a call that fell back to another deployment says which one answered
(``deployment``) and sets ``fallback_used``. Unpriced (local) models cost 0 with
``cost_source = 'unpriced'`` — never an error.
"""

import sqlalchemy as sa

from meta_agent.store.schema import metadata
from meta_agent.store.types import JSONDoc, UTCDateTime

LLM_CALL_KINDS = ("completion", "embedding")
LLM_CALL_STATUSES = ("success", "error", "invalid_json")
COST_SOURCES = ("config", "litellm", "unpriced")

llm_calls = sa.Table(
    "llm_calls",
    metadata,
    sa.Column("call_id", sa.String(40), primary_key=True),
    sa.Column("group_id", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("purpose", sa.String(64)),
    sa.Column("model_group", sa.String(128), nullable=False),
    sa.Column("deployment", sa.String(128)),
    sa.Column("model", sa.String(256)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("fallback_used", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("tokens_in", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("tokens_out", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("cost_source", sa.String(16), nullable=False, server_default="unpriced"),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("error_type", sa.String(128)),
    sa.Column("error_message", sa.Text),
    sa.Column("metadata", JSONDoc),
    sa.Index("ix_llm_calls_created_at", "created_at"),
    sa.Index("ix_llm_calls_group_id", "group_id"),
)
