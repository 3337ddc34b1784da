"""The knowledge base: the confidence model against reference values, measured effects pinned
against scipy/statsmodels, create → confirm → contradict → decay → deprecate → restore with
their events on SQLite and PostgreSQL, TF-IDF search ranking, cross-agent suggestions on a
hand-built set of clusters, and bad input that changes nothing."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy import stats as st
from statsmodels.stats.proportion import confint_proportions_2indep

from meta_agent.errors import InputError
from meta_agent.improvement import knowledge as kb
from meta_agent.improvement.model import Proposal
from meta_agent.llm.embeddings import hashing_embed
from meta_agent.store.schema_evaluation import (
    failure_cluster_members,
    failure_clusters,
    failure_embeddings,
)
from meta_agent.store.schema_improvement import improvement_proposals, learning_events, learnings

T0 = datetime(2026, 6, 1, tzinfo=UTC)
DAY = date(2026, 6, 1)
TIMEOUT_SIG = "ToolTimeout: fetch_diff timed out after <n>s | tool_call:fetch_diff"


# ------------------------------------------------------------------ the confidence model


def reference(confirmations, contradictions, age, half_life):
    """Independent: scipy's Beta(1 + c, 1 + d) mean × exp(−ln 2 · age / half-life)."""
    return st.beta(1 + confirmations, 1 + contradictions).mean() * math.exp(-math.log(2) * age / half_life)


@pytest.mark.parametrize("c, d, age, half_life, expected", [
    (0, 0, 0, 90, 0.5),
    (1, 0, 0, 90, 2 / 3),
    (1, 0, 90, 90, 1 / 3),
    (3, 1, 0, 90, 2 / 3),
    (0, 1, 0, 90, 1 / 3),
    (2, 0, 45, 90, 0.75 / math.sqrt(2)),
    (5, 0, 180, 30, 6 / 7 / 64),
    (4, 4, 365, 90, 0.5 * 2 ** (-365 / 90)),
])
def test_confidence_is_the_beta_posterior_mean_times_the_half_life_decay(c, d, age, half_life, expected):
    assert kb.confidence(c, d, age, half_life) == pytest.approx(expected, rel=1e-12)
    assert kb.confidence(c, d, age, half_life) == pytest.approx(reference(c, d, age, half_life), rel=1e-12)


def test_confidence_rises_with_a_confirmation_and_falls_with_a_contradiction():
    base = kb.confidence(2, 1, 30)
    assert kb.confidence(3, 1, 0) > base > kb.confidence(2, 2, 30)
    assert kb.confidence(1, 0, -5) == kb.confidence(1, 0, 0)  # a future timestamp is age 0
    with pytest.raises(InputError, match="half_life_days"):
        kb.confidence(1, 0, 0, 0)
    with pytest.raises(InputError, match="must be ≥ 0"):
        kb.confidence(-1, 0, 0)


@pytest.mark.parametrize("claimed, lo, hi, expected", [
    (None, 0.05, 0.2, "confirmed"),  # nothing claimed yet: any interval off 0
    (None, -0.3, -0.1, "confirmed"),
    (None, -0.1, 0.2, "contradicted"),  # a null effect
    (0.12, 0.05, 0.2, "confirmed"),
    (0.12, -0.2, -0.05, "contradicted"),  # the other side
    (0.12, -0.01, 0.2, "contradicted"),
    (-300.0, -500.0, -80.0, "confirmed"),
    (-300.0, 0.0, 10.0, "contradicted"),  # touching 0 is not excluding it
])
def test_outcome(claimed, lo, hi, expected):
    assert kb.outcome(claimed, lo, hi) == expected


def test_deprecation_reason():
    assert kb.deprecation_reason(0.5, 1, 0) is None
    assert "below 0.2" in kb.deprecation_reason(0.19, 3, 0)
    assert "2 contradiction(s) against 1" in kb.deprecation_reason(0.9, 1, 2)
    assert kb.deprecation_reason(0.2, 1, 1) is None  # at the floor, as many for as against


def test_describe_change_says_what_changed_in_words():
    assert kb.describe_change("tool_change", {"tool": "fetch_diff", "action": "pin", "from_version": "2.0.0",
                                              "to_version": "1.4.2"}) == "tool fetch_diff pinned 2.0.0 → 1.4.2"
    assert kb.describe_change("prompt_rollback", {"prompt": "system", "label": "production", "from_version": "v4",
                                                  "to_version": "v3"}) == \
        "prompt system label production rolled back v4 → v3"
    assert kb.describe_change("prompt_change", {"prompt": "system", "base_version": "v4", "text": "…",
                                                "edits": [{"rule": "cite-sources", "why": "…"}]},
                              {"prompt_version": "v5"}) == "prompt system v4 → v5 (edits: cite-sources)"
    assert kb.describe_change("config_change", {"setting": "timeout_s", "from": 30, "to": 60, "model": "gpt-x"}) == \
        "timeout_s for gpt-x 30 → 60"


# ------------------------------------------------------------------ measure_effect


def executions_frame(seed: int = 7) -> pd.DataFrame:
    """Agent a: 200 executions in the week before T0 (140 successes), 200 in the week after
    (176 successes) plus 10 cancelled; latency falls, cost rises; agent b and a month-old
    week must not count."""
    rng = np.random.default_rng(seed)
    rows = []

    def add(agent, start, n, successes, lat_mu, cost_mu, status_rest="failure"):
        for i in range(n):
            rows.append({"execution_id": f"{agent}-{start:%m%d}-{i}", "agent_id": agent,
                         "started_at": start + timedelta(minutes=50 * i),
                         "status": "success" if i < successes else status_rest,
                         "latency_ms": float(rng.lognormal(lat_mu, 0.4)), "cost_usd": float(rng.gamma(4, cost_mu)),
                         "human_intervention": i % 10 == 0})

    add("a", T0 - timedelta(days=7), 200, 140, 7.0, 0.002)
    add("a", T0, 200, 176, 6.4, 0.0025)
    add("a", T0 + timedelta(days=1), 10, 0, 9.0, 0.01, status_rest="cancelled")
    add("b", T0 - timedelta(days=7), 300, 10, 9.0, 0.05)
    add("a", T0 - timedelta(days=40), 200, 0, 9.0, 0.05)
    return pd.DataFrame(rows)


def test_success_rate_effect_is_the_difference_with_newcombes_interval():
    m = kb.measure_effect(executions_frame(), agent_id="a", metric="success_rate", changed_at=T0)
    lo, hi = confint_proportions_2indep(176, 200, 140, 200, method="newcomb", compare="diff")
    assert (m["metric"], m["unit"], m["n_before"], m["n_after"]) == ("success_rate", "ratio", 200, 200)
    assert m["before"] == pytest.approx(0.70) and m["after"] == pytest.approx(0.88)
    assert m["effect"] == pytest.approx(0.18)
    assert (m["ci_low"], m["ci_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert "Newcombe" in m["method"] and m["verdict"] == "improvement"


def test_latency_p95_effect_has_a_bootstrap_interval():
    df = executions_frame()
    m = kb.measure_effect(df, agent_id="a", metric="latency", changed_at=T0)  # an alias the findings use
    t = df["started_at"]
    a = df[(df.agent_id == "a") & (t >= T0 - timedelta(days=7)) & (t < T0)]["latency_ms"].to_numpy()
    b = df[(df.agent_id == "a") & (t >= T0) & (t < T0 + timedelta(days=7)) & (df.status != "cancelled")]
    b = b["latency_ms"].to_numpy()

    def diff(x, y, axis=-1):
        return np.quantile(y, 0.95, axis=axis) - np.quantile(x, 0.95, axis=axis)

    ref = st.bootstrap((a, b), diff, method="percentile", n_resamples=9999, rng=1, vectorized=True)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert m["metric"] == "latency_p95_ms" and m["unit"] == "ms" and m["n_after"] == 200
    assert m["effect"] == pytest.approx(np.quantile(b, 0.95) - np.quantile(a, 0.95), rel=1e-12)
    assert m["ci_low"] == pytest.approx(ref.confidence_interval.low, abs=0.1 * width)
    assert m["ci_high"] == pytest.approx(ref.confidence_interval.high, abs=0.1 * width)
    assert m["effect"] < 0 and "bootstrap" in m["method"]


def test_cost_effect_is_welchs_difference_of_means():
    df = executions_frame()
    m = kb.measure_effect(df, agent_id="a", metric="cost_per_execution_usd", changed_at=T0)
    t = df["started_at"]
    a = df[(df.agent_id == "a") & (t >= T0 - timedelta(days=7)) & (t < T0)]["cost_usd"]
    b = df[(df.agent_id == "a") & (t >= T0) & (t < T0 + timedelta(days=7))]["cost_usd"]  # cancelled cost too
    ref = st.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (m["n_before"], m["n_after"]) == (200, 210)
    assert m["effect"] == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert (m["ci_low"], m["ci_high"]) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))
    assert m["p_value"] == pytest.approx(ref.pvalue, rel=1e-9) and "Welch" in m["method"]


def test_too_few_executions_is_insufficient_data_with_no_effect():
    df = executions_frame()
    m = kb.measure_effect(df, agent_id="a", metric="success_rate", changed_at=T0, window=timedelta(hours=12))
    assert m["n_before"] < 20 and m["effect"] is None and m["ci_low"] is None
    assert m["method"].startswith("insufficient data") and "at least 20" in m["method"]
    m = kb.measure_effect(df, agent_id="nobody", metric="success_rate", changed_at=T0)
    assert (m["n_before"], m["n_after"], m["effect"]) == (0, 0, None)


@pytest.mark.parametrize("kwargs, needle", [
    ({"metric": "happiness"}, "metric 'happiness' cannot be measured"),
    ({"changed_at": datetime(2026, 6, 1)}, "timezone-aware"),
    ({"window": timedelta(0)}, "positive timedelta"),
])
def test_measure_effect_bad_input(kwargs, needle):
    args = {"agent_id": "a", "metric": "success_rate", "changed_at": T0, **kwargs}
    with pytest.raises(InputError, match=needle):
        kb.measure_effect(executions_frame(), **args)


def test_measure_effect_names_a_missing_column():
    with pytest.raises(InputError, match="no column latency_ms"):
        kb.measure_effect(executions_frame().drop(columns=["latency_ms"]), agent_id="a", metric="latency_p95_ms",
                          changed_at=T0)


# ------------------------------------------------------------------ record, confirm, contradict, decay


def proposal_row(conn, agent="agent-a", tool="fetch_diff", title=None, category="tool") -> dict:
    """A proposal as the store keeps it (inserted and read back)."""
    p = Proposal(kind="tool_change", agent_id=agent, agents=[agent], category=category,
                 title=title or f"Pin {tool} to 1.4.2 on {agent}", summary="2.0.0 times out",
                 change={"tool": tool, "action": "pin", "from_version": "2.0.0", "to_version": "1.4.2"},
                 expected={"metric": "success_rate", "unit": "ratio", "current": 0.7, "expected": 0.88,
                           "effect": 0.18, "ci_low": 0.1, "ci_high": 0.26, "method": "…"},
                 risk="low", confidence=0.7, blast_radius={"traffic_share": 0.2, "agents": [agent]},
                 rollback_plan="unpin", priority=1.0,
                 evidence={"finding_ids": ["f-1"], "cluster_key": "k-timeout", "execution_ids": ["e1"]})
    if conn.execute(sa.select(improvement_proposals.c.proposal_id)
                    .where(improvement_proposals.c.proposal_id == p.proposal_id)).first() is None:
        conn.execute(improvement_proposals.insert().values(**p.to_row(DAY, now=T0)))
    return dict(conn.execute(sa.select(improvement_proposals)
                             .where(improvement_proposals.c.proposal_id == p.proposal_id)).mappings().one())


def measured(effect=0.18, lo=0.10, hi=0.26, metric="success_rate", agent="agent-a") -> dict:
    return {"agent_id": agent, "metric": metric, "unit": "ratio", "before": 0.70, "after": None if effect is None else 0.70 + effect,
            "effect": effect, "ci_low": lo, "ci_high": hi, "n_before": 200, "n_after": 200, "method": "test"}


def events(conn, learning_id):
    return conn.execute(sa.select(learning_events).where(learning_events.c.learning_id == learning_id)
                        .order_by(learning_events.c.event_id)).mappings().all()


def counts(conn) -> tuple[int, int]:
    return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                 for t in (learnings, learning_events))


def test_a_learning_is_created_confirmed_contradicted_and_decays(engine):
    with engine.begin() as conn:
        prop = proposal_row(conn)
        r = kb.record(conn, proposal=prop, measured=measured(), source=prop["proposal_id"],
                      execution_ids=["x1", "x2"], failure_signature=TIMEOUT_SIG, now=T0)
    assert (r["action"], r["outcome"], r["confidence_before"]) == ("created", "confirmed", None)
    row = r["learning"]
    assert row["learning_id"] == r["learning_id"] and row["learning_id"].startswith("learn-")
    assert (row["agent_id"], row["kind"], row["category"], row["metric"], row["unit"]) == \
        ("agent-a", "tool_change", "tool", "success_rate", "ratio")
    assert row["change"] == "tool fetch_diff pinned 2.0.0 → 1.4.2" and row["failure_signature"] == TIMEOUT_SIG
    assert (row["effect"], row["ci_low"], row["ci_high"]) == (0.18, 0.10, 0.26)
    assert (row["confirmations"], row["contradictions"], row["status"]) == (1, 0, "active")
    assert row["confidence"] == pytest.approx(2 / 3)
    assert row["evidence"]["proposal_ids"] == [prop["proposal_id"]] and row["evidence"]["finding_ids"] == ["f-1"]
    assert row["evidence"]["execution_ids"] == ["x1", "x2"] and row["evidence"]["cluster_keys"] == ["k-timeout"]

    t1 = T0 + timedelta(days=30)  # the same change confirmed again, by an experiment
    with engine.begin() as conn:
        r = kb.record(conn, proposal=prop, measured=measured(0.15, 0.08, 0.22), source="experiment:exp-7", now=t1)
    assert r["action"] == "confirmed" and r["learning_id"] == row["learning_id"]
    assert r["confidence_before"] == pytest.approx(2 / 3 * 0.5 ** (30 / 90))
    assert r["confidence_after"] == pytest.approx(3 / 4)  # (1 + 2) / (2 + 2), age back to 0
    assert r["learning"]["effect"] == 0.15 and r["learning"]["last_evidence_at"] == t1

    t2 = t1 + timedelta(days=9)  # then the other side: contradicted, and no younger for it
    with engine.begin() as conn:
        r = kb.record(conn, proposal=prop, measured=measured(-0.06, -0.11, -0.01), source="experiment:exp-8", now=t2)
    assert r["action"] == "contradicted"
    assert r["confidence_before"] == pytest.approx(3 / 4 * 0.5 ** (9 / 90))
    assert r["confidence_after"] == pytest.approx(3 / 5 * 0.5 ** (9 / 90))
    got = r["learning"]
    assert (got["confirmations"], got["contradictions"], got["effect"], got["last_evidence_at"]) == (2, 1, 0.15, t1)
    assert len(got["evidence"]["measurements"]) == 3
    assert got["evidence"]["sources"] == [prop["proposal_id"], "experiment:exp-7", "experiment:exp-8"]

    t3 = t2 + timedelta(days=1)  # a null effect contradicts too
    with engine.begin() as conn:
        r = kb.record(conn, proposal=prop, measured=measured(0.01, -0.03, 0.05), source="experiment:exp-9", now=t3)
    assert r["action"] == "contradicted" and r["learning"]["contradictions"] == 2

    with engine.connect() as conn:
        evs = events(conn, row["learning_id"])
    assert [e["kind"] for e in evs] == ["created", "confirmed", "contradicted", "contradicted"]
    assert [e["source"] for e in evs][:2] == [prop["proposal_id"], "experiment:exp-7"]
    assert evs[1]["confidence_before"] == pytest.approx(2 / 3 * 0.5 ** (30 / 90))
    assert evs[1]["confidence_after"] == pytest.approx(0.75) and evs[2]["effect"] == -0.06

    # decay at t3 + 20 days: (1+2)/(2+4) × 0.5^(30/90); more for than against, above the floor → decayed
    t4 = t3 + timedelta(days=20)
    with engine.begin() as conn:
        out = kb.decay(conn, now=t4)
        assert kb.decay(conn, now=t4) == []  # nothing moved since
    expected = 0.5 * 0.5 ** ((t4 - t1).days / 90)
    assert out == [{"learning_id": row["learning_id"], "kind": "decayed", "confidence_before": pytest.approx(
        3 / 6 * 0.5 ** (10 / 90)), "confidence_after": pytest.approx(expected), "reason": None}]

    # 120 days later it is below the floor: deprecated, kept, unsurfaced
    t5 = t4 + timedelta(days=120)
    with engine.begin() as conn:
        out = kb.decay(conn, now=t5)
    assert [(o["kind"], o["confidence_after"]) for o in out] == \
        [("deprecated", pytest.approx(0.5 * 0.5 ** ((t5 - t1).days / 90)))]
    assert "below 0.2" in out[0]["reason"]
    with engine.connect() as conn:
        assert kb.list_learnings(conn) == [] and kb.search(conn, "fetch_diff") == []
        assert [r["learning_id"] for r in kb.list_learnings(conn, include_deprecated=True)] == [row["learning_id"]]
        full = kb.get(conn, row["learning_id"])
    assert full["status"] == "deprecated"
    assert [e["kind"] for e in full["events"]][-2:] == ["decayed", "deprecated"]
    assert full["events"][-1]["source"] == "decay" and "below 0.2" in full["events"][-1]["details"]["reason"]


def test_more_contradictions_than_confirmations_deprecates_and_a_person_can_restore(engine):
    with engine.begin() as conn:
        prop = proposal_row(conn)
        r = kb.record(conn, proposal=prop, measured=measured(0.01, -0.04, 0.06), source="adoption", now=T0)
    assert (r["action"], r["outcome"]) == ("created", "contradicted")
    assert (r["learning"]["confirmations"], r["learning"]["contradictions"]) == (0, 1)
    assert r["confidence_after"] == pytest.approx(1 / 3)
    lid = r["learning_id"]
    with engine.begin() as conn:
        out = kb.decay(conn, now=T0 + timedelta(hours=1))
    assert [(o["kind"], o["reason"]) for o in out] == [("deprecated", "1 contradiction(s) against 0 confirmation(s)")]

    with engine.begin() as conn:
        back = kb.restore(conn, lid, reason="the measurement window held a provider outage", actor="ana",
                          now=T0 + timedelta(days=1))
    assert back["status"] == "active" and back["events"][-1]["kind"] == "restored"
    assert back["events"][-1]["source"] == "ana"
    assert back["events"][-1]["details"] == {"actor": "ana", "reason": "the measurement window held a provider outage"}
    with engine.begin() as conn:  # restored by a person: decay leaves it active, even below the floor …
        out = kb.decay(conn, now=T0 + timedelta(days=80))
        assert [(o["kind"], o["reason"]) for o in out] == [("decayed", None)]
        assert out[0]["confidence_after"] == pytest.approx(1 / 3 * 0.5 ** (80 / 90))
        assert out[0]["confidence_after"] < 0.2
        assert kb.get(conn, lid)["status"] == "active"
        # … until new contrary evidence
        kb.record(conn, proposal=prop, measured=measured(0.0, -0.05, 0.05), source="experiment:e2",
                  now=T0 + timedelta(days=81))
        assert [o["kind"] for o in kb.decay(conn, now=T0 + timedelta(days=81))] == ["deprecated"]

    with engine.begin() as conn:  # a deprecated learning confirmed again stays deprecated until a person restores it
        r = kb.record(conn, proposal=prop, measured=measured(0.2, 0.1, 0.3), source="experiment:e3",
                      now=T0 + timedelta(days=82))
        assert r["action"] == "confirmed" and r["learning"]["status"] == "deprecated"
        assert r["learning"]["effect"] == 0.2  # the first measurement off 0 sets the claimed effect


def test_a_person_deprecates_and_restores_with_events(engine):
    with engine.begin() as conn:
        prop = proposal_row(conn)
        lid = kb.record(conn, proposal=prop, measured=measured(), source="adoption", now=T0)["learning_id"]
        gone = kb.deprecate(conn, lid, reason="the tool was replaced", actor="bo", now=T0 + timedelta(days=1))
        assert gone["status"] == "deprecated" and gone["events"][-1]["kind"] == "deprecated"
        assert kb.list_learnings(conn) == []
        with pytest.raises(InputError, match="already deprecated"):
            kb.deprecate(conn, lid, reason="again", actor="bo")
        back = kb.restore(conn, lid, reason="it is back", actor="bo", now=T0 + timedelta(days=2))
        assert back["status"] == "active" and [e["kind"] for e in back["events"]] == ["created", "deprecated",
                                                                                      "restored"]
        with pytest.raises(InputError, match="already active"):
            kb.restore(conn, lid, reason="again", actor="bo")
        with pytest.raises(InputError, match="--reason is empty"):
            kb.deprecate(conn, lid, reason=" ", actor="bo")
        with pytest.raises(InputError, match="no learning 'learn-nope'"):
            kb.restore(conn, "learn-nope", reason="x", actor="bo")
        assert kb.get(conn, "learn-nope") is None


BAD_RECORDS = [
    ({"measured": measured(None, None, None) | {"method": "insufficient data: 5 executions before"}},
     r"measured\['effect'\] is None \(insufficient data: 5 executions before\)"),
    ({"measured": measured(0.1, 0.2, 0.05)}, "ci_low 0.2 is above ci_high 0.05"),
    ({"measured": measured(0.1, None, 0.2)}, r"measured\['ci_low'\] is None"),
    ({"measured": measured(float("nan"), 0.0, 0.2)}, r"measured\['effect'\] is nan"),
    ({"measured": measured(metric="vibes")}, "metric 'vibes' cannot be measured"),
    ({"measured": measured(agent="agent-z")}, "'agent-z' is not an agent of proposal"),
    ({"source": ""}, "source is empty"),
    ({"now": datetime(2026, 6, 1)}, "timezone-aware"),
    ({"proposal": {"proposal_id": "prop-x", "kind": "tool_change", "title": "t"}}, r"proposal\['dedup_key'\]"),
]


def test_bad_input_to_record_changes_nothing(engine):
    with engine.begin() as conn:
        prop = proposal_row(conn)
    for change, needle in BAD_RECORDS:
        args = {"proposal": prop, "measured": measured(), "source": "adoption", "now": T0, **change}
        with engine.begin() as conn, pytest.raises(InputError, match=needle):
            kb.record(conn, **args)
    with engine.connect() as conn:
        assert counts(conn) == (0, 0)


def test_a_new_measurement_of_another_metric_is_refused(engine):
    with engine.begin() as conn:
        prop = proposal_row(conn)
        kb.record(conn, proposal=prop, measured=measured(), source="adoption", now=T0)
    with engine.begin() as conn, pytest.raises(InputError, match="differs from the metric 'success_rate'"):
        kb.record(conn, proposal=prop, measured=measured(-40.0, -60.0, -20.0, metric="latency_p95_ms"),
                  source="x", now=T0)
    with engine.connect() as conn:
        assert counts(conn) == (1, 1)


def test_bad_input_to_decay(engine):
    for kwargs, needle in [({"half_life_days": 0}, "half_life_days 0 must be a positive"),
                           ({"deprecate_below": 1.5}, r"deprecate_below 1.5 must be in \[0, 1\)"),
                           ({"min_change": -1}, "min_change -1 must be ≥ 0"),
                           ({"now": datetime(2026, 1, 1)}, "timezone-aware")]:
        with engine.begin() as conn, pytest.raises(InputError, match=needle):
            kb.decay(conn, **kwargs)


# ------------------------------------------------------------------ list and search


def seed_three(conn) -> dict[str, str]:
    ids = {}
    for name, agent, tool, title, sig, effect in [
        ("timeout", "agent-a", "fetch_diff", "Pin fetch_diff to 1.4.2", TIMEOUT_SIG, (0.18, 0.1, 0.26)),
        ("parse", "agent-b", "parse_invoice", "Validate parse_invoice output",
         "ValueError: invalid JSON at position <n> | tool_call:parse_invoice", (0.05, 0.01, 0.09)),
        ("ratelimit", "agent-c", "search_web", "Add retries to search_web",
         "RateLimitError: <n> requests per minute exceeded | llm_call:gpt", (0.3, 0.2, 0.4)),
    ]:
        prop = proposal_row(conn, agent=agent, tool=tool, title=title)
        ids[name] = kb.record(conn, proposal=prop, measured=measured(*effect, agent=agent), source="adoption",
                              failure_signature=sig, now=T0)["learning_id"]
    return ids


def test_list_orders_by_confidence_and_filters_by_agent(engine):
    with engine.begin() as conn:
        ids = seed_three(conn)
        prop = proposal_row(conn, agent="agent-b", tool="parse_invoice", title="Validate parse_invoice output")
        kb.record(conn, proposal=prop, measured=measured(0.06, 0.02, 0.1, agent="agent-b"), source="exp",
                  now=T0 + timedelta(days=1))
    with engine.connect() as conn:
        rows = kb.list_learnings(conn)
        assert [r["learning_id"] for r in rows][0] == ids["parse"]  # 3/4 before 2/3
        assert [r["learning_id"] for r in kb.list_learnings(conn, agent="agent-c")] == [ids["ratelimit"]]
        assert len(kb.list_learnings(conn, limit=2)) == 2
        with pytest.raises(InputError, match="limit 0"):
            kb.list_learnings(conn, limit=0)


def test_search_ranks_by_tfidf_cosine(engine):
    with engine.begin() as conn:
        ids = seed_three(conn)
    with engine.connect() as conn:
        hits = kb.search(conn, "fetch_diff timed out")
        assert hits[0]["learning_id"] == ids["timeout"] and hits[0]["score"] > 0
        assert all(h["learning_id"] != ids["ratelimit"] for h in hits)  # shares no word with it
        assert [h["learning_id"] for h in kb.search(conn, "rate limit exceeded retries")][0] == ids["ratelimit"]
        assert [h["learning_id"] for h in kb.search(conn, "invalid JSON", limit=1)] == [ids["parse"]]
        assert kb.search(conn, "kubernetes") == []
        scores = [h["score"] for h in kb.search(conn, "tool_call success_rate")]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3
        for bad in ("", "   ", "--- !!"):
            with pytest.raises(InputError, match="has no words"):
                kb.search(conn, bad)


def test_rank_matches_an_independent_tfidf():
    docs = ["pin fetch diff timeout", "retries for rate limit", "timeout timeout on search"]
    # by hand: smooth idf ln((1 + 3) / (1 + df)) + 1, sublinear tf 1 + ln(tf), word uni- and bigrams,
    # rows L2-normalized; the query is the one term, so the cosine is its weight over the row's norm
    idf_t, idf_1 = math.log(4 / 3) + 1, math.log(4 / 2) + 1
    doc0 = np.array([idf_t] + [idf_1] * 6)  # pin fetch diff timeout + 3 bigrams
    tf2 = 1 + math.log(2)
    doc2 = np.array([tf2 * idf_t] + [idf_1] * 5)  # timeout(×2) on search + 3 bigrams
    assert kb.rank(docs, "timeout") == [(2, pytest.approx(doc2[0] / np.linalg.norm(doc2))),
                                        (0, pytest.approx(doc0[0] / np.linalg.norm(doc0)))]


# ------------------------------------------------------------------ suggest


def add_cluster(conn, day, key, agents, signatures, *, trend="recurring", label=None, top_terms=()):
    """A failure cluster (``agents``: {agent: failures}) with one member and one embedding per
    agent × signature."""
    members, embeds = [], []
    for n, (agent, sig) in enumerate((a, s) for a in agents for s in signatures):
        eid = f"{key}-{day:%m%d}-{n}"
        embeds.append({"execution_id": eid, "agent_id": agent, "started_at": T0, "status": "failure", "model": "m",
                       "prompt_version": "v1", "error_type": sig.split(":")[0], "failing_action": None,
                       "signature": sig, "embedding_model": "offline:hashing-v1-384", "dim": 384,
                       "vector": hashing_embed([sig])[0], "embedded_at": T0})
        members.append({"day": day, "execution_id": eid, "cluster_key": key})
    conn.execute(failure_embeddings.insert(), embeds)
    conn.execute(failure_cluster_members.insert(), members)
    conn.execute(failure_clusters.insert().values(
        day=day, cluster_key=key, label=label or signatures[0].split(":")[0], size=len(members),
        agents=dict(agents),
        error_types={}, top_terms=list(top_terms), first_seen=T0, last_seen=T0, trend=trend, daily_counts={},
        sample_execution_ids=[members[0]["execution_id"]], window_start=day - timedelta(days=6), created_at=T0))


B_TIMEOUT = "ToolTimeout: fetch_diff timed out after <n>s waiting for the diff | tool_call:fetch_diff"
C_PARSE = "ValueError: invalid JSON at position <n> | tool_call:parse_invoice"


def suggestion_world(conn) -> str:
    prop = proposal_row(conn)
    lid = kb.record(conn, proposal=prop, measured=measured(), source="adoption", failure_signature=TIMEOUT_SIG,
                    now=T0)["learning_id"]
    latest = DAY + timedelta(days=1)
    add_cluster(conn, latest, "k-timeout", {"agent-b": 12, "agent-a": 3}, [B_TIMEOUT])  # B matches (A is the source)
    add_cluster(conn, latest, "k-parse", {"agent-c": 20}, [C_PARSE])  # C does not
    add_cluster(conn, latest, "k-old-timeout", {"agent-d": 5}, [TIMEOUT_SIG], trend="resolved")  # not current
    add_cluster(conn, DAY, "k-stale", {"agent-e": 9}, [TIMEOUT_SIG])  # an older day: not the latest
    return lid


def cosine(x: str, y: str) -> float:
    u, v = hashing_embed([x, y]).astype(np.float64)
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def test_suggest_names_the_agent_whose_current_cluster_matches(engine):
    with engine.begin() as conn:
        lid = suggestion_world(conn)
    with engine.connect() as conn:
        out = kb.suggest(conn)
    expected = cosine(TIMEOUT_SIG, B_TIMEOUT)
    assert expected >= 0.6 > cosine(TIMEOUT_SIG, C_PARSE)  # the premise, computed independently
    assert [(s["learning_id"], s["from_agent"], s["to_agent"], s["cluster_key"]) for s in out] == \
        [(lid, "agent-a", "agent-b", "k-timeout")]
    s = out[0]
    assert s["similarity"] == pytest.approx(expected, abs=1e-6) and s["matched"] == B_TIMEOUT
    assert s["failures"] == 12 and s["cluster_day"] == DAY + timedelta(days=1)
    assert "agent-b's failure cluster k-timeout" in s["why"] and "agent-a" in s["why"]
    assert "success_rate +0.18 [+0.1, +0.26] ratio" in s["why"]


def test_suggest_with_a_given_embedder_and_threshold(engine):
    """A toy embedder with known vectors: 'timed out' → (0.8, 0.6), everything else → (0, 1);
    the learning's signature → (1, 0), so the match is cosine 0.8 exactly."""
    def embed(texts):
        return np.array([[1.0, 0.0] if t == TIMEOUT_SIG else [0.8, 0.6] if "timed out" in t else [0.0, 1.0]
                         for t in texts])

    with engine.begin() as conn:
        suggestion_world(conn)
    with engine.connect() as conn:
        out = kb.suggest(conn, embed=embed)
        assert [(s["to_agent"], s["similarity"]) for s in out] == [("agent-b", pytest.approx(0.8))]
        assert kb.suggest(conn, embed=embed, threshold=0.81) == []
        assert [s["to_agent"] for s in kb.suggest(conn, embed=embed, day=DAY)] == ["agent-e"]  # that day's clusters
        for bad in (0, 1.5, "high"):
            with pytest.raises(InputError, match="threshold"):
                kb.suggest(conn, embed=embed, threshold=bad)


def test_deprecated_learnings_are_not_suggested_and_no_clusters_suggest_nothing(engine):
    with engine.begin() as conn:
        lid = suggestion_world(conn)
        kb.deprecate(conn, lid, reason="replaced", actor="bo", now=T0)
    with engine.connect() as conn:
        assert kb.suggest(conn) == []
        assert [s["to_agent"] for s in kb.suggest(conn, include_deprecated=True)] == ["agent-b"]
        conn.execute(failure_clusters.delete())
        assert kb.suggest(conn, include_deprecated=True) == []


def test_best_matches_takes_each_clusters_best_text():
    lv = np.array([[1.0, 0.0], [0.0, 2.0]])
    tv = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
    best, which = kb.best_matches(lv, tv, [0, 0, 1, 2], 4)
    assert best[0].tolist()[:3] == pytest.approx([1.0, 0.0, 0.6]) and best[0, 3] == -np.inf
    assert which.tolist() == [[1, 2, 3, -1], [0, 2, 3, -1]]
    assert best[1].tolist()[:3] == pytest.approx([0.8, 1.0, 0.8])
