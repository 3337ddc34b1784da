"""Where generated scripts run: a container per script, or the weaker local sandbox."""

from __future__ import annotations

from enum import StrEnum

import dagster as dg

from meta_agent.sandbox import RunLimits, ScriptRunner, get_runner


class RunnerKind(StrEnum):
    AUTO = "auto"  # a container when an engine answers and the image is there, else local
    CONTAINER = "container"  # a container or fail with the reason
    LOCAL = "local"  # bubblewrap/rlimits on this host (weaker; every run says so)


class SandboxResource(dg.ConfigurableResource):
    """The script runner and its limits. ``runner`` is bound to ``META_AGENT_RUNNER``; the
    engine is found through ``DOCKER_HOST`` (docs/isolation.md)."""

    runner: RunnerKind = RunnerKind.AUTO
    timeout_s: float = 300.0
    memory_mb: int = 512

    def get_runner(self) -> ScriptRunner:
        return get_runner(self.runner.value)

    def limits(self) -> RunLimits:
        return RunLimits(memory_mb=self.memory_mb, timeout_s=self.timeout_s)
