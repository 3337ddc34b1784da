"""Health: windows and baselines pinned against an independent pandas/numpy computation,
every rule of the pure evaluation, hysteresis, and recording with transitions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from monitordata import T0, insert, row, steady
from scipy.stats import binom

from meta_agent.ops import health
from meta_agent.ops.health import Baseline, HealthInputs, HealthRules, WindowStats
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import agent_health, health_transitions

RULES = HealthRules()


# ---- windows, baselines and expectations vs an independent computation -------------------
def _random_fleet(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    start = T0 - timedelta(days=9)
    for agent, n in (("alpha", 3000), ("beta", 1200), ("gamma", 40)):
        secs = rng.uniform(0, 10 * 86400, size=n)
        status = rng.choice(["success", "failure", "timeout", "cancelled"], size=n, p=[0.8, 0.1, 0.05, 0.05])
        lat = rng.lognormal(7, 0.6, size=n).round(3)
        cost = rng.uniform(0, 0.02, size=n).round(6)
        etype = rng.choice(["RateLimitError", "ToolExecutionError", "ParserError"], size=n)
        for i in range(n):
            st = str(status[i])
            rows.append(row(agent, start + timedelta(seconds=float(secs[i])), st, float(lat[i]), float(cost[i]),
                            str(etype[i]) if st in ("failure", "timeout") else None))
    # boundary cases: exactly at as_of - 5 min (outside), exactly at as_of (inside)
    rows.append(row("alpha", T0 - timedelta(minutes=5), "failure", 10.0))
    rows.append(row("alpha", T0, "failure", 10.0))
    return rows


def _expected(rows: list[dict], as_of: datetime, rules: HealthRules) -> dict[str, dict]:
    df = pd.DataFrame(rows)
    out = {}
    day = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    anchor = as_of.replace(minute=as_of.minute - as_of.minute % 5, second=0, microsecond=0)
    for agent, g in df.groupby("agent_id"):
        b = g[(g.started_at >= day - timedelta(days=7)) & (g.started_at < day - timedelta(hours=1))
              & (g.status != "cancelled")].sort_values("started_at").tail(rules.baseline_max_samples)
        ok = b[b.status == "success"]
        base = None
        if len(b) >= rules.baseline_min_samples:
            base = {"failure_rate": b.status.isin(["failure", "timeout"]).mean(),
                    "p95": np.percentile(ok.latency_ms, 95) if len(ok) >= rules.baseline_min_samples else None,
                    "p50": np.percentile(ok.latency_ms, 50) if len(ok) >= rules.baseline_min_samples else None,
                    "cost": b.cost_usd.mean(), "errors": set(b.error_type.dropna())}
        wins = {}
        for name, span in (("short", 300), ("long", 3600)):
            w = g[(g.started_at > as_of - timedelta(seconds=span)) & (g.started_at <= as_of)]
            done = w[w.status != "cancelled"]
            succ = w[w.status == "success"]
            slow = int((succ.latency_ms > base["p95"]).sum()) if base and base["p95"] is not None else 0
            wins[name] = {"executions": len(w), "n": len(done),
                          "failures": int(done.status.isin(["failure", "timeout"]).sum()),
                          "successes": len(succ), "slow": slow, "cost_usd": done.cost_usd.sum(),
                          "latency_ms_sum": succ.latency_ms.sum()}
        counts = [int(((g.started_at > anchor - timedelta(days=k, hours=1))
                       & (g.started_at <= anchor - timedelta(days=k))).sum()) for k in range(1, 8)]
        first = g.started_at.min()
        eligible = [c for k, c in zip(range(1, 8), counts, strict=True)
                    if anchor - timedelta(days=k, hours=1) >= first]
        errs = g[(g.started_at > as_of - timedelta(hours=1)) & (g.started_at <= as_of)
                 & g.status.isin(["failure", "timeout"])].error_type.value_counts().to_dict()
        out[agent] = {"base": base, **wins, "expected": (sum(eligible) / len(eligible)) if eligible else None,
                      "errors": errs}
    return out


def test_windows_baselines_and_expected_traffic_match_pandas(migrated_url):
    engine = engine_for(migrated_url)
    rows = _random_fleet(1)
    insert(engine, rows)
    for as_of in (T0, T0 + timedelta(minutes=37, seconds=11), T0 - timedelta(days=2, hours=5)):
        want = _expected(rows, as_of, RULES)
        with engine.connect() as conn:
            got = {i.agent_id: i for i in health.load_inputs(conn, as_of, lambda a: RULES)}
        assert set(got) == set(want)
        for agent, w in want.items():
            i = got[agent]
            for name in ("short", "long"):
                ws = getattr(i, name)
                for k in ("executions", "n", "failures", "successes", "slow"):
                    assert getattr(ws, k) == w[name][k], (as_of, agent, name, k)
                assert ws.cost_usd == pytest.approx(w[name]["cost_usd"], rel=1e-9, abs=1e-12)
                assert ws.latency_ms_sum == pytest.approx(w[name]["latency_ms_sum"], rel=1e-9, abs=1e-9)
            if w["base"] is None:
                assert i.baseline is None, agent
            else:
                assert i.baseline.failure_rate == pytest.approx(w["base"]["failure_rate"])
                assert i.baseline.latency_p95_ms == pytest.approx(w["base"]["p95"])
                assert i.baseline.latency_p50_ms == pytest.approx(w["base"]["p50"])
                assert i.baseline.cost_per_execution == pytest.approx(w["base"]["cost"])
                assert set(i.baseline.error_types) == w["base"]["errors"]
            assert i.expected_per_hour == pytest.approx(w["expected"])
            assert dict(i.errors) == w["errors"]
        if as_of == T0:  # the row at exactly T0 is in both windows, the one at T0 - 5 min only in 1 h
            assert got["alpha"].short.failures >= 1


def test_baseline_takes_the_most_recent_samples_only(migrated_url):
    engine = engine_for(migrated_url)
    day = T0.replace(hour=0)
    old = steady("a", day - timedelta(days=6), day - timedelta(days=5), timedelta(minutes=1), latency_ms=100.0)
    new = steady("a", day - timedelta(days=2), day - timedelta(days=2) + timedelta(minutes=50),
                 timedelta(minutes=1), latency_ms=900.0)
    insert(engine, old + new)
    rules = RULES.model_copy(update={"baseline_max_samples": 50})
    with engine.connect() as conn:
        b = health.baseline_for(conn, "a", T0, rules)
    assert b.samples == 50 and b.latency_p95_ms == 900.0  # only the 50 newest, all at 900 ms


# ---- the pure evaluation ----------------------------------------------------------------
def _w(n=0, failures=0, slow=0, cost=None, executions=None, lat_sum=None, short=False) -> WindowStats:
    span = 300 if short else 3600
    successes = n - failures
    return WindowStats(T0 - timedelta(seconds=span), T0, executions if executions is not None else n, n, failures,
                       successes, slow, cost if cost is not None else 0.01 * n,
                       lat_sum if lat_sum is not None else 1000.0 * successes)


BASE = Baseline(samples=2000, failure_rate=0.04, latency_p50_ms=900.0, latency_p95_ms=2000.0,
                latency_mean_ms=1000.0, cost_per_execution=0.01, start=T0 - timedelta(days=7), end=T0,
                error_types=frozenset({"RateLimitError"}))


def _eval(long=None, short=None, base=BASE, expected=None, previous=None, errors=()):
    return health.evaluate(HealthInputs("a", T0, short or _w(short=True), long or _w(), base, expected, previous,
                                        tuple(errors)), RULES)


def test_quiet_healthy_agent():
    h = _eval(long=_w(30, 1))
    assert h.status == "healthy" and h.findings == [] and "30 executions in the last 1h, 3% failed" in h.reason


def test_outage_is_critical_with_the_binomial_p_value():
    h = _eval(long=_w(17, 17))
    assert h.status == "critical"
    f = h.findings[0]
    assert f.kind == "failure_rate" and f.window == "1h" and f.value == 1.0
    assert f.p_value == pytest.approx(binom.sf(16, 17, 0.04))
    assert "17 of 17 executions failed in the last 1h (100%; baseline 4.0%)" in h.reason


def test_failure_rate_must_be_significant_not_just_high():
    # 3 of 10 is 30 % ≥ 10 %, but P(X ≥ 3 | 10, 4 %) ≈ 0.006 > 1e-4: a quiet agent's bad luck
    assert binom.sf(2, 10, 0.04) > RULES.significance
    assert _eval(long=_w(10, 3)).status == "healthy"
    # 8 of 20 is significant → degraded (not critical: 40 % < 50 %)
    h = _eval(long=_w(20, 8))
    assert h.status == "degraded" and h.findings[0].kind == "failure_rate"


def test_below_min_volume_nothing_is_judged():
    assert _eval(long=_w(4, 4), short=_w(4, 4, short=True)).status == "healthy"


def test_short_window_reacts_first():
    h = _eval(short=_w(8, 8, short=True), long=_w(100, 8))
    assert h.status == "critical" and h.findings[0].window == "5m"


def test_without_baseline_the_default_rate_is_assumed():
    h = _eval(long=_w(20, 10), base=None)
    assert h.status == "critical" and "no baseline yet, assumed 5%" in h.reason


def test_latency_share_over_the_baseline_p95():
    h = _eval(long=_w(20, 0, slow=12, lat_sum=20 * 3000.0))
    assert h.status == "degraded" and h.findings[0].kind == "latency"
    assert "60% of successful executions in the last 1h were slower than its baseline p95 of 2.0 s" in h.reason
    assert "3.0×" in h.reason
    worse = _eval(long=_w(20, 0, slow=20, lat_sum=20 * 6000.0))  # mean 6× the baseline: critical
    assert worse.status == "critical"
    assert _eval(long=_w(20, 0, slow=3)).status == "healthy"  # 15 %: within noise of 5 %


def test_cost_per_execution_against_the_baseline():
    h = _eval(long=_w(10, 0, cost=10 * 0.04))
    assert h.status == "degraded" and h.findings[0].kind == "cost" and "4.0× its baseline" in h.reason
    assert _eval(long=_w(10, 0, cost=10 * 0.029)).status == "healthy"


def test_no_traffic_when_traffic_is_expected():
    h = _eval(long=_w(0), expected=20.0)
    assert h.status == "degraded" and h.findings[0].kind == "no_traffic" and "about 20 are usual" in h.reason
    quiet = _eval(long=_w(0), expected=3.0)
    assert quiet.status == "healthy" and "about 3.0 are usual at this hour" in quiet.reason  # e^-3 = 5 %
    assert "none are usual" in _eval(long=_w(0), expected=0.2).reason
    assert "no history of this hour" in _eval(long=_w(0)).reason
    assert _eval(long=_w(0, executions=2), expected=20.0).status == "healthy"  # cancelled-only is traffic


def test_new_error_type():
    h = _eval(long=_w(40, 3), errors=[("SchemaValidationError", 3)])
    assert h.status == "degraded" and h.findings[0].kind == "new_error"
    assert "SchemaValidationError (3×)" in h.reason
    assert _eval(long=_w(40, 3), errors=[("RateLimitError", 3)]).status == "healthy"  # seen before
    assert _eval(long=_w(40, 2), errors=[("SchemaValidationError", 2)]).status == "healthy"


def test_worst_finding_per_kind_and_all_listed():
    h = _eval(short=_w(10, 10, short=True), long=_w(40, 12, cost=40 * 0.05))
    kinds = {f.kind: f for f in h.findings}
    assert set(kinds) == {"failure_rate", "cost"} and kinds["failure_rate"].severity == "critical"
    assert h.status == "critical" and h.reason.index("failed") < h.reason.index("cost")


def test_hysteresis_holds_a_bad_status_until_there_is_evidence():
    held = _eval(long=_w(3, 0), previous="critical")
    assert held.status == "critical" and held.details["held"] and "not enough evidence" in held.reason
    still = _eval(long=_w(20, 3), previous="degraded")  # 15 %: not significant, not clearly fine
    assert still.status == "degraded"
    assert _eval(long=_w(20, 1), previous="degraded").status == "healthy"
    assert _eval(long=_w(3, 0), previous="healthy").status == "healthy"


# ---- recording --------------------------------------------------------------------------
def _h(agent: str, status: str, at: datetime) -> health.AgentHealth:
    return health.AgentHealth(agent, at, status, f"{status} for the test", [], {"k": 1})


def test_record_keeps_state_and_transitions(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        first = health.record(conn, [_h("a", "healthy", T0)])
        same = health.record(conn, [_h("a", "healthy", T0 + timedelta(minutes=1))])
        worse = health.record(conn, [_h("a", "critical", T0 + timedelta(minutes=2))])
        stale = health.record(conn, [_h("a", "healthy", T0 + timedelta(minutes=1, seconds=30))])
    assert [(t.from_status, t.to_status) for t in first] == [(None, "healthy")]
    assert same == [] and stale == []
    assert [(t.from_status, t.to_status, t.at) for t in worse] == [("healthy", "critical", T0 + timedelta(minutes=2))]
    with engine.connect() as conn:
        cur = health.current(conn, "a")[0]
        hist = health.transitions(conn, "a")
    assert cur["status"] == "critical" and cur["since"] == T0 + timedelta(minutes=2) and cur["version"] == 2
    assert [r["to_status"] for r in hist] == ["critical", "healthy"]


def test_racing_recorders_record_one_transition(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        health.record(conn, [_h("a", "healthy", T0)])
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            with engine.begin() as conn:
                health.record(conn, [_h("a", "critical", T0 + timedelta(minutes=1))])
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(health_transitions)
                         .where(health_transitions.c.to_status == "critical")).scalar()
        version = conn.execute(sa.select(agent_health.c.version)).scalar()
    assert n == 1 and version == 1


def test_assess_reads_only_and_skips_agents_not_yet_seen(migrated_url):
    engine = engine_for(migrated_url)
    insert(engine, steady("early", T0 - timedelta(days=8), T0, timedelta(minutes=10)))
    insert(engine, steady("late", T0 + timedelta(days=1), T0 + timedelta(days=2), timedelta(minutes=10)))
    with engine.connect() as conn:
        res = health.assess(conn, T0, lambda a: RULES)
        stored = conn.execute(sa.select(sa.func.count()).select_from(agent_health)).scalar()
    assert [h.agent_id for h in res] == ["early"] and res[0].status == "healthy" and stored == 0


def test_no_agents_no_results(migrated_url):
    with engine_for(migrated_url).connect() as conn:
        assert health.assess(conn, T0, lambda a: RULES) == []
        assert health.expected_per_hour(conn, T0, {}, RULES) == {}


def test_window_stats_on_an_empty_window(migrated_url):
    engine = engine_for(migrated_url)
    insert(engine, [row("a", T0 - timedelta(hours=3))])
    with engine.connect() as conn:
        ws = health.window_stats(conn, T0 - timedelta(hours=1), T0, ["a"], {})
    assert ws["a"] == WindowStats(T0 - timedelta(hours=1), T0) and ws["a"].failure_rate is None


def test_floor_to_is_utc():
    assert health.floor_to(datetime(2026, 3, 10, 12, 34, 56, 789, tzinfo=UTC), 300) == datetime(
        2026, 3, 10, 12, 30, tzinfo=UTC)
