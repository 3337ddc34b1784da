"""What agents import: ``AgentLogger`` and the record contract. No Dagster in here.

The contract and the scrubber live in ``meta_agent.records`` (shared with the store); they
are re-exported here so ``from meta_agent.sdk import ExecutionRecord, Scrubber`` keeps working.
"""

from meta_agent.records.contract import ActionRecord, ExecutionRecord, RecordError, parse_record
from meta_agent.records.scrub import Scrubber
from meta_agent.sdk.logger import AgentContext, AgentLogger, ExecutionContext, LoggerStats

__all__ = [
    "ActionRecord",
    "AgentContext",
    "AgentLogger",
    "ExecutionContext",
    "ExecutionRecord",
    "LoggerStats",
    "RecordError",
    "Scrubber",
    "parse_record",
]
