"""Script runners: the container runner (the boundary) and the local fallback.

``get_runner()`` picks one: ``META_AGENT_RUNNER`` = ``auto`` (default: a container when an
engine answers on ``DOCKER_HOST`` and the sandbox image exists, else local), ``container``
(required: a clear error when it cannot run) or ``local``. The contract is in ``base``.
"""

from meta_agent.sandbox.base import (
    RESULT_JSON,
    SANDBOX_DATA,
    SANDBOX_PARAMS,
    SANDBOX_RESULTS,
    OutputCallback,
    OutputFile,
    RunLimits,
    RunResult,
    RunStatus,
    ScriptRunner,
)
from meta_agent.sandbox.select import get_runner

__all__ = [
    "RESULT_JSON",
    "SANDBOX_DATA",
    "SANDBOX_PARAMS",
    "SANDBOX_RESULTS",
    "OutputCallback",
    "OutputFile",
    "RunLimits",
    "RunResult",
    "RunStatus",
    "ScriptRunner",
    "get_runner",
]
