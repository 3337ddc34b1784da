"""Which drivers move the portfolio figure: a one-at-a-time tornado and variance-based Sobol
indices.

A *model* here is a function of the drivers, ``model(drivers: dict[str, float | np.ndarray])``,
returning the portfolio figure (mean DSCR, total NOI, ...). Given arrays of equal length it
should return one figure per element (an array of that length) — the scenario drivers
broadcast that way — and both functions then evaluate every point in one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from meta_agent.simulation import stats

Model = Callable[[dict[str, float | np.ndarray]], float | np.ndarray]


def _vectorized(model: Model, points: dict[str, np.ndarray], size: int) -> np.ndarray | None:
    """The model at every point in one call, or None when it does not take arrays (it raises,
    or does not return one figure per point)."""
    try:
        out = np.asarray(model(points), dtype=np.float64)
    except Exception:  # a scalar-only model (math.exp, `if x > 0`) fails in many ways
        return None
    return out.reshape(size) if out.size == size else None


def _pointwise(model: Model, points: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The model at every point, one call per point with plain floats."""
    return np.array([float(model({name: float(column[i]) for name, column in points.items()}))
                     for i in range(size)])


def evaluate(model: Model, points: dict[str, np.ndarray]) -> np.ndarray:
    """``model`` at the points given as columns (driver → array, all the same length): one
    vectorized call if the model accepts arrays, else one call per point."""
    size = len(next(iter(points.values())))
    out = _vectorized(model, points, size)
    return _pointwise(model, points, size) if out is None else out


def tornado(model: Model, base: Mapping[str, float],
            ranges: Mapping[str, tuple[float, float]]) -> list[dict]:
    """One-at-a-time sensitivity: each driver of ``ranges`` set to its low and then its high
    value with every other driver at ``base``. One row per driver: ``driver``, ``low``,
    ``high``, ``value_at_low``, ``value_at_high``, ``swing`` = |value_at_high − value_at_low|
    and ``base_value`` (the model at ``base``), sorted by swing, largest first (undefined
    swings last, ties in the order of ``ranges``).

    All 2k + 1 points go to the model in one call, each driver an array of length 2k + 1 (the
    base point last); a model that does not accept arrays is called once per point instead.
    """
    unknown = [name for name in ranges if name not in base]
    if unknown:
        raise ValueError(f"ranges name drivers without a base value: {', '.join(unknown)}")
    names = list(ranges)
    size = 2 * len(names) + 1
    points = {name: np.full(size, float(value)) for name, value in base.items()}
    for i, name in enumerate(names):
        low, high = ranges[name]
        points[name][2 * i], points[name][2 * i + 1] = float(low), float(high)
    values = evaluate(model, points)
    base_value = float(values[-1])
    rows = []
    for i, name in enumerate(names):
        at_low, at_high = float(values[2 * i]), float(values[2 * i + 1])
        rows.append({"driver": name, "low": float(ranges[name][0]), "high": float(ranges[name][1]),
                     "value_at_low": at_low, "value_at_high": at_high, "swing": abs(at_high - at_low),
                     "base_value": base_value})
    # stable sort: NaN swings (an undefined figure) go last
    return sorted(rows, key=lambda row: -row["swing"] if math.isfinite(row["swing"]) else math.inf)


class _Marginal:
    """A driver's distribution as scipy's ``sobol_indices`` wants it: an object with ``ppf``."""

    def __init__(self, spec: Mapping):
        self.spec = spec

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return stats.ppf(self.spec, u)


def sobol(model_vectorized: Model, distributions: Mapping[str, Mapping], n: int = 2**14,
          seed: int = 0) -> dict[str, dict[str, float]]:
    """Sobol' sensitivity indices of the model's figure to each driver: ``first_order`` S_i
    (the share of the figure's variance explained by driver i alone) and ``total`` ST_i (the
    share that involves driver i, interactions included; ST_i − S_i is its interaction part).

    Uses ``scipy.stats.sobol_indices`` (Saltelli 2010 estimator on scrambled Sobol' points
    seeded with ``seed``): ``n`` (a power of 2) is the size of its two base samples A and B,
    and the model is evaluated at n·(d + 2) points for d drivers, in a single call with each
    driver an array of that many values — ``model_vectorized`` must take arrays. The indices
    assume independent drivers: the scenario's correlations are ignored here (with correlated
    inputs variance shares are not uniquely attributable), so read them next to the tornado.
    """
    if n < 2 or n & (n - 1):
        raise ValueError(f"n must be a power of 2 (Sobol' points), got {n}")
    for name, spec in distributions.items():
        problems = stats.check_distribution(spec)
        if problems:
            raise ValueError(f"driver {name}: {'; '.join(problems)}")
    names = list(distributions)

    def func(x: np.ndarray) -> np.ndarray:
        # scipy passes shape (d, m) and wants (s, m): one output, the portfolio figure
        out = np.asarray(model_vectorized({name: x[i] for i, name in enumerate(names)}), dtype=np.float64)
        return out.reshape(1, x.shape[1])

    import scipy.stats  # local: ~1 s to import, and every process that loads the code location imports this module

    result = scipy.stats.sobol_indices(func=func, n=n, dists=[_Marginal(distributions[name]) for name in names],
                                       rng=np.random.default_rng(seed))
    first, total = np.asarray(result.first_order).reshape(-1), np.asarray(result.total_order).reshape(-1)
    return {name: {"first_order": float(first[i]), "total": float(total[i])} for i, name in enumerate(names)}
