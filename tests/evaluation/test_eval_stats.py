"""meta_agent.evaluation.stats pinned against scipy and statsmodels on fixed fixtures.

(Named test_eval_stats.py: tests/simulation/test_stats.py already owns the module name
``test_stats`` and the test directories are not packages.)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from meta_agent.evaluation import stats

RATE_CASES = [(930, 1000, 870, 1000), (45, 60, 30, 55), (3, 400, 19, 420), (0, 200, 6, 210), (199, 200, 180, 200)]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), RATE_CASES)
def test_two_proportion_matches_statsmodels(x1, n1, x2, n2):
    c = stats.two_proportion(x1, n1, x2, n2, metric="success_rate")
    z, p = proportions_ztest([x2, x1], [n2, n1])  # after − before, pooled variance (statsmodels' default)
    assert c.statistic == pytest.approx(z, rel=1e-9) and c.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
    lo, hi = confint_proportions_2indep(x2, n2, x1, n1, method="newcomb", compare="diff")
    assert (c.ci_low, c.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    assert c.delta == pytest.approx(x2 / n2 - x1 / n1) and c.interval == "Newcombe hybrid score"


@pytest.mark.parametrize(("x", "n"), [(0, 30), (7, 30), (30, 30), (512, 1000)])
def test_wilson_matches_statsmodels(x, n):
    assert stats.wilson(x, n) == pytest.approx(proportion_confint(x, n, method="wilson"), rel=1e-12, abs=1e-15)


def test_two_proportion_verdicts_follow_the_direction():
    worse = stats.two_proportion(950, 1000, 880, 1000, metric="success_rate", higher_is_better=True)
    assert worse.significant and worse.verdict == "regression" and worse.ci_high < 0
    better = stats.two_proportion(50, 1000, 20, 1000, metric="timeout_rate", higher_is_better=False)
    assert better.verdict == "improvement"
    same = stats.two_proportion(950, 1000, 948, 1000, metric="success_rate")
    assert not same.significant and same.verdict == "no significant change" and same.ci_low < 0 < same.ci_high


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(0, 500, 0, 500), (19, 19, 400, 500), (3, 300, 1, 12),
                                                    (500, 500, 400, 400)])
def test_two_proportion_small_or_eventless_is_insufficient(x1, n1, x2, n2):
    c = stats.two_proportion(x1, n1, x2, n2)
    assert c.verdict == "insufficient data" and not c.significant and c.p_value is None and c.ci_low is None


@pytest.fixture
def costs():
    rng = np.random.default_rng(11)
    return rng.lognormal(-4.0, 0.5, 300), rng.lognormal(-3.85, 0.6, 260)


def test_welch_matches_scipy(costs):
    a, b = costs
    c = stats.welch(a, b, metric="cost_per_execution", unit="usd", higher_is_better=False)
    ref = st.ttest_ind(b, a, equal_var=False)
    assert c.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert c.delta == pytest.approx(b.mean() - a.mean()) and c.verdict == "regression"


def test_welch_small_sample_and_constants_are_insufficient():
    assert stats.welch(np.ones(19), np.ones(50) * 2).verdict == "insufficient data"
    assert stats.welch(np.ones(40), np.ones(50)).verdict == "insufficient data"


@pytest.fixture
def latencies():
    rng = np.random.default_rng(5)
    return rng.lognormal(np.log(2100), 0.45, 400), rng.lognormal(np.log(2100), 0.45, 380) * 1.6


def test_mann_whitney_matches_scipy(latencies):
    a, b = latencies
    c = stats.mann_whitney(a, b, metric="latency_p50_ms", unit="ms", higher_is_better=False)
    ref = st.mannwhitneyu(b, a, alternative="two-sided")
    assert c.statistic == pytest.approx(ref.statistic) and c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert c.before == pytest.approx(np.median(a)) and c.verdict == "regression"


def test_hodges_lehmann_is_the_median_pairwise_difference_with_an_order_statistic_interval():
    rng = np.random.default_rng(3)
    a = rng.normal(10, 2, 60)
    b = rng.normal(13, 2, 70)
    hl = stats.hodges_lehmann(a, b)
    diffs = np.sort(np.subtract.outer(b, a).ravel())
    assert hl.estimate == pytest.approx(np.median(diffs))
    assert hl.low < hl.estimate < hl.high and hl.low < 3 < hl.high
    # the interval's ranks: n1·n2/2 ∓ z·sqrt(n1·n2·(n1+n2+1)/12), as in Hollander & Wolfe
    k = int(np.floor(60 * 70 / 2 - 1.959963984540054 * np.sqrt(60 * 70 * 131 / 12)))
    assert (hl.low, hl.high) == (diffs[k], diffs[len(diffs) - 1 - k])


def test_bootstrap_quantile_diff_agrees_with_scipy_bootstrap(latencies):
    a, b = latencies
    mine = stats.bootstrap_quantile_diff(a, b, 0.95, n_boot=4000, seed=1)

    def p95_diff(x, y, axis):
        return np.quantile(y, 0.95, axis=axis) - np.quantile(x, 0.95, axis=axis)

    ref = st.bootstrap((a, b), p95_diff, n_resamples=4000, method="percentile", random_state=1, vectorized=True)
    assert mine.estimate == pytest.approx(np.quantile(b, 0.95) - np.quantile(a, 0.95))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert mine.low == pytest.approx(ref.confidence_interval.low, abs=0.08 * width)
    assert mine.high == pytest.approx(ref.confidence_interval.high, abs=0.08 * width)


def test_bootstrap_is_deterministic_by_seed_and_independent_of_chunking(latencies, monkeypatch):
    a, b = latencies
    one = stats.bootstrap_quantile_diff(a, b, 0.95, n_boot=500, seed=9)
    assert stats.bootstrap_quantile_diff(a, b, 0.95, n_boot=500, seed=9) == one
    assert stats.bootstrap_quantile_diff(a, b, 0.95, n_boot=500, seed=10) != one
    monkeypatch.setattr(stats, "_BOOT_CHUNK_CELLS", 1000)  # two resamples per block
    assert stats.bootstrap_quantile_diff(a, b, 0.95, n_boot=500, seed=9) == one
    # and the same as resampling one at a time in a plain loop with the same generator
    rng = np.random.default_rng(9)
    boot_b = [np.quantile(b[rng.integers(0, len(b), len(b))], 0.95) for _ in range(500)]
    boot_a = [np.quantile(a[rng.integers(0, len(a), len(a))], 0.95) for _ in range(500)]
    lo, hi = np.quantile(np.subtract(boot_b, boot_a), [0.025, 0.975])
    assert (one.low, one.high) == pytest.approx((lo, hi))


def test_quantile_change_uses_mann_whitney_and_the_bootstrap_interval(latencies):
    a, b = latencies
    c = stats.quantile_change(a, b, 0.95, metric="latency_p95_ms", n_boot=1000, seed=2)
    assert c.p_value == pytest.approx(st.mannwhitneyu(b, a).pvalue)
    assert c.before == pytest.approx(np.quantile(a, 0.95)) and c.ci_low > 0 and c.verdict == "regression"
    assert "bootstrap" in c.interval and c.test.startswith("Mann–Whitney")
    assert stats.quantile_change(a[:10], b, 0.95, metric="latency_p95_ms").verdict == "insufficient data"


def test_ratio_change_cost_per_success(costs):
    a, b = costs
    ok_a = (np.arange(len(a)) % 10 != 0).astype(float)
    ok_b = (np.arange(len(b)) % 4 != 0).astype(float)
    c = stats.ratio_change(a, ok_a, b, ok_b, metric="cost_per_success", n_boot=800, seed=4)
    assert c.before == pytest.approx(a.sum() / ok_a.sum()) and c.after == pytest.approx(b.sum() / ok_b.sum())
    assert c.ci_low <= c.delta <= c.ci_high and c.verdict == "regression"
    assert stats.ratio_change(a[:15], ok_a[:15], b, ok_b, metric="x").verdict == "insufficient data"


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04]
    assert stats.holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist())
    assert stats.holm([]) == []


def test_with_holm_turns_a_marginal_result_non_significant():
    marginal = stats.two_proportion(900, 1000, 875, 1000, metric="success_rate")  # p ≈ 0.075 → not sig anyway
    strong = stats.two_proportion(950, 1000, 850, 1000, metric="success_rate")
    borderline = stats.two_proportion(100, 1000, 130, 1000, metric="timeout_rate", higher_is_better=False)
    assert borderline.significant and 0.01 < borderline.p_value < 0.05
    out = stats.with_holm([marginal, strong, borderline, stats.two_proportion(0, 50, 0, 50)])
    assert out[1].significant and out[1].p_adjusted == pytest.approx(strong.p_value * 3)
    assert not out[2].significant and out[2].verdict == "no significant change"
    assert out[3].p_adjusted is None and out[3].verdict == "insufficient data"


def test_change_to_dict_is_plain_json():
    import json

    c = stats.two_proportion(930, 1000, 870, 1000, metric="success_rate")
    d = c.to_dict()
    json.dumps(d)
    assert d["relative_ci_low"] == pytest.approx(c.ci_low / c.before) and d["verdict"] == "regression"
