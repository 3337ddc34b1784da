"""The script factory's collaborators: the planner, the script author, the gateway, the sandbox."""

from __future__ import annotations

from enum import StrEnum

import dagster as dg

from meta_agent.scriptgen.llm_planner import LLMPlanner, LLMScriptWriter
from meta_agent.scriptgen.planner import OfflinePlanner, Planner
from meta_agent_defs.resources.llm import LLMGatewayResource
from meta_agent_defs.resources.sandbox import SandboxResource


class PlannerKind(StrEnum):
    OFFLINE = "offline"  # deterministic keyword/pattern planner (the default)
    LLM = "llm"  # through the gateway; offline when no model is configured


class ScriptAuthor(StrEnum):
    TEMPLATE = "template"  # rendered from the vetted templates
    LLM = "llm"  # the model writes the body; the validator judges it either way


class ScriptFactoryResource(dg.ConfigurableResource):
    """``planner`` is the default for requests that do not choose one (``--planner`` records
    the choice on the request); ``author`` who writes the script body. Model calls go through
    ``llm``; scripts run through ``sandbox``."""

    planner: PlannerKind = PlannerKind.OFFLINE
    author: ScriptAuthor = ScriptAuthor.TEMPLATE
    llm: LLMGatewayResource
    sandbox: SandboxResource

    def get_planner(self, kind: str | None = None) -> Planner:
        """The planner ``kind`` names (a request's own choice), else this resource's default."""
        chosen = PlannerKind(kind) if kind else self.planner
        if chosen is PlannerKind.LLM:
            return LLMPlanner(gateway=self.llm.get_gateway())
        return OfflinePlanner()

    def script_writer(self) -> LLMScriptWriter | None:
        """The model that writes script bodies when ``author`` is ``llm``."""
        return LLMScriptWriter(gateway=self.llm.get_gateway()) if self.author is ScriptAuthor.LLM else None
