"""The evaluation report: scoring worked examples, reports on the demo fleet with its
incidents, rendering, bad input, and the versioned store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from meta_agent.errors import InputError
from meta_agent.evaluation import reports_repo, scoring
from meta_agent.evaluation.data import SCORE_FIELDS, frames_from_records
from meta_agent.evaluation.narrative import invented
from meta_agent.evaluation.report import build_report, change_days
from meta_agent.evaluation.scoring import PeriodMetrics
from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.ops.sla import load_sla_file

END = date(2026, 11, 30)
FIRST = END - timedelta(days=6)
AGENTS = [p.agent_id for p in fleet(8)]
SLA = load_sla_file(Path(__file__).resolve().parents[2] / "config" / "slas.yaml")
NO_SCORES = pd.DataFrame(columns=list(SCORE_FIELDS))


# ---------------------------------------------------------------- scoring: the worked examples


def test_linear_mapping_both_directions():
    assert scoring.linear(0.93, 0.95, 0.85) == pytest.approx(80.0)  # higher is better
    assert scoring.linear(0.97, 0.95, 0.85) == 100.0 and scoring.linear(0.80, 0.95, 0.85) == 0.0
    assert scoring.linear(9_000, 7_000, 21_000) == pytest.approx(100 * 12 / 14)  # lower is better
    assert scoring.linear(30_000, 7_000, 21_000) == 0.0
    with pytest.raises(ValueError):
        scoring.linear(1, 2, 2)


def worked_example() -> tuple[PeriodMetrics, PeriodMetrics, dict]:
    """docs/evaluation-report.md's worked example."""
    m = PeriodMetrics(executions=1000, finished=1000, successes=930, timeouts=20, human=120, days=7,
                      success_rate=0.93, timeout_rate=0.02, human_intervention_rate=0.12, latency_p50_ms=3_000,
                      latency_p95_ms=9_000, cost_usd=18.6, cost_per_execution_usd=0.0186, cost_per_success_usd=0.02,
                      daily_cost_usd=12.0, retries=93, retries_per_success=0.1, mean_score=0.7, scores=400)
    prev = PeriodMetrics(latency_p50_ms=2_500, latency_p95_ms=8_000)
    targets = {"min_success_rate": 0.95, "max_latency_p95_ms": 7_000, "max_daily_cost_usd": 10.0,
               "max_human_intervention_rate": 0.10}
    return m, prev, targets


def test_scores_of_the_worked_example():
    m, prev, targets = worked_example()
    scores, overall = scoring.score_all(m, targets, previous=prev, fleet_median=0.01)
    rel = scores["reliability"]
    assert [(c.name, round(c.score, 2)) for c in rel.components] == [("success_rate", 80.0), ("timeout_rate", 75.0)]
    assert rel.score == pytest.approx(78.75) and rel.components[0].source == "sla:min_success_rate"
    eff = scores["efficiency"]
    assert {c.name: round(c.score, 2) for c in eff.components} == {
        "latency_p95_ms": 85.71, "latency_p50_ms": 90.0, "retries_per_success": 88.89}
    assert eff.score == pytest.approx(0.5 * 600 / 7 + 0.3 * 90 + 0.2 * 800 / 9)
    assert eff.components[1].source == "previous period"
    cost = scores["cost"]
    assert {c.name: round(c.score, 2) for c in cost.components} == {"cost_per_success_usd": 66.67,
                                                                      "daily_cost_usd": 80.0}
    assert cost.score == pytest.approx(220 / 3)
    q = scores["quality"]
    assert not q.unscored and q.score == pytest.approx(0.7 * 75 + 0.3 * 90)
    assert overall == pytest.approx(0.35 * 78.75 + 0.2 * eff.score + 0.2 * cost.score + 0.25 * 79.5)
    assert round(overall, 1) == 79.6


def test_quality_without_scores_is_interventions_only_and_flagged():
    m, prev, targets = worked_example()
    m.mean_score, m.scores = None, 0
    q = scoring.quality(m, targets)
    assert q.unscored and q.score == pytest.approx(90.0) and [c.name for c in q.components] == [
        "human_intervention_rate"]
    assert "interventions only" in q.note


def test_missing_targets_fall_back_to_documented_defaults_and_a_dimension_without_data_drops_out():
    m, prev, _ = worked_example()
    scores, overall = scoring.score_all(m, {}, previous=None, fleet_median=None)
    assert scores["reliability"].components[0].target == 0.90 and scores["reliability"].components[0].source == "default"
    assert [c.name for c in scores["efficiency"].components] == ["retries_per_success"]
    assert scores["cost"].score is None  # no fleet median, no SLA: no cost score
    expected = {k: s.score for k, s in scores.items() if s.score is not None}
    total = sum(scoring.WEIGHTS[k] for k in expected)
    assert overall == pytest.approx(sum(scoring.WEIGHTS[k] * v for k, v in expected.items()) / total)


def test_retries_count_failed_actions_inside_successes_and_metadata_retries():
    recs = [
        {"execution_id": "e1", "agent_id": "a", "started_at": "2026-11-01T10:00:00+00:00", "status": "success",
         "latency_ms": 10.0, "metadata": {"retries": 2},
         "actions": [{"action_type": "tool_call", "name": "t", "status": "failure"},
                     {"action_type": "tool_call", "name": "t", "status": "success"}]},
        {"execution_id": "e2", "agent_id": "a", "started_at": "2026-11-01T11:00:00+00:00", "status": "failure",
         "latency_ms": 10.0, "actions": [{"action_type": "tool_call", "name": "t", "status": "failure"}]},
    ]
    ex, acts = frames_from_records(recs)
    m = scoring.period_metrics(ex, acts)
    assert m.retries == 3 and m.retries_per_success == 3.0  # e2 failed: its failed action is no retry


# ---------------------------------------------------------------- the demo fleet


@pytest.fixture(scope="module")
def demo():
    spec = FleetSpec(agents=8, days=14, per_day=150, end=END, incidents=default_incidents(AGENTS, END, 14))
    ex, acts = frames_from_records(simulate(spec))
    day = ex["started_at"].dt.date
    return ex[day >= FIRST], ex[day < FIRST], acts


def targets_for(agent: str) -> dict:
    return {**SLA.default, **SLA.agents.get(agent, {})}


def report_for(demo, agent: str, **kw):
    cur, prev, acts = demo
    args = dict(period=(FIRST, END), current=cur[cur.agent_id == agent], previous=prev[prev.agent_id == agent],
                actions_current=acts, scores_current=NO_SCORES, scores_previous=NO_SCORES, fleet_current=cur,
                targets=targets_for(agent))
    return build_report(agent, **{**args, **kw})


def test_the_latency_regression_names_p95_its_start_day_and_prompt_v4(demo):
    incident = next(i for i in default_incidents(AGENTS, END, 14) if i.kind == "latency_regression")
    r = report_for(demo, incident.agent_id)
    p95 = r.change("latency_p95_ms")
    assert p95.verdict == "regression" and p95.significant and p95.relative > 1.0 and p95.ci_low > 0
    assert p95.p_adjusted is not None and p95.p_adjusted < 0.001
    top = r.recommendations[0]
    assert top.metric == "latency_p95_ms" and top.started == incident.day == date(2026, 11, 25)
    con = top.contrasts[0]
    assert (con.dimension, con.value, con.share_before, con.share_after) == ("prompt_version", "v4", 0.0, 1.0)
    assert con.previous_value in ("v2", "v3")
    assert re.search(r"p95 latency rose from .+ to .+ \(\+\d+ %, 95 % CI \+\d+ % to \+\d+ %\) from 2026-11-25, "
                     r"the day prompt v4 went live \(v4: 100 % of executions since; 0 % before\)", top.text)
    assert f"roll back to {con.previous_value} or profile v4" in top.text
    assert "p50 latency too" in top.text  # folded into the p95 recommendation, not a second one
    assert not any(x.metric == "latency_p50_ms" for x in r.recommendations)
    assert r.risk_level == "high" and "p95 latency" in r.summary and "2026-11-25" in r.summary
    assert r.change("success_rate").verdict != "regression"


def test_a_stable_agent_reports_no_significant_change(demo):
    r = report_for(demo, "email-drafter")
    assert not r.regressions and not r.significant
    assert "No significant change from the previous period (2026-11-17 to 2026-11-23)" in r.summary
    assert r.risk_level == "low" and r.overall > 80
    assert all(x.change is None for x in r.recommendations)
    assert r.change("mean_score").verdict == "insufficient data"  # no scores: never a verdict
    assert r.scores["quality"].unscored and any("unscored" in w for w in r.weaknesses)


def test_the_new_error_type_is_a_success_rate_regression_with_what_changed(demo):
    incident = next(i for i in default_incidents(AGENTS, END, 14) if i.kind == "new_error_type")
    r = report_for(demo, incident.agent_id)
    top = r.recommendations[0]
    assert top.metric == "success_rate" and top.started == incident.day and top.severity == "high"
    assert {c.dimension for c in top.contrasts} & {"error_type"} or any(
        c.dimension.startswith("tool_version:") for c in top.contrasts)
    assert "SchemaValidationError" in top.text or "2.0.0" in top.text
    assert r.risk_level in ("high", "critical")


def test_the_cost_spike_starts_on_its_day_and_says_prompts_grew(demo):
    incident = next(i for i in default_incidents(AGENTS, END, 14) if i.kind == "cost_spike")
    r = report_for(demo, incident.agent_id)
    top = r.recommendations[0]
    assert top.metric == "cost_per_execution_usd" and top.started == incident.day
    assert "prompt tokens per execution rose" in top.text and "cost per success too" in top.text


def test_the_rule_summary_and_recommendations_use_only_the_facts(demo):
    for agent in AGENTS:
        r = report_for(demo, agent)
        facts = r.facts()
        assert invented(r.summary, facts) == [], agent
        assert 2 <= r.summary.count(". ") + 1 <= 5


def test_findings_enrich_the_matching_recommendation_and_the_rest_are_listed(demo):
    agent = next(i for i in default_incidents(AGENTS, END, 14) if i.kind == "latency_regression").agent_id
    findings = [
        {"category": "prompt", "title": "p95 latency ×3 since prompt v4", "description": "v4 adds a second pass",
         "metric": "latency_p95_ms", "before": 30_000, "after": 90_000, "started_at": "2026-11-25T00:04:00+00:00",
         "first_bad_execution_id": "abc123", "evidence": {"dimension": "prompt_version"}, "agent_id": agent},
        {"category": "external", "title": "503s from the provider", "description": "4 hours of 503s",
         "metric": "failure_rate", "before": 0.02, "after": 0.3, "started_at": None, "first_bad_execution_id": None,
         "evidence": {}, "agent_id": agent},
        {"category": "tool", "title": "someone else's finding", "description": "", "metric": "failure_rate",
         "evidence": {}, "agent_id": "another-agent"},
    ]
    r = report_for(demo, agent, findings=findings)
    assert "Root cause (prompt): p95 latency ×3 since prompt v4; first bad execution abc123." in \
        r.recommendations[0].text
    assert any(x.text.startswith("Investigate: 503s from the provider") for x in r.recommendations)
    assert not any("someone else" in x.text for x in r.recommendations) and len(r.findings) == 2
    json.dumps(r.to_dict())


def test_scores_make_quality_scored_and_are_compared(demo):
    cur, prev, acts = demo
    agent = "email-drafter"

    def scores(df, value):
        ids = df.loc[df.agent_id == agent, "execution_id"].head(200)
        return pd.DataFrame({"execution_id": ids, "name": "helpfulness", "source": "llm_judge", "agent_id": agent,
                             "value": [value + (i % 10) / 100 for i in range(len(ids))], "comment": None,
                             "scored_at": pd.Timestamp("2026-12-01", tz="UTC")})

    r = report_for(demo, agent, scores_current=scores(cur, 0.6), scores_previous=scores(prev, 0.8))
    q = r.scores["quality"]
    assert not q.unscored and q.components[0].name == "mean_score" and q.components[0].value == pytest.approx(0.645)
    ms = r.change("mean_score")
    assert ms.verdict == "regression" and ms.test == "Welch t-test" and ms.n_before == ms.n_after == 200
    assert r.current.score_means == {"helpfulness": pytest.approx(0.645)}


def test_change_days_for_an_ongoing_and_a_transient_change():
    from meta_agent.evaluation.stats import Change

    def series(values):
        return [{"day": (date(2026, 11, 1) + timedelta(days=i)).isoformat(), "latency_p95_ms": v}
                for i, v in enumerate(values)]

    c = Change("latency_p95_ms", "ms", 10.0, 20.0, 10.0, 1.0, 8.0, 12.0, "t", 1.0, 0.0, True, False, "regression",
               100, 100)
    ongoing = series([10, 11, 9, 10, 10, 12, 30, 31, 29, 30])
    start, bad = change_days(ongoing, c, date(2026, 11, 4))
    assert start == date(2026, 11, 7) and len(bad) == 4
    transient = series([10, 11, 9, 10, 40, 10, 10])
    start, bad = change_days(transient, c, date(2026, 11, 4))
    assert start == date(2026, 11, 5) and bad == [date(2026, 11, 5)]


# ---------------------------------------------------------------- rendering


def test_to_dict_markdown_and_standalone_html(demo):
    agent = next(i for i in default_incidents(AGENTS, END, 14) if i.kind == "latency_regression").agent_id
    r = report_for(demo, agent)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["period_start"] == "2026-11-24" and d["risk_level"] == r.risk_level
    assert {c["metric"] for c in d["changes"]} == {
        "success_rate", "timeout_rate", "human_intervention_rate", "latency_p50_ms", "latency_p95_ms",
        "cost_per_execution_usd", "cost_per_success_usd", "mean_score"}
    assert d["scores"]["reliability"]["components"][0]["target"] == targets_for(agent)["min_success_rate"]
    assert d["method"]["correction"] == "holm" and len(d["daily"]) == 14
    md = r.markdown()
    assert md.startswith(f"# Evaluation report: {agent}") and "| p95 latency |" in md and "## Recommendations" in md
    assert r.markdown("A narrative.").count("A narrative.") == 1
    html = r.html()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2 and "p95 latency per day" in html
    assert not re.search(r"""(src|href)=["']?https?:""", html) and "<script" not in html and "<link" not in html
    assert r.recommendations[0].text.replace("'", "&#39;").replace("×", "×") in html or "2026-11-25" in html


def test_html_escapes_what_the_data_says(demo):
    cur, prev, acts = demo
    agent = "email-drafter"
    evil = cur.copy()
    evil.loc[evil.agent_id == agent, "prompt_version"] = "<script>alert(1)</script>"
    r = report_for(demo, agent, current=evil[evil.agent_id == agent],
                   findings=[{"category": "unknown", "title": "<img src=x onerror=alert(1)>", "description": "",
                              "metric": None, "evidence": {}}])
    assert "<img src=x" not in r.html() and "&lt;img src=x" in r.html()


# ---------------------------------------------------------------- bad input


def test_an_unknown_agent_or_an_empty_period_is_a_clear_input_error(demo):
    cur, prev, acts = demo
    with pytest.raises(InputError, match=r"no executions for agent nobody between 2026-11-24 and 2026-11-30; "
                                         r"agents with data: code-reviewer, email-drafter, "):
        report_for(demo, "nobody", current=cur[cur.agent_id == "nobody"])
    with pytest.raises(InputError, match="no executions for agent email-drafter between 2027-01-01 and 2027-01-07"):
        report_for(demo, "email-drafter", period=(date(2027, 1, 1), date(2027, 1, 7)))
    with pytest.raises(InputError, match="ends .* before it starts"):
        report_for(demo, "email-drafter", period=(END, FIRST))
    with pytest.raises(InputError, match="period must be"):
        report_for(demo, "email-drafter", period="last week")


def test_an_empty_previous_period_gives_insufficient_data_not_a_verdict(demo):
    cur, prev, acts = demo
    r = report_for(demo, "email-drafter", previous=prev.iloc[0:0])
    assert {c.verdict for c in r.changes} == {"insufficient data"} and not r.regressions
    assert "not enough data in the previous period" in r.summary


# ---------------------------------------------------------------- the store (both engines)


def test_save_versions_latest_and_list(migrated_url, demo):
    agent = "email-drafter"
    r = report_for(demo, agent)
    v1 = reports_repo.save_report(migrated_url, r, html_path="/tmp/r1.html", narrative_source="rules", run_id="run-1")
    long_source = "rules (model reply rejected: invented 37 %, 4.1 s, $12)"
    v2 = reports_repo.save_report(migrated_url, r, html_path=None, narrative_source=long_source,
                                  narrative_text="From the model.")
    other = report_for(demo, "code-reviewer")
    assert (v1, v2, reports_repo.save_report(migrated_url, other, html_path=None, narrative_source="llm:m")) == (1, 2, 1)
    latest = reports_repo.latest_report(migrated_url, agent, FIRST, END)
    assert latest["version"] == 2 and latest["narrative_source"] == "rules (model reply rejected)"
    assert latest["report"]["narrative"] == {"text": "From the model.", "source": long_source}
    assert latest["report"]["overall"] == pytest.approx(r.overall) and latest["risk_level"] == r.risk_level
    assert latest["scores"] == {k: pytest.approx(s.score) for k, s in r.scores.items()}
    assert "From the model." in latest["markdown"] and latest["html_path"] is None
    assert reports_repo.latest_report(migrated_url, agent, FIRST, END - timedelta(days=1)) is None
    rows = reports_repo.list_reports(migrated_url)
    assert [(x["agent_id"], x["version"]) for x in rows] == [("code-reviewer", 1), (agent, 2), (agent, 1)]
    assert "report" not in rows[0] and rows[2]["dagster_run_id"] == "run-1" and rows[2]["html_path"] == "/tmp/r1.html"
    assert [x["version"] for x in reports_repo.list_reports(migrated_url, agent)] == [2, 1]
