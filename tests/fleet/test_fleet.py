"""The demo fleet: valid, deterministic, realistic, and its incidents are really there."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from meta_agent.errors import InputError
from meta_agent.fleet import FleetSpec, Incident, default_incidents, fleet, parse_incident, simulate
from meta_agent.records.contract import parse_record

END = date(2026, 11, 21)
IDS = [p.agent_id for p in fleet(8)]


def sim(**kw) -> list[dict]:
    spec = FleetSpec(**{"agents": 8, "days": 10, "per_day": 120, "seed": 11, "end": END, **kw})
    return list(simulate(spec))


def test_same_seed_same_data_and_other_seed_other_data():
    a, b = sim(days=2), sim(days=2)
    assert a == b
    c = sim(days=2, seed=12)
    assert {r["execution_id"] for r in a}.isdisjoint({r["execution_id"] for r in c})


def test_every_record_meets_the_contract_and_ids_are_unique():
    recs = sim(days=3, incidents=default_incidents(IDS, END, 3))
    for r in recs:
        parsed = parse_record(r)
        assert parsed.ended_at >= parsed.started_at
        assert parsed.tokens_in == sum(a.tokens_in for a in parsed.actions)
    assert len({r["execution_id"] for r in recs}) == len(recs)


def test_costs_follow_litellms_price_map():
    import litellm  # the independent computation: litellm's own cost function

    recs = [r for r in sim(days=1) if r["tokens_in"]][:200]
    for r in recs:
        prompt, completion = litellm.cost_per_token(model=r["model"], prompt_tokens=r["tokens_in"],
                                                    completion_tokens=r["tokens_out"])
        assert r["cost_usd"] == pytest.approx(prompt + completion, rel=1e-9)


def test_latencies_are_lognormal_around_the_profile_median():
    recs = sim(days=10)
    profile = {p.agent_id: p for p in fleet(8)}["email-drafter"]
    lat = np.array([r["latency_ms"] for r in recs if r["agent_id"] == "email-drafter" and r["status"] == "success"])
    logs = np.log(lat)
    assert np.exp(np.median(logs)) == pytest.approx(profile.latency_ms * 0.9, rel=0.08)  # gemini flash ×0.9
    assert np.std(logs) == pytest.approx(profile.latency_sigma, rel=0.15)


def test_error_mix_is_realistic():
    recs = sim(days=10)
    errors = {r["error_type"] for r in recs if r["status"] == "failure"}
    assert {"RateLimitError", "ToolExecutionError", "OutputParserException", "ContextWindowExceededError"} <= errors
    assert {r["error_type"] for r in recs if r["status"] == "timeout"} == {"TimeoutError"}
    fail_rate = np.mean([r["status"] != "success" for r in recs])
    assert 0.01 < fail_rate < 0.08


def _by(recs, agent, day):
    return [r for r in recs if r["agent_id"] == agent and r["started_at"].startswith(day.isoformat())]


def test_injected_incidents_are_visible_in_the_data():
    day = END - timedelta(days=2)
    incidents = [Incident("outage", "sql-analyst", day), Incident("latency_regression", "lease-abstractor", day),
                 Incident("cost_spike", "invoice-extractor", day), Incident("new_error_type", "support-triage", day)]
    base, hit = sim(), sim(incidents=incidents)

    outage = [r for r in _by(hit, "sql-analyst", day) if 9 <= datetime.fromisoformat(r["started_at"]).hour < 13]
    assert np.mean([r["status"] == "failure" for r in outage]) > 0.75
    assert {r["error_type"] for r in outage} >= {"ServiceUnavailableError"}

    for d, factor in ((day, 3.0), (END, 3.0), (day - timedelta(days=1), 1.0)):  # regression persists
        ratio = (np.median([r["latency_ms"] for r in _by(hit, "lease-abstractor", d)]) /
                 np.median([r["latency_ms"] for r in _by(base, "lease-abstractor", d)]))
        assert ratio == pytest.approx(factor, rel=0.05)
    assert {r["prompt_version"] for r in _by(hit, "lease-abstractor", day)} == {"v4"}

    spike = sum(r["cost_usd"] for r in _by(hit, "invoice-extractor", day))
    normal = sum(r["cost_usd"] for r in _by(base, "invoice-extractor", day))
    assert spike > 4 * normal
    assert sum(r["cost_usd"] for r in _by(hit, "invoice-extractor", END)) == pytest.approx(
        sum(r["cost_usd"] for r in _by(base, "invoice-extractor", END)))  # one day only

    new = [r for r in hit if r["error_type"] == "SchemaValidationError"]
    assert new and min(r["started_at"] for r in new) >= day.isoformat()
    assert all(r["agent_id"] == "support-triage" for r in new)
    assert not any(r["error_type"] == "SchemaValidationError" for r in base)


def test_demo_story_puts_four_incidents_on_four_agents():
    story = default_incidents(IDS, END, 30)
    assert {i.kind for i in story} == {"outage", "latency_regression", "cost_spike", "new_error_type"}
    assert len({i.agent_id for i in story}) == 4 and all(END - timedelta(days=7) < i.day <= END for i in story)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("outage", "expected KIND:AGENT:DAY"), ("flood:sql-analyst:-1", "unknown kind 'flood'"),
     ("outage:ghost:-1", "no agent 'ghost'"), ("outage:sql-analyst:someday", "neither YYYY-MM-DD nor -N"),
     ("outage:sql-analyst:2020-01-01", "outside the simulated days")],
)
def test_bad_incident_specs_say_what_is_wrong(spec, needle):
    with pytest.raises(InputError, match=needle):
        parse_incident(spec, end=END, days=10, agent_ids=IDS)


def test_incident_days_accept_dates_and_offsets():
    assert parse_incident("cost_spike:sql-analyst:-3", end=END, days=10, agent_ids=IDS).day == END - timedelta(days=3)
    assert parse_incident("cost_spike:sql-analyst:2026-11-20", end=END, days=10, agent_ids=IDS).day == date(2026, 11, 20)


def test_each_demo_incident_points_at_its_root_cause_in_the_data():
    """prompt: a new prompt version; tool: the tool's version; context: the retrieval; external: 503s."""
    day = END - timedelta(days=2)
    incidents = [Incident("outage", "sql-analyst", day), Incident("latency_regression", "lease-abstractor", day),
                 Incident("cost_spike", "invoice-extractor", day), Incident("new_error_type", "support-triage", day)]
    labels: dict = {}
    base = sim()
    hit = list(simulate(FleetSpec(agents=8, days=10, per_day=120, seed=11, end=END, incidents=incidents),
                        labels=labels))
    assert {i.category for i in incidents} == {"prompt", "tool", "context", "external"}

    def tool_versions(recs, tool):
        return {a["metadata"]["tool_version"] for r in recs for a in r["actions"]
                if a["action_type"] == "tool_call" and a["name"] == tool}

    # tool: every tool call says its version; the failing tool's jumps to 2.0.0 that day, for good
    assert tool_versions(_by(hit, "support-triage", day - timedelta(days=1)), "search_kb") == {"1.2.9"}
    assert tool_versions(_by(hit, "support-triage", day), "search_kb") == {"2.0.0"}
    assert tool_versions(_by(hit, "support-triage", END), "search_kb") == {"2.0.0"}
    assert tool_versions(_by(hit, "support-triage", day), "fetch_ticket") == tool_versions(base, "fetch_ticket")
    new = [r for r in hit if r["error_type"] == "SchemaValidationError"]
    failing = [a for r in new for a in r["actions"] if a["status"] == "failure"]
    assert {(a["action_type"], a["name"], a["metadata"]["tool_version"]) for a in failing} == {
        ("tool_call", "search_kb", "2.0.0")}

    # context: the retrieval returns ×8 documents that day; the largest prompts overflow the window
    def docs(recs):
        return np.median([a["metadata"]["documents"] for r in recs for a in r["actions"]
                          if a["action_type"] == "retrieval"])
    assert docs(_by(hit, "invoice-extractor", day)) > 6 * docs(_by(base, "invoice-extractor", day))
    overflow = [r for r in _by(hit, "invoice-extractor", day) if r["error_type"] == "ContextWindowExceededError"]
    assert overflow and all(r["tokens_in"] > 200_000 for r in overflow)  # claude-haiku-4-5's window
    assert all("prompt is too long" in r["error_message"] for r in overflow)
    assert all(labels[r["execution_id"]].kind == "cost_spike" for r in overflow)

    # labels: exactly the failures an incident caused
    assert {labels[r["execution_id"]].kind for r in hit if r["execution_id"] in labels} == {
        "outage", "cost_spike", "new_error_type"}  # a latency regression fails nothing
    assert all(r["status"] == "failure" for r in hit if r["execution_id"] in labels)
    assert not any(r["execution_id"] in labels for r in hit if r["error_type"] in ("RateLimitError", "TimeoutError"))


def test_fleet_wide_incidents_hit_every_agent_calling_the_model():
    day = END - timedelta(days=1)
    inc = Incident("provider_outage", "*", day, start_hour=10, hours=3, model="claude-sonnet-4-5")
    labels: dict = {}
    recs = list(simulate(FleetSpec(agents=8, days=3, per_day=120, seed=11, end=END, incidents=[inc]), labels=labels))
    hit = [r for r in recs if r["execution_id"] in labels]
    assert {r["agent_id"] for r in hit} == {"sql-analyst", "lease-abstractor", "code-reviewer"}
    assert {r["model"] for r in hit} == {"claude-sonnet-4-5"} and {r["error_type"] for r in hit} == {
        "ServiceUnavailableError"}
    assert all(10 <= datetime.fromisoformat(r["started_at"]).hour < 13 for r in hit)
    assert inc.category == "external" and inc.end == inc.start + timedelta(hours=3)
