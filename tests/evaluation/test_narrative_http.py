"""The narrative over litellm's real HTTP path: a loopback OpenAI-compatible server answers,
and every number of the reply is checked against the report's facts."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from meta_agent.evaluation.data import SCORE_FIELDS, frames_from_records
from meta_agent.evaluation.narrative import PURPOSE, invented, quantities, write_narrative
from meta_agent.evaluation.report import build_report
from meta_agent.fleet import FleetSpec, Incident, simulate
from meta_agent.llm import Deployment, LLMConfig, OfflineGateway, get_gateway

END = date(2026, 11, 30)
FIRST = END - timedelta(days=6)
AGENT = "invoice-extractor"
PATH = "/local/v1/chat/completions"


@pytest.fixture(scope="module")
def report():
    spec = FleetSpec(agents=2, days=14, per_day=120, end=END,
                     incidents=[Incident("latency_regression", AGENT, END - timedelta(days=4))])
    ex, acts = frames_from_records(simulate(spec))
    day = ex["started_at"].dt.date
    cur, prev = ex[day >= FIRST], ex[day < FIRST]
    none = pd.DataFrame(columns=list(SCORE_FIELDS))
    return build_report(AGENT, period=(FIRST, END), current=cur[cur.agent_id == AGENT],
                        previous=prev[prev.agent_id == AGENT], actions_current=acts, scores_current=none,
                        scores_previous=none, fleet_current=cur,
                        targets={"min_success_rate": 0.93, "max_latency_p95_ms": 7000})


def reply(content: str) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "served-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 400, "completion_tokens": 80, "total_tokens": 480}}


def gateway(url: str, server: HTTPServer):
    return get_gateway(LLMConfig(chat=[Deployment(name="local", model="openai/local-qwen",
                                                  api_base=server.url_for("/local/v1"))],
                                 timeout_s=5, num_retries=0, source="test"), db_url=url)


def faithful(report) -> str:
    f = report.facts()
    return (f"{report.agent_id} scored {f['overall score']} this week and its risk is {f['risk level']}. "
            f"Its p95 latency rose from {f['p95 latency before']} to {f['p95 latency after']} from "
            f"{report.recommendations[0].started.isoformat()}, the day prompt v4 went live. "
            "Roll back to the previous prompt or profile v4.")


def sent(server: HTTPServer, i: int) -> dict:
    return json.loads(server.log[i][0].get_data())


def test_the_checker_reads_numbers_with_units_and_rounding():
    facts = {"a": "83.9 %", "b": "2.1 s", "c": "$0.0061", "d": "+174 %, 95 % CI +144 % to +199 %", "e": "62/100",
             "f": "2026-11-25", "g": "-10.4 pp"}
    assert invented("84 % of runs, 2,100 ms, $0.0061, up 174 % (144 % to 199 %), 62 out of 62/100, "
                    "on 2026-11-25, down 10.4 points (-10 pp), gpt-4o and claude-sonnet-4-5 with prompt v4", facts) == []
    assert invented("83.95 %, 2.3 s, $0.007, 37 %, 2026-11-26, 10.9×", facts) == [
        "2026-11-26", "83.95 %", "2.3 s", "$0.007", "37 %", "10.9×"]
    assert [q.kind for q in quantities("1.6 min, 15 ms, 3,674 tokens, 5.0×, 82/100")] == [
        "ms", "ms", "plain", "x", "score"]


def test_offline_is_the_rule_summary(report):
    n = write_narrative(report, OfflineGateway())
    assert (n.text, n.source) == (report.summary, "rules")


def test_a_faithful_reply_is_accepted(report, ops_env, llm):
    llm.expect_request(PATH, method="POST").respond_with_json(reply(faithful(report)))
    n = write_narrative(report, gateway(ops_env, llm))
    assert n.text == faithful(report) and n.source.startswith("llm:") and len(llm.log) == 1
    body = sent(llm, 0)
    facts_msg = body["messages"][1]["content"]
    assert "p95 latency before" in facts_msg and report.facts()["p95 latency after"] in facts_msg
    assert "ONLY the facts" in body["messages"][0]["content"]


def test_an_inventing_reply_gets_one_repair_round(report, ops_env, llm):
    llm.expect_ordered_request(PATH).respond_with_json(
        reply(faithful(report) + " Costs rose 37 % on 2026-12-24."))
    llm.expect_ordered_request(PATH).respond_with_json(reply(faithful(report)))
    n = write_narrative(report, gateway(ops_env, llm))
    assert n.text == faithful(report) and n.source.startswith("llm:")
    repair = sent(llm, 1)["messages"]
    assert repair[-2]["role"] == "assistant" and "37 %" in repair[-2]["content"]
    assert "not in the facts: 2026-12-24, 37 %" in repair[-1]["content"]


def test_an_always_inventing_reply_is_rejected_for_the_rules(report, ops_env, llm):
    llm.expect_request(PATH).respond_with_json(reply("Latency rose 37 % and costs doubled to $9.99."))
    n = write_narrative(report, gateway(ops_env, llm))
    assert n.text == report.summary
    assert n.source == "rules (model reply rejected: invented 37 %, $9.99)"
    assert len(llm.log) == 2  # the call and its one repair round


def test_calls_are_recorded_with_the_purpose(report, ops_env, llm):
    import sqlalchemy as sa

    from meta_agent.store.engine import engine_for
    from meta_agent.store.schema_llm import llm_calls

    llm.expect_request(PATH).respond_with_json(reply(faithful(report)))
    write_narrative(report, gateway(ops_env, llm))
    with engine_for(ops_env).connect() as conn:
        rows = conn.execute(sa.select(llm_calls.c.purpose, llm_calls.c.status)).all()
    assert [tuple(r) for r in rows] == [(PURPOSE, "success")]


def test_a_failing_model_falls_back_to_the_rules(report, ops_env, llm):
    llm.expect_request(PATH).respond_with_data("upstream exploded", status=500)
    n = write_narrative(report, gateway(ops_env, llm))
    assert n.text == report.summary and n.source == "rules (model unavailable: LLMError)"
