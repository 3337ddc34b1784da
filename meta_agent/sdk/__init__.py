"""What agents import: ``AgentLogger`` and the record contract. No Dagster in here."""

from meta_agent.sdk.logger import AgentContext, AgentLogger, ExecutionContext, LoggerStats
from meta_agent.sdk.records import ActionRecord, ExecutionRecord, RecordError, parse_record
from meta_agent.sdk.scrub import Scrubber

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
