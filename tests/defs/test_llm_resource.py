"""The ``llm`` resource: offline or live by config, wired into the code location."""

from __future__ import annotations

import dagster as dg
import pytest

from meta_agent.errors import ConfigError
from meta_agent.llm import LiteLLMGateway, OfflineGateway
from meta_agent_defs.resources import LLMGatewayResource, LLMMode, OpsDatabase

DB = OpsDatabase(url="sqlite:///:memory:")


@pytest.fixture(autouse=True)
def no_llm_env(monkeypatch, tmp_path):
    for var in ("META_AGENT_LLM_OFFLINE", "META_AGENT_LLM_CONFIG", "META_AGENT_LLM_MODELS",
                "META_AGENT_LLM_EMBEDDING_MODELS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("META_AGENT_CONFIG_DIR", str(tmp_path))


def test_auto_without_models_is_offline_and_live_refuses():
    assert isinstance(LLMGatewayResource(ops_db=DB).get_gateway(), OfflineGateway)
    with pytest.raises(ConfigError, match="mode 'live' but no model is configured"):
        LLMGatewayResource(mode=LLMMode.LIVE, ops_db=DB).get_gateway()


def test_auto_with_models_is_live_and_offline_mode_wins(monkeypatch):
    monkeypatch.setenv("META_AGENT_LLM_MODELS", "openai/qwen@http://127.0.0.1:9/v1")
    gw = LLMGatewayResource(ops_db=DB).get_gateway()
    assert isinstance(gw, LiteLLMGateway) and not gw.offline and "qwen" in gw.describe()
    assert LLMGatewayResource(mode=LLMMode.OFFLINE, ops_db=DB).get_gateway().offline


def test_an_asset_gets_the_gateway_from_the_code_location():
    from meta_agent_defs.definitions import defs

    seen = {}

    @dg.asset
    def probe(llm: LLMGatewayResource) -> None:
        seen["offline"] = llm.get_gateway().offline

    result = dg.materialize([probe], resources={"llm": defs.resources["llm"]})
    assert result.success and seen == {"offline": True}


def test_the_script_factory_gets_the_same_gateway_and_sandbox_resources():
    from meta_agent_defs.definitions import defs

    factory = defs.resources["script_factory"]
    assert factory.llm is defs.resources["llm"] and factory.sandbox is defs.resources["sandbox"]
    assert factory.llm.ops_db is defs.resources["ops_db"]
