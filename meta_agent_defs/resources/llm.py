"""The LLM gateway as a Dagster resource: live (litellm) or offline, chosen by config."""

from __future__ import annotations

from typing import Literal

import dagster as dg

from meta_agent.errors import ConfigError
from meta_agent.llm import LLMGateway, OfflineGateway, get_gateway, load_config


class LLMGatewayResource(dg.ConfigurableResource):
    """Every model call goes through ``get_gateway()``. ``mode``: ``auto`` — live when models are
    configured (META_AGENT_LLM_CONFIG / META_AGENT_LLM_MODELS / config/llm.yaml), else offline;
    ``offline`` — always offline (deterministic callers); ``live`` — models required (a run fails
    with a clear message if none are configured). ``config_path`` overrides the lookup."""

    mode: Literal["auto", "offline", "live"] = "auto"
    config_path: str | None = None
    db_url: str | None = None  # where llm_calls are recorded (default META_AGENT_DB_URL)

    def get_gateway(self) -> LLMGateway:
        if self.mode == "offline":
            return OfflineGateway(reason="resource mode 'offline'")
        cfg = load_config(self.config_path)
        if self.mode == "live" and not cfg.configured:
            raise ConfigError(f"the llm resource is in mode 'live' but no model is configured ({cfg.source}); "
                              "set META_AGENT_LLM_CONFIG or META_AGENT_LLM_MODELS, or use mode 'auto'.")
        return get_gateway(cfg, db_url=self.db_url)

    def describe(self) -> str:
        return self.get_gateway().describe()
