"""Script runners: the container runner (the boundary) and the local fallback.

The contract is in ``base``; implementations and ``get_runner`` arrive with the isolation work.
"""

from meta_agent.sandbox.base import OutputFile, RunLimits, RunResult, RunStatus, ScriptRunner

__all__ = ["OutputFile", "RunLimits", "RunResult", "RunStatus", "ScriptRunner"]
