"""The LLM planner and script writer over the real litellm HTTP path, against an
OpenAI-compatible server on loopback (pytest-httpserver): a plan, a repair round with the
validation error fed back, a refusal, and a script body judged by the validator."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from meta_agent.scriptgen.llm_planner import LLMPlanner, LLMScriptWriter
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_llm import llm_calls

CHAT = "/v1/chat/completions"


def reply(content: str, tokens=(120, 40)) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)}}


def plan_json(**over) -> str:
    doc = {"can_plan": True, "goal": "DSCR of every property below 1.25, as Excel", "metrics": ["dscr"],
           "parameters": {"thresholds": [{"metric": "dscr", "op": "<", "value": 1.25}],
                          "output_formats": ["xlsx"]},
           "assumptions": ["latest year"]}
    doc.update(over)
    return json.dumps(doc)


@pytest.fixture
def gateway(httpserver, sqlite_url, monkeypatch, data_url):
    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("META_AGENT_DB_URL", sqlite_url)
    monkeypatch.delenv("META_AGENT_LLM_OFFLINE", raising=False)
    monkeypatch.delenv("META_AGENT_LLM_CONFIG", raising=False)
    monkeypatch.setenv("META_AGENT_LLM_MODELS", f"openai/test-model@{httpserver.url_for('/v1')}")
    monkeypatch.setenv("META_AGENT_LLM_RETRIES", "0")
    from meta_agent.llm import get_gateway

    gw = get_gateway()
    assert not gw.offline
    return gw


def calls(url: str) -> list[dict]:
    with engine_for(url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(llm_calls).order_by(llm_calls.c.created_at)).mappings()]


def bodies(httpserver) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


def test_llm_plan_is_validated_and_the_execution_is_derived(gateway, httpserver, sqlite_url):
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(plan_json()))
    outcome = LLMPlanner(gateway).plan("which properties breach a 1.25x DSCR covenant? excel")
    assert outcome.ok, outcome.refusal
    req = outcome.requirements
    assert req.planner == "llm" and req.metrics == ["dscr"]
    assert req.tools == ["fetch_property_data", "fetch_financial_data", "calculate_dscr", "filter_data",
                         "export_to_excel"]
    (body,) = bodies(httpserver)
    assert body["model"] == "test-model" and "calculate_dscr" in body["messages"][1]["content"]
    # the domain part of the prompt comes from the portfolio's vocabulary, read from its database
    assert "This database holds 25 properties (P-001 to P-025)." in body["messages"][1]["content"]
    assert "Salt Lake City" in body["messages"][1]["content"]
    assert "breach a 1.25x DSCR covenant" in body["messages"][-1]["content"]
    (row,) = calls(sqlite_url)
    assert (row["status"], row["tokens_in"], row["tokens_out"], row["purpose"]) == ("success", 120, 40, "script_planner")


def test_an_inconsistent_plan_is_repaired_with_the_error_fed_back(gateway, httpserver, sqlite_url):
    wrong = plan_json(parameters={"thresholds": [{"metric": "cap_rate", "op": ">", "value": 0.06}]})
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(wrong))
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(plan_json()))
    outcome = LLMPlanner(gateway).plan("DSCR under 1.25 as Excel")
    assert outcome.ok and outcome.requirements.parameters.thresholds[0].metric == "dscr"
    second = bodies(httpserver)[1]["messages"]
    assert second[-2]["role"] == "assistant" and second[-2]["content"] == wrong
    assert "not in metrics" in second[-1]["content"]
    rows = calls(sqlite_url)
    assert [r["status"] for r in rows] == ["invalid_json", "success"] and rows[0]["group_id"] == rows[1]["group_id"]


def test_parameters_outside_the_domain_are_repaired_with_the_vocabulary_fed_back(gateway, httpserver):
    wrong = plan_json(parameters={"filters": {"town": ["Houston"]}, "entity_ids": ["7"],
                                  "thresholds": [{"metric": "dscr", "op": "<", "value": 1.25}]})
    right = plan_json(parameters={"filters": {"city": ["Houston"]}, "entity_ids": ["P-007"],
                                  "thresholds": [{"metric": "dscr", "op": "<", "value": 1.25}]})
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(wrong))
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(right))
    outcome = LLMPlanner(gateway).plan("DSCR under 1.25 for P-007 in Houston")
    assert outcome.ok
    p = outcome.requirements.parameters
    assert (p.entity_ids, p.filters) == (["P-007"], {"city": ["Houston"]})
    feedback = bodies(httpserver)[1]["messages"][-1]["content"]
    assert "property ids look like P-007" in feedback and "'town' is not a dimension to filter by" in feedback


def test_three_bad_replies_end_in_a_refusal_not_a_guess(gateway, httpserver):
    for _ in range(3):
        httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply("I think DSCR is great!"))
    outcome = LLMPlanner(gateway).plan("DSCR for all properties")
    assert not outcome.ok and "3 tries" in outcome.refusal.reason and outcome.attempts == 3
    assert len(httpserver.log) == 3


def test_the_model_may_decline_and_the_refusal_names_the_closest_tools(gateway, httpserver):
    body = json.dumps({"can_plan": False, "refusal_reason": "no tool forecasts rents"})
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(body))
    outcome = LLMPlanner(gateway).plan("project rents for 2030 for P-001")
    assert not outcome.ok and outcome.refusal.reason == "no tool forecasts rents" and outcome.refusal.planner == "llm"


def test_the_model_may_plan_a_scenario_and_the_drivers_stay_out_of_the_script(gateway, httpserver):
    from meta_agent.portfolio.drivers import DRIVERS
    from meta_agent.scriptgen.generator import render

    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(
        reply(plan_json(drivers={"interest_rate_shift_bps": 200, "noi_multiplier": 1.0})))
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(plan_json()))
    planner = LLMPlanner(gateway)
    req = planner.plan("which properties breach a 1.25x DSCR covenant if rates rise 200 bp? excel").requirements
    base = planner.plan("which properties breach a 1.25x DSCR covenant? excel").requirements
    assert req.drivers == {"interest_rate_shift_bps": 200.0}  # the neutral one is left out
    assert f"scenario: {DRIVERS['interest_rate_shift_bps'].describe(200)}" in req.assumptions
    assert req.fingerprint() == base.fingerprint() and req.script_params() == base.script_params()
    assert render(req) == render(base)
    system = bodies(httpserver)[0]["messages"][1]["content"]
    assert "interest_rate_shift_bps" in system and "-1000 to 5000" in system and "unhandled" in system


def test_an_unknown_driver_is_repaired_with_the_drivers_fed_back(gateway, httpserver):
    wrong = plan_json(drivers={"rate_shift": 200})
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(wrong))
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(
        reply(plan_json(drivers={"interest_rate_shift_bps": 200})))
    outcome = LLMPlanner(gateway).plan("DSCR under 1.25 if rates rise 200 bp, as Excel")
    assert outcome.ok and outcome.requirements.drivers == {"interest_rate_shift_bps": 200.0}
    feedback = bodies(httpserver)[1]["messages"][-1]["content"]
    assert "unknown driver 'rate_shift'" in feedback and "interest_rate_shift_bps -1000 to 5000" in feedback


def test_a_driver_out_of_range_three_times_is_a_refusal_that_says_the_range(gateway, httpserver):
    for _ in range(3):
        httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(
            reply(plan_json(drivers={"noi_multiplier": -0.2})))
    outcome = LLMPlanner(gateway).plan("DSCR under 1.25 if NOI falls 120 %")
    assert not outcome.ok and outcome.attempts == 3
    assert "noi_multiplier must be a finite number between 0 and 10" in outcome.refusal.reason


def test_clauses_the_model_could_not_plan_are_named_and_lower_the_confidence(gateway, httpserver):
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(
        reply(plan_json(unhandled=["weighted by square footage", " "])))
    req = LLMPlanner(gateway).plan("DSCR below 1.25 weighted by square footage, Excel").requirements
    assert req.unhandled == ["weighted by square footage"] and req.confidence < 0.9
    assert "not handled: 'weighted by square footage' (the plan ignores it)" in req.assumptions
    assert "- not handled: 'weighted by square footage'" in req.to_markdown()


def test_the_model_may_plan_an_aggregate(gateway, httpserver):
    mean = plan_json(metrics=["occupancy"], parameters={"filters": {"property_type": ["retail"]}, "aggregate": "mean"})
    by_type = plan_json(metrics=["cap_rate"], parameters={"group_by": "property_type", "aggregate": "mean"})
    for doc in (mean, by_type):
        httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(doc))
    planner = LLMPlanner(gateway)
    req = planner.plan("average occupancy of retail properties").requirements
    assert req.parameters.aggregate == "mean" and "reduce" in [s.kind for s in req.steps]
    grouped = planner.plan("average cap rate by property type").requirements
    assert grouped.parameters.aggregate is None  # the group summary has the mean per type already


def test_without_a_model_the_llm_planner_uses_the_offline_one(monkeypatch):
    from meta_agent.llm import OfflineGateway

    outcome = LLMPlanner(OfflineGateway()).plan("DSCR below 1.25 as CSV")
    assert outcome.ok and outcome.requirements.planner == "offline (no model configured)"


# What a model tends to write first: plain Python with the old boilerplate (outside the language).
OUTSIDE = """\
```python
import json
import os

def main():
    params = json.load(open(os.environ["META_AGENT_PARAMS"]))
    print("DSCR for {0}".format(params.get("year")))

main()
```"""
# The same answer in the script language (hand-written, not a template rendering).
INSIDE = '''"""DSCR of every property, as CSV."""

from meta_agent.tools import call_tool, column, log, put, run_script, step


def run(params, result):
    step(1, "read the financials")
    rows = call_tool("fetch_financial_data", year=params.get("year"))
    step(2, "DSCR per property")
    put(rows, "dscr", call_tool("calculate_dscr", noi=column(rows, "noi"), debt_service=column(rows, "debt_service"),
                                on_undefined="nan"))
    log("%d properties", len(rows))
    call_tool("export_to_csv", data=rows, path="dscr.csv")
    result["outputs"].append("dscr.csv")
    return rows, None


run_script(run, steps=2)
'''


def test_a_model_written_script_is_judged_and_fixed_from_the_validator_findings(gateway, httpserver, sqlite_url):
    from meta_agent.scriptgen.generator import render
    from meta_agent.scriptgen.offline_planner import OfflinePlanner

    req = OfflinePlanner().plan("DSCR below 1.25 as CSV").requirements
    bad = "```python\nimport os\nos.system('id')\n```"
    good = f"Here it is:\n```python\n{render(req)}```\n"
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(bad))
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(good))
    writer = LLMScriptWriter(gateway)
    source = writer.write(req)
    assert writer.attempts == 2 and writer.last_report.valid and source == render(req)
    feedback = bodies(httpserver)[1]["messages"][-1]["content"]
    assert "script.py:1:1: [import-not-allowed]" in feedback and "[structure]" in feedback
    assert [r["purpose"] for r in calls(sqlite_url)] == ["script_writer", "script_writer"]


def test_a_reply_outside_the_language_gets_the_findings_back_and_the_next_one_inside_it_is_kept(
        gateway, httpserver, sqlite_url):
    from meta_agent.scriptgen.offline_planner import OfflinePlanner
    from meta_agent.scriptgen.validator import validate_script

    req = OfflinePlanner().plan("DSCR for all properties as CSV").requirements
    assert validate_script(INSIDE).findings == []
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(OUTSIDE))
    httpserver.expect_ordered_request(CHAT, method="POST").respond_with_json(reply(f"```python\n{INSIDE}```"))
    writer = LLMScriptWriter(gateway)
    source = writer.write(req)
    assert writer.attempts == 2 and writer.last_report.valid and source.strip() == INSIDE.strip()
    first, second = (body["messages"] for body in bodies(httpserver))
    system = first[0]["content"]
    assert "from meta_agent.tools import NAME" in system and "run_script" in system  # the language is in the prompt
    feedback = second[-1]["content"]
    assert second[-2] == {"role": "assistant", "content": OUTSIDE}
    for rule in ("import-not-allowed", "name-not-allowed", "attribute-not-allowed", "structure"):
        assert f"[{rule}]" in feedback, (rule, feedback)
    assert "'open'" in feedback and "'print'" in feedback and "fix:" in feedback
    assert [r["status"] for r in calls(sqlite_url)] == ["success", "success"]
