"""The expected effect of a change, computed from executions: go from the *current* population
to a *reference* one.

A proposal that reverts something (a prompt rollback, a tool pin) is expected to bring the
agent from the level it runs at now back to the level it ran at on the good version; a fix
that removes a failure mode (a stricter prompt, truncation, a fallback) at most to that level.
Either way the numbers are two samples of the same agent:

- **current**: the executions on the bad version / value since the change point;
- **reference**: the same agent on the good version / value (before the change, or the rest
  of the traffic in the window), on its typical days (``typical_days``: a day that is itself an
  incident — a storm, an overflow — is no reference).

Each function returns the ``expected`` dict of ``meta_agent.improvement.model`` —
``expected`` is the reference level, ``effect = expected − current`` and ``ci_low..ci_high``
its interval:

- ``success_rate_effect``: difference of proportions, Newcombe's hybrid score interval
  (``stats.newcombe_diff``; statsmodels ``confint_proportions_2indep(method="newcomb")``);
- ``quantile_effect``: p95 / p50 latency, percentile bootstrap of the quantile difference
  (``stats.bootstrap_quantile_diff``, each sample resampled on its own, deterministic by seed);
- ``mean_effect``: cost per execution, Welch–Satterthwaite interval (``stats.welch``).

Fewer than ``MIN_N`` executions on either side (or nothing to compare): ``effect`` None and
``method`` says why — never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from meta_agent.evaluation import stats

MIN_N = stats.MIN_N
ALPHA = stats.ALPHA
N_BOOT = stats.N_BOOT
METRIC_UNITS = {"success_rate": "ratio", "latency_p95_ms": "ms", "latency_p50_ms": "ms",
                "cost_per_execution_usd": "usd"}
HIGHER_IS_BETTER = {"success_rate": True, "latency_p95_ms": False, "latency_p50_ms": False,
                    "cost_per_execution_usd": False}


def _finite(a) -> np.ndarray:
    a = np.asarray(a, dtype=float).ravel()
    return a[np.isfinite(a)]


def _expected(metric: str, current: float | None, expected: float | None, effect: float | None,
              lo: float | None, hi: float | None, method: str, n_current: int, n_reference: int,
              alpha: float) -> dict:
    def num(v):
        return None if v is None or not math.isfinite(float(v)) else float(v)

    return {"metric": metric, "unit": METRIC_UNITS.get(metric, ""), "current": num(current),
            "expected": num(expected), "effect": num(effect), "ci_low": num(lo), "ci_high": num(hi),
            "confidence_level": 1 - alpha, "method": method, "n_current": int(n_current),
            "n_reference": int(n_reference)}


def success_rate_effect(current_ok: int, current_n: int, reference_ok: int, reference_n: int, *,
                        populations: str = "", alpha: float = ALPHA, min_n: int = MIN_N) -> dict:
    """Success rate from ``current_ok/current_n`` to ``reference_ok/reference_n``: the
    reference level, ``p_ref − p_cur`` and its Newcombe hybrid score interval."""
    cur = current_ok / current_n if current_n else None
    ref = reference_ok / reference_n if reference_n else None
    where = f" ({populations})" if populations else ""
    if current_n < min_n or reference_n < min_n:
        return _expected("success_rate", cur, ref, None, None, None,
                         f"not computed: {current_n} current and {reference_n} reference executions "
                         f"(at least {min_n} each){where}", current_n, reference_n, alpha)
    lo, hi = stats.newcombe_diff(int(current_ok), int(current_n), int(reference_ok), int(reference_n), alpha)
    return _expected("success_rate", cur, ref, ref - cur, lo, hi,
                     f"difference of proportions, reference − current, Newcombe hybrid score "
                     f"interval{where}", current_n, reference_n, alpha)


def quantile_effect(current: Sequence[float], reference: Sequence[float], q: float = 0.95, *,
                    populations: str = "", n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA,
                    min_n: int = MIN_N) -> dict:
    """A latency quantile (``q`` 0.95: p95, 0.5: p50) from the current sample to the
    reference one: ``quantile(ref) − quantile(cur)`` with its percentile bootstrap interval."""
    cur, ref = _finite(current), _finite(reference)
    metric = f"latency_p{q * 100:g}_ms"
    c = float(np.quantile(cur, q)) if len(cur) else None
    r = float(np.quantile(ref, q)) if len(ref) else None
    where = f" ({populations})" if populations else ""
    if len(cur) < min_n or len(ref) < min_n:
        return _expected(metric, c, r, None, None, None,
                         f"not computed: {len(cur)} current and {len(ref)} reference executions "
                         f"(at least {min_n} each){where}", len(cur), len(ref), alpha)
    boot = stats.bootstrap_quantile_diff(cur, ref, q, n_boot, seed, alpha=alpha)
    return _expected(metric, c, r, boot.estimate, boot.low, boot.high,
                     f"p{q * 100:g} difference, reference − current, percentile bootstrap ({n_boot} "
                     f"resamples, seed {seed}){where}", len(cur), len(ref), alpha)


def mean_effect(current: Sequence[float], reference: Sequence[float], *,
                metric: str = "cost_per_execution_usd", populations: str = "", alpha: float = ALPHA,
                min_n: int = MIN_N) -> dict:
    """A mean (cost per execution) from the current sample to the reference one:
    ``mean(ref) − mean(cur)`` with the Welch–Satterthwaite interval."""
    w = stats.welch(current, reference, metric=metric, unit=METRIC_UNITS.get(metric, ""),
                    higher_is_better=HIGHER_IS_BETTER.get(metric, False), alpha=alpha, min_n=min_n)
    where = f" ({populations})" if populations else ""
    if w.verdict == "insufficient data":
        return _expected(metric, w.before, w.after, None, None, None,
                         f"not computed: {w.n_before} current and {w.n_after} reference executions "
                         f"(at least {min_n} each, not all equal){where}", w.n_before, w.n_after, alpha)
    return _expected(metric, w.before, w.after, w.delta, w.ci_low, w.ci_high,
                     f"difference of means, reference − current, Welch–Satterthwaite t interval{where}",
                     w.n_before, w.n_after, alpha)


def benefit(expected: dict) -> float:
    """The improvement the effect stands for, as a positive number when it helps: success-rate
    points as they are; latency and cost as the relative reduction (``-effect / current``);
    0 when the effect was not computed or goes the wrong way."""
    effect, metric = expected.get("effect"), expected.get("metric")
    if effect is None:
        return 0.0
    if HIGHER_IS_BETTER.get(metric, True):
        return max(float(effect), 0.0)
    current = expected.get("current") or 0.0
    return max(-float(effect) / current, 0.0) if current > 0 else 0.0


def strength(expected: dict) -> float:
    """How strongly the data supports the effect: 1 when the interval excludes 0 on the side of
    an improvement, 0.5 when it includes 0, 0.25 when it was not computed, 0 when the change
    would make things worse."""
    effect, lo, hi = expected.get("effect"), expected.get("ci_low"), expected.get("ci_high")
    if effect is None or lo is None or hi is None:
        return 0.25
    good_up = HIGHER_IS_BETTER.get(expected.get("metric"), True)
    if (lo > 0) if good_up else (hi < 0):
        return 1.0
    if (hi < 0) if good_up else (lo > 0):
        return 0.0
    return 0.5


def typical_days(day: np.ndarray, bad: np.ndarray, *, min_rows: int = 5) -> np.ndarray:
    """The rows on days whose share of ``bad`` is not itself an outlier: a day above
    ``max(2 × median, median + 3 binomial standard errors)`` of the daily shares is left out
    (a rate-limit storm or an overflow in the reference would lower its level). Days with fewer
    than ``min_rows`` rows are kept (too small to judge). Returns a boolean mask over rows."""
    day = np.asarray(day)
    bad = np.asarray(bad, dtype=float)
    if not len(day):
        return np.zeros(0, dtype=bool)
    uniq, inv = np.unique(day, return_inverse=True)
    n = np.bincount(inv, minlength=len(uniq)).astype(float)
    x = np.bincount(inv, weights=bad, minlength=len(uniq))
    rate = x / np.maximum(n, 1)
    judged = n >= min_rows
    if not judged.any():
        return np.ones(len(day), dtype=bool)
    med = float(np.median(rate[judged]))
    typical_n = float(np.median(n[judged]))
    se = math.sqrt(max(med, 0.002) * (1 - med) / max(typical_n, 1))
    keep_day = ~judged | (rate <= max(2 * med, med + 3 * se))
    return keep_day[inv]


def typical_level_days(day: np.ndarray, value: np.ndarray, *, q: float | None = 0.95, ratio: float = 1.3,
                       min_rows: int = 5) -> np.ndarray:
    """``typical_days`` for a level (latency, cost): a day whose quantile ``q`` (None: mean)
    exceeds ``ratio`` × the median of the daily ones is left out. A boolean mask over rows."""
    day = np.asarray(day)
    value = np.asarray(value, dtype=float)
    if not len(day):
        return np.zeros(0, dtype=bool)
    uniq, inv = np.unique(day, return_inverse=True)
    level = np.full(len(uniq), np.nan)
    for i in range(len(uniq)):
        v = value[inv == i]
        if len(v) >= min_rows:
            level[i] = np.quantile(v, q) if q is not None else v.mean()
    judged = np.isfinite(level)
    if not judged.any():
        return np.ones(len(day), dtype=bool)
    med = float(np.median(level[judged]))
    keep_day = ~judged | (level <= ratio * med)
    return keep_day[inv]
