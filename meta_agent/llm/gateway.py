"""The one gateway to language models: litellm when configured, offline otherwise.

``get_gateway()`` returns a ``LiteLLMGateway`` when ``load_config()`` finds models, else an
``OfflineGateway``. Callers check ``gateway.offline`` and use their deterministic
implementation (keyword planner, rule-based narrative...) when it is true; ``embed`` works in
both (offline: deterministic hashing embeddings).

LiteLLMGateway:

- a litellm ``Router``: each configured deployment is its own model group, the first is
  primary and the rest are its fallbacks in order; ``num_retries`` retries per deployment,
  ``timeout_s`` per request (a deployment may set its own);
- ``complete(messages)`` → ``Completion`` (text, tokens, cost, which deployment answered);
- ``complete_json(messages, schema, retries=3)`` asks for one JSON object matching the
  pydantic ``schema`` (its JSON Schema goes in a system message, and ``response_format``
  json_object when ``json_mode``), validates the reply, and on failure sends the reply back
  with the validation error for another try — up to ``retries`` attempts in all;
- ``embed(texts)`` → L2-normalized float32 rows;
- every attempt — success or error — is a row in the ops DB's ``llm_calls`` with tokens and
  cost. Cost: the deployment's configured prices, else litellm's price map, else 0 marked
  ``unpriced`` (local models), never an error. Recording problems are logged, never raised.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from meta_agent import config as paths
from meta_agent.errors import MetaAgentError
from meta_agent.llm.config import Deployment, LLMConfig, load_config
from meta_agent.llm.embeddings import DEFAULT_DIM, HASHING_MODEL, hashing_embed
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_llm import llm_calls

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Messages = list[dict[str, Any]]


class LLMError(MetaAgentError):
    """A model call failed after retries and fallbacks."""


class LLMOffline(LLMError):
    """No model is configured; use the caller's offline implementation."""

    exit_code = 2


class LLMTimeout(LLMError):
    """Every deployment timed out."""


class LLMJSONError(LLMError):
    """The model never produced JSON that validates; ``errors`` has one entry per attempt."""

    def __init__(self, message: str, errors: list[str], last_reply: str):
        super().__init__(message)
        self.errors = errors
        self.last_reply = last_reply


@dataclass
class Completion:
    text: str
    model: str
    deployment: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    cost_source: str
    latency_ms: float
    call_id: str
    group_id: str
    fallback_used: bool
    attempt: int = 1
    raw: Any = field(default=None, repr=False)


class LLMGateway(ABC):
    offline: bool
    embedding_model: str

    @abstractmethod
    def complete(self, messages: Messages, *, purpose: str | None = None, group_id: str | None = None,
                 **params: Any) -> Completion: ...

    @abstractmethod
    def complete_json(self, messages: Messages, schema: type[M], *, retries: int = 3, purpose: str | None = None,
                      group_id: str | None = None, **params: Any) -> M: ...

    @abstractmethod
    def embed(self, texts: list[str], *, purpose: str | None = None) -> np.ndarray: ...

    @abstractmethod
    def describe(self) -> str: ...

    # litellm's names, for readers who expect them
    def completion(self, messages: Messages, **kwargs: Any) -> Completion:
        return self.complete(messages, **kwargs)

    def embedding(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        return self.embed(texts, **kwargs)


class OfflineGateway(LLMGateway):
    """No model configured: completions raise ``LLMOffline``; embeddings are deterministic hashes."""

    offline = True

    def __init__(self, reason: str = "no model is configured", dim: int = DEFAULT_DIM):
        self.reason = reason
        self.dim = dim
        self.embedding_model = f"{HASHING_MODEL}-{dim}"

    def _refuse(self) -> LLMOffline:
        return LLMOffline(f"the LLM gateway is offline ({self.reason}); callers use their offline implementation, "
                          "or configure models with META_AGENT_LLM_CONFIG / META_AGENT_LLM_MODELS.")

    def complete(self, messages, *, purpose=None, group_id=None, **params):
        raise self._refuse()

    def complete_json(self, messages, schema, *, retries=3, purpose=None, group_id=None, **params):
        raise self._refuse()

    def embed(self, texts, *, purpose=None):
        return hashing_embed(list(texts), self.dim)

    def describe(self) -> str:
        return f"offline ({self.reason}); embeddings {self.embedding_model}"


def get_gateway(config: LLMConfig | None = None, *, db_url: str | None = None, record: bool = True) -> LLMGateway:
    """The gateway for ``config`` (default: ``load_config()``): live when models are configured."""
    cfg = config if config is not None else load_config()
    if not cfg.configured:
        return OfflineGateway(reason=f"configuration: {cfg.source or 'none'}")
    return LiteLLMGateway(cfg, db_url=db_url, record=record)


# ------------------------------------------------------------------------------ live


def _import_litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # local on purpose: seconds to import; only a live gateway needs it

    litellm.suppress_debug_info = True
    litellm.drop_params = True  # providers that do not take response_format etc. get it dropped
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM Router").setLevel(logging.WARNING)
    return litellm


class LiteLLMGateway(LLMGateway):
    offline = False

    def __init__(self, config: LLMConfig, *, db_url: str | None = None, record: bool = True):
        if not config.configured:
            raise LLMOffline("LiteLLMGateway needs at least one chat or embedding deployment.")
        self.config = config
        self.db_url = db_url
        self.record = record
        self._litellm = _import_litellm()
        self._deployments = {d.name: d for d in [*config.chat, *config.embedding]}
        model_list = [self._entry(d) for d in [*config.chat, *config.embedding]]
        fallbacks = []
        for deps in (config.chat, config.embedding):
            if len(deps) > 1:
                fallbacks.append({deps[0].name: [d.name for d in deps[1:]]})
        self._router = self._litellm.Router(
            model_list=model_list, fallbacks=fallbacks, num_retries=config.num_retries,
            timeout=config.timeout_s, retry_after=0, set_verbose=False,
        )
        self.chat_group = config.chat[0].name if config.chat else None
        self.embed_group = config.embedding[0].name if config.embedding else None
        self.embedding_model = config.embedding[0].model if config.embedding else f"{HASHING_MODEL}-{DEFAULT_DIM}"

    def _entry(self, d: Deployment) -> dict[str, Any]:
        params: dict[str, Any] = {"model": d.model, "timeout": d.timeout_s or self.config.timeout_s, "max_retries": 0}
        if d.api_base:
            params["api_base"] = d.api_base
        key = os.environ.get(d.api_key_env) if d.api_key_env else None
        if d.api_key_env and not key:
            log.warning("deployment %s: environment variable %s is not set", d.name, d.api_key_env)
        if key:
            params["api_key"] = key
        elif d.api_base:
            params["api_key"] = "not-needed"  # local OpenAI-compatible servers take any key
        return {"model_name": d.name, "litellm_params": params, "model_info": {"id": d.name}}

    def describe(self) -> str:
        chat = " → ".join(f"{d.name} ({d.model})" for d in self.config.chat) or "none"
        emb = " → ".join(f"{d.name} ({d.model})" for d in self.config.embedding) or f"offline {self.embedding_model}"
        return (f"litellm from {self.config.source}: chat {chat}; embedding {emb}; timeout {self.config.timeout_s:g}s, "
                f"{self.config.num_retries} retries")

    # -- cost and recording ------------------------------------------------------

    def _cost(self, deployment: str | None, tokens_in: int, tokens_out: int) -> tuple[float, str]:
        d = self._deployments.get(deployment or "")
        if d is not None and (d.input_cost_per_token is not None or d.output_cost_per_token is not None):
            return (tokens_in * (d.input_cost_per_token or 0.0) + tokens_out * (d.output_cost_per_token or 0.0),
                    "config")
        if d is not None:  # litellm's price map (bundled, plus anything litellm.register_model added)
            costs = self._litellm.model_cost
            entry = costs.get(d.model) or costs.get(d.model.split("/", 1)[-1])
            if entry and "input_cost_per_token" in entry:
                return (tokens_in * float(entry["input_cost_per_token"])
                        + tokens_out * float(entry.get("output_cost_per_token") or 0.0)), "litellm"
        return 0.0, "unpriced"

    def _record(self, **row: Any) -> None:
        if not self.record:
            return
        try:
            with engine_for(self.db_url or paths.db_url()).begin() as conn:
                conn.execute(llm_calls.insert(), [row])
        except Exception as exc:  # recording must never break a model call
            log.warning("could not record the LLM call in the ops database: %s", exc)

    def _row(self, *, call_id, group_id, attempt, kind, purpose, group, deployment, status, tokens_in=0,
             tokens_out=0, latency_ms, error: BaseException | None = None, metadata=None) -> dict[str, Any]:
        d = self._deployments.get(deployment or "")
        cost, source = self._cost(deployment, tokens_in, tokens_out) if status != "error" else (0.0, "unpriced")
        return {
            "call_id": call_id, "group_id": group_id, "attempt": attempt, "created_at": datetime.now(UTC),
            "kind": kind, "purpose": purpose, "model_group": group, "deployment": deployment,
            "model": d.model if d else None, "status": status, "fallback_used": bool(deployment and deployment != group),
            "tokens_in": int(tokens_in), "tokens_out": int(tokens_out), "cost_usd": float(cost), "cost_source": source,
            "latency_ms": float(latency_ms), "error_type": type(error).__name__ if error else None,
            "error_message": str(error)[:2000] if error else None, "metadata": metadata,
        }

    def _fail(self, exc: Exception, what: str) -> LLMError:
        lit = self._litellm
        timeout_types = tuple(t for t in (getattr(lit, "Timeout", None), getattr(lit.exceptions, "Timeout", None)) if t)
        text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        if isinstance(exc, timeout_types) or "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
            return LLMTimeout(f"{what} timed out on every deployment (timeout {self.config.timeout_s:g}s): {text}")
        return LLMError(f"{what} failed on every deployment after retries and fallbacks: {type(exc).__name__}: {text}")

    # -- calls -------------------------------------------------------------------

    def complete(self, messages, *, purpose=None, group_id=None, attempt=1, **params) -> Completion:
        if self.chat_group is None:
            raise LLMOffline("no chat model is configured (only embeddings); callers use their offline implementation.")
        call_id = uuid.uuid4().hex
        group_id = group_id or call_id
        t0 = time.perf_counter()
        try:
            resp = self._router.completion(model=self.chat_group, messages=messages, **params)
        except Exception as exc:
            ms = (time.perf_counter() - t0) * 1000
            self._record(**self._row(call_id=call_id, group_id=group_id, attempt=attempt, kind="completion",
                                     purpose=purpose, group=self.chat_group, deployment=None, status="error",
                                     latency_ms=ms, error=exc))
            raise self._fail(exc, "the completion") from exc
        ms = (time.perf_counter() - t0) * 1000
        hidden = getattr(resp, "_hidden_params", {}) or {}
        deployment = hidden.get("model_id") or self.chat_group
        usage = getattr(resp, "usage", None)
        tin = int(getattr(usage, "prompt_tokens", 0) or 0)
        tout = int(getattr(usage, "completion_tokens", 0) or 0)
        text = resp.choices[0].message.content or ""
        row = self._row(call_id=call_id, group_id=group_id, attempt=attempt, kind="completion", purpose=purpose,
                        group=self.chat_group, deployment=deployment, status="success", tokens_in=tin,
                        tokens_out=tout, latency_ms=ms)
        self._record(**row)
        return Completion(text=text, model=row["model"] or "", deployment=deployment, tokens_in=tin, tokens_out=tout,
                          cost_usd=row["cost_usd"], cost_source=row["cost_source"], latency_ms=ms, call_id=call_id,
                          group_id=group_id, fallback_used=row["fallback_used"], attempt=attempt, raw=resp)

    def complete_json(self, messages, schema, *, retries=3, purpose=None, group_id=None, **params):
        if retries < 1:
            raise ValueError("retries must be at least 1")
        group_id = group_id or uuid.uuid4().hex
        convo = [{"role": "system", "content": json_instruction(schema)}, *messages]
        if self.config.json_mode:
            params.setdefault("response_format", {"type": "json_object"})
        errors: list[str] = []
        reply = ""
        for attempt in range(1, retries + 1):
            done = self.complete(convo, purpose=purpose, group_id=group_id, attempt=attempt, **params)
            reply = done.text
            try:
                return parse_json_reply(reply, schema)
            except ValueError as exc:
                errors.append(str(exc))
                self._mark_invalid(done.call_id, str(exc))
                convo = [*convo, {"role": "assistant", "content": reply},
                         {"role": "user", "content": repair_instruction(str(exc))}]
        raise LLMJSONError(f"the model did not return valid {schema.__name__} JSON in {retries} attempt(s); "
                           f"last error: {errors[-1]}", errors, reply)

    def _mark_invalid(self, call_id: str, error: str) -> None:
        if not self.record:
            return
        try:
            with engine_for(self.db_url or paths.db_url()).begin() as conn:
                conn.execute(sa.update(llm_calls).where(llm_calls.c.call_id == call_id)
                             .values(status="invalid_json", error_type="ValidationError", error_message=error[:2000]))
        except Exception as exc:
            log.warning("could not mark the LLM call as invalid JSON: %s", exc)

    def embed(self, texts, *, purpose=None) -> np.ndarray:
        texts = [str(t) for t in texts]
        if self.embed_group is None:
            return hashing_embed(texts, DEFAULT_DIM)
        call_id = uuid.uuid4().hex
        t0 = time.perf_counter()
        try:
            resp = self._router.embedding(model=self.embed_group, input=texts)
        except Exception as exc:
            ms = (time.perf_counter() - t0) * 1000
            self._record(**self._row(call_id=call_id, group_id=call_id, attempt=1, kind="embedding", purpose=purpose,
                                     group=self.embed_group, deployment=None, status="error", latency_ms=ms,
                                     error=exc))
            raise self._fail(exc, "the embedding") from exc
        ms = (time.perf_counter() - t0) * 1000
        hidden = getattr(resp, "_hidden_params", {}) or {}
        deployment = hidden.get("model_id") or self.embed_group
        usage = getattr(resp, "usage", None)
        tin = int(getattr(usage, "prompt_tokens", 0) or 0)
        self._record(**self._row(call_id=call_id, group_id=call_id, attempt=1, kind="embedding", purpose=purpose,
                                 group=self.embed_group, deployment=deployment, status="success", tokens_in=tin,
                                 latency_ms=ms, metadata={"texts": len(texts)}))
        data = sorted(resp.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        m = np.array([d["embedding"] if isinstance(d, dict) else d.embedding for d in data], dtype=np.float32)
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


# ------------------------------------------------------------------------ JSON helpers


def json_instruction(schema: type[BaseModel]) -> str:
    return ("Reply with exactly one JSON object and nothing else (no prose, no code fences). It must validate "
            f"against this JSON Schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}")


def repair_instruction(error: str) -> str:
    return (f"That reply is not valid: {error}\nReply again with only the corrected JSON object that validates "
            "against the schema.")


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def parse_json_reply(text: str, schema: type[M]) -> M:
    """The reply as a validated ``schema`` instance, or ``ValueError`` saying what is wrong."""
    candidate = text.strip()
    fenced = _FENCE.search(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as first:
        start, end = candidate.find("{"), candidate.rfind("}")
        if start < 0 or end <= start:
            raise ValueError(f"the reply is not JSON ({first.msg} at line {first.lineno} column {first.colno})") from None
        try:
            data = json.loads(candidate[start:end + 1])
        except json.JSONDecodeError as exc:
            raise ValueError(f"the reply is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the JSON does not match {schema.__name__}: {problems}") from None
