"""Gateway configuration (YAML and environment), offline mode and offline embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from meta_agent.errors import ConfigError
from meta_agent.llm import (
    LLMOffline,
    OfflineGateway,
    TfidfEmbedder,
    get_gateway,
    hashing_embed,
    load_config,
    parse_json_reply,
)

REPO = Path(__file__).resolve().parents[2]
LLM_ENV = ("META_AGENT_LLM_OFFLINE", "META_AGENT_LLM_CONFIG", "META_AGENT_LLM_MODELS",
           "META_AGENT_LLM_EMBEDDING_MODELS", "META_AGENT_LLM_TIMEOUT", "META_AGENT_LLM_RETRIES")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in LLM_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("META_AGENT_CONFIG_DIR", str(tmp_path / "config"))  # no config/llm.yaml


def test_no_configuration_means_offline():
    cfg = load_config()
    assert not cfg.configured
    gw = get_gateway()
    assert isinstance(gw, OfflineGateway) and gw.offline is True
    with pytest.raises(LLMOffline, match="offline"):
        gw.complete([{"role": "user", "content": "hi"}])

    class M(BaseModel):
        x: int

    with pytest.raises(LLMOffline):
        gw.complete_json([{"role": "user", "content": "hi"}], M)
    assert gw.embed(["a b"]).shape == (1, 384) and "offline" in gw.describe()


def test_the_example_file_is_valid():
    cfg = load_config(REPO / "config" / "llm.example.yaml")
    assert [d.name for d in cfg.chat] == ["local", "hosted"] and cfg.embedding[0].name == "local-embed"
    assert cfg.chat[1].api_key_env == "OPENAI_API_KEY"


def test_environment_models_in_fallback_order(monkeypatch):
    monkeypatch.setenv("META_AGENT_LLM_MODELS", "openai/qwen2.5@http://127.0.0.1:8000/v1, gpt-4o-mini")
    monkeypatch.setenv("META_AGENT_LLM_EMBEDDING_MODELS", "openai/nomic-embed@http://127.0.0.1:8000/v1")
    monkeypatch.setenv("META_AGENT_LLM_TIMEOUT", "12.5")
    monkeypatch.setenv("META_AGENT_LLM_RETRIES", "0")
    cfg = load_config()
    assert [(d.model, d.api_base) for d in cfg.chat] == [("openai/qwen2.5", "http://127.0.0.1:8000/v1"),
                                                         ("gpt-4o-mini", None)]
    assert cfg.timeout_s == 12.5 and cfg.num_retries == 0 and cfg.embedding[0].model == "openai/nomic-embed"
    monkeypatch.setenv("META_AGENT_LLM_OFFLINE", "1")  # the switch wins over everything
    assert not load_config().configured


def test_a_yaml_file_in_the_config_dir_is_picked_up(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "llm.yaml").write_text("chat:\n  - model: gpt-4o-mini\n")
    cfg = load_config()
    assert cfg.configured and cfg.chat[0].name == "chat-0-gpt-4o-mini"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("chat:\n  - model: x\n    api_key: sk-live-123\n", "api_key must not be written in the file"),
        ("chat:\n  - model: x\n    colour: blue\n", "chat.0.colour: Extra inputs are not permitted"),
        ("chat:\n  - api_base: http://x/v1\n", "chat.0.model: Field required"),
        ("chat:\n  - model: x\n    api_base: ftp://x\n", "not an http(s) URL"),
        ("timeout_s: -1\n", "timeout_s"),
        ("chat: [\n  - model\n", "line"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("chat:\n  - {name: a, model: x}\n  - {name: a, model: y}\n", "must be unique"),
    ],
)
def test_malformed_yaml_names_the_file_and_field(tmp_path, text, fragment):
    path = tmp_path / "llm.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value) and fragment in str(exc.value)


def test_malformed_environment(monkeypatch):
    monkeypatch.setenv("META_AGENT_LLM_MODELS", "gpt-4o-mini")
    monkeypatch.setenv("META_AGENT_LLM_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="META_AGENT_LLM_TIMEOUT='soon' is not a number"):
        load_config()
    monkeypatch.delenv("META_AGENT_LLM_TIMEOUT")
    monkeypatch.setenv("META_AGENT_LLM_MODELS", "@http://x/v1")
    with pytest.raises(ConfigError, match="has no model name"):
        load_config()
    monkeypatch.setenv("META_AGENT_LLM_CONFIG", "/nonexistent/llm.yaml")
    with pytest.raises(ConfigError, match="cannot read the LLM configuration /nonexistent/llm.yaml"):
        load_config()


class Step(BaseModel):
    tool: str
    order: int


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"tool": "calculate_dscr", "order": 1}', True),
        ('```json\n{"tool": "x", "order": 2}\n```', True),
        ('Sure! Here it is: {"tool": "x", "order": 3} Hope that helps.', True),
        ('{"tool": "x"}', False),
        ('{"tool": "x", "order": "first"}', False),
        ("no json here", False),
        ('{"tool": "x", "order": 1', False),
    ],
)
def test_parse_json_reply(text, ok):
    if ok:
        assert isinstance(parse_json_reply(text, Step), Step)
    else:
        with pytest.raises(ValueError):
            parse_json_reply(text, Step)


def test_hashing_embeddings_are_deterministic_normalized_and_meaningful():
    texts = ["database connection timeout while fetching rows",
             "timeout fetching rows from the database connection",
             "the weather in Lisbon is sunny", ""]
    a, b = hashing_embed(texts), hashing_embed(list(texts))
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a[:3], axis=1), 1.0) and not a[3].any()
    sims = a[:3] @ a[:3].T
    assert sims[0, 1] > 0.5 > sims[0, 2]
    with pytest.raises(TypeError):
        hashing_embed("one string")


def test_tfidf_embedder_neighbours():
    corpus = ["rate limit exceeded calling the tool", "tool call hit the rate limit",
              "invalid json in the model reply", "the model reply was not valid json", "disk full"]
    emb = TfidfEmbedder(dim=3).fit(corpus)
    m = emb.transform(corpus)
    assert m.shape == (5, 3)
    sims = m @ m.T
    assert sims[0, 1] > sims[0, 2] and sims[2, 3] > sims[2, 0]
    with pytest.raises(RuntimeError):
        TfidfEmbedder().transform(["x"])
