"""The live gateway over litellm's real HTTP path, against an OpenAI-compatible server on loopback.

No ``mock_response``: litellm builds the request, the openai client sends it over TCP to a
pytest-httpserver on 127.0.0.1, and the reply is parsed, routed, costed and recorded in the
ops DB (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, Field
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from meta_agent.llm import (
    Deployment,
    LiteLLMGateway,
    LLMConfig,
    LLMError,
    LLMJSONError,
    LLMTimeout,
    get_gateway,
)
from meta_agent.llm.pricing import token_prices
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_llm import llm_calls


def reply(content: str, model: str = "served-model", tokens_in: int = 21, tokens_out: int = 7) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out}}


def deployment(server: HTTPServer, name: str, model: str = "openai/local-qwen", **kw) -> Deployment:
    return Deployment(name=name, model=model, api_base=server.url_for(f"/{name}/v1"), **kw)


def gateway(ops_env: str, *deps: Deployment, embedding=(), timeout_s: float = 5, retries: int = 0) -> LiteLLMGateway:
    gw = get_gateway(LLMConfig(chat=list(deps), embedding=list(embedding), timeout_s=timeout_s,
                               num_retries=retries, source="test"), db_url=ops_env)
    assert isinstance(gw, LiteLLMGateway) and gw.offline is False
    return gw


def calls(url: str) -> list[dict]:
    with engine_for(url).connect() as conn:
        rows = conn.execute(sa.select(llm_calls).order_by(llm_calls.c.created_at, llm_calls.c.attempt)).all()
    return [dict(r._mapping) for r in rows]


class Plan(BaseModel):
    goal: str
    tools: list[str] = Field(min_length=1)
    threshold: float | None = None


def test_completion_records_tokens_and_cost(ops_env, llm):
    llm.expect_request("/hosted/v1/chat/completions", method="POST").respond_with_json(
        reply("DSCR is NOI divided by debt service.", model="gpt-4o-mini", tokens_in=120, tokens_out=30))
    gw = gateway(ops_env, deployment(llm, "hosted", model="gpt-4o-mini"))
    done = gw.complete([{"role": "user", "content": "What is DSCR?"}], purpose="test")
    assert done.text.startswith("DSCR is NOI") and done.deployment == "hosted" and not done.fallback_used
    assert (done.tokens_in, done.tokens_out) == (120, 30)
    price_in, price_out = token_prices("gpt-4o-mini")  # litellm's bundled map, read independently
    assert done.cost_usd == pytest.approx(120 * price_in + 30 * price_out) and done.cost_usd > 0
    sent = json.loads(llm.log[0][0].get_data())
    assert sent["model"] == "gpt-4o-mini" and sent["messages"][0]["content"] == "What is DSCR?"
    (row,) = calls(ops_env)
    assert row["status"] == "success" and row["kind"] == "completion" and row["purpose"] == "test"
    assert (row["tokens_in"], row["tokens_out"], row["cost_source"]) == (120, 30, "litellm")
    assert row["cost_usd"] == pytest.approx(done.cost_usd) and row["latency_ms"] > 0


def test_unmapped_local_model_costs_zero_and_a_configured_price_is_used(ops_env, llm):
    llm.expect_request("/local/v1/chat/completions").respond_with_json(reply("hi", tokens_in=10, tokens_out=4))
    llm.expect_request("/priced/v1/chat/completions").respond_with_json(reply("hi", tokens_in=10, tokens_out=4))
    free = gateway(ops_env, deployment(llm, "local", model="openai/my-own-finetune-7b")).complete(
        [{"role": "user", "content": "hi"}])
    assert free.cost_usd == 0.0 and free.cost_source == "unpriced"
    priced = gateway(ops_env, deployment(llm, "priced", model="openai/my-own-finetune-7b",
                                         input_cost_per_token=1e-6, output_cost_per_token=2e-6)).complete(
        [{"role": "user", "content": "hi"}])
    assert priced.cost_usd == pytest.approx(10e-6 + 8e-6) and priced.cost_source == "config"
    assert [r["cost_source"] for r in calls(ops_env)] == ["unpriced", "config"]


def test_json_repair_round_feeds_the_validation_error_back(ops_env, llm):
    path = "/local/v1/chat/completions"
    llm.expect_ordered_request(path).respond_with_json(reply('{"goal": "dscr report", "tools": []}'))
    llm.expect_ordered_request(path).respond_with_json(
        reply('```json\n{"goal": "dscr report", "tools": ["calculate_dscr"], "threshold": 1.25}\n```'))
    gw = gateway(ops_env, deployment(llm, "local"))
    plan = gw.complete_json([{"role": "user", "content": "DSCR below 1.25"}], Plan, retries=3, purpose="planner")
    assert plan == Plan(goal="dscr report", tools=["calculate_dscr"], threshold=1.25)
    first, second = (json.loads(req.get_data()) for req, _ in llm.log)
    assert first["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in first["messages"][0]["content"] and '"tools"' in first["messages"][0]["content"]
    feedback = second["messages"][-1]["content"]
    assert second["messages"][-2] == {"role": "assistant", "content": '{"goal": "dscr report", "tools": []}'}
    assert "tools: List should have at least 1 item" in feedback
    rows = calls(ops_env)
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "invalid_json"), (2, "success")]
    assert rows[0]["group_id"] == rows[1]["group_id"] and "tools" in rows[0]["error_message"]


def test_json_gives_up_after_the_retries_with_every_error(ops_env, llm):
    llm.expect_request("/local/v1/chat/completions").respond_with_json(reply("I think the answer is 42."))
    gw = gateway(ops_env, deployment(llm, "local"))
    with pytest.raises(LLMJSONError) as exc:
        gw.complete_json([{"role": "user", "content": "plan"}], Plan, retries=3)
    assert len(exc.value.errors) == 3 and "not JSON" in exc.value.errors[0]
    assert exc.value.last_reply == "I think the answer is 42." and len(llm.log) == 3
    assert [r["status"] for r in calls(ops_env)] == ["invalid_json"] * 3


def test_fallback_to_the_second_deployment_when_the_first_fails(ops_env, llm):
    llm.expect_request("/local/v1/chat/completions").respond_with_data("upstream exploded", status=500)
    llm.expect_request("/hosted/v1/chat/completions").respond_with_json(reply("from the fallback", model="gpt-4o-mini"))
    gw = gateway(ops_env, deployment(llm, "local"), deployment(llm, "hosted", model="gpt-4o-mini"))
    done = gw.complete([{"role": "user", "content": "hello"}])
    assert done.text == "from the fallback" and done.deployment == "hosted" and done.fallback_used
    assert [req.path for req, _ in llm.log] == ["/local/v1/chat/completions", "/hosted/v1/chat/completions"]
    (row,) = calls(ops_env)
    assert row["deployment"] == "hosted" and row["model_group"] == "local" and row["fallback_used"] is True
    assert row["model"] == "gpt-4o-mini" and row["cost_usd"] > 0


def test_retries_hit_the_same_deployment_before_failing(ops_env, llm):
    llm.expect_request("/local/v1/chat/completions").respond_with_data("nope", status=503)
    gw = gateway(ops_env, deployment(llm, "local"), retries=1)
    with pytest.raises(LLMError, match="failed on every deployment"):
        gw.complete([{"role": "user", "content": "hello"}])
    assert len(llm.log) == 2  # the call and one retry
    (row,) = calls(ops_env)
    assert row["status"] == "error" and row["error_type"] and row["tokens_in"] == 0


def _slow(seconds: float, content: str):
    def handler(_: Request) -> Response:
        time.sleep(seconds)
        return Response(json.dumps(reply(content)), status=200, content_type="application/json")

    return handler


def test_timeout_raises_a_clear_error_and_is_recorded(ops_env, llm):
    llm.expect_request("/local/v1/chat/completions").respond_with_handler(_slow(2.0, "too late"))
    gw = gateway(ops_env, deployment(llm, "local"), timeout_s=0.3)
    t0 = time.perf_counter()
    with pytest.raises(LLMTimeout, match="timed out"):
        gw.complete([{"role": "user", "content": "hello"}])
    assert time.perf_counter() - t0 < 1.9  # gave up at the timeout, did not wait for the reply
    (row,) = calls(ops_env)
    assert row["status"] == "error" and "imeout" in row["error_type"]


def test_timeout_on_the_first_deployment_falls_back(ops_env, llm):
    llm.expect_request("/local/v1/chat/completions").respond_with_handler(_slow(2.0, "too late"))
    llm.expect_request("/hosted/v1/chat/completions").respond_with_json(reply("in time"))
    gw = gateway(ops_env, deployment(llm, "local"), deployment(llm, "hosted"), timeout_s=0.3)
    done = gw.complete([{"role": "user", "content": "hello"}])
    assert done.text == "in time" and done.deployment == "hosted"


def test_embedding(ops_env, llm):
    llm.expect_request("/embed/v1/embeddings", method="POST").respond_with_json({
        "object": "list", "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 1, "embedding": [0.0, 3.0, 4.0]},
                 {"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]}],
        "usage": {"prompt_tokens": 9, "total_tokens": 9}})
    gw = gateway(ops_env, embedding=[deployment(llm, "embed", model="text-embedding-3-small")])
    vectors = gw.embed(["first text", "second text"], purpose="test")
    assert vectors.shape == (2, 3) and vectors[0].tolist() == [1.0, 0.0, 0.0]
    assert vectors[1].tolist() == pytest.approx([0.0, 0.6, 0.8])  # in input order, L2-normalized
    assert json.loads(llm.log[0][0].get_data())["input"] == ["first text", "second text"]
    (row,) = calls(ops_env)
    assert row["kind"] == "embedding" and row["tokens_in"] == 9 and row["cost_source"] == "litellm"
    assert row["cost_usd"] == pytest.approx(9 * token_prices("text-embedding-3-small")[0])


def test_a_broken_ops_database_never_breaks_the_call(llm, tmp_path, caplog):
    llm.expect_request("/local/v1/chat/completions").respond_with_json(reply("still fine"))
    unmigrated = f"sqlite:///{tmp_path / 'empty.db'}"
    gw = get_gateway(LLMConfig(chat=[deployment(llm, "local")], num_retries=0), db_url=unmigrated)
    assert gw.complete([{"role": "user", "content": "x"}]).text == "still fine"
    assert "could not record the LLM call" in caplog.text
