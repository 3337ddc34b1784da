"""Which models the gateway may call, read from YAML or the environment.

Where the configuration comes from, first match wins:

1. an explicit path (``load_config(path)``, the Dagster resource's ``config_path``);
2. ``META_AGENT_LLM_OFFLINE=1`` — no model at all (offline), whatever else is set;
3. ``META_AGENT_LLM_CONFIG`` — a YAML file (see ``config/llm.example.yaml``);
4. ``META_AGENT_LLM_MODELS`` — comma-separated litellm model names in fallback order, each
   optionally ``model@api_base`` (e.g. ``openai/qwen2.5-7b@http://127.0.0.1:8000/v1,gpt-4o-mini``),
   with ``META_AGENT_LLM_EMBEDDING_MODELS`` likewise, ``META_AGENT_LLM_TIMEOUT`` (seconds) and
   ``META_AGENT_LLM_RETRIES``;
5. ``config/llm.yaml`` in the configuration directory, if present;
6. nothing: the gateway is **offline** (the default; what tests and the demo use).

Keys never live in the file: a deployment names the environment variable that holds its key
(``api_key_env``); litellm also reads the providers' usual variables (``OPENAI_API_KEY``...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from meta_agent import config as paths
from meta_agent.errors import ConfigError

ENV_OFFLINE = "META_AGENT_LLM_OFFLINE"
ENV_CONFIG = "META_AGENT_LLM_CONFIG"
ENV_MODELS = "META_AGENT_LLM_MODELS"
ENV_EMBEDDING_MODELS = "META_AGENT_LLM_EMBEDDING_MODELS"
ENV_TIMEOUT = "META_AGENT_LLM_TIMEOUT"
ENV_RETRIES = "META_AGENT_LLM_RETRIES"


class Deployment(BaseModel):
    """One model endpoint. ``name`` labels it in the ops DB (default: derived from the model)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    model: str = Field(min_length=1, description="litellm model string, e.g. openai/qwen2.5-7b or gpt-4o-mini")
    api_base: str | None = None
    api_key_env: str | None = Field(None, description="environment variable holding the API key")
    input_cost_per_token: float | None = Field(None, ge=0)
    output_cost_per_token: float | None = Field(None, ge=0)
    timeout_s: float | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError("api_key must not be written in the file; put the key in an environment variable "
                             "and name it with api_key_env")
        return data

    @field_validator("api_base")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"'{v}' is not an http(s) URL")
        return v


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(60.0, gt=0, description="per request")
    num_retries: int = Field(2, ge=0, le=10, description="retries per deployment before falling back")
    json_mode: bool = Field(True, description="ask OpenAI-compatible servers for response_format=json_object")
    chat: list[Deployment] = Field(default_factory=list, description="in fallback order: local first, hosted next")
    embedding: list[Deployment] = Field(default_factory=list, description="in fallback order")
    source: str = Field("", description="where this configuration was read from")

    @model_validator(mode="after")
    def _names(self) -> LLMConfig:
        for kind, deps in (("chat", self.chat), ("embedding", self.embedding)):
            for i, d in enumerate(deps):
                if d.name is None:
                    d.name = f"{kind}-{i}-{d.model.replace('/', '-')}"[:120]
            names = [d.name for d in deps]
            if len(set(names)) != len(names):
                raise ValueError(f"{kind}: deployment names must be unique ({', '.join(names)})")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.chat or self.embedding)


def _deployments_from_env(value: str, kind: str) -> list[Deployment]:
    out = []
    for i, item in enumerate(p.strip() for p in value.split(",")):
        if not item:
            continue
        model, _, base = item.partition("@")
        if not model:
            raise ConfigError(f"{kind} entry {i + 1} ('{item}') has no model name; write model or model@http://host/v1.")
        try:
            out.append(Deployment(model=model.strip(), api_base=base.strip() or None))
        except ValidationError as exc:
            raise ConfigError(f"{kind} entry {i + 1} ('{item}'): {_first_error(exc)}.") from None
    return out


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    return f"{loc}: {e['msg']}" if loc else e["msg"]


def _number(name: str, cast):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return None
    try:
        return cast(raw)
    except ValueError:
        raise ConfigError(f"{name}='{raw}' is not a number; set it to e.g. 30.") from None


def load_file(path: str | Path) -> LLMConfig:
    """Parse and validate a YAML file; errors name the file, the line or the field, and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the LLM configuration {path} ({exc.strerror}); "
                          f"fix the path in {ENV_CONFIG} or create the file.") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with 'chat' and/or 'embedding' lists.")
    try:
        cfg = LLMConfig.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_first_error(exc)} (see config/llm.example.yaml).") from None
    return cfg


def load_config(path: str | Path | None = None) -> LLMConfig:
    """The configuration in effect (an empty one means offline)."""
    if path:
        return load_file(path)
    if os.environ.get(ENV_OFFLINE, "").lower() in ("1", "true", "yes"):
        return LLMConfig(source=f"{ENV_OFFLINE}=1")
    if os.environ.get(ENV_CONFIG):
        return load_file(os.environ[ENV_CONFIG])
    models = os.environ.get(ENV_MODELS, "")
    embeds = os.environ.get(ENV_EMBEDDING_MODELS, "")
    if models.strip() or embeds.strip():
        kwargs: dict[str, Any] = {"chat": _deployments_from_env(models, ENV_MODELS),
                                  "embedding": _deployments_from_env(embeds, ENV_EMBEDDING_MODELS),
                                  "source": "environment"}
        timeout = _number(ENV_TIMEOUT, float)
        retries = _number(ENV_RETRIES, int)
        if timeout is not None:
            kwargs["timeout_s"] = timeout
        if retries is not None:
            kwargs["num_retries"] = retries
        try:
            return LLMConfig(**kwargs)
        except ValidationError as exc:
            raise ConfigError(f"LLM settings from the environment: {_first_error(exc)}.") from None
    default = paths.config_dir() / "llm.yaml"
    if default.exists():
        return load_file(default)
    return LLMConfig(source="none (offline)")
