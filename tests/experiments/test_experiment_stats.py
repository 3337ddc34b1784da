"""meta_agent.experiments.stats: each function pinned against its reference.

References: scipy and statsmodels (called here, never by the function under test where the
function is a hand implementation), hand computations written out in the comments, and the
reference values of GrowthBook's own tests (``growthbook/growthbook``,
``packages/stats/tests/frequentist/test_tests.py``, ``tests/bayesian/test_tests.py``,
``tests/test_gbstats.py``), which gbstats rounds to 5 decimals (9 for SRM).

(The file is not ``test_stats.py``: tests/ has no ``__init__.py`` files, so two test modules
with one basename — tests/simulation/test_stats.py is the other — break collection.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from scipy.special import betaln
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from meta_agent.errors import InputError
from meta_agent.experiments import stats as S


def _with_moments(total: float, sum_squares: float, n: int, seed: int) -> np.ndarray:
    """n values whose sum and sum of squares are exactly gbstats' summary statistics."""
    mean = total / n
    var = (sum_squares - total**2 / n) / (n - 1)
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + math.sqrt(var) * z


# gbstats' SampleMeanStatistic fixtures
A_3407 = dict(total=1396.87, sum_squares=52377.9767, n=3407)
A_3000 = dict(total=1396.87, sum_squares=52377.9767, n=3000)
B_3461 = dict(total=2422.7, sum_squares=134698.29, n=3461)


# ------------------------------------------------------------------------------ proportions

PROPORTION_CASES = [(14, 28, 16, 30), (200, 2000, 250, 2000), (1396, 3000, 2422, 3461),
                    (30, 1000, 12, 900), (0, 50, 3, 60)]


@pytest.mark.parametrize("x_c,n_c,x_t,n_t", PROPORTION_CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_proportion_test_matches_statsmodels(x_c, n_c, x_t, n_t, alpha):
    r = S.proportion_test(x_c, n_c, x_t, n_t, alpha)
    z, p = proportions_ztest([x_t, x_c], [n_t, n_c])  # pooled, treatment − control
    assert r.z == pytest.approx(z, rel=1e-12)
    assert r.p_value == pytest.approx(p, rel=1e-9)
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff",
                                           alpha=alpha)
    assert r.difference_ci == pytest.approx((low, high), rel=1e-9)
    assert r.difference == pytest.approx(x_t / n_t - x_c / n_c)


def test_proportion_relative_lift_by_hand():
    # p_c = 0.1, p_t = 0.125: lift 0.25. var_c = .1·.9/2000 = 4.5e-5, var_t = .125·.875/2000 =
    # 5.46875e-5. Delta method: var_t/p_c² + p_t² var_c/p_c⁴ = 0.00546875 + 0.00703125 = 0.0125.
    r = S.proportion_test(200, 2000, 250, 2000)
    assert r.relative_lift == pytest.approx(0.25)
    assert r.relative_lift_se == pytest.approx(math.sqrt(0.0125), rel=1e-12)
    z = sps.norm.ppf(0.975)
    assert r.relative_lift_ci == pytest.approx((0.25 - z * math.sqrt(0.0125),
                                                0.25 + z * math.sqrt(0.0125)), rel=1e-12)
    assert r.relative_lift_ci == pytest.approx((0.030869, 0.469131), abs=1e-6)


def test_proportion_relative_lift_matches_gbstats():
    # gbstats test_two_sided_ttest_binom: 14/28 vs 16/30, relative uplift mean 0.06667, sd 0.2717
    r = S.proportion_test(14, 28, 16, 30)
    assert round(r.relative_lift, 5) == 0.06667
    assert round(r.relative_lift_se, 5) == 0.2717
    # gbstats test_sequential_test_runs_prop: 1396/3000 vs 2422/3461, uplift 0.50386 sd 0.03386
    r = S.proportion_test(1396, 3000, 2422, 3461)
    assert round(r.relative_lift, 5) == 0.50386
    assert round(r.relative_lift_se, 5) == 0.03386


def test_proportion_degenerate_arms():
    r = S.proportion_test(0, 100, 0, 120)  # nothing converted anywhere: no evidence
    assert (r.z, r.p_value) == (0.0, 1.0)
    assert math.isnan(r.relative_lift) and math.isnan(r.relative_lift_ci[0])
    r = S.proportion_test(0, 100, 10, 100)
    assert math.isnan(r.relative_lift) and r.p_value < 0.01


# ------------------------------------------------------------------------------ means


def test_mean_test_matches_gbstats_relative_and_absolute():
    c, t = _with_moments(**A_3407, seed=1), _with_moments(**B_3461, seed=2)
    r = S.mean_test(c, t)
    # test_two_sided_ttest (relative): 0.70732, ci (-0.03526, 1.44989), sd 0.37879, p 0.06191
    assert round(r.relative_lift, 5) == 0.70732
    assert tuple(round(v, 5) for v in r.relative_lift_ci) == (-0.03526, 1.44989)
    assert round(r.relative_lift_se, 5) == 0.37879
    # test_two_sided_ttest_absolute: 0.29, ci (0.04538, 0.53462), sd 0.12478, p 0.02016
    assert r.difference == pytest.approx(0.29, abs=1e-12)
    assert tuple(round(v, 5) for v in r.difference_ci) == (0.04538, 0.53462)
    assert round(r.difference_se, 5) == 0.12478
    assert round(r.p_value, 5) == 0.02016


@pytest.mark.parametrize("seed", [3, 4, 5])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_mean_test_matches_scipy_welch(seed, alpha):
    rng = np.random.default_rng(seed)
    c = rng.lognormal(1.0, 0.8, size=int(rng.integers(20, 300)))
    t = rng.lognormal(1.1, 1.0, size=int(rng.integers(20, 300)))
    r = S.mean_test(c, t, alpha)
    ref = sps.ttest_ind(t, c, equal_var=False)
    assert r.t == pytest.approx(ref.statistic, rel=1e-12)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.df == pytest.approx(ref.df, rel=1e-12)
    ci = ref.confidence_interval(1 - alpha)
    assert r.difference_ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    # relative lift: delta-method variance written out, t quantile on the Welch df
    vm_c, vm_t = c.var(ddof=1) / c.size, t.var(ddof=1) / t.size
    se = math.sqrt(vm_t / c.mean() ** 2 + t.mean() ** 2 * vm_c / c.mean() ** 4)
    assert r.relative_lift_se == pytest.approx(se, rel=1e-12)
    q = sps.t.ppf(1 - alpha / 2, ref.df)
    assert r.relative_lift_ci == pytest.approx((r.relative_lift - q * se,
                                                r.relative_lift + q * se), rel=1e-9)


def test_mean_test_constant_arms():
    r = S.mean_test([1.0, 1.0, 1.0], [1.0, 1.0])
    assert (r.t, r.p_value) == (0.0, 1.0)
    r = S.mean_test([1.0, 1.0, 1.0], [2.0, 2.0])
    assert r.t == math.inf and r.p_value == 0.0 and r.difference_ci == (1.0, 1.0)
    assert math.isnan(S.mean_test([0.0, 0.0], [1.0, 2.0]).relative_lift)


def test_mann_whitney_matches_scipy():
    rng = np.random.default_rng(7)
    cases = [(rng.exponential(1.0, 80), rng.exponential(1.3, 95)),  # continuous, no ties
             (rng.integers(0, 6, 120).astype(float), rng.integers(0, 7, 110).astype(float)),  # ties
             (np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))]
    for c, t in cases:
        r = S.mann_whitney(c, t)
        ref = sps.mannwhitneyu(t, c, alternative="two-sided", method="asymptotic",
                               use_continuity=True)
        assert r.u_treatment == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # by hand: every treatment value beats every control value, U_t = 3·3 = 9
    r = S.mann_whitney([1, 2, 3], [4, 5, 6])
    assert (r.u_treatment, r.prob_treatment_higher) == (9.0, 1.0)
    assert S.mann_whitney([2, 2], [2, 2, 2]).p_value == 1.0  # all tied: no evidence


# ------------------------------------------------------------------------------ CUPED


def _correlated(n: int, rho: float, effect: float, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 2.0, n)
    y = 5.0 + effect + rho * (x - 10.0) + math.sqrt(1 - rho**2) * 2.0 * rng.normal(size=n)
    return y, x  # sd(y) = 2, corr(y, x) = rho


def test_cuped_theta_matches_numpy():
    y, x = _correlated(2000, 0.8, 0.0, seed=11)
    adjusted, theta = S.cuped(y, x)
    assert theta == pytest.approx(np.cov(y, x)[0, 1] / np.var(x, ddof=1), rel=1e-12)
    assert theta == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-9)  # the OLS slope
    assert adjusted.mean() == pytest.approx(y.mean(), rel=1e-12)  # unbiased for the mean
    # var(y − θx) = var(y)(1 − ρ̂²), the sample correlation's square
    r = np.corrcoef(y, x)[0, 1]
    assert adjusted.var(ddof=1) == pytest.approx(y.var(ddof=1) * (1 - r**2), rel=1e-9)
    _, theta0 = S.cuped([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])  # constant covariate: no adjustment
    assert theta0 == 0.0


def test_mean_test_cuped_reduces_variance_on_a_correlated_set():
    y_c, x_c = _correlated(4000, 0.8, 0.0, seed=21)
    y_t, x_t = _correlated(4000, 0.8, 0.15, seed=22)
    r = S.mean_test_cuped(y_c, x_c, y_t, x_t)
    y_all, x_all = np.concatenate([y_c, y_t]), np.concatenate([x_c, x_t])
    assert r.theta == pytest.approx(np.cov(y_all, x_all)[0, 1] / np.var(x_all, ddof=1),
                                    rel=1e-12)
    # ρ = 0.8: the difference's variance shrinks by about ρ² = 0.64
    assert r.variance_reduction == pytest.approx(0.64, abs=0.03)
    assert r.test.difference_se < 0.62 * r.unadjusted.difference_se
    # both estimate the same true effect (0.15); the adjusted one reaches significance
    lo, hi = r.test.difference_ci
    assert lo < 0.15 < hi
    assert r.test.p_value < 1e-6 < r.unadjusted.p_value


# ------------------------------------------------------------------------------ SRM


def test_srm_matches_gbstats_and_scipy():
    # gbstats tests/test_gbstats.py test_srm: check_srm([1000, 1200], [0.5, 0.5]) = 0.000020079
    chi2, p, flagged = S.srm([1000, 1200], [0.5, 0.5])
    assert round(p, 9) == 0.000020079
    assert flagged
    ref = sps.chisquare([1000, 1200], [1100, 1100])
    assert (chi2, p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    for counts, weights in [([5100, 4900], [1, 1]), ([2050, 2890, 5060], [0.2, 0.3, 0.5]),
                            ([300, 700], [30, 70]), ([1000, 1080], [50, 50])]:
        r = S.srm(counts, weights)
        exp = np.array(weights, float) / sum(weights) * sum(counts)
        ref = sps.chisquare(counts, exp)
        assert (r.chi2, r.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)
        assert r.flagged == (ref.pvalue < 0.001)
        assert r.expected == pytest.approx(tuple(exp))


def test_srm_edges():
    assert not S.srm([5000, 5000], [0.5, 0.5]).flagged
    assert tuple(S.srm([0, 0], [1, 1])) == (0.0, 1.0, False)  # no units: nothing to check
    r = S.srm([500, 480, 0], [1, 1, 0])  # an empty arm at weight 0 is left out
    assert r.p_value == pytest.approx(sps.chisquare([500, 480]).pvalue, rel=1e-12)
    r = S.srm([500, 480, 3], [1, 1, 0])  # units in an arm configured for none
    assert (r.chi2, r.p_value, r.flagged) == (math.inf, 0.0, True)
    assert S.srm([5100, 4900], [1, 1], threshold=0.05).flagged  # p = 0.0455


# ------------------------------------------------------------------------------ sequential


def test_sequential_rho_by_hand():
    # −2 ln 0.05 = 5.991465, ln(1 + 5.991465) = 1.944690: ρ²N = 7.936155
    assert S._sequential_rho(0.05, 1000) ** 2 * 1000 == pytest.approx(7.936155, abs=1e-6)


def test_sequential_interval_matches_gbstats():
    # test_sequential_test_runs: means, n 3000 + 3461, tuning 1000 → ci (-0.55844, 1.56516)
    r = S.mean_test(_with_moments(**A_3000, seed=1), _with_moments(**B_3461, seed=2))
    assert (round(r.relative_lift, 5), round(r.relative_lift_se, 5)) == (0.50336, 0.33341)
    iv = S.sequential_interval(r.relative_lift, r.relative_lift_se, 6461, 1000)
    assert (round(iv.lower, 5), round(iv.upper, 5)) == (-0.55844, 1.56516)
    # test_sequential_test_runs_prop: 1396/3000 vs 2422/3461, default tuning 5000
    p = S.proportion_test(1396, 3000, 2422, 3461)
    iv = S.sequential_interval(p.relative_lift, p.relative_lift_se, 6461, S.DEFAULT_TUNING_N)
    assert (round(iv.lower, 5), round(iv.upper, 5)) == (0.40098, 0.60675)
    # the fixed-horizon t interval of the same data is narrower (-0.15033, 1.15705)
    assert iv.halfwidth > p.relative_lift_se * sps.norm.ppf(0.975)


def test_sequential_interval_is_tightest_near_the_tuning_n():
    # gbstats test_sequential_test_tuning_as_expected: n = 6461, tuning 10 / 6461 / 10000
    width = {tn: S.sequential_interval(0.5, 0.33, 6461, tn).halfwidth for tn in (10, 6461, 10000)}
    assert width[6461] < width[10000] < width[10]


def test_sequential_interval_and_msprt_are_dual():
    """The interval excludes 0 exactly when the mSPRT with τ = ρσ rejects: same mixture."""
    n, se, alpha = 4000, 0.02, 0.05
    rho = S._sequential_rho(alpha, 3000)
    tau = rho * se * math.sqrt(n)
    for est in np.linspace(-0.12, 0.12, 97):
        iv = S.sequential_interval(float(est), se, n, 3000, alpha)
        p = S.msprt_p_value(float(est), se, tau)
        if abs(abs(est) - iv.halfwidth) > 1e-9:
            assert iv.excludes_zero == (p < alpha), est
    # gbstats' sequential p-values: 1 for the means case above, 0.0 (to 5 decimals) for the rates
    r = S.proportion_test(1396, 3000, 2422, 3461)
    tau = S._sequential_rho(0.05, 5000) * r.relative_lift_se * math.sqrt(6461)
    assert round(S.msprt_p_value(r.relative_lift, r.relative_lift_se, tau), 5) == 0.0


def _msprt_by_quadrature(diff: float, se: float, tau: float, null: float = 0.0) -> float:
    def integrand(theta):
        ratio = math.exp(sps.norm.logpdf(diff, theta, se) - sps.norm.logpdf(diff, null, se))
        return ratio * sps.norm.pdf(theta, null, tau)

    lr = integrate.quad(integrand, null - 40 * tau, null + 40 * tau, points=[diff],
                        epsabs=1e-13, epsrel=1e-11, limit=400)[0]
    return min(1.0, 1.0 / lr)


@pytest.mark.parametrize("diff,se,tau,null", [(0.1, 0.05, 0.1, 0.0), (0.03, 0.02, 0.05, 0.0),
                                              (-0.2, 0.06, 0.3, 0.0), (1.2, 0.4, 1.0, 0.5),
                                              (0.01, 0.05, 0.1, 0.0)])
def test_msprt_p_value_matches_numerical_integration(diff, se, tau, null):
    assert S.msprt_p_value(diff, se, tau, null) == pytest.approx(
        _msprt_by_quadrature(diff, se, tau, null), rel=1e-8)


def test_peeking_inflates_the_naive_test_but_not_the_always_valid_ones():
    """400 A/A experiments, 20 looks of 50 units per arm each: reject if any look rejects.

    Observed (seed 13): naive z-test 0.2775, confidence sequence 0.0025, mSPRT 0.0025.
    """
    experiments, looks, batch, alpha = 400, 20, 50, 0.05
    rng = np.random.default_rng(13)
    c = rng.normal(size=(experiments, looks * batch))
    t = rng.normal(size=(experiments, looks * batch))
    m = np.arange(1, looks + 1) * batch  # units per arm at each look

    def running(a):  # mean and variance (ddof 1) at each look
        s = a.cumsum(axis=1)[:, m - 1]
        ss = (a**2).cumsum(axis=1)[:, m - 1]
        return s / m, (ss - s**2 / m) / (m - 1)

    (mc, vc), (mt, vt) = running(c), running(t)
    diff, se = mt - mc, np.sqrt(vc / m + vt / m)
    naive = (np.abs(diff / se) > sps.norm.ppf(1 - alpha / 2)).any(axis=1).mean()
    seq = msprt = 0
    for e in range(experiments):
        seq += any(S.sequential_interval(float(diff[e, k]), float(se[e, k]), int(2 * m[k]),
                                         2 * looks * batch, alpha).excludes_zero
                   for k in range(looks))
        msprt += any(S.msprt_p_value(float(diff[e, k]), float(se[e, k]), 0.1) < alpha
                     for k in range(looks))
    assert seq / experiments <= alpha + 0.01
    assert msprt / experiments <= alpha + 0.01
    assert naive > 2 * alpha  # ~0.25 for 20 looks (Armitage, McPherson & Rowe 1969)


# ------------------------------------------------------------------------------ sample size


def test_sample_size_proportions():
    h = abs(proportion_effectsize(0.12, 0.10))
    ref = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8)
    assert S.sample_size_proportions(0.10, 0.20) == math.ceil(ref) == 3835
    # the closed form: n = 2 (z_.975 + z_.8)² / h²
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert S.sample_size_proportions(0.10, 0.20) == math.ceil(2 * z**2 / h**2)
    # Cohen (1988) Table 6.4.1: h = .20, power .80, two-sided .05 → 392 (nearest; we round up).
    # p_c = 0.5, p_t = sin²(π/4 + 0.1) = (1 + sin 0.2)/2 makes h exactly 0.2.
    assert S.sample_size_proportions(0.5, math.sin(0.2)) == 393
    h_down = abs(proportion_effectsize(0.08, 0.10))  # a drop is sized like a rise: |h|
    assert S.sample_size_proportions(0.10, -0.20) == math.ceil(
        NormalIndPower().solve_power(effect_size=h_down, alpha=0.05, power=0.8))
    assert S.sample_size_proportions(0.10, 0.20, alpha=0.01, power=0.9) == math.ceil(
        NormalIndPower().solve_power(effect_size=h, alpha=0.01, power=0.9))


def test_sample_size_means():
    # Cohen (1988) Table 2.4.1: d = .50 → 64, d = .80 → 26 per group (power .80, two-sided .05)
    assert S.sample_size_means(1.0, 0.5) == 64
    assert S.sample_size_means(10.0, 8.0) == 26
    ref = TTestIndPower().solve_power(effect_size=0.3 / 1.7, alpha=0.1, power=0.9)
    assert S.sample_size_means(1.7, 0.3, alpha=0.1, power=0.9) == math.ceil(ref)


# ------------------------------------------------------------------------------ Bayesian


def _chance_to_win_closed_form(ac, bc, at, bt) -> float:
    """Evan Miller's exact sum for integer α_T: P(T > C) = Σ_{i<α_T} B(α_C+i, β_C+β_T) /
    ((β_T+i) B(1+i, β_T) B(α_C, β_C))."""
    return sum(math.exp(betaln(ac + i, bc + bt) - math.log(bt + i) - betaln(1 + i, bt)
                        - betaln(ac, bc)) for i in range(int(at)))


def test_bayes_proportions_matches_gbstats_risk():
    # gbstats test_bayesian_binomial_ab_test: 49/100 vs 51/100, Beta(1, 1) prior,
    # risk [0.03872, 0.01912] (keeping control, shipping treatment), chance to win 0.61052
    r = S.bayes_proportions(49, 100, 51, 100)
    assert round(r.expected_loss_control, 5) == 0.03872
    assert round(r.expected_loss_treatment, 5) == 0.01912
    # gbstats' chance to win is a log-normal approximation; the exact one is 0.61077
    assert r.chance_to_win == pytest.approx(_chance_to_win_closed_form(50, 52, 52, 50), abs=1e-9)
    assert r.chance_to_win == pytest.approx(0.61052, abs=5e-4)


@pytest.mark.parametrize("x_c,n_c,x_t,n_t", [(120, 1000, 145, 1000), (3, 40, 0, 35),
                                             (1000, 10000, 1080, 10000)])
def test_bayes_proportions_matches_monte_carlo(x_c, n_c, x_t, n_t):
    r = S.bayes_proportions(x_c, n_c, x_t, n_t)
    assert r.chance_to_win == pytest.approx(
        _chance_to_win_closed_form(1 + x_c, 1 + n_c - x_c, 1 + x_t, 1 + n_t - x_t), abs=1e-9)
    rng = np.random.default_rng(17)
    draws = 400_000
    c = rng.beta(1 + x_c, 1 + n_c - x_c, draws)
    t = rng.beta(1 + x_t, 1 + n_t - x_t, draws)
    win, loss_t, loss_c = t > c, np.maximum(c - t, 0), np.maximum(t - c, 0)
    for exact, sample in [(r.chance_to_win, win), (r.expected_loss_treatment, loss_t),
                          (r.expected_loss_control, loss_c)]:
        assert abs(exact - sample.mean()) < 4 * sample.std() / math.sqrt(draws) + 1e-12


def test_bayes_proportions_large_n_agrees_with_the_normal_limit():
    r = S.bayes_proportions(100_000, 1_000_000, 100_500, 1_000_000)
    se = math.sqrt(2 * 0.1 * 0.9 / 1_000_000)
    assert r.chance_to_win == pytest.approx(sps.norm.cdf(0.0005 / se), abs=2e-3)


# ------------------------------------------------------------------------------ decide

WIN = S.proportion_test(1000, 10000, 1200, 10000)  # p ≈ 6e-6, treatment higher
LOSE = S.proportion_test(1200, 10000, 1000, 10000)
FLAT = S.proportion_test(1000, 10000, 1010, 10000)


def _decide(result, sequential=None, *, srm=False, min_n=True, max_d=False, **kw):
    return S.decide(result, srm_flagged=srm, sequential=sequential, min_sample_reached=min_n,
                    max_duration_reached=max_d, **kw)


def test_decide_fixed_horizon():
    assert _decide(WIN) == "winner:treatment"
    assert _decide(LOSE) == "winner:control"
    assert _decide(FLAT) == "no difference"
    assert _decide(WIN, min_n=False) == "inconclusive"  # peeking before the planned sample
    assert _decide(WIN, min_n=False, max_d=True) == "inconclusive"  # ran out of time, underpowered
    assert _decide(WIN, higher_is_better=False) == "winner:control"  # e.g. latency, cost


def test_decide_sequential():
    def seq(r):
        return S.sequential_interval(r.difference, r.difference_se, 20000, 20000)

    assert _decide(WIN, seq(WIN)) == "winner:treatment"
    assert _decide(LOSE, seq(LOSE)) == "winner:control"
    assert _decide(FLAT, seq(FLAT)) == "inconclusive"  # keep running
    assert _decide(FLAT, seq(FLAT), max_d=True) == "no difference"
    marginal = S.proportion_test(1000, 10000, 1100, 10000)  # fixed-horizon p ≈ 0.02
    assert _decide(marginal) == "winner:treatment"
    assert _decide(marginal, seq(marginal)) == "inconclusive"  # the always-valid one is wider


def test_decide_srm_means_no_winner_ever():
    for result in (WIN, LOSE, FLAT):
        for sequential in (None, S.sequential_interval(result.difference, result.difference_se,
                                                       20000, 20000)):
            for min_n in (True, False):
                for max_d in (True, False):
                    assert _decide(result, sequential, srm=True, min_n=min_n,
                                   max_d=max_d) == "invalid: sample ratio mismatch"


def test_decide_accepts_mean_and_cuped_results():
    y_c, x_c = _correlated(4000, 0.8, 0.0, seed=21)
    y_t, x_t = _correlated(4000, 0.8, 0.08, seed=22)  # an effect only CUPED resolves
    cuped = S.mean_test_cuped(y_c, x_c, y_t, x_t)
    assert cuped.test.p_value < 0.05 < cuped.unadjusted.p_value
    assert _decide(cuped) == "winner:treatment"
    assert _decide(cuped.unadjusted) == "no difference"
    assert set(S.DECISIONS) == {"winner:treatment", "winner:control", "no difference",
                                "inconclusive", "invalid: sample ratio mismatch"}


# ------------------------------------------------------------------------------ malformed input

MALFORMED = [
    (lambda: S.proportion_test(-1, 10, 2, 10), r"x_c is -1.*cannot be negative"),
    (lambda: S.proportion_test(1, 10, 12, 10), r"x_t is 12 but n_t is 10"),
    (lambda: S.proportion_test(1, 0, 1, 10), r"n_c is 0.*at least one unit"),
    (lambda: S.proportion_test(1.5, 10, 1, 10), r"x_c is 1\.5.*whole number"),
    (lambda: S.proportion_test(1, 10, 1, 10, alpha=1.0), r"alpha is 1\.0.*between 0 and 1"),
    (lambda: S.proportion_test(1, 10, 1, 10, alpha=0), r"alpha is 0.*between 0 and 1"),
    (lambda: S.mean_test([], [1.0, 2.0]), r"values_c is empty.*at least 2"),
    (lambda: S.mean_test([1.0], [1.0, 2.0]), r"values_c has 1 value.*at least 2"),
    (lambda: S.mean_test([1.0, 2.0], [1.0, math.nan]), r"values_t has 1 non-finite"),
    (lambda: S.mean_test([[1.0, 2.0]], [1.0, 2.0]), r"values_c has shape"),
    (lambda: S.mean_test([1.0, 2.0], [1.0, 2.0], alpha=-0.1), r"alpha is -0\.1"),
    (lambda: S.mann_whitney([], [1.0]), r"values_c is empty"),
    (lambda: S.cuped([1.0, 2.0, 3.0], [1.0, 2.0]), r"y has 3 values but x_pre has 2"),
    (lambda: S.mean_test_cuped([1, 2], [1, 2, 3], [1, 2], [1, 2]), r"y_c has 2 values but x_c"),
    (lambda: S.srm([10, 10], [0, 0]), r"weights sum to 0.*positive weight"),
    (lambda: S.srm([10, 10], [-1, 2]), r"weights\[0\] is -1"),
    (lambda: S.srm([10, -3], [1, 1]), r"observed_counts\[1\] is -3.*cannot be negative"),
    (lambda: S.srm([10, 10, 10], [1, 1]), r"3 arms but weights has 2"),
    (lambda: S.srm([10], [1]), r"at least 2 arms"),
    (lambda: S.srm([10, 10], [1, 1], threshold=2), r"threshold is 2"),
    (lambda: S.sequential_interval(0.1, 0.02, 1000, 0), r"tuning_n is 0"),
    (lambda: S.sequential_interval(0.1, -0.02, 1000, 500), r"std_error is -0\.02"),
    (lambda: S.sequential_interval(0.1, 0.02, 0, 500), r"n is 0"),
    (lambda: S.sequential_interval(math.nan, 0.02, 10, 500), r"estimate is nan"),
    (lambda: S.sequential_interval(0.1, 0.02, 10, 500, alpha=1.5), r"alpha is 1\.5"),
    (lambda: S.msprt_p_value(0.1, 0.0, 0.1), r"std_error is 0"),
    (lambda: S.msprt_p_value(0.1, 0.02, -1.0), r"tau is -1\.0"),
    (lambda: S.sample_size_proportions(1.2, 0.1), r"p_c is 1\.2"),
    (lambda: S.sample_size_proportions(0.6, 0.9), r"mde_relative is 0\.9.*outside \(0, 1\)"),
    (lambda: S.sample_size_proportions(0.1, 0), r"mde_relative is 0"),
    (lambda: S.sample_size_proportions(0.1, 0.1, power=1.0), r"power is 1\.0"),
    (lambda: S.sample_size_means(0, 1.0), r"sd is 0"),
    (lambda: S.sample_size_means(1.0, 0.0), r"mde_abs is 0\.0"),
    (lambda: S.bayes_proportions(5, 4, 1, 10), r"x_c is 5 but n_c is 4"),
    (lambda: S.bayes_proportions(1, 10, 1, 10, prior=(0, 1)), r"prior\[0\] is 0"),
    (lambda: S.decide({"p_value": 0.01}, srm_flagged=False, sequential=None,
                      min_sample_reached=True, max_duration_reached=False), r"result is a dict"),
    (lambda: S.decide(WIN, srm_flagged=False, sequential=(0.1, 0.2), min_sample_reached=True,
                      max_duration_reached=False), r"sequential is a tuple"),
]


@pytest.mark.parametrize("call,match", MALFORMED)
def test_malformed_input_names_the_value_and_the_fix(call, match):
    with pytest.raises(InputError, match=match):
        call()
