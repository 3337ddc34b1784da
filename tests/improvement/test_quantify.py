"""meta_agent.improvement.quantify pinned against statsmodels, scipy and numpy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.proportion import confint_proportions_2indep

from meta_agent.improvement import quantify

# (current ok, current n, reference ok, reference n): a regression to undo, a small one, an
# eventless reference, a current that is all failures
RATES = [(730, 1000, 970, 1000), (45, 60, 57, 60), (380, 420, 400, 400), (0, 50, 48, 50)]


@pytest.mark.parametrize(("x_cur", "n_cur", "x_ref", "n_ref"), RATES)
def test_success_rate_effect_is_the_newcombe_interval_of_reference_minus_current(x_cur, n_cur, x_ref, n_ref):
    e = quantify.success_rate_effect(x_cur, n_cur, x_ref, n_ref, populations="v4 vs v3")
    lo, hi = confint_proportions_2indep(x_ref, n_ref, x_cur, n_cur, method="newcomb", compare="diff")
    assert (e["ci_low"], e["ci_high"]) == pytest.approx((lo, hi), rel=1e-9, abs=1e-12)
    assert e["current"] == pytest.approx(x_cur / n_cur) and e["expected"] == pytest.approx(x_ref / n_ref)
    assert e["effect"] == pytest.approx(x_ref / n_ref - x_cur / n_cur)
    assert (e["metric"], e["unit"], e["confidence_level"]) == ("success_rate", "ratio", 0.95)
    assert (e["n_current"], e["n_reference"]) == (n_cur, n_ref)
    assert "Newcombe" in e["method"] and "v4 vs v3" in e["method"]


def test_too_few_executions_say_so_instead_of_guessing():
    e = quantify.success_rate_effect(10, 12, 950, 1000)
    assert e["effect"] is None and e["ci_low"] is None and e["ci_high"] is None
    assert e["method"].startswith("not computed: 12 current and 1000 reference executions")
    assert e["current"] == pytest.approx(10 / 12) and e["expected"] == pytest.approx(0.95)
    assert quantify.quantile_effect(np.ones(5), np.ones(100))["effect"] is None
    assert quantify.mean_effect(np.arange(30.0), np.arange(3.0))["effect"] is None


@pytest.fixture
def latencies():
    rng = np.random.default_rng(3)
    return rng.lognormal(np.log(2600), 0.45, 500), rng.lognormal(np.log(2000), 0.45, 700)


@pytest.mark.parametrize("q", [0.95, 0.5])
def test_quantile_effect_matches_an_independent_bootstrap(latencies, q):
    cur, ref = latencies
    e = quantify.quantile_effect(cur, ref, q, n_boot=4000, seed=1)
    assert e["metric"] == f"latency_p{q * 100:g}_ms" and e["unit"] == "ms"
    assert e["current"] == pytest.approx(np.quantile(cur, q)) and e["expected"] == pytest.approx(np.quantile(ref, q))
    assert e["effect"] == pytest.approx(np.quantile(ref, q) - np.quantile(cur, q))
    # scipy resamples each sample on its own too; another random stream, so within Monte Carlo error
    res = st.bootstrap((cur, ref), lambda a, b, axis=-1: np.quantile(b, q, axis=axis) - np.quantile(a, q, axis=axis),
                       paired=False, vectorized=True, n_resamples=4000, method="percentile", random_state=7)
    width = res.confidence_interval.high - res.confidence_interval.low
    assert e["ci_low"] == pytest.approx(res.confidence_interval.low, abs=0.15 * width)
    assert e["ci_high"] == pytest.approx(res.confidence_interval.high, abs=0.15 * width)
    assert e["ci_low"] < e["effect"] < e["ci_high"] < 0  # reverting lowers latency
    assert quantify.quantile_effect(cur, ref, q, n_boot=4000, seed=1) == e  # same seed, same interval


def test_mean_effect_is_welchs_interval_of_reference_minus_current():
    rng = np.random.default_rng(11)
    cur, ref = rng.lognormal(-3.2, 0.6, 300), rng.lognormal(-3.9, 0.5, 450)
    e = quantify.mean_effect(cur, ref)
    ci = st.ttest_ind(ref, cur, equal_var=False).confidence_interval(0.95)
    assert (e["ci_low"], e["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert e["effect"] == pytest.approx(ref.mean() - cur.mean())
    assert (e["current"], e["expected"]) == pytest.approx((cur.mean(), ref.mean()))
    assert (e["metric"], e["unit"], e["n_current"], e["n_reference"]) == ("cost_per_execution_usd", "usd", 300, 450)


def test_benefit_is_points_for_rates_and_relative_reductions_for_levels():
    assert quantify.benefit({"metric": "success_rate", "effect": 0.24, "current": 0.73}) == pytest.approx(0.24)
    assert quantify.benefit({"metric": "latency_p95_ms", "effect": -1500.0, "current": 6000.0}) == pytest.approx(0.25)
    assert quantify.benefit({"metric": "cost_per_execution_usd", "effect": 0.001, "current": 0.01}) == 0.0
    assert quantify.benefit({"metric": "success_rate", "effect": None}) == 0.0


@pytest.mark.parametrize(("expected", "strength"), [
    ({"metric": "success_rate", "effect": 0.2, "ci_low": 0.15, "ci_high": 0.25}, 1.0),
    ({"metric": "success_rate", "effect": 0.01, "ci_low": -0.02, "ci_high": 0.04}, 0.5),
    ({"metric": "success_rate", "effect": -0.1, "ci_low": -0.15, "ci_high": -0.05}, 0.0),
    ({"metric": "latency_p95_ms", "effect": -900.0, "ci_low": -1200.0, "ci_high": -500.0}, 1.0),
    ({"metric": "latency_p95_ms", "effect": 300.0, "ci_low": 100.0, "ci_high": 500.0}, 0.0),
    ({"metric": "success_rate", "effect": None, "ci_low": None, "ci_high": None}, 0.25),
])
def test_strength_reads_the_interval_on_the_side_of_an_improvement(expected, strength):
    assert quantify.strength(expected) == strength


def test_typical_days_leave_out_a_storm_day_and_keep_ordinary_noise():
    days = np.repeat(np.arange(10), 200)
    bad = np.zeros(len(days), dtype=bool)
    for d, k in enumerate([6, 4, 5, 7, 5, 40, 6, 3, 5, 6]):  # day 5: a rate-limit storm
        bad[d * 200:d * 200 + k] = True
    keep = quantify.typical_days(days, bad)
    assert sorted(set(days[~keep])) == [5]
    # the rule by hand: median daily share 0.025, limit max(2 × 0.025, 0.025 + 3 × sqrt(0.025 × 0.975 / 200))
    limit = max(0.05, 0.025 + 3 * np.sqrt(0.025 * 0.975 / 200))
    assert 7 / 200 <= limit < 40 / 200


def test_typical_days_keep_days_too_small_to_judge():
    days = np.array([0] * 100 + [1] * 3)
    bad = np.array([False] * 98 + [True] * 2 + [True] * 3)
    assert quantify.typical_days(days, bad).all()
    assert quantify.typical_days(np.array([]), np.array([])).shape == (0,)


def test_typical_level_days_leave_out_a_slow_day():
    rng = np.random.default_rng(2)
    days = np.repeat(np.arange(8), 100)
    lat = rng.lognormal(np.log(2000), 0.3, len(days))
    lat[days == 3] *= 3.0
    keep = quantify.typical_level_days(days, lat, q=0.95)
    assert sorted(set(days[~keep])) == [3]
    cost = np.where(days == 6, 0.05, 0.01) + rng.normal(0, 0.0005, len(days))
    assert sorted(set(days[~quantify.typical_level_days(days, cost, q=None)])) == [6]
