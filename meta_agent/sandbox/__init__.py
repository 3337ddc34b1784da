"""Script runners: the container runner (the boundary) and the local fallback.

``get_runner(settings)`` picks one from ``SandboxSettings`` (the Dagster ``sandbox`` resource's
fields, or ``SandboxSettings.from_environment()`` for the command line): ``auto`` (a container
when an engine answers and the sandbox image exists, else local), ``container`` (required: a
clear error when it cannot run) or ``local``. The contract is in ``base``.
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
from meta_agent.sandbox.select import SandboxSettings, get_runner

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
    "SandboxSettings",
    "ScriptRunner",
    "get_runner",
]
