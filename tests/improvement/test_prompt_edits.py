"""Prompt edits: the rules drawn from a failure cluster, the checks a new text must pass, and
the model-written variant over litellm's real HTTP path (a loopback OpenAI-compatible server)."""

from __future__ import annotations

import json
import time

import pytest

from meta_agent.improvement import prompt_edits as pe
from meta_agent.llm import Deployment, LLMConfig, OfflineGateway, get_gateway

PATH = "/local/v1/chat/completions"
BASE = ("You are support-triage. Classify the ticket and draft a reply.\n\n"
        "Customer: {customer}\nTicket: {question}\n\nReply as JSON. Literal braces stay: {{\"ok\": true}}\n")
PARSE = ("Failed to parse SupportTriageAnswer from completion: 1 validation error for SupportTriageAnswer: "
         "field '{}' required (got prose, not JSON)")


@pytest.fixture
def parse_failure() -> pe.Failure:
    msgs = [PARSE.format("next_action")] * 30 + [PARSE.format("risk_flags")] * 10 + \
        ["Could not parse LLM output: Expecting ',' delimiter: line 1 column 20 (char 140)"] * 5
    return pe.read_failures(["OutputParserException"] * len(msgs), msgs)


def test_placeholders_are_the_format_fields_not_the_escaped_braces():
    assert pe.placeholders(BASE) == ["customer", "question"]
    assert pe.placeholders("{a} {a} {b_2} {{c}} {3x}") == ["a", "b_2"]


def test_parse_errors_are_read_with_the_missing_fields_and_the_output_type(parse_failure):
    f = parse_failure
    assert f.kinds == ("parse", "missing_field") and f.fields == ("next_action", "risk_flags")
    assert f.schema == "SupportTriageAnswer" and f.count == 45
    assert f.examples[0] == PARSE.format("next_action")


@pytest.mark.parametrize(("etype", "msg", "kind"), [
    ("ContextWindowExceededError", "prompt is too long: 210000 tokens > 200000 maximum", "overflow"),
    ("ContextWindowExceededError", "This model's maximum context length is 128000 tokens. However, you requested "
                                   "131000 tokens", "overflow"),
    ("GroundingError", "answer failed the grounding check: no supporting passages (vector_search returned 0 "
                       "documents from index 'kb')", "empty_retrieval"),
])
def test_overflow_and_empty_retrieval_are_recognised(etype, msg, kind):
    assert pe.read_failures([etype] * 10, [msg] * 10).kinds == (kind,)


def test_a_minority_of_a_kind_does_not_count():
    f = pe.read_failures(["X"] * 10, ["upstream returned 502"] * 8 + [PARSE.format("summary")] * 2)
    assert f.kinds == () and pe.rule_edit(BASE, f) is None


def test_rules_add_a_strict_format_and_the_required_fields(parse_failure):
    edit = pe.rule_edit(BASE, parse_failure)
    assert [e["rule"] for e in edit.edits] == ["strict_output_format", "required_fields"]
    assert edit.source == "rules" and edit.text.startswith(BASE.rstrip())
    assert "## Output format (strict)" in edit.text and "one JSON object (SupportTriageAnswer)" in edit.text
    assert "- `next_action`\n- `risk_flags`" in edit.text
    assert "45 failures could not be parsed" in edit.edits[0]["why"] and "next_action" in edit.edits[0]["why"]
    assert pe.problems(BASE, edit.text, parse_failure) == []
    assert pe.rule_edit(edit.text, parse_failure) is None  # applied once: nothing left to add


@pytest.mark.parametrize(("kind", "rule", "says"), [
    ("overflow", "summarise_history", "summarise earlier turns"),
    ("empty_retrieval", "grounding_rule", "If no documents were retrieved"),
])
def test_rules_for_context_failures(kind, rule, says):
    edit = pe.rule_edit(BASE, pe.Failure((kind,), count=12))
    assert [e["rule"] for e in edit.edits] == [rule] and says in edit.text
    assert pe.problems(BASE, edit.text, pe.Failure((kind,), count=12)) == []


def test_problems_name_everything_wrong_with_a_text(parse_failure):
    assert pe.problems(BASE, "  ", parse_failure) == ["the text is empty"]
    assert pe.problems(BASE, BASE, parse_failure) == ["the text is unchanged", "does not name the missing fields "
                                                      "next_action, risk_flags"]
    bad = BASE.replace("{question}", "{ticket}") + "Always reply in JSON with next_action and risk_flags."
    assert pe.problems(BASE, bad, parse_failure) == [
        "dropped {question}", "added placeholders the agent does not fill: {ticket}"]
    long = BASE + "JSON next_action risk_flags " + "x" * pe.MAX_ADDED_CHARS
    assert pe.problems(BASE, long, parse_failure) == [f"{len(long)} characters, over the bound of {len(BASE) + 2000}"]
    assert pe.problems(BASE, BASE + "Be brief.", pe.Failure(("overflow",))) == [
        "does not limit the context (summarise history or cap the documents)"]


def test_the_diff_is_unified_with_the_versions_as_labels(parse_failure):
    edit = pe.rule_edit(BASE, parse_failure)
    diff = pe.unified_diff(BASE, edit.text, "v4", "v4+fix")
    assert diff.startswith("--- v4\n+++ v4+fix\n") and "+## Output format (strict)\n" in diff
    assert not any(line.startswith("-") and not line.startswith("---") for line in diff.splitlines())


def test_offline_is_the_rules(parse_failure):
    assert pe.write_edit(BASE, parse_failure, OfflineGateway()) == pe.rule_edit(BASE, parse_failure)
    assert pe.write_edit(BASE, parse_failure, None).source == "rules"


# ------------------------------------------------------------------ over HTTP

def gateway(server):
    return get_gateway(LLMConfig(chat=[Deployment(name="local", model="openai/local-qwen",
                                                  api_base=server.url_for("/local/v1"))],
                                 timeout_s=5, num_retries=0, source="test"), record=False)


def reply(text: str, edits=(("strict_output_format", "parse errors"),)) -> dict:
    content = json.dumps({"text": text, "edits": [{"rule": r, "why": w} for r, w in edits]})
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "served-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 500, "completion_tokens": 200, "total_tokens": 700}}


GOOD = BASE + ("\nOutput: exactly one JSON object, no prose, with the fields next_action and risk_flags "
               "(null when unknown).\n")


def sent(server, i: int) -> list[dict]:
    return json.loads(server.log[i][0].get_data())["messages"]


def test_a_good_model_text_is_accepted(llm, parse_failure):
    llm.expect_request(PATH, method="POST").respond_with_json(reply(GOOD))
    edit = pe.write_edit(BASE, parse_failure, gateway(llm))
    assert edit.text == GOOD and edit.source == "llm:openai/local-qwen"
    assert edit.edits == [{"rule": "strict_output_format", "why": "parse errors"}]
    assert len(llm.log) == 1
    asked = sent(llm, 0)[-1]["content"]
    assert BASE in asked and "next_action, risk_flags" in asked and "{customer}, {question}" in asked
    assert PARSE.format("next_action") in asked


def test_a_text_dropping_a_placeholder_gets_one_repair_round(llm, parse_failure):
    llm.expect_ordered_request(PATH).respond_with_json(reply(GOOD.replace("{question}", "the ticket")))
    llm.expect_ordered_request(PATH).respond_with_json(reply(GOOD))
    edit = pe.write_edit(BASE, parse_failure, gateway(llm))
    assert edit.text == GOOD and edit.source.startswith("llm:")
    repair = sent(llm, 1)
    assert repair[-2]["role"] == "assistant" and "the ticket" in repair[-2]["content"]
    assert repair[-1]["content"].startswith("That text is not acceptable: dropped {question}")


def test_a_text_that_never_passes_falls_back_to_the_rules(llm, parse_failure):
    llm.expect_request(PATH).respond_with_json(reply(BASE + "\nPlease answer in JSON.\n"))
    edit = pe.write_edit(BASE, parse_failure, gateway(llm))
    assert edit.text == pe.rule_edit(BASE, parse_failure).text
    assert edit.source == "rules (model reply rejected: does not name the missing fields next_action, risk_flags)"
    assert len(llm.log) == 2  # the call and its one repair round


def test_a_model_that_is_down_falls_back_to_the_rules(llm, parse_failure):
    llm.expect_request(PATH).respond_with_data("upstream exploded", status=500)
    edit = pe.write_edit(BASE, parse_failure, gateway(llm))
    assert edit.text == pe.rule_edit(BASE, parse_failure).text
    assert edit.source == "rules (model unavailable: LLMError)"
