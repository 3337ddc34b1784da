"""Monte Carlo building blocks: driver distributions, correlated sampling, streaming summaries,
convergence, the reliability of repeated runs and robust outlier scores.

Distributions are plain dicts (what the scenario model dumps to)::

    {"dist": "normal", "mean": m, "sd": s}                 sd >= 0; sd == 0 is the constant m
    {"dist": "lognormal", "mu": mu, "sigma": sigma}        exp(N(mu, sigma)), sigma > 0
    {"dist": "uniform", "low": a, "high": b}               a < b
    {"dist": "triangular", "low": a, "mode": c, "high": b} a <= c <= b, a < b
    {"dist": "beta", "a": α, "b": β, "low": lo, "high": hi} Beta(α, β) scaled to [lo, hi] (0, 1 default)
    {"dist": "discrete", "values": [...], "probabilities": [...]}

Sampling is a Gaussian copula: Z ~ N(0, R) for the drivers' correlation matrix R, U = Φ(Z),
X = F⁻¹(U) for each driver's distribution F. A correlation therefore is the correlation of the
drivers' normal scores (close to their rank correlation), and each driver keeps exactly its
own distribution. Samples come in chunks of at most ``CHUNK`` so a caller never holds a whole
run, and ``RunningSummary`` folds the chunks into exact means, variances and exceedance
probabilities plus quantiles from a bounded reservoir.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.special

from meta_agent.errors import InputError

# 65,536 samples per chunk: one float64 array of a chunk × 25 properties is 13 MB, so a model
# holding a few such arrays (NOI, debt service, the ratio) stays around 50 MB.
CHUNK = 65_536
# The first 131,072 samples of each column are kept for quantiles: 26 MB for 25 columns. The
# sample p5 of R iid draws is the true quantile at level 5 % ± sqrt(0.05 × 0.95 / R) =
# ± 0.06 percentage points (1 SE); the median's level is ± 0.14 points.
RESERVOIR = 131_072
N_MIN = 1_000  # fewer iterations than this are never called converged
REL_SE_TOL = 0.01  # converged needs the mean's standard error <= 1 % of |mean| ...
PROB_SE_TOL = 0.005  # ... and every threshold probability's standard error <= 0.5 points ...
RARE_EVENTS = 10  # ... and estimated from at least this many crossings (fewer: too rough to call converged)
MOVE_SE_TOL = 4.0  # ... and the half-run mean within 4 standard errors of the full-run mean
PSD_TOL = 1e-8  # eigenvalues down to -PSD_TOL count as 0 (rounding in the matrix entries)
OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for |modified z|
ZERO_SCALE = 1e-9  # a MAD this small relative to |median| is rounding, not spread
PROBABILITY_SUM_TOL = 1e-9

DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name -> (required fields, optional fields)
    "normal": (("mean", "sd"), ()),
    "lognormal": (("mu", "sigma"), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "beta": (("a", "b"), ("low", "high")),
    "discrete": (("values", "probabilities"), ()),
}


# ---------------------------------------------------------------------------- distributions


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def check_distribution(spec: Any) -> list[str]:
    """The problems with a distribution spec, each a short phrase naming the field
    (``"sd must be >= 0, got -0.1"``); an empty list when the spec is valid."""
    if not isinstance(spec, Mapping):
        return [f"a distribution must be a mapping with a 'dist' field, got {spec!r}"]
    kind = spec.get("dist")
    if kind not in DISTRIBUTIONS:
        return [f"dist must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}"]
    required, _optional = DISTRIBUTIONS[kind]
    missing = [f"{name} is missing" for name in required if spec.get(name) is None]
    if missing:
        return missing
    if kind == "discrete":
        return _check_discrete(spec["values"], spec["probabilities"])
    fields = {name: spec[name] for name in (*DISTRIBUTIONS[kind][0], *DISTRIBUTIONS[kind][1])
              if spec.get(name) is not None}
    problems = [f"{name} must be a finite number, got {value!r}" for name, value in fields.items()
                if not _finite(value)]
    if problems:
        return problems
    if kind == "normal" and spec["sd"] < 0:
        problems.append(f"sd must be >= 0, got {spec['sd']}")
    elif kind == "lognormal" and spec["sigma"] <= 0:
        problems.append(f"sigma must be > 0, got {spec['sigma']}")
    elif kind in ("uniform", "triangular") and not spec["low"] < spec["high"]:
        problems.append(f"low must be < high, got low {spec['low']} and high {spec['high']}")
    elif kind == "triangular" and not spec["low"] <= spec["mode"] <= spec["high"]:
        problems.append(f"mode must lie in [low, high] = [{spec['low']}, {spec['high']}], got {spec['mode']}")
    elif kind == "beta":
        problems += [f"{name} must be > 0, got {spec[name]}" for name in ("a", "b") if spec[name] <= 0]
        low, high = _beta_bounds(spec)
        if not low < high:
            problems.append(f"low must be < high, got low {low} and high {high}")
    return problems


def _check_discrete(values: Any, probabilities: Any) -> list[str]:
    if not isinstance(values, Sequence | np.ndarray) or isinstance(values, str) or len(values) == 0:
        return [f"values must be a non-empty list of numbers, got {values!r}"]
    if not isinstance(probabilities, Sequence | np.ndarray) or isinstance(probabilities, str):
        return [f"probabilities must be a list of numbers, got {probabilities!r}"]
    problems = []
    if len(values) != len(probabilities):
        problems.append(f"values and probabilities must have the same length, got {len(values)} "
                        f"and {len(probabilities)}")
    problems += [f"values[{i}] must be a finite number, got {v!r}" for i, v in enumerate(values) if not _finite(v)]
    problems += [f"probabilities[{i}] must be a finite number >= 0, got {p!r}"
                 for i, p in enumerate(probabilities) if not (_finite(p) and p >= 0)]
    if not problems and abs(math.fsum(probabilities) - 1.0) > PROBABILITY_SUM_TOL:
        problems.append(f"probabilities must sum to 1, got {math.fsum(probabilities):.12g}")
    return problems


def _require_valid(spec: Any) -> None:
    problems = check_distribution(spec)
    if problems:
        raise InputError(f"invalid distribution {spec!r}: {'; '.join(problems)}")


def _beta_bounds(spec: Mapping) -> tuple[float, float]:
    low, high = spec.get("low"), spec.get("high")
    return (0.0 if low is None else float(low)), (1.0 if high is None else float(high))


def _discrete_table(spec: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """The values that can occur (probability > 0) sorted ascending, and their cumulative
    probabilities, normalized so the last is exactly 1."""
    values = np.asarray(spec["values"], dtype=np.float64)
    probabilities = np.asarray(spec["probabilities"], dtype=np.float64)
    possible = probabilities > 0
    values, probabilities = values[possible], probabilities[possible]
    # sorted, so the inverse CDF is monotone: a quantile means what it says, and a positive
    # correlation pairs high values with high values
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(probabilities[order])
    cumulative /= cumulative[-1]
    return values[order], cumulative


def _ppf(spec: Mapping, u: np.ndarray) -> np.ndarray:
    kind = spec["dist"]
    if kind == "normal":
        return spec["mean"] + spec["sd"] * scipy.special.ndtri(u)
    if kind == "lognormal":
        return np.exp(spec["mu"] + spec["sigma"] * scipy.special.ndtri(u))
    if kind == "uniform":
        return spec["low"] + (spec["high"] - spec["low"]) * u
    if kind == "triangular":
        low, mode, high = float(spec["low"]), float(spec["mode"]), float(spec["high"])
        width = high - low
        split = (mode - low) / width  # F(mode): below it the rising edge, above it the falling one
        rising = low + np.sqrt(u * width * (mode - low))
        falling = high - np.sqrt((1.0 - u) * width * (high - mode))
        return np.where(u < split, rising, falling)
    if kind == "beta":
        low, high = _beta_bounds(spec)
        return low + (high - low) * scipy.special.betaincinv(spec["a"], spec["b"], u)
    values, cumulative = _discrete_table(spec)
    # the first value whose cumulative probability reaches u; the clip only guards rounding
    index = np.searchsorted(cumulative, u, side="left")
    return values[np.minimum(index, len(values) - 1)]


def ppf(spec: Mapping, u: np.ndarray) -> np.ndarray:
    """The inverse CDF (quantile function) of the distribution at probabilities ``u`` in
    [0, 1], element-wise: F⁻¹(u) = the smallest x with F(x) >= u. A discrete distribution's
    values are sorted first; its F⁻¹ is a search in the cumulative probabilities."""
    _require_valid(spec)
    return np.asarray(_ppf(spec, np.asarray(u, dtype=np.float64)), dtype=np.float64)


def mean_of(spec: Mapping) -> float:
    """The distribution's expected value (lognormal: exp(mu + sigma²/2); beta: lo + (hi − lo)
    α/(α + β); triangular: (low + mode + high)/3)."""
    _require_valid(spec)
    kind = spec["dist"]
    if kind == "normal":
        return float(spec["mean"])
    if kind == "lognormal":
        return math.exp(spec["mu"] + spec["sigma"] ** 2 / 2)
    if kind == "uniform":
        return (spec["low"] + spec["high"]) / 2
    if kind == "triangular":
        return (spec["low"] + spec["mode"] + spec["high"]) / 3
    if kind == "beta":
        low, high = _beta_bounds(spec)
        return low + (high - low) * spec["a"] / (spec["a"] + spec["b"])
    values = np.asarray(spec["values"], dtype=np.float64)
    probabilities = np.asarray(spec["probabilities"], dtype=np.float64)
    return float(values @ probabilities / probabilities.sum())


def quantile(spec: Mapping, q: float | np.ndarray) -> float | np.ndarray:
    """The ``q``-quantile of the distribution (``ppf`` at ``q``): a float for a scalar ``q``."""
    out = ppf(spec, q)
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------------------------ correlation


def correlation_matrix(names: Sequence[str], correlations: Sequence[Mapping] | None) -> np.ndarray:
    """The correlation matrix of the drivers ``names`` (in that order): the identity with each
    ``{"between": [a, b], "rho": r}`` set at (a, b) and (b, a). A pair named twice must agree."""
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for entry in correlations or ():
        pair, rho = entry.get("between"), entry.get("rho")
        if not (isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2):
            raise InputError(f"a correlation's 'between' must name two drivers, got {pair!r}")
        a, b = pair
        unknown = [name for name in (a, b) if name not in index]
        if unknown:
            raise InputError(f"correlation between {a} and {b}: {', '.join(map(str, unknown))} is not a "
                             f"driver with a distribution (drivers: {', '.join(names)})")
        if a == b:
            raise InputError(f"a correlation must be between two different drivers, got {a} twice")
        if not (_finite(rho) and -1.0 <= rho <= 1.0):
            raise InputError(f"correlation between {a} and {b}: rho must be a number in [-1, 1], got {rho!r}")
        i, j = index[a], index[b]
        if matrix[i, j] != 0.0 and matrix[i, j] != rho:
            raise InputError(f"the correlation between {a} and {b} is given twice, as {matrix[i, j]} and {rho}")
        matrix[i, j] = matrix[j, i] = rho
    return matrix


def check_correlation(matrix: np.ndarray, names: Sequence[str]) -> str | None:
    """None when ``matrix`` is a valid correlation matrix (symmetric, unit diagonal, positive
    semi-definite down to ``-PSD_TOL``); else one sentence naming the smallest eigenvalue, the
    drivers whose correlations contradict each other, and the fix."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (len(names), len(names)):
        return f"the correlation matrix is {matrix.shape}, not square over the {len(names)} drivers"
    if not np.allclose(matrix, matrix.T, atol=1e-12, rtol=0) or not np.allclose(np.diag(matrix), 1.0):
        return "a correlation matrix must be symmetric with 1 on the diagonal"
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    smallest = float(eigenvalues[0])
    if smallest >= -PSD_TOL:
        return None
    # the drivers that carry the offending direction are the ones whose correlations conflict
    loadings = np.abs(eigenvectors[:, 0])
    involved = [i for i in np.argsort(-loadings) if loadings[i] >= 0.3 * loadings.max()]
    pairs = sorted(((abs(matrix[i, j]), i, j) for i in involved for j in involved if i < j and matrix[i, j]),
                   reverse=True)[:3]
    example = ", ".join(f"{names[i]}–{names[j]} {matrix[i, j]:g}" for _, i, j in pairs)
    return (f"the correlations among {', '.join(names[i] for i in involved)} contradict each other: "
            f"their matrix is not positive semi-definite (smallest eigenvalue {smallest:.4g}); weaken "
            f"the strongest of them ({example}) until no eigenvalue is negative")


def correlation_factor(matrix: np.ndarray) -> np.ndarray:
    """A matrix F with F Fᵀ = ``matrix``, so rows of iid standard normals times Fᵀ have that
    correlation: the Cholesky factor when the matrix is positive definite, else (singular, e.g.
    a correlation of 1) V·sqrt(max(λ, 0)) from its eigen decomposition."""
    matrix = np.asarray(matrix, dtype=np.float64)
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        eigenvalues, eigenvectors = np.linalg.eigh(matrix)
        return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))


def _correlate(normals: np.ndarray, factor: np.ndarray | None) -> np.ndarray:
    """``normals @ factor.T`` as element-wise sums, so every sample's value is the same whatever
    the chunk size (a BLAS matrix product may round differently for different row counts)."""
    if factor is None:
        return normals
    out = np.zeros_like(normals)
    for j in range(factor.shape[0]):
        for k in np.flatnonzero(factor[j]):
            out[:, j] += factor[j, k] * normals[:, k]
    return out


def gaussian_copula(matrix: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of uniforms U = Φ(Z) with Z ~ N(0, ``matrix``): shape (n, d). Feeding column
    j to a driver's ``ppf`` gives that driver its distribution and the copula's correlation."""
    normals = rng.standard_normal((n, len(matrix)))
    return scipy.special.ndtr(_correlate(normals, correlation_factor(matrix)))


def _from_standard_normal(spec: Mapping, z: np.ndarray) -> np.ndarray:
    """F⁻¹(Φ(z)): for normal and lognormal drivers directly from z (exact, faster, and no
    Φ(z) = 1 at z > 8.3 to turn into an infinity); for the others through Φ."""
    kind = spec["dist"]
    if kind == "normal":
        if spec["sd"] == 0:
            return np.full(z.shape, float(spec["mean"]))
        return spec["mean"] + spec["sd"] * z
    if kind == "lognormal":
        return np.exp(spec["mu"] + spec["sigma"] * z)
    return np.asarray(_ppf(spec, scipy.special.ndtr(z)), dtype=np.float64)


def sample_chunks(distributions: Mapping[str, Mapping], correlations: Sequence[Mapping] | None,
                  iterations: int, seed: int, chunk_size: int = CHUNK) -> Iterator[dict[str, np.ndarray]]:
    """``iterations`` joint samples of the drivers, as dicts driver → 1-D float64 array of at
    most ``chunk_size`` samples (keys in the order of ``distributions``).

    Gaussian copula with the given correlations (see the module docstring). Deterministic: one
    PCG64 generator seeded with ``seed`` draws the standard normals chunk after chunk, with the
    drivers in sorted name order, so the same drivers, seed and iterations give bit-identical
    samples — whatever the chunk size and the order of the keys. Raises ``InputError`` for an
    invalid distribution or a correlation matrix that is not positive semi-definite.
    """
    if not distributions:
        raise InputError("a simulation needs at least one driver with a distribution")
    for name, spec in distributions.items():
        problems = check_distribution(spec)
        if problems:
            raise InputError(f"driver {name}: {'; '.join(problems)}")
    if not (isinstance(iterations, int | np.integer) and iterations >= 1):
        raise InputError(f"iterations must be a whole number >= 1, got {iterations!r}")
    if not (isinstance(chunk_size, int | np.integer) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    names = sorted(distributions)
    matrix = correlation_matrix(names, correlations)
    problem = check_correlation(matrix, names)
    if problem:
        raise InputError(problem)
    factor = None if np.array_equal(matrix, np.eye(len(names))) else correlation_factor(matrix)
    column = {name: j for j, name in enumerate(names)}
    rng = np.random.Generator(np.random.PCG64(seed))
    for start in range(0, int(iterations), int(chunk_size)):
        size = min(int(chunk_size), int(iterations) - start)
        z = _correlate(rng.standard_normal((size, len(names))), factor)
        yield {name: _from_standard_normal(spec, z[:, column[name]]) for name, spec in distributions.items()}


# ------------------------------------------------------------------------ streaming summary


def _none_if_nan(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _proportion_se(p: float, n: int) -> float:
    """The Monte Carlo standard error of an estimated probability: sqrt(p(1 − p)/n)."""
    return math.sqrt(p * (1.0 - p) / n)


class RunningSummary:
    """Exact streaming statistics of sampled figures, fed chunk by chunk.

    ``update`` takes an array of shape (n,) (one column) or (n, p) (p columns, e.g. properties).
    Per column it keeps: the count of defined values (NaN and ±inf are *undefined*: counted
    apart and left out of every statistic), the mean and variance (Welford/Chan merge of the
    chunks: each chunk's mean and squared deviations, merged with the running ones — stable for
    any number of chunks), min and max, and for each threshold t the counts below (x < t) and
    above (x > t), so exceedance probabilities are exact. Quantiles come from a reservoir of
    the first ``reservoir`` rows: the samples are iid, so the first R are a uniform random
    sample of the run (precision: see ``RESERVOIR``). With ``iterations`` (the planned total)
    given, the running estimates are also recorded after exactly a quarter and half of them,
    for the convergence note.
    """

    def __init__(self, thresholds: Sequence[float] = (), reservoir: int = RESERVOIR,
                 iterations: int | None = None):
        self.thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        self.reservoir_size = int(reservoir)
        self.rows = 0  # samples seen, defined or not
        self._checkpoints_due = sorted({iterations // 4, iterations // 2} - {0}) if iterations else []
        self.checkpoints: list[dict] = []
        self._columns: int | None = None
        self._kept: list[np.ndarray] = []
        self._kept_rows = 0

    def _start(self, columns: int) -> None:
        self._columns = columns
        self.count = np.zeros(columns, dtype=np.int64)
        self.mean = np.zeros(columns)
        self.m2 = np.zeros(columns)  # sum of squared deviations from the mean
        self.minimum = np.full(columns, np.inf)
        self.maximum = np.full(columns, -np.inf)
        self.below = np.zeros((len(self.thresholds), columns), dtype=np.int64)
        self.above = np.zeros((len(self.thresholds), columns), dtype=np.int64)

    def update(self, values: np.ndarray) -> None:
        """Fold in one chunk of samples: shape (n,) or (n, p), rows are iterations."""
        x = np.asarray(values, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise ValueError(f"a chunk must have shape (n,) or (n, p), got {x.shape}")
        if self._columns is None:
            self._start(x.shape[1])
        elif x.shape[1] != self._columns:
            raise ValueError(f"a chunk must have {self._columns} columns like the first, got {x.shape[1]}")
        # split at a checkpoint so it records the estimate after exactly that many iterations
        while self._checkpoints_due and self.rows + len(x) >= self._checkpoints_due[0]:
            cut = self._checkpoints_due.pop(0) - self.rows
            self._absorb(x[:cut])
            self.checkpoints.append(self._estimate())
            x = x[cut:]
        self._absorb(x)

    def _absorb(self, x: np.ndarray) -> None:
        if len(x) == 0:
            return
        self.rows += len(x)
        defined = np.isfinite(x)
        if defined.all():  # the common case: no masking passes
            n_chunk = np.full(x.shape[1], len(x), dtype=np.int64)
            mean_chunk = x.mean(axis=0)
            deviation = x - mean_chunk
            low, high = x.min(axis=0), x.max(axis=0)
        else:
            x = np.where(defined, x, np.nan)  # comparisons with NaN are False: thresholds skip them
            n_chunk = defined.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_chunk = np.where(defined, x, 0.0).sum(axis=0) / n_chunk
                deviation = np.where(defined, x - mean_chunk, 0.0)
            low = np.where(defined, x, np.inf).min(axis=0)
            high = np.where(defined, x, -np.inf).max(axis=0)
        m2_chunk = np.einsum("ij,ij->j", deviation, deviation)
        # Chan et al.'s pairwise merge of (count, mean, M2)
        n_total = self.count + n_chunk
        has = n_chunk > 0
        delta = np.where(has, mean_chunk - self.mean, 0.0)
        share = np.divide(n_chunk, n_total, out=np.zeros(len(n_total)), where=n_total > 0)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + np.where(has, m2_chunk, 0.0) + delta * delta * self.count * share
        self.count = n_total
        self.minimum = np.minimum(self.minimum, low)
        self.maximum = np.maximum(self.maximum, high)
        for i, t in enumerate(self.thresholds):
            self.below[i] += (x < t).sum(axis=0)
            self.above[i] += (x > t).sum(axis=0)
        if self._kept_rows < self.reservoir_size:
            keep = x[: self.reservoir_size - self._kept_rows].copy()
            self._kept.append(keep)
            self._kept_rows += len(keep)

    def _estimate(self) -> dict:
        """The running estimates now: per column mean and each threshold's P(x < t)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            p_below = self.below / self.count
        return {"iterations": self.rows, "count": self.count.tolist(),
                "mean": [_none_if_nan(m) if c else None for m, c in zip(self.mean, self.count, strict=True)],
                "p_below": [[_none_if_nan(p) for p in row] for row in p_below]}

    def reservoir(self) -> np.ndarray:
        """The kept rows (the first ``reservoir`` samples), shape (r, p); undefined values NaN."""
        if not self._kept:
            return np.empty((0, self._columns or 0))
        if len(self._kept) > 1:
            self._kept = [np.concatenate(self._kept)]
        return self._kept[0]

    def result(self, higher_is_better: bool = True) -> list[dict]:
        """One dict per column: ``count`` (defined values), ``undefined``, ``mean``, ``sd``
        (ddof 1), ``se`` (of the mean, sd/√n), ``min``, ``max``, ``p5``, ``p50``, ``p95``,
        ``var_95``, ``cvar_95``, ``quantile_sample`` (defined values in the reservoir),
        ``thresholds`` (per threshold: ``p_below`` = P(x < t), ``p_above`` = P(x > t), each with
        its Monte Carlo standard error sqrt(p(1 − p)/n)) and ``checkpoints`` (the running
        ``mean`` and ``p_below`` after a quarter, half and all of the iterations). None where a
        figure is undefined (no defined values; sd with fewer than 2).

        VaR and CVaR look at the bad tail: for a higher-is-better figure (DSCR, NOI, IRR) —
        the default — ``var_95`` is the 5th percentile, the level the figure falls below with
        5 % probability, and ``cvar_95`` the mean of the values at or below it (the average of
        the worst 5 %); with ``higher_is_better=False`` (debt service) the 95th percentile and
        the mean at or above it. Both come from the reservoir.
        """
        if self._columns is None:
            return []
        kept = self.reservoir()
        final = self._estimate()
        checkpoints = [*self.checkpoints, final] if not self.checkpoints or \
            self.checkpoints[-1]["iterations"] != self.rows else self.checkpoints
        out = []
        for j in range(self._columns):
            n = int(self.count[j])
            sample = kept[:, j][~np.isnan(kept[:, j])]
            sd = math.sqrt(self.m2[j] / (n - 1)) if n >= 2 else None
            p5, p50, p95 = (np.quantile(sample, [0.05, 0.5, 0.95]).tolist() if len(sample)
                            else (None, None, None))
            column = {
                "count": n, "undefined": self.rows - n,
                "mean": float(self.mean[j]) if n else None, "sd": sd,
                "se": sd / math.sqrt(n) if sd is not None else None,
                "min": float(self.minimum[j]) if n else None, "max": float(self.maximum[j]) if n else None,
                "p5": p5, "p50": p50, "p95": p95,
                "var_95": p5 if higher_is_better else p95,
                "cvar_95": (float((sample[sample <= p5] if higher_is_better else sample[sample >= p95]).mean())
                            if len(sample) else None),
                "quantile_sample": len(sample),
                "thresholds": [self._threshold(i, j, n) for i in range(len(self.thresholds))],
                "checkpoints": [{"iterations": c["iterations"], "count": c["count"][j], "mean": c["mean"][j],
                                 "p_below": [row[j] for row in c["p_below"]]} for c in checkpoints],
            }
            out.append(column)
        return out

    def _threshold(self, i: int, j: int, n: int) -> dict:
        if n == 0:
            return {"threshold": float(self.thresholds[i]), "p_below": None, "se_below": None,
                    "p_above": None, "se_above": None}
        p_below, p_above = self.below[i, j] / n, self.above[i, j] / n
        return {"threshold": float(self.thresholds[i]), "p_below": float(p_below),
                "se_below": _proportion_se(p_below, n), "p_above": float(p_above),
                "se_above": _proportion_se(p_above, n)}


def exceedance(values: np.ndarray, threshold: float, below: bool = True) -> tuple[float, float]:
    """The share of the defined (finite) values strictly below ``threshold`` (or strictly above
    it with ``below=False``) and its Monte Carlo standard error sqrt(p(1 − p)/n); (nan, nan)
    when no value is defined."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    p = float(np.count_nonzero(x < threshold if below else x > threshold) / len(x))
    return p, _proportion_se(p, len(x))


# ----------------------------------------------------------------------------- convergence


def _pct(fraction: float) -> str:
    """A fraction as a percentage with two decimals (two significant digits when tinier)."""
    value = fraction * 100
    return f"{value:.2g} %" if 0 < abs(value) < 0.01 else f"{value:.2f} %"


def _num(value: float) -> str:
    return f"{value:g}"


def convergence_note(result: Mapping, label: str = "the value", below: bool = True,
                     tolerance: float = REL_SE_TOL) -> str:
    """One sentence on whether a column's Monte Carlo estimate has converged, from one dict of
    ``RunningSummary.result()``.

    Converged means: at least ``N_MIN`` iterations, the mean's standard error at most
    ``tolerance`` (1 %) of |mean|, every threshold probability's standard error at most
    ``PROB_SE_TOL`` (0.5 points) and estimated from at least ``RARE_EVENTS`` (10) crossings
    (none at all is reported with its rule-of-three bound, 3/n), and — when the half-run checkpoint exists — the mean after
    half the iterations within ``MOVE_SE_TOL`` (4) standard errors of the final mean (their
    difference has standard error equal to the final SE, so a bigger move means heavy tails
    or samples that are not independent). Otherwise "not converged" with the reasons.
    """
    iterations = result["checkpoints"][-1]["iterations"] if result.get("checkpoints") else result["count"]
    n, mean, se = result["count"], result["mean"], result["se"]
    if iterations < N_MIN:
        return (f"not converged: only {iterations:,} iterations, fewer than the {N_MIN:,} a stable "
                f"estimate needs; run more")
    if n == 0 or mean is None:
        return f"not converged: {label} is undefined in all {iterations:,} iterations"
    se = se or 0.0
    reasons, facts = [], []
    relative_se = se / abs(mean) if mean else (0.0 if se == 0 else math.inf)
    if math.isinf(relative_se):
        reasons.append(f"the mean of {label} is 0 ± {_num(se)}, so its relative error is unbounded")
    else:
        fact = f"the mean's standard error is {_pct(relative_se)} of the mean"
        if relative_se > tolerance:
            needed = math.ceil(n * (relative_se / tolerance) ** 2)
            reasons.append(f"{fact}, more than the {_pct(tolerance)} tolerance (about {needed:,} "
                           f"iterations would bring it there)")
        else:
            facts.append(fact)
    sign = "<" if below else ">"
    for t in result.get("thresholds", ()):
        p, p_se = (t["p_below"], t["se_below"]) if below else (t["p_above"], t["se_above"])
        crossed = round(p * n)
        fact = f"P({label} {sign} {_num(t['threshold'])}) = {_pct(p)} ± {_pct(p_se)} (1 SE)"
        if crossed == 0:  # the SE is 0 then, which says nothing: the rule of three bounds it
            facts.append(f"P({label} {sign} {_num(t['threshold'])}) = 0: none of {n:,} iterations crossed "
                         f"(under {_pct(3 / n)} with 95 % confidence)")
        elif crossed < RARE_EVENTS:
            reasons.append(f"{fact} from only {crossed} iterations that crossed: its relative error is large "
                           f"(about {math.ceil(n * RARE_EVENTS / crossed):,} iterations would give {RARE_EVENTS})")
        elif p_se > PROB_SE_TOL:
            reasons.append(f"{fact}, more than the {_pct(PROB_SE_TOL)} tolerance")
        else:
            facts.append(fact)
    moved = _half_run_move(result)
    if moved is not None:
        half_mean, _ = moved
        change = abs(mean - half_mean)
        fact = (f"the estimate moved {_pct(change / abs(mean))} between the half and the full run" if mean
                else f"the estimate moved {_num(change)} between the half and the full run")
        if change > MOVE_SE_TOL * se:
            reasons.append(f"{fact}, more than {MOVE_SE_TOL:g} standard errors (heavy tails or "
                           f"samples that are not independent)")
        else:
            facts.append(fact)
    head = f"after {iterations:,} iterations"
    if reasons:
        return f"not converged: {head} " + "; ".join(reasons)
    body = " and ".join(f for f in facts if not f.startswith("the estimate moved"))
    tail = [f for f in facts if f.startswith("the estimate moved")]
    return f"converged: {head} {body}" + (f"; {tail[0]}" if tail else "")


def _half_run_move(result: Mapping) -> tuple[float, int] | None:
    """The checkpoint mean after half the iterations (and its iteration count), if recorded."""
    checkpoints = result.get("checkpoints") or []
    if len(checkpoints) < 2:
        return None
    total = checkpoints[-1]["iterations"]
    half = [c for c in checkpoints[:-1] if c["iterations"] == total // 2 and c["mean"] is not None]
    return (half[0]["mean"], half[0]["iterations"]) if half else None


# ----------------------------------------------------------------- reliability of repeat runs


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a success probability from ``successes`` of ``n`` trials:
    (c + z²/2 ± z·sqrt(c(n − c)/n + z²/4)) / (n + z²), z the two-sided normal quantile.
    Unlike the normal-approximation interval it stays in [0, 1] and is not empty at 0 or n.
    (0, 1) for n = 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    z = float(scipy.special.ndtri(1 - (1 - confidence) / 2))
    centre = (successes + z * z / 2) / (n + z * z)
    half_width = z / (n + z * z) * math.sqrt(successes * (n - successes) / n + z * z / 4)
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def pass_hat_k(successes: int, n: int, k: int) -> float:
    """The unbiased estimate of pass^k — the probability that k independent runs all pass —
    from ``successes`` of ``n`` runs: C(c, k) / C(n, k) (tau-bench). Needs 1 <= k <= n."""
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n] = [1, {n}], got {k}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    return math.comb(successes, k) / math.comb(n, k)


def repeat_reliability(successes: int, n: int, confidence: float = 0.95) -> dict:
    """How reliable a repeated run is, from ``successes`` of ``n`` runs: ``pass_rate`` c/n with
    its Wilson ``interval``; ``pass_hat_k`` the unbiased pass^k for k = n (all n runs pass: 1
    if every run passed, else 0 — the estimate at k = n); ``pass_k_interval`` [lo^n, hi^n],
    the Wilson bounds raised to the n-th power (pass^n of a run that passes with probability p
    is p^n)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    low, high = wilson_interval(successes, n, confidence)
    return {"successes": successes, "n": n, "pass_rate": successes / n, "interval": (low, high),
            "confidence": confidence, "k": n, "pass_hat_k": pass_hat_k(successes, n, n),
            "pass_k_interval": (low**n, high**n)}


# ---------------------------------------------------------------------------------- outliers


def robust_z(values: np.ndarray) -> np.ndarray:
    """Iglewicz–Hoaglin modified z-scores: 0.6745 (x − median) / MAD, MAD the median absolute
    deviation from the median (0.6745 MAD estimates σ for a normal sample, so |z| reads like a
    standard z; |z| > ``OUTLIER_Z`` = 3.5 is an outlier). NaNs are ignored and stay NaN.

    When more than half the values are equal (to within ``ZERO_SCALE`` of the median) the MAD is 0: then the mean absolute deviation
    from the median, × 1.2533 (sqrt(π/2), which makes it estimate σ for a normal sample),
    is the scale: z = (x − median) / (1.2533 × MeanAD). If that is 0 too (all values equal)
    every z is 0.
    """
    x = np.asarray(values, dtype=np.float64)
    z = np.full(x.shape, np.nan)
    defined = ~np.isnan(x)
    if not defined.any():
        return z
    finite = x[defined]
    median = np.median(finite)
    deviation = np.abs(finite - median)
    mad = np.median(deviation)
    # Figures equal up to rounding (a cap rate where NOI and value moved together) have a MAD of
    # ~1e-17, not 0: below ZERO_SCALE of the median's size the scale counts as 0.
    zero = ZERO_SCALE * max(abs(median), np.finfo(np.float64).tiny)
    if mad > zero:
        z[defined] = 0.6745 * (finite - median) / mad
    elif (mean_ad := deviation.mean()) > zero:
        z[defined] = (finite - median) / (math.sqrt(math.pi / 2) * mean_ad)
    else:
        z[defined] = 0.0
    return z

