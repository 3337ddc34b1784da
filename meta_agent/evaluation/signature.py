"""A failure's signature: the text that is embedded, clustered and searched.

``error_type: message | action_type:name`` with the parts that differ between two instances of
the same failure masked — numbers, hex and UUID ids, URLs, e-mail addresses, quoted numbers —
so "limit 200000, used 198412" and "limit 200000, used 199807" read the same. Names that
carry meaning (a tool, a model, a field) are kept. Agent, model and prompt version are *not*
part of it: they are columns beside the vector, so a provider outage seen by five agents is
one signature, and a cluster can span the fleet.
"""

from __future__ import annotations

import re

import pandas as pd

MAX_MESSAGE_CHARS = 600

_MASKS = (
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b", re.I), "<id>"),
    # a number, with a unit if it has one ("1.2s", "512MB"); not inside a name ("gpt-4.1-mini", "v2")
    (re.compile(r"(?<![\w.-])[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?(?:ms|s|m|h|kb|mb|gb|k|%)?(?![\w-])", re.I), "<n>"),
    (re.compile(r"\s+"), " "),
)


def mask(message: str | None) -> str:
    """The message with instance-specific parts replaced by placeholders."""
    text = (message or "")[:MAX_MESSAGE_CHARS]
    for pattern, token in _MASKS:
        text = pattern.sub(token, text)
    return text.strip()


def failure_signature(error_type: str | None, error_message: str | None, failing_action: str | None) -> str:
    """``error_type: masked message | failing action`` (the parts that are there)."""
    head = f"{error_type or 'UnknownError'}: {mask(error_message)}".rstrip(": ")
    return f"{head} | {failing_action}" if failing_action else head


def failing_actions(actions: pd.DataFrame) -> pd.Series:
    """Per execution id, ``action_type:name`` of its first action that did not succeed."""
    if actions.empty:
        return pd.Series(dtype=object)
    bad = actions[actions["status"] != "success"].sort_values(["execution_id", "seq"])
    first = bad.drop_duplicates("execution_id")
    label = first["action_type"].astype(str) + ":" + first["name"].fillna("").astype(str)
    return pd.Series(label.str.rstrip(":").to_numpy(), index=first["execution_id"].to_numpy())


def signatures(executions: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """``execution_id, failing_action, signature`` for each row of ``executions``."""
    failing = failing_actions(actions)
    fa = executions["execution_id"].map(failing)
    fa = fa.where(fa.notna(), None)
    sig = [failure_signature(t, m, a) for t, m, a in
           zip(executions["error_type"], executions["error_message"], fa, strict=True)]
    return pd.DataFrame({"execution_id": executions["execution_id"].to_numpy(),
                         "failing_action": fa.to_numpy(), "signature": sig})
