"""Monte Carlo building blocks against independent references: scipy's distributions, numpy on
the whole sample, statsmodels' Wilson interval, closed forms of the Gaussian copula."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.proportion import proportion_confint

from meta_agent.errors import InputError
from meta_agent.simulation import stats

PI = math.pi

# spec -> the same distribution as a frozen scipy object
CONTINUOUS = [
    ({"dist": "normal", "mean": 1.2, "sd": 0.3}, scipy.stats.norm(1.2, 0.3)),
    ({"dist": "lognormal", "mu": -0.1, "sigma": 0.25}, scipy.stats.lognorm(s=0.25, scale=math.exp(-0.1))),
    ({"dist": "uniform", "low": -2.0, "high": 5.0}, scipy.stats.uniform(loc=-2.0, scale=7.0)),
    ({"dist": "triangular", "low": -50.0, "mode": 25.0, "high": 300.0},
     scipy.stats.triang(c=75 / 350, loc=-50.0, scale=350.0)),
    ({"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 1.0}, scipy.stats.triang(c=0.0, loc=0.0, scale=1.0)),
    ({"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 1.0}, scipy.stats.triang(c=1.0, loc=0.0, scale=1.0)),
    ({"dist": "beta", "a": 2.0, "b": 5.0, "low": 0.8, "high": 1.1}, scipy.stats.beta(2.0, 5.0, loc=0.8, scale=0.3)),
    ({"dist": "beta", "a": 0.5, "b": 0.5}, scipy.stats.beta(0.5, 0.5)),
]
IDS = ["normal", "lognormal", "uniform", "triangular", "triangular-left", "triangular-right", "beta-scaled",
       "beta-unit"]
U = np.array([1e-9, 0.001, 0.025, 0.05, 0.2, 0.5, 0.77, 0.95, 0.999, 1 - 1e-9])


# ---------------------------------------------------------------------------- distributions


@pytest.mark.parametrize(("spec", "reference"), CONTINUOUS, ids=IDS)
def test_ppf_mean_and_quantile_match_scipy(spec, reference):
    np.testing.assert_allclose(stats.ppf(spec, U), reference.ppf(U), rtol=1e-9, atol=1e-12)
    assert stats.mean_of(spec) == pytest.approx(reference.mean(), rel=1e-12)
    q = stats.quantile(spec, 0.05)
    assert isinstance(q, float) and q == pytest.approx(reference.ppf(0.05), rel=1e-9)


def test_bounded_ppf_reaches_its_bounds():
    for spec, reference in CONTINUOUS[2:]:
        np.testing.assert_allclose(stats.ppf(spec, np.array([0.0, 1.0])), reference.support(), atol=1e-12)


def test_normal_with_zero_sd_is_a_constant():
    spec = {"dist": "normal", "mean": 0.9, "sd": 0.0}
    assert stats.ppf(spec, U).tolist() == [0.9] * len(U)
    assert stats.mean_of(spec) == 0.9
    samples = next(stats.sample_chunks({"x": spec}, [], 1000, seed=3))["x"]
    assert samples.tolist() == [0.9] * 1000


def test_discrete_ppf_matches_scipy_rv_discrete():
    values, probabilities = [30, 10, 20, 40], [0.2, 0.3, 0.5, 0.0]  # unsorted, one impossible value
    spec = {"dist": "discrete", "values": values, "probabilities": probabilities}
    reference = scipy.stats.rv_discrete(values=(values, probabilities))
    u = np.linspace(0.0005, 0.9995, 1000)
    np.testing.assert_array_equal(stats.ppf(spec, u), reference.ppf(u))
    assert stats.mean_of(spec) == pytest.approx(reference.mean())
    assert stats.quantile(spec, 0.5) == reference.ppf(0.5)


def test_discrete_ppf_at_the_steps_is_the_smallest_value_reaching_u():
    # dyadic probabilities: the cumulative sums 0.25, 0.75, 1 are exact in binary
    spec = {"dist": "discrete", "values": [1.5, -1.0, 4.0, 9.0], "probabilities": [0.5, 0.25, 0.25, 0.0]}
    u = np.array([0.0, 0.1, 0.25, 0.2500001, 0.75, 0.76, 1.0])
    # F(-1) = 0.25, F(1.5) = 0.75, F(4) = 1; F^-1(u) = min{x : F(x) >= u}; 9 never occurs
    assert stats.ppf(spec, u).tolist() == [-1.0, -1.0, -1.0, 1.5, 1.5, 4.0, 4.0]


@pytest.mark.parametrize(("spec", "phrase"), [
    ({"dist": "normal", "mean": 1.0, "sd": -0.1}, "sd must be >= 0, got -0.1"),
    ({"dist": "normal", "mean": 1.0}, "sd is missing"),
    ({"dist": "normal", "mean": "high", "sd": 1.0}, "mean must be a finite number, got 'high'"),
    ({"dist": "normal", "mean": float("nan"), "sd": 1.0}, "mean must be a finite number"),
    ({"dist": "normal", "mean": True, "sd": 1.0}, "mean must be a finite number"),
    ({"dist": "lognormal", "mu": 0.0, "sigma": 0.0}, "sigma must be > 0, got 0.0"),
    ({"dist": "uniform", "low": 2.0, "high": 2.0}, "low must be < high"),
    ({"dist": "triangular", "low": 0.0, "mode": 2.0, "high": 1.0}, "mode must lie in [low, high]"),
    ({"dist": "beta", "a": 0.0, "b": 1.0}, "a must be > 0, got 0.0"),
    ({"dist": "beta", "a": 1.0, "b": 1.0, "low": 1.0, "high": 0.5}, "low must be < high"),
    ({"dist": "discrete", "values": [1, 2], "probabilities": [0.5]}, "same length, got 2 and 1"),
    ({"dist": "discrete", "values": [1, 2], "probabilities": [0.5, 0.6]}, "probabilities must sum to 1"),
    ({"dist": "discrete", "values": [1, 2], "probabilities": [1.5, -0.5]}, "probabilities[1] must be"),
    ({"dist": "discrete", "values": [], "probabilities": []}, "values must be a non-empty list"),
    ({"dist": "gamma", "k": 2}, "dist must be one of normal"),
    (3.0, "a distribution must be a mapping"),
])
def test_check_distribution_names_the_field(spec, phrase):
    problems = stats.check_distribution(spec)
    assert any(phrase in p for p in problems), problems
    with pytest.raises(InputError, match="invalid distribution"):
        stats.ppf(spec, U)


def test_valid_specs_have_no_problems():
    for spec, _ in CONTINUOUS:
        assert stats.check_distribution(spec) == []
    assert stats.check_distribution({"dist": "discrete", "values": [1.0, 2.0],
                                     "probabilities": [0.1 + 0.2, 0.7 - 1e-12]}) == []
    # a pydantic dump may carry the beta's default bounds as None
    assert stats.check_distribution({"dist": "beta", "a": 2, "b": 3, "low": None, "high": None}) == []


# ------------------------------------------------------------------------------ correlation


def test_correlation_matrix_is_symmetric_identity_plus_pairs():
    matrix = stats.correlation_matrix(["a", "b", "c"], [{"between": ["c", "a"], "rho": -0.4},
                                                        {"between": ["a", "b"], "rho": 0.25}])
    expected = np.array([[1.0, 0.25, -0.4], [0.25, 1.0, 0.0], [-0.4, 0.0, 1.0]])
    np.testing.assert_array_equal(matrix, expected)
    assert stats.check_correlation(matrix, ["a", "b", "c"]) is None


@pytest.mark.parametrize(("correlations", "phrase"), [
    ([{"between": ["a", "z"], "rho": 0.1}], "z is not a driver"),
    ([{"between": ["a", "a"], "rho": 0.1}], "two different drivers"),
    ([{"between": ["a", "b"], "rho": 1.2}], "rho must be a number in \\[-1, 1\\]"),
    ([{"between": ["a", "b"], "rho": 0.2}, {"between": ["b", "a"], "rho": 0.3}], "given twice"),
    ([{"between": "ab", "rho": 0.2}], "must name two drivers"),
])
def test_correlation_matrix_rejects_bad_pairs(correlations, phrase):
    with pytest.raises(InputError, match=phrase):
        stats.correlation_matrix(["a", "b"], correlations)


def test_check_correlation_names_the_smallest_eigenvalue_and_the_drivers():
    names = ["noi", "rates", "values", "growth"]
    # noi~rates and rates~values strongly positive but noi~values strongly negative: impossible
    matrix = stats.correlation_matrix(names, [{"between": ["noi", "rates"], "rho": 0.9},
                                              {"between": ["rates", "values"], "rho": 0.9},
                                              {"between": ["noi", "values"], "rho": -0.9}])
    smallest = np.linalg.eigvalsh(matrix)[0]
    assert smallest < 0
    message = stats.check_correlation(matrix, names)
    assert f"{smallest:.4g}" in message
    assert "noi" in message and "rates" in message and "values" in message and "growth" not in message
    assert "weaken" in message


def test_a_correlation_of_one_is_valid_and_gives_identical_normal_scores():
    matrix = stats.correlation_matrix(["a", "b"], [{"between": ["a", "b"], "rho": 1.0}])
    assert stats.check_correlation(matrix, ["a", "b"]) is None
    factor = stats.correlation_factor(matrix)
    np.testing.assert_allclose(factor @ factor.T, matrix, atol=1e-12)
    chunk = next(stats.sample_chunks({"a": {"dist": "normal", "mean": 0, "sd": 1},
                                      "b": {"dist": "normal", "mean": 10, "sd": 2}},
                                     [{"between": ["a", "b"], "rho": 1.0}], 10_000, seed=1))
    np.testing.assert_allclose(chunk["b"], 10 + 2 * chunk["a"], atol=1e-9)


def test_correlation_factor_reproduces_a_positive_definite_matrix():
    matrix = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.5], [-0.2, 0.5, 1.0]])
    factor = stats.correlation_factor(matrix)
    np.testing.assert_allclose(factor @ factor.T, matrix, atol=1e-12)


def test_gaussian_copula_gives_uniform_margins_with_the_normal_score_correlation():
    matrix = np.array([[1.0, 0.7], [0.7, 1.0]])
    u = stats.gaussian_copula(matrix, 200_000, np.random.default_rng(5))
    assert u.shape == (200_000, 2) and u.min() >= 0 and u.max() <= 1
    for j in range(2):
        assert scipy.stats.kstest(u[:, j], "uniform").statistic < 1.63 / math.sqrt(len(u))
    scores = scipy.stats.norm.ppf(u)
    assert np.corrcoef(scores.T)[0, 1] == pytest.approx(0.7, abs=0.005)


# -------------------------------------------------------------------------------- sampling

DRIVERS = {
    "noi_multiplier": {"dist": "normal", "mean": 1.0, "sd": 0.08},
    "interest_rate_shift_bps": {"dist": "triangular", "low": -50, "mode": 0, "high": 300},
    "value_multiplier": {"dist": "lognormal", "mu": 0.0, "sigma": 0.1},
    "exit_value_multiplier": {"dist": "uniform", "low": 0.85, "high": 1.05},
    "market_growth": {"dist": "beta", "a": 2, "b": 5, "low": -0.02, "high": 0.05},
    "expense_multiplier": {"dist": "discrete", "values": [1.0, 1.1, 1.25], "probabilities": [0.6, 0.3, 0.1]},
}
CORRELATIONS = [{"between": ["noi_multiplier", "value_multiplier"], "rho": 0.6},
                {"between": ["interest_rate_shift_bps", "value_multiplier"], "rho": -0.4}]


def _all(distributions, correlations, iterations, seed, **kw):
    chunks = list(stats.sample_chunks(distributions, correlations, iterations, seed, **kw))
    return {name: np.concatenate([c[name] for c in chunks]) for name in distributions}, chunks


def test_chunks_are_bounded_one_dimensional_float64_in_the_callers_key_order():
    _, chunks = _all(DRIVERS, CORRELATIONS, 150_001, seed=7, chunk_size=65_536)
    assert [len(c["noi_multiplier"]) for c in chunks] == [65_536, 65_536, 18_929]
    for chunk in chunks:
        assert list(chunk) == list(DRIVERS)
        for array in chunk.values():
            assert array.dtype == np.float64 and array.ndim == 1 and array.flags.c_contiguous


def test_same_seed_is_bit_identical_whatever_the_chunk_size_and_key_order():
    first, _ = _all(DRIVERS, CORRELATIONS, 20_000, seed=42)
    again, _ = _all(DRIVERS, CORRELATIONS, 20_000, seed=42)
    small_chunks, _ = _all(DRIVERS, CORRELATIONS, 20_000, seed=42, chunk_size=777)
    reordered, _ = _all(dict(reversed(list(DRIVERS.items()))), CORRELATIONS[::-1], 20_000, seed=42)
    other_seed, _ = _all(DRIVERS, CORRELATIONS, 20_000, seed=43)
    for name in DRIVERS:
        assert first[name].tobytes() == again[name].tobytes()
        assert first[name].tobytes() == small_chunks[name].tobytes()
        assert first[name].tobytes() == reordered[name].tobytes()
        if DRIVERS[name]["dist"] != "discrete":
            assert not np.array_equal(first[name], other_seed[name])


def test_each_driver_keeps_its_distribution_under_correlation():
    samples, _ = _all(DRIVERS, CORRELATIONS, 200_000, seed=11)
    critical = 1.63 / math.sqrt(200_000)  # the Kolmogorov–Smirnov 1 % critical value
    for name, reference in {
        "noi_multiplier": scipy.stats.norm(1.0, 0.08),
        "interest_rate_shift_bps": scipy.stats.triang(c=50 / 350, loc=-50, scale=350),
        "value_multiplier": scipy.stats.lognorm(s=0.1, scale=1.0),
        "exit_value_multiplier": scipy.stats.uniform(loc=0.85, scale=0.2),
        "market_growth": scipy.stats.beta(2, 5, loc=-0.02, scale=0.07),
    }.items():
        assert scipy.stats.kstest(samples[name], reference.cdf).statistic < critical, name
    shares = [np.mean(samples["expense_multiplier"] == v) for v in (1.0, 1.1, 1.25)]
    np.testing.assert_allclose(shares, [0.6, 0.3, 0.1], atol=4 * math.sqrt(0.25 / 200_000))


def test_correlations_follow_the_gaussian_copula_closed_forms():
    continuous = {k: v for k, v in DRIVERS.items() if v["dist"] not in ("beta", "discrete")}  # fast ppfs
    samples, _ = _all(continuous, CORRELATIONS, 400_000, seed=3)
    # normal scores have exactly the correlation rho
    score = scipy.stats.norm.ppf(scipy.stats.lognorm(s=0.1).cdf(samples["value_multiplier"]))
    assert np.corrcoef(samples["noi_multiplier"], score)[0, 1] == pytest.approx(0.6, abs=0.005)
    # for any continuous margins, Spearman's rank correlation is (6/π) asin(rho/2)
    spearman = scipy.stats.spearmanr(samples["interest_rate_shift_bps"], samples["value_multiplier"]).statistic
    assert spearman == pytest.approx(6 / PI * math.asin(-0.4 / 2), abs=0.005)
    # drivers without a correlation are independent
    assert abs(np.corrcoef(samples["noi_multiplier"], samples["exit_value_multiplier"])[0, 1]) < 0.005


def test_sampling_rejects_bad_inputs():
    with pytest.raises(InputError, match="driver noi: sd must be >= 0"):
        next(stats.sample_chunks({"noi": {"dist": "normal", "mean": 1, "sd": -1}}, [], 10, seed=0))
    bad = [{"between": ["a", "b"], "rho": 0.9}, {"between": ["b", "c"], "rho": 0.9},
           {"between": ["a", "c"], "rho": -0.9}]
    three = {k: {"dist": "normal", "mean": 0, "sd": 1} for k in "abc"}
    with pytest.raises(InputError, match="not positive semi-definite"):
        next(stats.sample_chunks(three, bad, 10, seed=0))
    with pytest.raises(InputError, match="iterations"):
        next(stats.sample_chunks(three, [], 0, seed=0))


def test_a_million_correlated_samples_keep_the_copula_rank_correlation():
    """Speed is bench_montecarlo's; here the million samples arrive in full, and their Spearman
    rank correlation is the Gaussian copula's: (6/π) asin(ρ/2)."""
    drivers = {"noi": {"dist": "normal", "mean": 1.0, "sd": 0.1},
               "rates": {"dist": "triangular", "low": -50, "mode": 0, "high": 300}}
    correlation = [{"between": ["noi", "rates"], "rho": -0.5}]
    chunks = list(stats.sample_chunks(drivers, correlation, 1_000_000, seed=1))
    noi = np.concatenate([c["noi"] for c in chunks])
    rates = np.concatenate([c["rates"] for c in chunks])
    assert len(noi) == len(rates) == 1_000_000
    rho_s = scipy.stats.spearmanr(noi[:200_000], rates[:200_000]).statistic
    assert rho_s == pytest.approx(6 / math.pi * math.asin(-0.25), abs=0.005)


# ------------------------------------------------------------------------ running summary


def _data(n=120_001, seed=0):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(1.3, 0.4, n), rng.lognormal(0.0, 0.8, n), rng.uniform(-1, 1, n)])
    x[rng.random(n) < 0.01, 0] = np.nan  # undefined DSCRs
    x[rng.random(n) < 0.001, 1] = np.inf
    return x


def _feed(summary, x, sizes=(1, 999, 30_000, 7, 65_536)):
    start, sizes = 0, itertools.cycle(sizes)
    while start < len(x):
        step = next(sizes)
        summary.update(x[start:start + step])
        start += step


def test_running_summary_matches_numpy_on_the_whole_sample():
    x = _data()
    summary = stats.RunningSummary(thresholds=[1.0, 1.25], reservoir=10_000)
    _feed(summary, x)
    for j, column in enumerate(summary.result()):
        values = x[:, j][np.isfinite(x[:, j])]
        n = len(values)
        assert column["count"] == n and column["undefined"] == len(x) - n
        assert column["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert column["sd"] == pytest.approx(values.std(ddof=1), rel=1e-10)
        assert column["se"] == pytest.approx(values.std(ddof=1) / math.sqrt(n), rel=1e-10)
        assert (column["min"], column["max"]) == (values.min(), values.max())
        for t, row in zip([1.0, 1.25], column["thresholds"], strict=True):
            p_below, p_above = np.mean(values < t), np.mean(values > t)
            assert row["p_below"] == pytest.approx(p_below, abs=1e-15)
            assert row["p_above"] == pytest.approx(p_above, abs=1e-15)
            assert row["se_below"] == pytest.approx(math.sqrt(p_below * (1 - p_below) / n))
        # quantiles from the first 10,000 rows' defined values
        kept = x[:10_000, j][np.isfinite(x[:10_000, j])]
        assert column["quantile_sample"] == len(kept)
        p5, p50, p95 = np.percentile(kept, [5, 50, 95])
        assert (column["p5"], column["p50"], column["p95"]) == pytest.approx((p5, p50, p95), rel=1e-12)
        assert column["var_95"] == column["p5"]
        assert column["cvar_95"] == pytest.approx(np.sort(kept)[np.sort(kept) <= p5].mean(), rel=1e-12)


def test_running_summary_is_stable_with_a_large_offset():
    rng = np.random.default_rng(1)
    x = 1e9 + rng.normal(0.0, 1.0, 500_000)
    summary = stats.RunningSummary()
    _feed(summary, x, sizes=(1_000, 3))
    column = summary.result()[0]
    assert column["sd"] == pytest.approx(np.std(x, ddof=1), rel=1e-6)
    assert column["mean"] == pytest.approx(np.mean(x), rel=1e-15)


def test_running_summary_records_checkpoints_at_exact_fractions():
    x = _data(n=10_000)[:, 0]
    summary = stats.RunningSummary(thresholds=[1.0], iterations=10_000)
    _feed(summary, x, sizes=(3_000,))
    checkpoints = summary.result()[0]["checkpoints"]
    assert [c["iterations"] for c in checkpoints] == [2_500, 5_000, 10_000]
    for c in checkpoints:
        head = x[: c["iterations"]]
        head = head[np.isfinite(head)]
        assert c["count"] == len(head)
        assert c["mean"] == pytest.approx(head.mean(), rel=1e-12)
        assert c["p_below"] == [pytest.approx(np.mean(head < 1.0))]


def test_running_summary_edge_cases():
    summary = stats.RunningSummary(thresholds=[0.0])
    summary.update(np.full((5, 2), np.nan))
    summary.update(np.array([[np.nan, 1.0]]))
    undefined, single = summary.result()
    assert undefined["count"] == 0 and undefined["mean"] is None and undefined["p5"] is None
    assert undefined["thresholds"][0]["p_below"] is None
    assert single["count"] == 1 and single["mean"] == 1.0 and single["sd"] is None
    with pytest.raises(ValueError, match="columns"):
        summary.update(np.zeros((3, 3)))
    assert stats.RunningSummary().result() == []


def test_exceedance_counts_strictly_and_ignores_undefined():
    values = np.array([0.5, 0.9, 1.0, 1.0, 1.4, np.nan, 2.0, np.inf])
    p, se = stats.exceedance(values, 1.0)
    assert (p, se) == (2 / 6, pytest.approx(math.sqrt(2 / 6 * 4 / 6 / 6)))
    p, _ = stats.exceedance(values, 1.0, below=False)
    assert p == 2 / 6
    assert all(math.isnan(v) for v in stats.exceedance([np.nan], 1.0))


# ----------------------------------------------------------------------------- convergence


def _summarized(x, thresholds=(1.0,)):
    summary = stats.RunningSummary(thresholds=thresholds, iterations=len(x))
    _feed(summary, x, sizes=(65_536,))
    return summary.result()[0]


def test_a_large_run_is_converged_and_the_note_quotes_its_figures():
    x = np.random.default_rng(2).normal(1.45, 0.4, 400_000)
    result = _summarized(x)
    note = stats.convergence_note(result, "dscr")
    p = np.mean(x < 1.0)
    se = math.sqrt(p * (1 - p) / len(x))
    relative_se = x.std(ddof=1) / math.sqrt(len(x)) / x.mean()
    moved = abs(x.mean() - x[:200_000].mean()) / x.mean()
    assert note.startswith("converged: after 400,000 iterations")
    assert f"{relative_se * 100:.2f} % of the mean" in note
    assert f"P(dscr < 1) = {p * 100:.2f} % ± {se * 100:.2f} % (1 SE)" in note
    assert "moved" in note and (f"{moved * 100:.2f} %" in note or f"{moved * 100:.2g} %" in note)


def test_too_few_iterations_is_not_converged():
    note = stats.convergence_note(_summarized(np.ones(999)), "dscr")
    assert note.startswith("not converged: only 999 iterations")


def test_a_noisy_mean_is_not_converged_and_says_how_many_iterations_would_do():
    x = np.random.default_rng(4).normal(0.05, 1.0, 5_000)
    note = stats.convergence_note(_summarized(x, thresholds=()), "irr")
    relative_se = x.std(ddof=1) / math.sqrt(len(x)) / abs(x.mean())
    assert note.startswith("not converged") and "1.00 % tolerance" in note
    assert f"{math.ceil(len(x) * (relative_se / 0.01) ** 2):,} iterations" in note


def test_an_uncertain_probability_is_not_converged():
    x = np.random.default_rng(5).normal(1.0, 0.01, 2_000)  # mean precise, P(x < 1) ≈ 50 % ± 1.1 %
    note = stats.convergence_note(_summarized(x), "dscr")
    assert note.startswith("not converged") and "P(dscr < 1)" in note and "0.50 % tolerance" in note


def test_a_mean_that_moves_between_half_and_full_run_is_not_converged():
    x = np.concatenate([np.full(5_000, 1.0), np.full(5_000, 1.1)])  # drifts: not iid
    x += np.random.default_rng(6).normal(0, 0.01, len(x))
    note = stats.convergence_note(_summarized(x, thresholds=()), "ltv")
    assert note.startswith("not converged") and "standard errors" in note


# ------------------------------------------------------------------ reliability of repeats


@pytest.mark.parametrize(("successes", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (47, 100), (1, 3)])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_wilson_interval_matches_statsmodels(successes, n, confidence):
    expected = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert stats.wilson_interval(successes, n, confidence) == pytest.approx(expected, abs=1e-12)


def _pass_k_by_enumeration(successes, n, k):
    """pass^k as its definition: the share of all k-subsets of the n runs in which every run passed."""
    outcomes = [True] * successes + [False] * (n - successes)
    subsets = list(itertools.combinations(outcomes, k))
    return sum(all(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(("successes", "n", "k"), [(5, 8, 1), (5, 8, 3), (5, 8, 5), (5, 8, 6), (8, 8, 8), (0, 4, 2)])
def test_pass_hat_k_is_the_share_of_all_passing_k_subsets(successes, n, k):
    assert stats.pass_hat_k(successes, n, k) == pytest.approx(_pass_k_by_enumeration(successes, n, k))


def test_repeat_reliability():
    result = stats.repeat_reliability(4, 5)
    low, high = proportion_confint(4, 5, alpha=0.05, method="wilson")
    assert result["pass_rate"] == 0.8
    assert result["interval"] == pytest.approx((low, high))
    assert result["k"] == 5 and result["pass_hat_k"] == 0.0  # not every one of the 5 runs passed
    assert result["pass_k_interval"] == pytest.approx((low**5, high**5))
    assert stats.repeat_reliability(3, 3)["pass_hat_k"] == 1.0
    with pytest.raises(ValueError):
        stats.pass_hat_k(2, 3, 4)


# -------------------------------------------------------------------------------- outliers


def test_robust_z_is_the_modified_z_score_and_keeps_nans():
    x = np.array([1.42, 1.45, np.nan, 1.51, 1.38, 0.94, 1.47])
    finite = x[~np.isnan(x)]
    median = np.median(finite)
    mad = scipy.stats.median_abs_deviation(finite, scale=1.0)
    z = stats.robust_z(x)
    assert np.isnan(z[2])
    np.testing.assert_allclose(z[~np.isnan(x)], 0.6745 * (finite - median) / mad, rtol=1e-12)
    assert abs(z[5]) > stats.OUTLIER_Z  # the recession scenario


def test_robust_z_falls_back_to_the_mean_absolute_deviation_when_the_mad_is_zero():
    x = np.array([2.0, 2.0, 2.0, 2.0, 3.0, 7.0])
    assert scipy.stats.median_abs_deviation(x) == 0
    mean_ad = np.mean(np.abs(x - 2.0))
    np.testing.assert_allclose(stats.robust_z(x), (x - 2.0) / (1.253314 * mean_ad), rtol=1e-6)
    assert stats.robust_z(np.array([5.0, 5.0, np.nan])).tolist()[:2] == [0.0, 0.0]
    assert np.isnan(stats.robust_z(np.array([np.nan, np.nan]))).all()
    assert stats.robust_z(np.array([])).shape == (0,)


def test_robust_z_treats_rounding_noise_as_no_spread():
    """Four scenarios with the same cap rate up to float rounding and two that moved: the MAD
    is ~1e-18, which is rounding; the mean-absolute-deviation fallback gives ordinary z-scores."""
    same = 0.06625
    values = np.array([same, same * (1 + 1e-16), same * (1 - 1e-16), same, same * 1.1, same * 0.8])
    z = stats.robust_z(values)
    deviation = np.abs(values - np.median(values))
    expected = (values - np.median(values)) / (np.sqrt(np.pi / 2) * deviation.mean())
    np.testing.assert_allclose(z, expected, rtol=1e-9)
    assert np.all(np.abs(z) < 10)


def test_var_and_cvar_look_at_the_bad_tail_of_each_figure():
    """Higher is better (DSCR): the 5th percentile and the mean at or below it; lower is better
    (debt service): the 95th percentile and the mean at or above it — numpy on the same sample."""
    x = np.random.default_rng(5).normal(100.0, 15.0, 50_000)
    summary = stats.RunningSummary()
    summary.update(x)
    (good,) = summary.result(higher_is_better=True)
    (bad,) = summary.result(higher_is_better=False)
    p5, p95 = np.quantile(x, [0.05, 0.95])
    assert good["var_95"] == pytest.approx(p5) and good["cvar_95"] == pytest.approx(x[x <= p5].mean())
    assert bad["var_95"] == pytest.approx(p95) and bad["cvar_95"] == pytest.approx(x[x >= p95].mean())
    assert bad["cvar_95"] > bad["mean"] > good["cvar_95"]


def test_convergence_note_on_rare_and_absent_crossings():
    """A probability from 3 crossings is not called converged (its SE is small in points, huge
    relative to p); none at all is reported with the rule-of-three bound 3/n."""
    x = np.concatenate([np.full(3, 0.5), np.full(99_997, 1.5)])
    summary = stats.RunningSummary([1.0], iterations=len(x))
    summary.update(x)
    (r,) = summary.result()
    note = stats.convergence_note(r, label="dscr")
    assert note.startswith("not converged") and "only 3 iterations that crossed" in note
    y = np.full(100_000, 1.5) + np.random.default_rng(1).normal(0, 0.01, 100_000)
    none = stats.RunningSummary([1.0], iterations=len(y))
    none.update(y)
    (r0,) = none.result()
    note0 = stats.convergence_note(r0, label="dscr")
    assert note0.startswith("converged") and "none of 100,000 iterations crossed" in note0
    assert "0.0030 %" in note0 or "0.003 %" in note0
