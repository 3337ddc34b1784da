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
