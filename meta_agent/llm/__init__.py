"""The one gateway to language models (litellm), and offline behaviour when none is configured.

    from meta_agent.llm import get_gateway

    gw = get_gateway()              # LiteLLMGateway if models are configured, else OfflineGateway
    if gw.offline:
        ...                         # use the deterministic implementation
    else:
        plan = gw.complete_json(messages, PlanModel, retries=3, purpose="planner")
    vectors = gw.embed(["text", ...])   # works offline too (deterministic hashing)

``pricing`` reads litellm's bundled price map without importing litellm; ``config`` says where
models come from; ``embeddings`` has the offline embedders. Importing this package does not
import litellm (the live gateway does, on creation).
"""

from __future__ import annotations

import importlib
from typing import Any

# Lazy exports: ``meta_agent.llm.pricing`` (used by the SDK) must stay a light import.
_EXPORTS = {
    "Deployment": "config", "LLMConfig": "config", "load_config": "config",
    "HASHING_MODEL": "embeddings", "TfidfEmbedder": "embeddings", "hashing_embed": "embeddings",
    "Completion": "gateway", "LiteLLMGateway": "gateway", "LLMError": "gateway", "LLMGateway": "gateway",
    "LLMJSONError": "gateway", "LLMOffline": "gateway", "LLMTimeout": "gateway", "OfflineGateway": "gateway",
    "get_gateway": "gateway", "parse_json_reply": "gateway",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"meta_agent.llm.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'meta_agent.llm' has no attribute '{name}'")
