"""The LLM judge: offline it skips and writes nothing; live it goes over litellm's real HTTP path
to an OpenAI-compatible server on loopback (as tests/llm/test_gateway_http.py) and its verdicts
land as ``llm_judge`` scores; the rubric file's errors name file, line and field."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from meta_agent.errors import InputError
from meta_agent.evaluation.judge import (
    OFFLINE_REASON,
    Criterion,
    Rubric,
    allocate,
    judge_messages,
    judge_sample,
    load_rubric,
    sample_executions,
)
from meta_agent.llm import Deployment, LiteLLMGateway, LLMConfig, get_gateway
from meta_agent.llm.gateway import OfflineGateway
from meta_agent.store.engine import engine_for
from meta_agent.store.ingest import ingest_file
from meta_agent.store.schema_evaluation import execution_scores
from meta_agent.store.schema_llm import llm_calls

DAY = date(2026, 11, 1)
RUBRIC = Rubric((Criterion("task_success", "Did it do the task?", 2.0),
                 Criterion("faithfulness", "Is the answer supported?", 1.0)), "Judge only the record.")


def reply(content: str) -> dict:
    return {"id": "chatcmpl-judge", "object": "chat.completion", "created": int(time.time()), "model": "local-judge",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}}


def gateway(url: str, server: HTTPServer) -> LiteLLMGateway:
    dep = Deployment(name="judge", model="openai/local-judge", api_base=server.url_for("/judge/v1"))
    gw = get_gateway(LLMConfig(chat=[dep], timeout_s=10, num_retries=0, source="test"), db_url=url)
    assert isinstance(gw, LiteLLMGateway) and not gw.offline
    return gw


class Judge:
    """The loopback model: a verdict per criterion; the first reply of all fails the schema."""

    def __init__(self, bad_first: bool = True, score_of=None, garbage: bool = False):
        self.bad_first, self.garbage = bad_first, garbage
        self.score_of = score_of or {"task_success": 0.75, "faithfulness": 0.25}
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        with self.lock:
            self.requests.append(body)
            first = len(self.requests) == 1
        if self.garbage:
            content = "I would say it went rather well."
        elif first and self.bad_first:
            content = '{"score": 1.4, "reason": "better than perfect"}'  # score > 1: fails JudgeVerdict
        else:
            system = "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")
            name = next(n for n in self.score_of if f"Criterion '{n}'" in system)
            content = json.dumps({"score": self.score_of[name], "reason": f"{name} looks like {self.score_of[name]}"})
        return Response(json.dumps(reply(content)), status=200, content_type="application/json")


def seed_day(url: str, tmp_path: Path, n: int = 12) -> list[str]:
    lines = []
    for i in range(n):
        failed = i % 4 == 3
        lines.append({
            "execution_id": f"ex-{i:03d}", "agent_id": f"agent-{i % 2}", "started_at": f"2026-11-01T0{i % 10}:00:00Z",
            "latency_ms": 900.0, "status": "failure" if failed else "success", "model": "gpt-4o-mini",
            "error_type": "ToolError" if failed else None, "error_message": "search returned 502" if failed else None,
            "metadata": {"question": f"What is the DSCR of property P-{i}?", "answer": "1.31", "ticket": i},
            "actions": [{"action_type": "tool_call", "name": "search_kb", "started_at": "2026-11-01T00:00:00Z",
                         "latency_ms": 40.0, "status": "failure" if failed else "success"}]})
    lines.append({**lines[0], "execution_id": "ex-next-day", "started_at": "2026-11-02T01:00:00Z"})
    f = tmp_path / "day.jsonl"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    ingest_file(f, url=url)
    return [x["execution_id"] for x in lines[:n]]


def stored_scores(url: str) -> dict[tuple, dict]:
    with engine_for(url).connect() as conn:
        return {(r.execution_id, r.name, r.source): dict(r._mapping) for r in conn.execute(sa.select(execution_scores))}


def test_offline_the_judge_is_skipped_and_writes_nothing(ops_env, tmp_path):
    seed_day(ops_env, tmp_path)
    result = judge_sample(ops_env, DAY, OfflineGateway(), rubric=load_rubric())
    assert result.skipped and result.reason == OFFLINE_REASON == "no model is configured: quality is unscored by a judge"
    assert result.scores_written == 0 and stored_scores(ops_env) == {}
    assert result.describe() == f"judge skipped: {OFFLINE_REASON}"


def test_live_verdicts_land_as_llm_judge_scores_after_one_repaired_reply(ops_env, tmp_path, llm):
    seed_day(ops_env, tmp_path)
    model = Judge()
    llm.expect_request("/judge/v1/chat/completions", method="POST").respond_with_handler(model)
    result = judge_sample(ops_env, DAY, gateway(ops_env, llm), rubric=RUBRIC, sample_size=6, seed=3)

    assert not result.skipped and result.reason is None
    assert (result.population, result.sampled, result.judged, result.failed) == (12, 6, 6, 0)
    assert result.scores_written == 12 and len(model.requests) == 13  # 6 × 2 verdicts + one repair round
    assert set(result.strata) == {"agent-0/success", "agent-1/success", "agent-1/failure"}  # every stratum
    got = stored_scores(ops_env)
    assert len(got) == 12 and {k[2] for k in got} == {"llm_judge"}
    assert {k[0] for k in got} == set(result.execution_ids) and "ex-next-day" not in result.execution_ids
    for (_, name, _), row in got.items():
        assert row["value"] == {"task_success": 0.75, "faithfulness": 0.25}[name]
        assert row["comment"] == f"{name} looks like {row['value']}" and row["agent_id"].startswith("agent-")
    assert result.overall == pytest.approx((2 * 0.75 + 0.25) / 3)
    assert [(r["criterion"], r["scored"], r["mean"]) for r in result.as_rows()] == [
        ("task_success", 6, 0.75), ("faithfulness", 6, 0.25)]

    repair = model.requests[1]["messages"]  # the bad reply went back with the validation error
    assert repair[-2] == {"role": "assistant", "content": '{"score": 1.4, "reason": "better than perfect"}'}
    assert "score: Input should be less than or equal to 1" in repair[-1]["content"]
    prompt = model.requests[0]["messages"][-1]["content"]
    assert "What is the DSCR of property P-" in prompt and '"answer": "1.31"' in prompt
    assert '"search_kb"' in prompt and "ticket" not in prompt  # only input/output/question/answer of metadata
    failed_prompts = [r["messages"][-1]["content"] for r in model.requests if "search returned 502" in
                      r["messages"][-1]["content"]]
    assert failed_prompts and all('"ToolError"' in p for p in failed_prompts)
    with engine_for(ops_env).connect() as conn:
        purposes = conn.execute(sa.select(llm_calls.c.purpose, llm_calls.c.status)).all()
    assert {p for p, _ in purposes} == {"llm_judge"} and sorted(s for _, s in purposes).count("invalid_json") == 1

    # the same day again: nothing is asked twice; asked again on purpose, the verdicts replace
    again = judge_sample(ops_env, DAY, gateway(ops_env, llm), rubric=RUBRIC, sample_size=6, seed=3)
    assert again.execution_ids == result.execution_ids and again.already_judged == 12
    assert again.scores_written == 0 and len(model.requests) == 13
    model.score_of = {"task_success": 1.0, "faithfulness": 0.5}
    redo = judge_sample(ops_env, DAY, gateway(ops_env, llm), rubric=RUBRIC, sample_size=6, seed=3, skip_judged=False)
    assert redo.scores_written == 12 and len(stored_scores(ops_env)) == 12
    assert {r["value"] for r in stored_scores(ops_env).values()} == {1.0, 0.5}


def test_a_reply_that_never_validates_records_no_score_and_is_counted(ops_env, tmp_path, llm):
    seed_day(ops_env, tmp_path, n=4)
    model = Judge(garbage=True)
    llm.expect_request("/judge/v1/chat/completions").respond_with_handler(model)
    result = judge_sample(ops_env, DAY, gateway(ops_env, llm), rubric=RUBRIC, sample_size=2, retries=2)
    assert (result.sampled, result.judged, result.scores_written, result.failed) == (2, 0, 0, 4)
    assert len(model.requests) == 8 and stored_scores(ops_env) == {}
    assert len(result.errors) == 4 and "did not return valid JudgeVerdict JSON in 2 attempt(s)" in result.errors[0]
    assert "4 verdicts failed" in result.describe()


def test_a_model_that_is_down_stops_the_run_and_says_so(ops_env, tmp_path, llm):
    seed_day(ops_env, tmp_path, n=6)
    llm.expect_request("/judge/v1/chat/completions").respond_with_data("upstream exploded", status=500)
    result = judge_sample(ops_env, DAY, gateway(ops_env, llm), rubric=RUBRIC, sample_size=6)
    assert result.failed == 3 and result.scores_written == 0 and stored_scores(ops_env) == {}
    assert "stopped after 3 failed model calls in a row" in result.reason and len(llm.log) == 3


def test_sampling_is_deterministic_and_stratified():
    rows = [(f"e{i:04d}", f"agent-{i % 3}", "failure" if i % 10 == 0 else "success") for i in range(300)]
    first = sample_executions(rows, 20, seed=1)
    assert first == sample_executions(list(reversed(rows)), 20, seed=1)  # order of the input does not matter
    assert first != sample_executions(rows, 20, seed=2) and len(set(first)) == 20
    strata = {(a, s) for e, a, s in rows if e in set(first)}
    assert strata == {(f"agent-{k}", st) for k in range(3) for st in ("success", "failure")}
    assert sorted(sample_executions(rows[:5], 50)) == [r[0] for r in rows[:5]]  # all of a small day
    grown = sample_executions([*rows, ("e9999", "agent-0", "success")], 20, seed=1)
    assert len(set(grown) & set(first)) >= 18  # a late arrival does not reshuffle the sample
    assert allocate({"a": 100, "b": 10, "c": 1}, 20) == {"a": 17, "b": 2, "c": 1}
    assert allocate({"a": 5, "b": 3, "c": 2}, 2) == {"a": 1, "b": 1}
    assert allocate({"a": 2, "b": 1}, 50) == {"a": 2, "b": 1}


def test_the_prompt_cuts_long_texts_and_action_lists():
    record = {"agent_id": "a", "status": "success", "latency_ms": 5, "metadata": {"input": "x" * 5000},
              "actions": [{"action_type": "tool_call", "name": f"t{i}", "status": "success", "error_type": None,
                           "error_message": None} for i in range(100)]}
    [system, user] = judge_messages(RUBRIC, RUBRIC.criteria[0], record)
    assert "Criterion 'task_success': Did it do the task?" in system["content"] and "Judge only" in system["content"]
    assert "[3000 more characters]" in user["content"] and '"omitted": "60 actions"' in user["content"]
    assert '"t0"' in user["content"] and '"t99"' in user["content"] and '"t50"' not in user["content"]


def test_the_shipped_rubric_loads():
    rubric = load_rubric()
    assert rubric.names == ["task_success", "faithfulness", "efficiency"]
    assert all(c.description and c.weight > 0 for c in rubric.criteria) and rubric.instructions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("criteria:\n  - name: ok\n    description: fine\n  - name: bad name\n    description: x\n",
         ":4: criteria[1].name: must be 1-64 characters"),
        ("criteria:\n  - name: a\n    description: x\n    weight: -1\n", ":4: criteria[0].weight: must be a number > 0 (got '-1')"),
        ("criteria:\n  - name: a\n    description: x\n    weight: heavy\n", ":4: criteria[0].weight: must be a number > 0"),
        ("criteria:\n  - name: a\n", ":2: criteria[0].description: required field is missing"),
        ("criteria:\n  - name: a\n    description: x\n  - name: a\n    description: y\n",
         ":4: criteria[1].name: 'a' is already criteria[0]"),
        ("criteria:\n  - name: a\n    description: x\n    colour: red\n", ":4: criteria[0].colour: unknown field"),
        ("criteria: []\n", ":1: criteria: expected a non-empty list"),
        ("version: 1\n", ":1: criteria: missing"),
        ("version: 2\ncriteria:\n  - name: a\n    description: x\n", ":1: version: unsupported version '2'"),
        ("criteria:\n  - name: a\n    description: [1, 2]\n", ":3: criteria[0].description: expected text"),
        ("criteria:\n  - name: a\n    description:\n", ":3: criteria[0].description: must not be empty"),
        ("criteria:\n  - name: a\n  description: x\n", ":3: not valid YAML"),
        ("rubric:\n  - a\n", ":1: rubric: unknown top-level key"),
        ("", ": is empty"),
    ],
)
def test_a_malformed_rubric_names_file_line_and_field(tmp_path, text, expected):
    f = tmp_path / "judge_rubric.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        load_rubric(f)
    assert str(err.value).startswith(str(f)) and expected in str(err.value), str(err.value)


def test_a_missing_rubric_says_what_to_do(tmp_path):
    with pytest.raises(InputError, match="no such file; the judge needs a rubric"):
        load_rubric(tmp_path / "nope.yaml")
