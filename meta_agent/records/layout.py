"""The record contract's vocabulary and the action-row layout, without the pydantic models:
the store's schema follows these (and imports them cheaply); ``contract.py`` validates by them.
"""

from __future__ import annotations

EXECUTION_STATUSES = ("success", "failure", "timeout", "cancelled")
ACTION_TYPES = ("tool_call", "llm_inference", "retrieval", "human_intervention", "custom")
ACTION_STATUSES = ("success", "failure", "timeout")

# Action rows travel as lists in this column order (the SDK's hot path: no dict per row);
# ``contract._fast_rows`` and ``contract._check_action_rows`` index rows by position: change
# them with it.
ACTION_COLUMNS = ("execution_id", "seq", "action_type", "name", "started_at", "latency_ms", "status",
                  "model", "tokens_in", "tokens_out", "cost_usd", "error_type", "error_message", "metadata")
A_EXEC, A_NAME, A_ERROR_MESSAGE, A_METADATA = (ACTION_COLUMNS.index(c) for c in
                                               ("execution_id", "name", "error_message", "metadata"))

# Execution scores: who gave one (``meta_agent.store.schema_evaluation`` keeps the same tuple;
# ``meta_agent.store.scores`` checks they agree) and the columns a score row carries.
SCORE_SOURCES = ("human", "llm_judge", "check")
SCORE_COLUMNS = ("execution_id", "name", "source", "agent_id", "value", "comment", "scored_at", "ingested_at")
SCORE_NAME_MAX = 64
SCORE_COMMENT_MAX = 4000
