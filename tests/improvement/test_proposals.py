"""Proposals from root-cause findings and reports, on small hand-built fleets (one per
category), the expected effects pinned against statsmodels on the same populations counted
with pandas; and one labelled fleet end to end, its prompt and tool incidents' true effects
inside the stated intervals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from meta_agent.evaluation.data import frames_from_records
from meta_agent.fleet.labelled import labelled_fleet
from meta_agent.fleet.profiles import fleet
from meta_agent.fleet.prompts import prompt_texts
from meta_agent.improvement import measure, quantify
from meta_agent.improvement.proposals import merge, propose, sla_proposals
from meta_agent.llm import Deployment, LLMConfig, get_gateway

DAY0 = date(2026, 3, 1)
LAST = 17  # the day proposals are made on (DAY0 + 17)
DAY = DAY0 + timedelta(days=LAST)
PARSE = ("Failed to parse TriageAnswer from completion: 1 validation error for TriageAnswer: field 'next_action' "
         "required (got prose, not JSON)")
SCHEMA = "tool 'search_kb' returned field 'noi' as str; expected number (response schema changed in search_kb 2.0.0)"


def at(day: int, hour: float = 0.0) -> datetime:
    return datetime(DAY0.year, DAY0.month, DAY0.day, tzinfo=UTC) + timedelta(days=day, hours=hour)


def runs(agent: str, days: range, per_day: int, *, version: str = "v3", model: str = "gpt-4o-mini",
         fail_every: int = 0, error: tuple[str, str] = ("ToolExecutionError", "upstream returned 502"),
         fail_in: str = "llm_inference", tool: tuple[str, str] | None = None, hours: tuple[float, float] = (0, 24),
         tokens: int = 1000, latency: float = 1000.0, cost: float = 0.002, documents: int | None = None,
         tag: str = "") -> list[dict]:
    """``per_day`` executions a day spread evenly over ``hours``; every ``fail_every``-th fails."""
    out = []
    for d in days:
        for i in range(per_day):
            failed = bool(fail_every) and i % fail_every == 0
            started = at(d, hours[0] + (hours[1] - hours[0]) * (i + 0.5) / per_day)
            acts = []
            if documents is not None:
                acts.append({"action_type": "retrieval", "name": "vector_search", "status": "success",
                             "metadata": {"documents": documents}})
            if tool:
                acts.append({"action_type": "tool_call", "name": tool[0], "metadata": {"tool_version": tool[1]},
                             "status": "failure" if failed and fail_in == "tool_call" else "success",
                             **({"error_type": error[0], "error_message": error[1]}
                                if failed and fail_in == "tool_call" else {})})
            acts.append({"action_type": "llm_inference", "name": model, "model": model,
                         "status": "failure" if failed and fail_in == "llm_inference" else "success"})
            out.append({"execution_id": f"{agent}{tag}-{d:02d}-{i:03d}", "agent_id": agent,
                        "started_at": started.isoformat(), "status": "failure" if failed else "success",
                        "latency_ms": latency * (1 + (i % 10) / 10), "model": model, "prompt_version": version,
                        "tokens_in": tokens, "tokens_out": 200, "cost_usd": cost * (1 + (i % 5) / 10),
                        "error_type": error[0] if failed else None, "error_message": error[1] if failed else None,
                        "actions": acts})
    return out


def background() -> list[dict]:
    """Another agent's traffic, so one agent stays a small share of the fleet."""
    return runs("other", range(LAST + 1), 200, model="gpt-4o", fail_every=50)


def finding(fid: str, category: str, agents: list[str], *, start: datetime, end: datetime | None = None,
            dimension: str | None = None, value: str | None = None, metric: str = "failure_rate",
            confidence: float = 0.95, co_timed: bool = True, other: dict | None = None, cluster: str | None = None,
            sample: tuple[str, ...] = ()) -> dict:
    """A ``root_cause_findings`` row with the evidence keys the generators read."""
    return {"day": DAY, "finding_id": fid, "kind": "cluster", "agent_id": agents[0] if len(agents) == 1 else None,
            "agents": agents, "category": category, "confidence": confidence, "title": f"{fid} title",
            "metric": metric, "before": 0.02, "after": 0.25, "started_at": start, "cluster_key": cluster,
            "first_bad_execution_id": None,
            "evidence": {"dimension": dimension, "value": value, "co_timed": co_timed, "other_dimensions": other or {},
                         "execution_ids": list(sample), "segment_end": (end or at(LAST + 1)).isoformat(),
                         "window": {"start": (DAY0 + timedelta(days=11)).isoformat(), "end": DAY.isoformat(),
                                    "baseline_start": DAY0.isoformat()}}}


def frames(*batches: list[dict]):
    return frames_from_records([r for b in batches for r in b])


def newcombe_effect(cur: pd.DataFrame, ref: pd.DataFrame) -> tuple[float, float, float]:
    """Reference − current success rate with statsmodels' Newcombe interval (cancelled aside)."""
    cur, ref = cur[cur.status != "cancelled"], ref[ref.status != "cancelled"]
    x_c, n_c = int((cur.status == "success").sum()), len(cur)
    x_r, n_r = int((ref.status == "success").sum()), len(ref)
    lo, hi = confint_proportions_2indep(x_r, n_r, x_c, n_c, method="newcomb", compare="diff")
    return x_r / n_r - x_c / n_c, lo, hi


def recent_share(ex: pd.DataFrame, mask: pd.Series) -> float:
    recent = (ex.started_at >= pd.Timestamp(at(LAST - 6))) & (ex.status != "cancelled")
    return (recent & mask).sum() / recent.sum()


def recent_total(ex: pd.DataFrame) -> int:
    return int(((ex.started_at >= pd.Timestamp(at(LAST - 6))) & (ex.status != "cancelled")).sum())


def text_of(agent, name, version):
    return f"You are {agent} ({name} {version}). Customer: {{customer}}. Request: {{question}}. Reply in JSON."


# ------------------------------------------------------------------------------ prompt


@pytest.fixture(scope="module")
def prompt_fleet():
    """Agent ``a``: v3 for 14 days (2 failures a day in 50), then v4 with 13 a day failing to parse."""
    ex, act = frames(background(), runs("a", range(14), 50, fail_every=40),
                     runs("a", range(14, LAST + 1), 50, version="v4", fail_every=4,
                          error=("OutputParserException", PARSE), latency=1300.0))
    return ex, act


def prompt_finding(**kw) -> dict:
    return finding("f-prompt", "prompt", ["a"], start=at(14, 0.24), dimension="prompt_version", value="v4", **kw)


def test_a_new_prompt_version_gets_a_rollback_and_a_fix(prompt_fleet):
    ex, act = prompt_fleet
    pops: dict = {}
    props = propose([prompt_finding()], ex, act, day=DAY, prompt_text=text_of, populations=pops)
    assert [p.kind for p in props] == ["prompt_rollback", "prompt_change"]
    back, fix = props
    assert back.change == {"prompt": "system", "label": "production", "from_version": "v4", "to_version": "v3"}
    a = ex[ex.agent_id == "a"]
    effect, lo, hi = newcombe_effect(a[a.prompt_version == "v4"], a[a.prompt_version == "v3"])
    e = back.expected
    assert (e["effect"], e["ci_low"], e["ci_high"]) == pytest.approx((effect, lo, hi), rel=1e-9)
    assert (e["current"], e["expected"], e["n_current"], e["n_reference"]) == pytest.approx((148 / 200, 672 / 700, 200, 700))
    assert sorted(pops[back.proposal_id]["current"]) == sorted(a[a.prompt_version == "v4"].execution_id)
    share = recent_share(ex, ex.agent_id == "a")
    assert back.blast_radius == {"traffic_share": pytest.approx(share), "agents": ["a"], "executions_per_day": 50.0}
    assert back.risk == "low" and back.confidence == pytest.approx(0.95)
    assert back.priority == pytest.approx(100 * effect * share * 0.95, rel=1e-4)
    assert "meta-agent prompts label a system production v4 --reason" in back.rollback_plan
    assert back.evidence["finding_ids"] == ["f-prompt"] and back.evidence["category"] == "prompt"
    assert set(back.evidence["execution_ids"]) <= set(a[a.status == "failure"].execution_id)
    # the fix: a new version on top of v4, its diff, the same interval read as "up to" the reference
    assert fix.change["base_version"] == "v4" and "`next_action`" in fix.change["text"]
    assert "{customer}" in fix.change["text"] and "{question}" in fix.change["text"]
    assert [x["rule"] for x in fix.change["edits"]] == ["strict_output_format", "required_fields"]
    assert fix.diff.startswith("--- v4\n+++ v4+fix\n") and "+## Output format (strict)" in fix.diff
    assert fix.expected["method"].startswith("up to the reference level") and fix.risk == "medium"
    assert (fix.expected["ci_low"], fix.expected["ci_high"]) == (e["ci_low"], e["ci_high"])
    assert fix.source == "rules" and fix.evidence["writer"] == "rules"


def test_without_the_registered_text_only_the_rollback(prompt_fleet):
    ex, act = prompt_fleet
    assert [p.kind for p in propose([prompt_finding()], ex, act, day=DAY)] == ["prompt_rollback"]
    assert [p.kind for p in propose([prompt_finding()], ex, act, day=DAY, prompt_text=lambda *a: None)] == [
        "prompt_rollback"]


def test_a_latency_finding_of_the_same_version_merges_into_the_rollback(prompt_fleet):
    ex, act = prompt_fleet
    slow = finding("f-slow", "prompt", ["a"], start=at(14, 3), dimension="hour", value="00:00-24:00",
                   metric="latency_p95_ms", other={"prompt_version": {"value": "v4", "co_timed": False}})
    props = propose([slow, prompt_finding()], ex, act, day=DAY)
    assert [p.kind for p in props] == ["prompt_rollback"]
    p = props[0]
    assert sorted(p.evidence["finding_ids"]) == ["f-prompt", "f-slow"]
    assert p.expected["metric"] == "success_rate" and [x["metric"] for x in p.expected["also"]] == ["latency_p95_ms"]
    a = ex[(ex.agent_id == "a") & (ex.status == "success")]
    lat = p.expected["also"][0]
    assert lat["current"] == pytest.approx(np.quantile(a[a.prompt_version == "v4"].latency_ms, 0.95))
    assert lat["expected"] == pytest.approx(np.quantile(a[a.prompt_version == "v3"].latency_ms, 0.95))
    assert lat["ci_high"] < 0
    twice = propose([prompt_finding(), {**prompt_finding(), "finding_id": "f-again"}], ex, act, day=DAY)
    assert len(twice) == 1 and sorted(twice[0].evidence["finding_ids"]) == ["f-again", "f-prompt"]


def test_unknown_or_unsure_findings_propose_nothing(prompt_fleet):
    ex, act = prompt_fleet
    assert propose([{**prompt_finding(), "category": "unknown"}], ex, act, day=DAY, prompt_text=text_of) == []
    assert propose([prompt_finding(confidence=0.4)], ex, act, day=DAY, prompt_text=text_of) == []
    assert propose([], ex, act, day=DAY) == []


def test_stored_rows_are_read_too(prompt_fleet):
    """Findings as the store returns them on another engine: evidence as JSON text, times as text."""
    ex, act = prompt_fleet
    row = prompt_finding()
    stored = {**row, "evidence": json.dumps(row["evidence"]), "started_at": row["started_at"].isoformat(),
              "agents": None}
    assert [p.to_dict() for p in propose([stored], ex, None, day=DAY)] == [
        p.to_dict() for p in propose([row], ex, act, day=DAY)]


def test_a_model_writes_the_fix_through_the_gateway(prompt_fleet, llm):
    ex, act = prompt_fleet
    fixed = text_of("a", "system", "v4") + " Output exactly one JSON object with next_action, no prose."
    body = json.dumps({"text": fixed, "edits": [{"rule": "strict_output_format", "why": "parse errors"}]})
    llm.expect_request("/local/v1/chat/completions").respond_with_json({
        "id": "x", "object": "chat.completion", "created": 0, "model": "served",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": body}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
    gw = get_gateway(LLMConfig(chat=[Deployment(name="local", model="openai/local-qwen",
                                                api_base=llm.url_for("/local/v1"))], timeout_s=5, num_retries=0,
                               source="test"), record=False)
    fix = next(p for p in propose([prompt_finding()], ex, act, day=DAY, prompt_text=text_of, gateway=gw)
               if p.kind == "prompt_change")
    assert fix.change["text"] == fixed and fix.source == "llm:openai/local-qwen"
    assert fix.evidence["writer"] == "llm:openai/local-qwen" and "+" + fixed.splitlines()[-1] in fix.diff


def test_data_after_the_day_is_ignored(prompt_fleet):
    ex, act = prompt_fleet
    day = DAY0 + timedelta(days=15)
    p = propose([prompt_finding()], ex, act, day=day)[0]
    assert p.expected["n_current"] == 100  # v4 on days 14 and 15 only
    row = p.to_row(day)
    assert row["state"] == "proposed" and row["proposal_id"] == p.proposal_id
    json.dumps(row, default=str)


# ------------------------------------------------------------------------------ tool


@pytest.fixture(scope="module")
def tool_fleet():
    old = runs("t", range(14), 50, tool=("search_kb", "1.4.2"), fail_every=40)
    new = runs("t", range(14, LAST + 1), 50, tool=("search_kb", "2.0.0"), fail_every=3,
               error=("SchemaValidationError", SCHEMA), fail_in="tool_call")
    return frames(background(), old, new)


def test_a_new_tool_version_gets_a_pin_to_the_previous_one(tool_fleet):
    ex, act = tool_fleet
    f = finding("f-tool", "tool", ["t"], start=at(14, 0.24), dimension="tool_version", value="search_kb@2.0.0")
    props = propose([f], ex, act, day=DAY, prompt_text=text_of)
    assert [p.kind for p in props] == ["tool_change"]
    p = props[0]
    assert p.change == {"tool": "search_kb", "action": "pin", "from_version": "2.0.0", "to_version": "1.4.2"}
    t = ex[ex.agent_id == "t"]
    new = t.started_at >= pd.Timestamp(at(14))
    effect, lo, hi = newcombe_effect(t[new], t[~new])
    assert (p.expected["effect"], p.expected["ci_low"], p.expected["ci_high"]) == pytest.approx((effect, lo, hi))
    assert p.risk == "low" and "Unpin search_kb on t (back to 2.0.0)" in p.rollback_plan


def test_a_failing_tool_without_a_version_change_gets_validation(tool_fleet):
    ex, act = tool_fleet
    f = finding("f-tool", "tool", ["t"], start=at(14, 0.24), dimension="tool", value="search_kb", co_timed=False)
    (p,) = propose([f], ex, act, day=DAY)
    assert p.change == {"tool": "search_kb", "action": "add_validation", "validate": ["noi"], "retries": 1}
    assert p.risk == "medium" and p.expected["method"].startswith("up to the reference level")
    flaky = frames(background(), runs("t", range(14), 50, tool=("search_kb", "1.4.2"), fail_every=40),
                   runs("t", range(14, LAST + 1), 50, tool=("search_kb", "1.4.2"), fail_every=3, fail_in="tool_call",
                        error=("ToolExecutionError", "tool 'search_kb' failed: upstream returned 502 Bad Gateway")))
    (p,) = propose([f], *flaky, day=DAY)
    assert p.change == {"tool": "search_kb", "action": "add_retries", "retries": 2}


# ------------------------------------------------------------------------------ external


def outage_fleet(message: str):
    """``d`` and ``e`` on claude-haiku-4-5 fail 9 runs in 10 on day 16, 10:00-13:00; ``f``
    calls the same model and is fine; ``other`` runs gpt-4o."""
    batches = [background()]
    for agent in ("d", "e", "f"):
        batches.append(runs(agent, range(LAST + 1), 60, model="claude-haiku-4-5", fail_every=50))
    for agent in ("d", "e"):
        batches.append(runs(agent, range(16, 17), 40, model="claude-haiku-4-5", hours=(10, 13), tag="x",
                            fail_every=1, error=("ServiceUnavailableError", message)))
    return frames(*batches)


def external_finding(**kw):
    return finding("f-ext", "external", ["d", "e"], start=at(16, 10), end=at(16, 13), dimension="model",
                   value="claude-haiku-4-5", co_timed=False, **kw)


def test_an_outage_gets_a_fallback_model_and_never_a_prompt_edit():
    ex, act = outage_fleet("503 Service Unavailable: the claude-haiku-4-5 endpoint is overloaded. Failed to parse "
                           "the reply: field 'next_action' required")
    props = propose([external_finding()], ex, act, day=DAY, prompt_text=text_of)
    assert [p.kind for p in props] == ["config_change"]
    p = props[0]
    assert p.change == {"setting": "fallback_model", "from": None, "to": "gpt-4o", "model": "claude-haiku-4-5"}
    assert p.agents == ["d", "e", "f"] and p.agent_id is None and p.risk == "high"
    on_model = ex.model == "claude-haiku-4-5"
    assert p.blast_radius["traffic_share"] == pytest.approx(recent_share(ex, on_model))
    assert p.blast_radius["agents"] == ["d", "e", "f"]
    de = ex[ex.agent_id.isin(["d", "e"]) & on_model]
    span = (de.started_at >= pd.Timestamp(at(16, 10))) & (de.started_at <= pd.Timestamp(at(16, 13)))
    effect, lo, hi = newcombe_effect(de[span], de[de.started_at < pd.Timestamp(at(16, 10))])
    assert (p.expected["effect"], p.expected["ci_low"], p.expected["ci_high"]) == pytest.approx((effect, lo, hi))
    assert "Remove gpt-4o as the fallback of claude-haiku-4-5" in p.rollback_plan
    # what a fallback wins: the outage's share of the week's traffic, not the model's whole share
    hit = len(de[span]) / recent_total(ex)
    assert p.priority == pytest.approx(100 * effect * hit * p.confidence, rel=1e-4)


def test_a_rate_limit_storm_also_gets_a_retry_budget():
    ex, act = outage_fleet("429 Too Many Requests: claude-haiku-4-5 is rate-limited for this organization")
    props = propose([external_finding()], ex, act, day=DAY, prompt_text=text_of)
    assert sorted(p.change["setting"] for p in props) == ["fallback_model", "retry_budget"]
    budget = next(p for p in props if p.change["setting"] == "retry_budget")
    assert budget.change["to"] == {"retries": 3, "backoff": "exponential", "max_wait_s": 30}
    assert budget.risk == "high"  # three agents


# ------------------------------------------------------------------------------ context

OVERFLOW = ("This model's maximum context length is 128000 tokens. However, your messages resulted in 150000 tokens. "
            "Please reduce the length of the messages.")


def test_overflows_get_truncation_and_a_larger_window_the_agent_already_runs():
    ex, act = frames(background(), runs("g", range(14), 50, fail_every=40),
                     runs("g", range(14, LAST + 1), 40, fail_every=2, tokens=150_000,
                          error=("ContextWindowExceededError", OVERFLOW)),
                     runs("g", range(LAST + 1), 10, model="gemini/gemini-2.5-flash", fail_every=40, tag="g2"))
    f = finding("f-ctx", "context", ["g"], start=at(14, 0.3), dimension="tokens_in", value="high", co_timed=False)
    props = propose([f], ex, act, day=DAY, prompt_text=text_of)
    by = {p.change["setting"]: p for p in props}
    assert sorted(by) == ["context_truncation", "model"] and all(p.kind == "config_change" for p in props)
    assert by["context_truncation"].change == {"setting": "context_truncation", "from": None, "model": "gpt-4o-mini",
                                               "to": {"max_input_tokens": 115_000, "keep": "system prompt, latest turns"}}
    assert by["context_truncation"].risk == "medium"
    assert by["model"].change == {"setting": "model", "from": "gpt-4o-mini", "to": "gemini/gemini-2.5-flash",
                                  "model": "gpt-4o-mini"}
    assert by["model"].risk == "high"  # a model switch
    g = ex[(ex.agent_id == "g") & (ex.model == "gpt-4o-mini")]  # truncation is per model: its traffic
    since = (g.started_at >= pd.Timestamp(at(14, 0.3))) & (g.started_at <= pd.Timestamp(at(LAST + 1)))
    effect, lo, hi = newcombe_effect(g[since], g[g.started_at < pd.Timestamp(at(14, 0.3))])
    e = by["context_truncation"].expected
    assert (e["effect"], e["ci_low"], e["ci_high"]) == pytest.approx((effect, lo, hi))
    switch = ex[(ex.agent_id == "g") & (ex.started_at >= pd.Timestamp(at(14, 0.3)))]
    effect, lo, hi = newcombe_effect(switch[switch.model == "gpt-4o-mini"],
                                     switch[switch.model == "gemini/gemini-2.5-flash"])
    e = by["model"].expected
    assert (e["effect"], e["ci_low"], e["ci_high"]) == pytest.approx((effect, lo, hi))


def test_empty_retrievals_get_a_document_check_and_a_grounding_rule():
    grounding = ("answer failed the grounding check: no supporting passages (vector_search returned 0 documents "
                 "from index 'h-kb')")
    ex, act = frames(background(), runs("h", range(15), 50, fail_every=40, documents=5),
                     runs("h", range(15, LAST + 1), 50, fail_every=2, documents=0, error=("GroundingError", grounding)))
    f = finding("f-empty", "context", ["h"], start=at(15, 0.24), dimension="retrieval", value="empty", co_timed=False)
    props = propose([f], ex, act, day=DAY, prompt_text=text_of)
    assert sorted(p.kind for p in props) == ["prompt_change", "tool_change"]
    check = next(p for p in props if p.kind == "tool_change")
    assert check.change == {"tool": "vector_search", "action": "add_validation", "validate": ["documents"],
                            "retries": 1}
    fix = next(p for p in props if p.kind == "prompt_change")
    assert [e["rule"] for e in fix.change["edits"]] == ["grounding_rule"] and fix.change["base_version"] == "v3"
    assert "If no documents were retrieved" in fix.change["text"]
    assert [p.kind for p in propose([f], ex, act, day=DAY)] == ["tool_change"]


# ------------------------------------------------------------------------------ SLA changes


def report(agent: str, before: float, after: float, *, daily: list[float] | None = None,
           verdict: str = "no significant change", target: float = 0.95, version: int = 1) -> dict:
    """A stored report row: the success-rate SLA component, its change and its 14 daily values."""
    daily = daily if daily is not None else [before] * 7 + [after] * 7
    return {"agent_id": agent, "period_start": date(2026, 3, 9), "period_end": date(2026, 3, 15), "version": version,
            "report": {"agent_id": agent, "metrics": {"current": {"executions": 1400}},
                       "scores": {"reliability": {"components": [
                           {"name": "success_rate", "value": after, "target": target, "source": "sla:min_success_rate"},
                           {"name": "timeout_rate", "value": 0.004, "target": 0.01, "source": "sla:max_timeout_rate"}]}},
                       "changes": [{"metric": "success_rate", "before": before, "after": after, "verdict": verdict}],
                       "daily": [{"day": f"2026-03-{d + 2:02d}", "executions": 200, "success_rate": v}
                                 for d, v in enumerate(daily)] + [{"day": "2026-03-16", "executions": 0}]}}


def test_an_sla_missed_every_day_with_a_stable_metric_gets_a_modest_sla_change():
    daily = [0.93, 0.94, 0.935, 0.945, 0.94, 0.938, 0.952, 0.94, 0.942, 0.939, 0.944, 0.941, 0.936, 0.943]
    (p,) = sla_proposals([report("a", 0.9362, 0.9418, daily=daily), report("a", 0.99, 0.99, version=0)])
    assert p.kind == "sla_change" and p.change == {"metric": "min_success_rate", "from": 0.95, "to": 0.935}
    assert p.risk == "high" and p.priority == 0.0 and p.confidence == pytest.approx(13 / 14, abs=1e-4)
    assert p.expected["effect"] is None and p.expected["method"].startswith("not computed: an SLA change")
    assert "on 13 of 14 days" in p.summary
    assert p.evidence["report"] == {"agent": "a", "period_start": "2026-03-09", "period_end": "2026-03-15",
                                    "version": 1}
    assert "back to 0.95 in config/slas.yaml" in p.rollback_plan


def test_propose_makes_sla_changes_from_the_reports_it_is_given(prompt_fleet):
    ex, act = prompt_fleet
    (p,) = propose([], ex, act, day=DAY, reports=[report("a", 0.9362, 0.9418)])
    assert p.kind == "sla_change" and p.blast_radius == {"traffic_share": 0.0, "agents": ["a"],
                                                         "executions_per_day": 50.0}


@pytest.mark.parametrize("rep", [
    report("a", 0.9362, 0.9418, daily=[0.94] * 6),  # a week of days is too little to call it persistent
    report("a", 0.9362, 0.9418, verdict="regression"),  # the agent got worse: a problem, not the SLA
    report("a", 0.96, 0.9418, daily=[0.96] * 7 + [0.94] * 7),  # met on half the days
    report("a", 0.85, 0.86),  # too far off to be the SLA's fault
    report("a", 0.96, 0.955),  # met
])
def test_no_sla_change_unless_missed_persistently_modestly_and_stably(rep):
    assert sla_proposals([rep]) == []


def test_no_sla_change_for_an_agent_whose_miss_a_finding_explains():
    reports = [report("a", 0.9362, 0.9418)]
    assert sla_proposals(reports, [{"agent_id": "a", "agents": ["a"], "category": "tool"}]) == []
    assert len(sla_proposals(reports, [{"agent_id": "a", "agents": ["a"], "category": "unknown"}])) == 1


def test_merge_keeps_one_per_dedup_key_highest_priority_first(prompt_fleet):
    ex, act = prompt_fleet
    props = propose([prompt_finding()], ex, act, day=DAY, prompt_text=text_of)
    assert merge(props + props) == props
    assert [p.priority for p in props] == sorted((p.priority for p in props), reverse=True)


# ------------------------------------------------------------------------------ a labelled fleet


def test_the_true_effect_weighs_each_incident_failure_by_what_it_would_have_been():
    labels = {"x1": "inc", "x2": "inc", "x3": "other"}
    assert measure.true_effect(["x1", "x2", "x3", "x4"], labels, "inc") == 0.5
    assert measure.true_effect(["x1", "x2", "x3", "x4"], labels, "inc", {"x1": 0.9, "x2": 0.8}) == pytest.approx(0.425)
    assert measure.true_effect([], labels, "inc") is None
    profile = SimpleNamespace(failure_rate=0.02, timeout_rate=0.005)
    assert measure.would_succeed("prompt_regression", profile) == 1.0
    assert measure.would_succeed("tool_failure", profile) == 1.0
    assert measure.would_succeed("provider_outage", profile) == pytest.approx(1 - 0.02 - 0.005 - 0.003)
    assert measure.would_succeed("context_overflow", profile) == pytest.approx(0.972 / (0.972 + 0.02))


@pytest.mark.slow
def test_on_a_labelled_fleet_every_prompt_and_tool_incident_is_inside_its_interval():
    results = measure.measure_fleet(labelled_fleet(201), {p.agent_id: p for p in fleet(8)},
                                    categories=("prompt", "tool"),
                                    prompt_text=lambda agent, name, v: prompt_texts(agent, [v])[v])
    assert sorted(r.category for r in results) == ["prompt"] * 3 + ["tool"] * 3
    for r in results:
        expected = {"prompt": "prompt_rollback", "tool": "tool_change"}[r.category]
        assert r.main["kind"] == expected, r
        assert r.inside, (r.incident_id, r.main["expected"], r.true_effect)
        e = r.main["expected"]
        assert e["ci_low"] > 0 and r.main["risk"] == "low"
    prompts = [r for r in results if r.category == "prompt"]
    assert all("prompt_change" in r.kinds for r in prompts)  # parse errors and a registered text: a fix too
    assert quantify.strength(results[0].main["expected"]) == 1.0
