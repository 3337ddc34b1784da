"""A/B statistics as small pure functions, modelled on GrowthBook's stats engine (``gbstats``).

Every comparison is *control* → *treatment* and every difference is ``treatment − control``;
the relative lift is ``(treatment − control) / control``. Each function is pinned in
``tests/experiments/test_experiment_stats.py`` against scipy, statsmodels, a hand computation
or the reference values of gbstats' own tests.

- ``proportion_test`` — rates: the pooled two-sample z-test, the Wald interval of the
  difference, and the relative lift with its delta-method interval;
- ``mean_test`` — means: Welch's t-test (Welch–Satterthwaite df), the difference and the
  relative lift with its delta-method interval; ``mann_whitney`` is its rank-based companion
  for skewed metrics (latency, cost);
- ``cuped`` / ``mean_test_cuped`` — variance reduction with a pre-period covariate;
- ``srm`` — the sample-ratio-mismatch check (chi-square goodness of fit);
- ``sequential_interval`` — GrowthBook's always-valid confidence sequence; ``msprt_p_value`` —
  the always-valid mSPRT p-value with a normal mixing prior;
- ``sample_size_proportions`` / ``sample_size_means`` — units per arm for a planned test;
- ``bayes_proportions`` — Beta–Binomial chance to win and expected loss, by quadrature;
- ``decide`` — one of ``DECISIONS`` from a result, the SRM flag and where the experiment is.

Malformed input raises ``meta_agent.errors.InputError`` naming the value and the fix.
scipy and statsmodels are imported inside the functions that need them (about a second,
``tests/test_import_graph.py``); the normal distribution comes from ``statistics.NormalDist``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from meta_agent.errors import InputError

ALPHA = 0.05
SRM_THRESHOLD = 0.001  # GrowthBook's default: an SRM warning at p < 0.001
DEFAULT_TUNING_N = 5000  # GrowthBook's default sequential tuning parameter

WINNER_TREATMENT = "winner:treatment"
WINNER_CONTROL = "winner:control"
NO_DIFFERENCE = "no difference"
INCONCLUSIVE = "inconclusive"
INVALID_SRM = "invalid: sample ratio mismatch"
DECISIONS = (WINNER_TREATMENT, WINNER_CONTROL, NO_DIFFERENCE, INCONCLUSIVE, INVALID_SRM)

_NORMAL = NormalDist()


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ProportionTestResult:
    """A two-proportion comparison; intervals are ``(low, high)`` at ``1 − alpha``."""

    n_control: int
    n_treatment: int
    rate_control: float
    rate_treatment: float
    difference: float  # rate_treatment − rate_control
    difference_se: float  # unpooled: sqrt(p_c(1−p_c)/n_c + p_t(1−p_t)/n_t)
    difference_ci: tuple[float, float]
    relative_lift: float  # difference / rate_control; nan when rate_control is 0
    relative_lift_se: float
    relative_lift_ci: tuple[float, float]
    z: float  # pooled z statistic
    p_value: float  # two-sided
    alpha: float


@dataclass(frozen=True)
class MeanTestResult:
    """A Welch comparison of two means; intervals are ``(low, high)`` at ``1 − alpha``."""

    n_control: int
    n_treatment: int
    mean_control: float
    mean_treatment: float
    difference: float  # mean_treatment − mean_control
    difference_se: float  # sqrt(s_c²/n_c + s_t²/n_t)
    difference_ci: tuple[float, float]
    relative_lift: float  # difference / mean_control; nan when mean_control is 0
    relative_lift_se: float
    relative_lift_ci: tuple[float, float]
    t: float
    df: float  # Welch–Satterthwaite
    p_value: float  # two-sided
    alpha: float


@dataclass(frozen=True)
class MannWhitneyResult:
    """The two-sided Mann–Whitney U test of treatment against control."""

    n_control: int
    n_treatment: int
    u_treatment: float  # pairs (c, t) with t > c, ties counting one half
    prob_treatment_higher: float  # u_treatment / (n_c n_t): P(T > C) + P(T = C)/2
    z: float  # continuity- and tie-corrected; 0 when every value is tied
    p_value: float


@dataclass(frozen=True)
class CupedTestResult:
    """``mean_test`` on CUPED-adjusted values, beside the unadjusted test of the same data."""

    test: MeanTestResult  # on the adjusted values: the one to read
    unadjusted: MeanTestResult
    theta: float  # pooled cov(y, x) / var(x)
    variance_reduction: float  # 1 − se_adjusted² / se_unadjusted² of the difference


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness of fit of the arms' counts to their configured weights.

    Unpacks as ``chi2, p_value, flagged = srm(...)``.
    """

    chi2: float
    p_value: float
    flagged: bool  # p_value < threshold: assignment or logging is broken, read no metric
    expected: tuple[float, ...]  # counts the weights predict for the observed total
    threshold: float

    def __iter__(self) -> Iterator:
        return iter((self.chi2, self.p_value, self.flagged))


@dataclass(frozen=True)
class SequentialInterval:
    """An always-valid ``1 − alpha`` confidence sequence at one look."""

    estimate: float
    lower: float
    upper: float
    halfwidth: float
    n: int  # units in both arms at this look
    tuning_n: float
    alpha: float

    @property
    def excludes_zero(self) -> bool:
        return self.lower > 0 or self.upper < 0


@dataclass(frozen=True)
class BayesProportionsResult:
    """Beta–Binomial posterior comparison of two rates."""

    mean_control: float  # posterior mean of the control rate
    mean_treatment: float
    chance_to_win: float  # P(p_t > p_c | data)
    expected_loss_treatment: float  # E[max(p_c − p_t, 0)]: what shipping treatment risks
    expected_loss_control: float  # E[max(p_t − p_c, 0)]: what keeping control risks


# ------------------------------------------------------------------------------ validation


def _alpha(alpha: float, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InputError(f"{name} is {alpha!r}: it must be a number strictly between 0 and 1 "
                         f"(0.05 for a 95 % interval).")
    return float(alpha)


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"{name} is {value!r}: pass a whole number of units (0 or more).")
    if not math.isfinite(value) or value != int(value):
        raise InputError(f"{name} is {value!r}: pass a whole number of units (0 or more).")
    if value < 0:
        raise InputError(f"{name} is {value!r}: a count cannot be negative; pass 0 or more.")
    return int(value)


def _arm(x_name: str, x, n_name: str, n) -> tuple[int, int]:
    x, n = _count(x_name, x), _count(n_name, n)
    if n == 0:
        raise InputError(f"{n_name} is 0: an arm needs at least one unit; "
                         f"wait for traffic or drop the arm.")
    if x > n:
        raise InputError(f"{x_name} is {x} but {n_name} is {n}: conversions cannot exceed "
                         f"units; pass the number of units that converted out of {n_name}.")
    return x, n


def _values(name: str, values, min_n: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} cannot be read as numbers ({exc}): pass a 1-D sequence of "
                         f"per-unit values.") from exc
    if arr.ndim != 1:
        raise InputError(f"{name} has shape {arr.shape}: pass a 1-D sequence of per-unit values.")
    if arr.size < min_n:
        what = "is empty" if arr.size == 0 else f"has {arr.size} value(s)"
        raise InputError(f"{name} {what}: this test needs at least {min_n} per arm; "
                         f"collect more units before reading it.")
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise InputError(f"{name} has {bad} non-finite value(s) (nan or inf): drop or impute "
                         f"them before testing.")
    return arr


def _positive(name: str, value, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if ok and math.isfinite(value) and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    bound = "0 or more" if allow_zero else "greater than 0"
    raise InputError(f"{name} is {value!r}: it must be a finite number {bound}.")


def _z_crit(alpha: float) -> float:
    return _NORMAL.inv_cdf(1 - alpha / 2)


def _p_two_sided_normal(z: float) -> float:
    # erfc keeps precision far in the tail, where 2 * (1 - cdf) rounds to 0
    return math.erfc(abs(z) / math.sqrt(2))


def _ratio_variance(mean_c: float, var_mean_c: float, mean_t: float, var_mean_t: float) -> float:
    """Delta-method variance of ``mean_t / mean_c`` for independent arms.

    Var(T/C) ≈ Var(T)/C² + T² Var(C)/C⁴ (first-order Taylor expansion; Casella & Berger,
    *Statistical Inference*, §5.5.4; gbstats ``variance_of_ratios`` with zero covariance).
    The relative lift T/C − 1 has the same variance.
    """
    return var_mean_t / mean_c**2 + mean_t**2 * var_mean_c / mean_c**4


# ------------------------------------------------------------------------------ proportions


def proportion_test(x_c: int, n_c: int, x_t: int, n_t: int,
                    alpha: float = ALPHA) -> ProportionTestResult:
    """Two-proportion z-test with the difference and the relative lift, each with its interval.

    - z uses the pooled rate p̂ = (x_c + x_t)/(n_c + n_t), the variance under the null
      (statsmodels ``proportions_ztest``):  z = (p_t − p_c) / sqrt(p̂(1−p̂)(1/n_c + 1/n_t));
      p = 2 Φ(−|z|). Both arms at 0 % (or 100 %) carry no evidence: z = 0, p = 1.
    - The difference's interval is Wald's, unpooled (``confint_proportions_2indep(method=
      "wald")``): (p_t − p_c) ± z_{1−α/2} sqrt(p_c(1−p_c)/n_c + p_t(1−p_t)/n_t).
    - The relative lift (p_t − p_c)/p_c gets the delta-method variance
      p_t(1−p_t)/(n_t p_c²) + p_t² p_c(1−p_c)/(n_c p_c⁴) (``_ratio_variance``; gbstats'
      relative ``TwoSidedTTest`` on proportions) and a normal interval. Undefined (nan) when
      p_c = 0.
    """
    alpha = _alpha(alpha)
    x_c, n_c = _arm("x_c", x_c, "n_c", n_c)
    x_t, n_t = _arm("x_t", x_t, "n_t", n_t)
    p_c, p_t = x_c / n_c, x_t / n_t
    diff = p_t - p_c
    pooled = (x_c + x_t) / (n_c + n_t)
    se_null = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    z = diff / se_null if se_null > 0 else 0.0
    p_value = _p_two_sided_normal(z) if se_null > 0 else 1.0
    crit = _z_crit(alpha)
    var_c, var_t = p_c * (1 - p_c) / n_c, p_t * (1 - p_t) / n_t
    se = math.sqrt(var_c + var_t)
    if p_c > 0:
        lift = diff / p_c
        lift_se = math.sqrt(_ratio_variance(p_c, var_c, p_t, var_t))
        lift_ci = (lift - crit * lift_se, lift + crit * lift_se)
    else:
        lift = lift_se = math.nan
        lift_ci = (math.nan, math.nan)
    return ProportionTestResult(
        n_control=n_c, n_treatment=n_t, rate_control=p_c, rate_treatment=p_t,
        difference=diff, difference_se=se, difference_ci=(diff - crit * se, diff + crit * se),
        relative_lift=lift, relative_lift_se=lift_se, relative_lift_ci=lift_ci,
        z=z, p_value=p_value, alpha=alpha,
    )


# ------------------------------------------------------------------------------ means


def mean_test(values_c, values_t, alpha: float = ALPHA) -> MeanTestResult:
    """Welch's unequal-variance t-test, the difference of means and the relative lift.

    se² = s_c²/n_c + s_t²/n_t (sample variances, ddof 1); t = (ȳ_t − ȳ_c)/se; the
    Welch–Satterthwaite df = se⁴ / ((s_c²/n_c)²/(n_c−1) + (s_t²/n_t)²/(n_t−1)) (Welch 1947);
    p = 2 P(T_df > |t|) — ``scipy.stats.ttest_ind(equal_var=False)``. The relative lift
    (ȳ_t − ȳ_c)/ȳ_c gets the delta-method variance ``_ratio_variance`` and, as in gbstats'
    ``TwoSidedTTest``, a t interval on the same df. Undefined (nan) when ȳ_c = 0.

    Both arms constant: se = 0, so t is 0 (equal means, p = 1) or ±inf (p = 0), and the
    intervals collapse onto the estimates.
    """
    from scipy import stats as sps

    alpha = _alpha(alpha)
    c = _values("values_c", values_c, 2)
    t = _values("values_t", values_t, 2)
    n_c, n_t = c.size, t.size
    m_c, m_t = float(c.mean()), float(t.mean())
    vm_c, vm_t = float(c.var(ddof=1)) / n_c, float(t.var(ddof=1)) / n_t
    diff = m_t - m_c
    se = math.sqrt(vm_c + vm_t)
    if se > 0:
        df = (vm_c + vm_t) ** 2 / (vm_c**2 / (n_c - 1) + vm_t**2 / (n_t - 1))
        t_stat = diff / se
        p_value = float(2 * sps.t.sf(abs(t_stat), df))
        crit = float(sps.t.ppf(1 - alpha / 2, df))
    else:
        df = float(n_c + n_t - 2)
        t_stat = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p_value = 1.0 if diff == 0 else 0.0
        crit = 0.0
    if m_c != 0:
        lift = diff / m_c
        lift_se = math.sqrt(_ratio_variance(m_c, vm_c, m_t, vm_t))
        lift_ci = (lift - crit * lift_se, lift + crit * lift_se)
    else:
        lift = lift_se = math.nan
        lift_ci = (math.nan, math.nan)
    return MeanTestResult(
        n_control=n_c, n_treatment=n_t, mean_control=m_c, mean_treatment=m_t,
        difference=diff, difference_se=se, difference_ci=(diff - crit * se, diff + crit * se),
        relative_lift=lift, relative_lift_se=lift_se, relative_lift_ci=lift_ci,
        t=t_stat, df=df, p_value=p_value, alpha=alpha,
    )


def mann_whitney(values_c, values_t) -> MannWhitneyResult:
    """Two-sided Mann–Whitney U test (normal approximation, tie and continuity corrected).

    U_t = R_t − n_t(n_t+1)/2 with R_t the treatment's rank sum in the pooled sample (mid-ranks
    for ties); μ = n_c n_t / 2; σ² = n_c n_t/12 · ((n+1) − Σ(t_k³ − t_k)/(n(n−1))) over tie
    groups of size t_k; z = (|U_t − μ| − ½)/σ; p = min(1, 2 Φ(−z)) (Mann & Whitney 1947; the
    tie correction as in Lehmann, *Nonparametrics*, 1975) — what ``scipy.stats.mannwhitneyu
    (method="asymptotic")`` computes. Every value tied: no evidence, z = 0, p = 1.
    """
    from scipy import stats as sps

    c = _values("values_c", values_c, 1)
    t = _values("values_t", values_t, 1)
    n_c, n_t = c.size, t.size
    n = n_c + n_t
    ranks = sps.rankdata(np.concatenate([c, t]))
    u_t = float(ranks[n_c:].sum()) - n_t * (n_t + 1) / 2
    mu = n_c * n_t / 2
    _, tie_sizes = np.unique(np.concatenate([c, t]), return_counts=True)
    ties = float(np.sum(tie_sizes**3 - tie_sizes))
    var = n_c * n_t / 12 * ((n + 1) - (ties / (n * (n - 1)) if n > 1 else 0.0))
    if var > 0:
        z = (abs(u_t - mu) - 0.5) / math.sqrt(var)
        # z < 0 when |U − μ| is within the continuity correction: no evidence at all
        p_value = min(1.0, _p_two_sided_normal(z)) if z > 0 else 1.0
    else:
        z, p_value = 0.0, 1.0
    return MannWhitneyResult(n_control=n_c, n_treatment=n_t, u_treatment=u_t,
                             prob_treatment_higher=u_t / (n_c * n_t), z=z, p_value=p_value)


# ------------------------------------------------------------------------------ CUPED


def _theta(y: np.ndarray, x: np.ndarray) -> float:
    var_x = float(x.var(ddof=1))
    # a constant covariate explains nothing: no adjustment rather than a division by zero
    return float(np.cov(y, x, ddof=1)[0, 1]) / var_x if var_x > 0 else 0.0


def cuped(y, x_pre) -> tuple[np.ndarray, float]:
    """CUPED: y − θ(x − x̄) with θ = cov(y, x)/var(x), the OLS slope of y on x.

    Deng, Xu, Kohavi & Walker, "Improving the Sensitivity of Online Controlled Experiments by
    Utilizing Pre-Experiment Data" (WSDM 2013), §3: the adjusted mean is unbiased for
    the mean of y (x̄ is subtracted back) and its variance is var(y)(1 − ρ²). A constant
    covariate gives θ = 0 (no adjustment).
    """
    y_arr = _values("y", y, 2)
    x_arr = _values("x_pre", x_pre, 2)
    if y_arr.size != x_arr.size:
        raise InputError(f"y has {y_arr.size} values but x_pre has {x_arr.size}: pass one "
                         f"pre-period value per unit, in the same order.")
    theta = _theta(y_arr, x_arr)
    return y_arr - theta * (x_arr - x_arr.mean()), theta


def mean_test_cuped(y_c, x_c, y_t, x_t, alpha: float = ALPHA) -> CupedTestResult:
    """``mean_test`` on CUPED-adjusted values, θ pooled over both arms.

    θ = cov(y, x)/var(x) over the pooled sample and one pooled x̄, so both arms are adjusted
    by the same linear function and the difference stays unbiased: x is pre-period, hence
    independent of assignment, and E[x̄_t − x̄_c] = 0 (Deng et al. 2013). The variance
    reduction reported is 1 − se_adj²/se_unadj² of the difference, ≈ ρ²(y, x).
    """
    alpha = _alpha(alpha)
    yc, xc = _values("y_c", y_c, 2), _values("x_c", x_c, 2)
    yt, xt = _values("y_t", y_t, 2), _values("x_t", x_t, 2)
    for y_name, y_arr, x_name, x_arr in (("y_c", yc, "x_c", xc), ("y_t", yt, "x_t", xt)):
        if y_arr.size != x_arr.size:
            raise InputError(f"{y_name} has {y_arr.size} values but {x_name} has {x_arr.size}: "
                             f"pass one pre-period value per unit, in the same order.")
    y_all, x_all = np.concatenate([yc, yt]), np.concatenate([xc, xt])
    theta = _theta(y_all, x_all)
    x_bar = float(x_all.mean())
    adjusted = mean_test(yc - theta * (xc - x_bar), yt - theta * (xt - x_bar), alpha)
    unadjusted = mean_test(yc, yt, alpha)
    reduction = (1 - (adjusted.difference_se / unadjusted.difference_se) ** 2
                 if unadjusted.difference_se > 0 else 0.0)
    return CupedTestResult(test=adjusted, unadjusted=unadjusted, theta=theta,
                           variance_reduction=reduction)


# ------------------------------------------------------------------------------ SRM


def srm(observed_counts: Sequence[int], weights: Sequence[float],
        threshold: float = SRM_THRESHOLD) -> SrmResult:
    """Sample-ratio-mismatch check: Pearson's chi-square goodness of fit to the weights.

    E_i = N w_i / Σw; χ² = Σ (O_i − E_i)²/E_i on k − 1 degrees of freedom
    (``scipy.stats.chisquare``; gbstats ``check_srm``); flagged when p < ``threshold``
    (0.001, GrowthBook's default — strict, because a flag voids the experiment). Weights are
    relative (50/50, 0.5/0.5 and 1/1 are the same). An arm configured at weight 0 is left out
    when empty; one that received units is a mismatch by definition (χ² = inf, p = 0). No
    units at all: nothing to check (χ² = 0, p = 1).
    """
    threshold = _alpha(threshold, "threshold")
    counts = [_count(f"observed_counts[{i}]", c) for i, c in enumerate(observed_counts)]
    ws = [_positive(f"weights[{i}]", w, allow_zero=True) for i, w in enumerate(weights)]
    if len(counts) != len(ws):
        raise InputError(f"observed_counts has {len(counts)} arms but weights has {len(ws)}: "
                         f"pass one weight per arm, in the same order.")
    if len(counts) < 2:
        raise InputError(f"observed_counts has {len(counts)} arm(s): an SRM check compares at "
                         f"least 2 arms.")
    total_w = sum(ws)
    if total_w <= 0:
        raise InputError(f"weights sum to {total_w}: give at least one arm a positive weight "
                         f"(e.g. [0.5, 0.5]).")
    total = sum(counts)
    expected = tuple(total * w / total_w for w in ws)
    if total == 0:
        return SrmResult(0.0, 1.0, False, expected, threshold)
    if any(e == 0 and o > 0 for o, e in zip(counts, expected, strict=True)):
        return SrmResult(math.inf, 0.0, True, expected, threshold)
    from scipy import stats as sps

    live = [(o, e) for o, e in zip(counts, expected, strict=True) if e > 0]
    chi2 = sum((o - e) ** 2 / e for o, e in live)
    p_value = float(sps.chi2.sf(chi2, len(live) - 1)) if len(live) > 1 else 1.0
    return SrmResult(chi2, p_value, p_value < threshold, expected, threshold)


# ------------------------------------------------------------------------------ sequential


def _sequential_rho(alpha: float, tuning_n: float) -> float:
    """The mixture's ρ that makes the confidence sequence tightest at n = tuning_n.

    ρ = sqrt((−2 ln α + ln(1 − 2 ln α)) / N) — Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas,
    "Time-uniform central limit theory and asymptotic confidence sequences" (2023,
    arXiv:2103.06476v7, the eq. (161) gbstats cites); gbstats ``sequential_rho``.
    """
    log_a = math.log(alpha)
    return math.sqrt((-2 * log_a + math.log(1 - 2 * log_a)) / tuning_n)


def sequential_interval(estimate: float, std_error: float, n: int, tuning_n: float,
                        alpha: float = ALPHA) -> SequentialInterval:
    """GrowthBook's always-valid interval: the normal-mixture asymptotic confidence sequence.

    With σ² = std_error² · n (the per-unit variance the estimator's standard error implies,
    n the units in both arms) and ρ from ``_sequential_rho(alpha, tuning_n)``:

        halfwidth = σ · sqrt( 2(nρ² + 1) / (n²ρ²) · ln( sqrt(nρ² + 1) / α ) )

    (Waudby-Smith et al. 2023: the two-sided asymptotic confidence sequence from Robbins'
    normal mixture; gbstats ``SequentialTwoSidedTTest``). The interval covers the true effect at *every* look with
    probability ≥ 1 − α (asymptotically), so it can be read as often as one likes; it is
    narrowest near n = tuning_n, which should be the sample the experiment expects to reach.
    It excludes 0 exactly when ``msprt_p_value(estimate, std_error, ρ·σ) < alpha``.
    """
    alpha = _alpha(alpha)
    if isinstance(estimate, bool) or not isinstance(estimate, int | float | np.number) \
            or not math.isfinite(estimate):
        raise InputError(f"estimate is {estimate!r}: pass the finite effect estimate "
                         f"(a difference or a relative lift).")
    std_error = _positive("std_error", std_error, allow_zero=True)
    n_units = _count("n", n)
    if n_units < 1:
        raise InputError("n is 0: pass the number of units in both arms at this look (1 or more).")
    tuning_n = _positive("tuning_n", tuning_n)
    rho2 = _sequential_rho(alpha, tuning_n) ** 2
    s2 = std_error**2 * n_units
    t = n_units * rho2 + 1
    half = math.sqrt(s2) * math.sqrt(2 * t / (n_units**2 * rho2) * math.log(math.sqrt(t) / alpha))
    estimate = float(estimate)
    return SequentialInterval(estimate=estimate, lower=estimate - half, upper=estimate + half,
                              halfwidth=half, n=n_units, tuning_n=tuning_n, alpha=alpha)


def msprt_p_value(difference: float, std_error: float, tau: float, null: float = 0.0) -> float:
    """The mSPRT's always-valid p-value for a difference of means, normal mixing prior N(0, τ²).

    With the estimate Δ ~ N(θ, s²), s = std_error, the mixture likelihood ratio against
    θ = null is

        Λ = ∫ φ(Δ; θ, s²) / φ(Δ; null, s²) dN(θ − null; 0, τ²)
          = sqrt(s² / (s² + τ²)) · exp( τ² (Δ − null)² / (2 s² (s² + τ²)) )

    (Johari, Koomen, Pekelis & Walsh, "Always Valid Inference: Continuous Monitoring of A/B
    Tests", Operations Research 2022 — their two-stream normal mSPRT, with s² = 2σ²/n). This returns min(1, 1/Λ) at one look; the always-valid
    p-value of a running experiment is the running minimum over looks, and rejecting when
    it falls below α keeps the false-positive rate ≤ α however often one looks (Ville's
    inequality). τ is the scale of effects one expects: the test is most sensitive to
    effects of about that size.
    """
    if isinstance(difference, bool) or not isinstance(difference, int | float | np.number) \
            or not math.isfinite(difference):
        raise InputError(f"difference is {difference!r}: pass the finite difference of means.")
    s2 = _positive("std_error", std_error) ** 2
    tau2 = _positive("tau", tau) ** 2
    log_lr = 0.5 * math.log(s2 / (s2 + tau2)) + tau2 * (difference - null) ** 2 / (
        2 * s2 * (s2 + tau2))
    # in log space: exp overflows long before the p-value stops being meaningful (it is 0)
    return math.exp(-log_lr) if log_lr > 0 else 1.0


# ------------------------------------------------------------------------------ sample size


def _power(power: float) -> float:
    if isinstance(power, bool) or not isinstance(power, int | float) or not 0 < power < 1:
        raise InputError(f"power is {power!r}: it must be a number strictly between 0 and 1 "
                         f"(0.8 to detect the effect 80 % of the time).")
    return float(power)


def sample_size_proportions(p_c: float, mde_relative: float, alpha: float = ALPHA,
                            power: float = 0.8) -> int:
    """Units per arm to detect a relative lift of ``mde_relative`` on a base rate ``p_c``.

    The effect size is Cohen's h = 2 asin√p_t − 2 asin√p_c with p_t = p_c(1 + mde)
    (statsmodels ``proportion_effectsize``; Cohen, *Statistical Power Analysis*, 1988, ch. 6),
    solved for n by ``NormalIndPower`` (two-sided, equal arms):
    n = 2 (z_{1−α/2} + z_{1−β})² / h², rounded up.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    alpha, power = _alpha(alpha), _power(power)
    if not isinstance(p_c, int | float) or isinstance(p_c, bool) or not 0 < p_c < 1:
        raise InputError(f"p_c is {p_c!r}: pass the control's expected rate, strictly between "
                         f"0 and 1 (0.10 for 10 %).")
    if not isinstance(mde_relative, int | float) or isinstance(mde_relative, bool) \
            or not math.isfinite(mde_relative) or mde_relative == 0:
        raise InputError(f"mde_relative is {mde_relative!r}: pass the smallest relative lift "
                         f"worth detecting, non-zero (0.05 for +5 %).")
    p_t = p_c * (1 + mde_relative)
    if not 0 < p_t < 1:
        raise InputError(f"mde_relative is {mde_relative!r}: with p_c = {p_c} the treatment "
                         f"rate would be {p_t:g}, outside (0, 1); pass a smaller lift.")
    h = abs(float(proportion_effectsize(p_t, p_c)))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0,
                                     alternative="two-sided")
    return math.ceil(float(n))


def sample_size_means(sd: float, mde_abs: float, alpha: float = ALPHA,
                      power: float = 0.8) -> int:
    """Units per arm for a two-sample t-test to detect an absolute difference ``mde_abs``.

    Cohen's d = mde_abs / sd, solved for n by statsmodels ``TTestIndPower`` (two-sided, equal
    arms, the noncentral t — Cohen 1988, ch. 2), rounded up.
    """
    from statsmodels.stats.power import TTestIndPower

    alpha, power = _alpha(alpha), _power(power)
    sd = _positive("sd", sd)
    if not isinstance(mde_abs, int | float) or isinstance(mde_abs, bool) \
            or not math.isfinite(mde_abs) or mde_abs == 0:
        raise InputError(f"mde_abs is {mde_abs!r}: pass the smallest absolute difference worth "
                         f"detecting, non-zero, in the metric's unit.")
    d = abs(mde_abs) / sd
    n = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=1.0,
                                    alternative="two-sided")
    return math.ceil(float(n))


# ------------------------------------------------------------------------------ Bayesian


def bayes_proportions(x_c: int, n_c: int, x_t: int, n_t: int,
                      prior: tuple[float, float] = (1.0, 1.0)) -> BayesProportionsResult:
    """Beta–Binomial readout: chance to win and expected loss, by one-dimensional quadrature.

    Posteriors C ~ Beta(a + x_c, b + n_c − x_c), T ~ Beta(a + x_t, b + n_t − x_t) (Beta(1, 1)
    = uniform prior by default). With f_C the control's density and F_T, μ_T the treatment's
    cdf and mean:

        P(T > C)         = ∫ f_C(c) (1 − F_T(c)) dc
        E[max(T − C, 0)] = ∫ f_C(c) (μ_T (1 − F_T⁺(c)) − c (1 − F_T(c))) dc

    where F_T⁺ is the cdf of Beta(α_T + 1, β_T), because E[T; T > c] = μ_T P(T⁺ > c);
    E[max(C − T, 0)] = E[max(T − C, 0)] − (μ_T − μ_C). These are GrowthBook's "chance to win"
    and "risk" (gbstats computes the risk by Gauss–Jacobi quadrature and the chance to win by
    a log-normal approximation; here both are the exact integrals). The integral runs over
    the control posterior's central 1 − 2·10⁻¹³, where all its mass is, so quad sees the
    peak however large n is.
    """
    from scipy import integrate
    from scipy import stats as sps

    x_c, n_c = _arm("x_c", x_c, "n_c", n_c)
    x_t, n_t = _arm("x_t", x_t, "n_t", n_t)
    a0 = _positive("prior[0]", prior[0])
    b0 = _positive("prior[1]", prior[1])
    ac, bc = a0 + x_c, b0 + n_c - x_c
    at, bt = a0 + x_t, b0 + n_t - x_t
    control, treat, treat_plus = sps.beta(ac, bc), sps.beta(at, bt), sps.beta(at + 1, bt)
    mu_c, mu_t = ac / (ac + bc), at / (at + bt)
    lo, hi = float(control.ppf(1e-13)), float(control.isf(1e-13))
    opts = {"epsabs": 1e-13, "epsrel": 1e-10, "limit": 200}
    ctw = integrate.quad(lambda c: control.pdf(c) * treat.sf(c), lo, hi, **opts)[0]
    loss_control = integrate.quad(
        lambda c: control.pdf(c) * (mu_t * treat_plus.sf(c) - c * treat.sf(c)), lo, hi, **opts)[0]
    loss_control = max(loss_control, 0.0)
    loss_treatment = max(loss_control - (mu_t - mu_c), 0.0)
    return BayesProportionsResult(mean_control=mu_c, mean_treatment=mu_t,
                                  chance_to_win=min(max(ctw, 0.0), 1.0),
                                  expected_loss_treatment=loss_treatment,
                                  expected_loss_control=loss_control)


# ------------------------------------------------------------------------------ decision


def decide(result: ProportionTestResult | MeanTestResult | CupedTestResult, *,
           srm_flagged: bool, sequential: SequentialInterval | None,
           min_sample_reached: bool, max_duration_reached: bool,
           higher_is_better: bool = True) -> str:
    """One of ``DECISIONS`` for an experiment at this look.

    1. SRM flagged → ``invalid: sample ratio mismatch``, whatever the metric says: the arms
       are not the populations the randomisation promised, so no comparison of them is causal.
    2. Before ``min_sample_reached`` → ``inconclusive``. For a fixed-horizon test the minimum
       sample is the planned one, and reading it earlier is the peeking that inflates false
       positives; for a sequential one it is a floor against novelty and tiny-sample noise.
    3. Fixed horizon (``sequential`` is None): p < alpha → the better arm wins (by the sign of
       the difference and ``higher_is_better``); otherwise ``no difference`` (the planned
       sample was reached and the test did not reject).
    4. Sequential (an always-valid interval of the same effect): an interval excluding 0 →
       the better arm wins, at any look; otherwise ``no difference`` once
       ``max_duration_reached``, ``inconclusive`` before (keep running).
    """
    if isinstance(result, CupedTestResult):
        result = result.test
    if not isinstance(result, ProportionTestResult | MeanTestResult):
        raise InputError(f"result is a {type(result).__name__}: pass what proportion_test, "
                         f"mean_test or mean_test_cuped returned.")
    if sequential is not None and not isinstance(sequential, SequentialInterval):
        raise InputError(f"sequential is a {type(sequential).__name__}: pass what "
                         f"sequential_interval returned, or None for a fixed-horizon test.")
    if srm_flagged:
        return INVALID_SRM
    if not min_sample_reached:
        return INCONCLUSIVE

    def winner(effect: float) -> str:
        return WINNER_TREATMENT if (effect > 0) == higher_is_better else WINNER_CONTROL

    if sequential is None:
        if result.p_value < result.alpha and result.difference != 0:
            return winner(result.difference)
        return NO_DIFFERENCE
    if sequential.excludes_zero:
        return winner(sequential.estimate)
    return NO_DIFFERENCE if max_duration_reached else INCONCLUSIVE
