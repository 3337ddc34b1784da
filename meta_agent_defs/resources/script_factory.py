"""The script factory's collaborators: the planner, the script author, the gateway, the sandbox."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import dagster as dg

from meta_agent.portfolio import vocabulary
from meta_agent.scriptgen.factory import Places
from meta_agent.scriptgen.llm_planner import LLMPlanner, LLMScriptWriter
from meta_agent.scriptgen.planner import OfflinePlanner, Planner
from meta_agent_defs.resources.artifacts import ArtifactStore
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
    the choice on the request), bound to ``META_AGENT_PLANNER``; ``author`` who writes the
    script body. Plans use the vocabulary of the business database at ``data_url`` (bound to
    ``META_AGENT_DATA_URL``), which scripts read; model calls go through ``llm``; scripts run
    through ``sandbox``; scripts and results are kept under ``artifacts``."""

    planner: str = PlannerKind.OFFLINE.value  # a string: an enum field rejects the unresolved dg.EnvVar
    author: ScriptAuthor = ScriptAuthor.TEMPLATE
    data_url: str
    llm: LLMGatewayResource
    sandbox: SandboxResource
    artifacts: ArtifactStore

    def get_planner(self, kind: str | None = None) -> Planner:
        """The planner ``kind`` names (a request's own choice), else this resource's default."""
        chosen = PlannerKind((kind or self.planner or "offline").strip().lower())
        words = vocabulary(self.data_url)
        if chosen is PlannerKind.LLM:
            return LLMPlanner(gateway=self.llm.get_gateway(), vocabulary=words)
        return OfflinePlanner(words)

    def places(self) -> Places:
        return Places.under(Path(self.artifacts.root), self.data_url)

    def script_writer(self) -> LLMScriptWriter | None:
        """The model that writes script bodies when ``author`` is ``llm``."""
        return LLMScriptWriter(gateway=self.llm.get_gateway()) if self.author is ScriptAuthor.LLM else None
