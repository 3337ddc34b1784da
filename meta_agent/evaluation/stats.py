"""Period-over-period statistics: one small function per method, each pinned in
tests/evaluation/test_stats.py against scipy or statsmodels.

Every comparison is *before* (the previous period) → *after* (the current one), and every
difference is ``after − before``. The methods (docs/evaluation-report.md says why):

- rates (success, timeout, human intervention): ``two_proportion`` — the pooled two-sample
  z-test (``statsmodels.stats.proportion.proportions_ztest``) and **Newcombe's hybrid score
  interval** for the difference (``confint_proportions_2indep(method="newcomb")``), which
  keeps its coverage near 0 % and 100 % where the Wald interval does not;
- means (cost per execution, quality score): ``welch`` — Welch's t-test
  (``scipy.stats.ttest_ind(equal_var=False)``) and its Welch–Satterthwaite interval;
- distributions (latency, and cost's companion): ``mann_whitney`` — the two-sided
  Mann–Whitney U test (``scipy.stats.mannwhitneyu``) and the Hodges–Lehmann shift with its
  distribution-free interval;
- quantiles and ratios: ``bootstrap_quantile_diff`` / ``bootstrap_ratio_diff`` — percentile
  bootstrap intervals, vectorized numpy, deterministic by seed.

Small samples never get a verdict: fewer than ``MIN_N`` (20) observations on either side, or
no variation at all (zero events on both sides of a rate), is ``insufficient data``.

A report tests several metrics at once, so ``holm`` adjusts their p-values together
(Holm–Bonferroni, the family being the report's changes); ``significant`` is read on the
adjusted p-value (``with_holm``).

scipy and statsmodels are imported inside the functions that need them (about a second).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from statistics import NormalDist

import numpy as np

ALPHA = 0.05
MIN_N = 20
N_BOOT = 2000
VERDICTS = ("regression", "improvement", "no significant change", "insufficient data")
_BOOT_CHUNK_CELLS = 4_000_000  # resampled values held in memory at once (32 MB of float64)
_HL_MAX_PAIRS = 4_000_000  # Hodges–Lehmann: pairwise differences computed at most


@dataclass(frozen=True)
class Change:
    """One metric, previous period → current period, with its test and verdict."""

    metric: str
    unit: str  # ratio | ms | usd | score
    before: float | None
    after: float | None
    delta: float | None  # after − before
    relative: float | None  # delta / before
    ci_low: float | None  # interval of the difference (after − before)
    ci_high: float | None
    test: str
    statistic: float | None
    p_value: float | None
    significant: bool
    higher_is_better: bool
    verdict: str
    n_before: int
    n_after: int
    interval: str = ""  # how ci_low..ci_high was computed
    p_adjusted: float | None = None  # Holm-adjusted over the report's changes
    companion: dict | None = None  # a second test of the same data (e.g. Mann–Whitney beside Welch)

    @property
    def relative_ci(self) -> tuple[float | None, float | None]:
        """The interval as a share of ``before`` (``+180 %..+230 %``)."""
        if self.before in (None, 0) or self.ci_low is None or self.ci_high is None:
            return None, None
        return self.ci_low / abs(self.before), self.ci_high / abs(self.before)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["relative_ci_low"], d["relative_ci_high"] = self.relative_ci
        return {k: _plain(v) for k, v in d.items()}


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    p_value: float | None = None  # two-sided bootstrap p (share of resamples across 0, doubled)


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def _p_normal(z: float) -> float:
    """Two-sided p of a standard normal statistic (erfc keeps precision in the tail)."""
    return math.erfc(abs(z) / math.sqrt(2))


def verdict(delta: float | None, significant: bool, higher_is_better: bool, enough: bool = True) -> str:
    if not enough or delta is None:
        return "insufficient data"
    if not significant or delta == 0:
        return "no significant change"
    return "improvement" if (delta > 0) == higher_is_better else "regression"


def _relative(before, delta):
    return None if before in (None, 0) or delta is None else delta / abs(before)


def _insufficient(metric, unit, test, before, after, n1, n2, higher_is_better, interval="") -> Change:
    delta = None if before is None or after is None else after - before
    return Change(metric, unit, before, after, delta, _relative(before, delta), None, None, test, None, None,
                  False, higher_is_better, "insufficient data", int(n1), int(n2), interval)


# ---------------------------------------------------------------- rates


def wilson(x: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of one proportion (``proportion_confint(method="wilson")``)."""
    z = _z(alpha)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_diff(x1: int, n1: int, x2: int, n2: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``p2 − p1`` (method 10 of Newcombe 1998)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, alpha)
    l2, u2 = wilson(x2, n2, alpha)
    d = p2 - p1
    return d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def two_proportion(x1: int, n1: int, x2: int, n2: int, *, metric: str = "rate", higher_is_better: bool = True,
                   alpha: float = ALPHA, min_n: int = MIN_N) -> Change:
    """``x1/n1`` (before) vs ``x2/n2`` (after): pooled two-proportion z-test, Newcombe interval."""
    x1, n1, x2, n2 = int(x1), int(n1), int(x2), int(n2)
    test, interval = "two-proportion z-test (pooled)", "Newcombe hybrid score"
    before = x1 / n1 if n1 else None
    after = x2 / n2 if n2 else None
    pooled = (x1 + x2) / (n1 + n2) if n1 + n2 else 0.0
    if n1 < min_n or n2 < min_n or pooled in (0.0, 1.0):  # no events (or only events) on both sides
        return _insufficient(metric, "ratio", test, before, after, n1, n2, higher_is_better, interval)
    delta = after - before
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = delta / se
    p = _p_normal(z)
    lo, hi = newcombe_diff(x1, n1, x2, n2, alpha)
    sig = p < alpha
    return Change(metric, "ratio", before, after, delta, _relative(before, delta), lo, hi, test, z, p, sig,
                  higher_is_better, verdict(delta, sig, higher_is_better), n1, n2, interval)


# ---------------------------------------------------------------- means


def _finite(a) -> np.ndarray:
    a = np.asarray(a, dtype=float).ravel()
    return a[np.isfinite(a)]


def welch(a: Sequence[float], b: Sequence[float], *, metric: str = "mean", unit: str = "", higher_is_better: bool = True,
          alpha: float = ALPHA, min_n: int = MIN_N) -> Change:
    """Means of ``a`` (before) and ``b`` (after): Welch's t-test and the Welch–Satterthwaite
    interval of ``mean(b) − mean(a)``."""
    from scipy import stats as st  # local: ~1 s to import

    a, b = _finite(a), _finite(b)
    test, interval = "Welch t-test", "Welch–Satterthwaite t"
    before = float(a.mean()) if len(a) else None
    after = float(b.mean()) if len(b) else None
    if len(a) < min_n or len(b) < min_n:
        return _insufficient(metric, unit, test, before, after, len(a), len(b), higher_is_better, interval)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    delta = after - before
    if va + vb == 0:  # two constants: no spread to test against
        return _insufficient(metric, unit, test, before, after, len(a), len(b), higher_is_better, interval)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = delta / se
    p = float(2 * st.t.sf(abs(t), df))
    q = float(st.t.ppf(1 - alpha / 2, df))
    sig = p < alpha
    return Change(metric, unit, before, after, delta, _relative(before, delta), delta - q * se, delta + q * se, test,
                  t, p, sig, higher_is_better, verdict(delta, sig, higher_is_better), len(a), len(b), interval)


# ---------------------------------------------------------------- distributions


def hodges_lehmann(a: Sequence[float], b: Sequence[float], *, alpha: float = ALPHA, seed: int = 0) -> Interval:
    """The Hodges–Lehmann shift ``median(b_j − a_i)`` and its distribution-free interval
    (order statistics of the pairwise differences at the Mann–Whitney normal critical value).

    Beyond ``_HL_MAX_PAIRS`` pairs both samples are subsampled (deterministically by ``seed``).
    """
    a, b = _finite(a), _finite(b)
    if len(a) * len(b) > _HL_MAX_PAIRS:
        rng = np.random.default_rng(seed)
        k = int(math.sqrt(_HL_MAX_PAIRS))
        a = rng.choice(a, size=min(len(a), k), replace=False)
        b = rng.choice(b, size=min(len(b), k), replace=False)
    n1, n2 = len(a), len(b)
    d = np.sort((b[None, :] - a[:, None]).ravel())
    m = n1 * n2
    c = int(math.floor(m / 2 - _z(alpha) * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)))
    c = min(max(c, 0), m - 1)
    return Interval(float(np.median(d)), float(d[c]), float(d[m - 1 - c]))


def mann_whitney(a: Sequence[float], b: Sequence[float], *, metric: str = "median", unit: str = "",
                 higher_is_better: bool = False, alpha: float = ALPHA, min_n: int = MIN_N,
                 shift: bool = True) -> Change:
    """``a`` (before) vs ``b`` (after): two-sided Mann–Whitney U (scipy's default method);
    before/after are the medians, the interval is the Hodges–Lehmann shift's (``shift=False``:
    no interval, for callers that bring their own)."""
    from scipy import stats as st  # local: ~1 s to import

    a, b = _finite(a), _finite(b)
    test, interval = "Mann–Whitney U (two-sided)", "Hodges–Lehmann shift"
    before = float(np.median(a)) if len(a) else None
    after = float(np.median(b)) if len(b) else None
    if len(a) < min_n or len(b) < min_n or (np.all(a == a[0]) and np.all(b == a[0])):
        return _insufficient(metric, unit, test, before, after, len(a), len(b), higher_is_better, interval)
    res = st.mannwhitneyu(b, a, alternative="two-sided")
    hl = hodges_lehmann(a, b, alpha=alpha) if shift else None
    delta = after - before
    p = float(res.pvalue)
    sig = p < alpha
    return Change(metric, unit, before, after, delta, _relative(before, delta), hl and hl.low, hl and hl.high, test,
                  float(res.statistic), p, sig, higher_is_better, verdict(delta, sig, higher_is_better), len(a), len(b),
                  interval if shift else "", companion={"hodges_lehmann_shift": hl.estimate} if hl else None)


# ---------------------------------------------------------------- bootstrap


def _boot_stats(x: np.ndarray, stat: Callable[[np.ndarray], np.ndarray], n_boot: int,
                rng: np.random.Generator) -> np.ndarray:
    """``stat`` of ``n_boot`` resamples (rows drawn with replacement) of ``x`` (n,) or (n, k);
    ``stat`` maps a (B, n[, k]) block to (B,). Chunked so memory stays bounded."""
    n = len(x)
    cells = n * (x.shape[1] if x.ndim == 2 else 1)
    step = max(1, _BOOT_CHUNK_CELLS // max(cells, 1))
    out = np.empty(n_boot)
    for i in range(0, n_boot, step):
        m = min(step, n_boot - i)
        out[i:i + m] = stat(x[rng.integers(0, n, size=(m, n))])
    return out


def _percentile_interval(point: float, diffs: np.ndarray, alpha: float) -> Interval:
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    share_le, share_ge = float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))
    p = min(1.0, 2 * min(share_le, share_ge))
    return Interval(float(point), float(lo), float(hi), max(p, 1 / (len(diffs) + 1)))


def bootstrap_quantile_diff(a: Sequence[float], b: Sequence[float], q: float, n_boot: int = N_BOOT, seed: int = 0,
                            *, alpha: float = ALPHA) -> Interval:
    """Percentile bootstrap interval of ``quantile(b, q) − quantile(a, q)`` (numpy's linear
    quantile, as the daily metrics use); each sample resampled on its own; same seed, same
    interval."""
    a, b = _finite(a), _finite(b)
    rng = np.random.default_rng(seed)

    def stat(block):
        return np.quantile(block, q, axis=1)

    diffs = _boot_stats(b, stat, n_boot, rng) - _boot_stats(a, stat, n_boot, rng)
    return _percentile_interval(float(np.quantile(b, q) - np.quantile(a, q)), diffs, alpha)


def bootstrap_ratio_diff(num_a: Sequence[float], den_a: Sequence[float], num_b: Sequence[float],
                         den_b: Sequence[float], n_boot: int = N_BOOT, seed: int = 0, *,
                         alpha: float = ALPHA) -> Interval:
    """Percentile bootstrap interval of ``Σnum_b/Σden_b − Σnum_a/Σden_a`` (e.g. cost per
    success: cost and a 0/1 success flag per execution, resampled as pairs)."""
    xa = np.column_stack([np.asarray(num_a, float), np.asarray(den_a, float)])
    xb = np.column_stack([np.asarray(num_b, float), np.asarray(den_b, float)])
    rng = np.random.default_rng(seed)

    def stat(block):
        den = block[..., 1].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, block[..., 0].sum(axis=1) / den, np.nan)

    diffs = _boot_stats(xb, stat, n_boot, rng) - _boot_stats(xa, stat, n_boot, rng)
    diffs = diffs[np.isfinite(diffs)]
    point = xb[:, 0].sum() / xb[:, 1].sum() - xa[:, 0].sum() / xa[:, 1].sum()
    return _percentile_interval(float(point), diffs, alpha)


def quantile_change(a: Sequence[float], b: Sequence[float], q: float, *, metric: str, unit: str = "ms",
                    higher_is_better: bool = False, n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA,
                    min_n: int = MIN_N) -> Change:
    """A quantile (p50, p95) before → after: the Mann–Whitney test of the two samples, the
    percentile bootstrap interval of the quantile's difference. Significant only when the
    test says so *and* the interval excludes 0 (never a verdict its own interval contradicts)."""
    a, b = _finite(a), _finite(b)
    test, interval = "Mann–Whitney U (two-sided)", f"percentile bootstrap ({n_boot}) of the p{q * 100:g} difference"
    before = float(np.quantile(a, q)) if len(a) else None
    after = float(np.quantile(b, q)) if len(b) else None
    mw = mann_whitney(a, b, metric=metric, unit=unit, higher_is_better=higher_is_better, alpha=alpha, min_n=min_n,
                      shift=False)
    if mw.verdict == "insufficient data":
        return _insufficient(metric, unit, test, before, after, len(a), len(b), higher_is_better, interval)
    boot = bootstrap_quantile_diff(a, b, q, n_boot, seed, alpha=alpha)
    delta = after - before
    sig = mw.significant and not boot.low <= 0 <= boot.high
    return Change(metric, unit, before, after, delta, _relative(before, delta), boot.low, boot.high, test,
                  mw.statistic, mw.p_value, sig, higher_is_better, verdict(delta, sig, higher_is_better), len(a),
                  len(b), interval, companion={"bootstrap_p_value": boot.p_value})


def ratio_change(num_a, den_a, num_b, den_b, *, metric: str, unit: str = "usd", higher_is_better: bool = False,
                 n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA, min_n: int = MIN_N) -> Change:
    """``Σnum/Σden`` before → after (cost per success) with a bootstrap interval and p-value."""
    test = interval = f"percentile bootstrap ({n_boot}) of the ratio difference"
    sa_, sb_ = float(np.sum(den_a)), float(np.sum(den_b))
    before = float(np.sum(num_a)) / sa_ if sa_ else None
    after = float(np.sum(num_b)) / sb_ if sb_ else None
    if sa_ < min_n or sb_ < min_n:
        return _insufficient(metric, unit, test, before, after, sa_, sb_, higher_is_better, interval)
    boot = bootstrap_ratio_diff(num_a, den_a, num_b, den_b, n_boot, seed, alpha=alpha)
    delta = after - before
    sig = boot.p_value < alpha and not boot.low <= 0 <= boot.high
    return Change(metric, unit, before, after, delta, _relative(before, delta), boot.low, boot.high, test, None,
                  boot.p_value, sig, higher_is_better, verdict(delta, sig, higher_is_better), int(sa_), int(sb_),
                  interval)


# ---------------------------------------------------------------- multiple comparisons


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (``multipletests(method="holm")``), input order."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out.tolist()


def with_holm(changes: Sequence[Change], alpha: float = ALPHA) -> list[Change]:
    """The changes with ``p_adjusted`` (Holm over those that have a p-value) and
    ``significant``/``verdict`` read on it; a change already not significant stays so."""
    tested = [i for i, c in enumerate(changes) if c.p_value is not None]
    adjusted = holm([changes[i].p_value for i in tested])
    out = list(changes)
    for i, p_adj in zip(tested, adjusted, strict=True):
        c = changes[i]
        sig = c.significant and p_adj < alpha
        out[i] = replace(c, p_adjusted=p_adj, significant=sig, verdict=verdict(c.delta, sig, c.higher_is_better))
    return out
