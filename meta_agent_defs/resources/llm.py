"""The LLM gateway: live (litellm) or offline, chosen by config."""

from __future__ import annotations

from enum import StrEnum

import dagster as dg

from meta_agent.errors import ConfigError
from meta_agent.llm import LLMGateway, OfflineGateway, get_gateway, load_config
from meta_agent_defs.resources.ops_db import OpsDatabase


class LLMMode(StrEnum):
    AUTO = "auto"  # live when models are configured, else offline
    OFFLINE = "offline"  # always offline: every caller's deterministic implementation
    LIVE = "live"  # models required: a run fails with the reason when none is configured


class LLMGatewayResource(dg.ConfigurableResource):
    """Every model call of a run goes through this gateway (tokens and cost recorded in the
    ops DB's ``llm_calls``). Models come from ``config_path`` (bound to
    ``META_AGENT_LLM_CONFIG``), else ``META_AGENT_LLM_MODELS`` or ``config/llm.yaml``
    (docs/tools-and-llm.md); none configured means offline."""

    mode: LLMMode = LLMMode.AUTO
    config_path: str | None = None
    ops_db: OpsDatabase

    def get_gateway(self) -> LLMGateway:
        if self.mode is LLMMode.OFFLINE:
            return OfflineGateway(reason="resource mode 'offline'")
        cfg = load_config(self.config_path)
        if self.mode is LLMMode.LIVE and not cfg.configured:
            raise ConfigError(f"the llm resource is in mode 'live' but no model is configured ({cfg.source}); "
                              "set META_AGENT_LLM_CONFIG or META_AGENT_LLM_MODELS, or use mode 'auto'.")
        return get_gateway(cfg, db_url=self.ops_db.url)

    def describe(self) -> str:
        return self.get_gateway().describe()
