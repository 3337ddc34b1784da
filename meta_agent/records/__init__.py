"""The execution-record contract and the secret scrubber, shared by the SDK and the store.

``contract`` says what an execution record is (the fields, their rules, the action-row layout);
``scrub`` removes secrets from whatever is stored. The SDK (``meta_agent.sdk``) writes records,
the store (``meta_agent.store``) ingests and keeps them; both depend on this package, and it
imports neither (nor anything else of meta_agent's), so the arrows run one way:
sdk -> store -> records.
"""

from meta_agent.records.contract import (
    ACTION_COLUMNS,
    ACTION_TYPES,
    EXECUTION_STATUSES,
    ActionRecord,
    ExecutionRecord,
    RecordError,
    parse_record,
)
from meta_agent.records.scrub import REDACTED, Scrubber

__all__ = [
    "ACTION_COLUMNS",
    "ACTION_TYPES",
    "EXECUTION_STATUSES",
    "REDACTED",
    "ActionRecord",
    "ExecutionRecord",
    "RecordError",
    "Scrubber",
    "parse_record",
]
