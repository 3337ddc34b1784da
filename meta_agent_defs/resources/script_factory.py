"""The script factory's external parts as one resource: planner, script author, runner, limits."""

from __future__ import annotations

from typing import Literal

import dagster as dg

from meta_agent.sandbox import RunLimits, ScriptRunner, get_runner
from meta_agent.scriptgen.planner import Planner, get_planner


class ScriptFactoryResource(dg.ConfigurableResource):
    """``planner``: ``offline`` (deterministic, the default) or ``llm`` (through the gateway;
    offline when no model is configured); None reads ``META_AGENT_PLANNER``. ``author``:
    ``template`` or ``llm`` (the model writes the script body; the validator judges it either
    way). ``runner``: ``auto`` | ``container`` | ``local`` (None reads ``META_AGENT_RUNNER``)."""

    planner: str | None = None  # offline | llm
    author: Literal["template", "llm"] = "template"
    runner: str | None = None  # auto | container | local
    timeout_s: float = 300.0
    memory_mb: int = 512

    def get_planner(self) -> Planner:
        return get_planner(self.planner)

    def get_runner(self) -> ScriptRunner:
        return get_runner(self.runner)

    def limits(self) -> RunLimits:
        return RunLimits(memory_mb=self.memory_mb, timeout_s=self.timeout_s)
