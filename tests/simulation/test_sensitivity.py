"""Sensitivity analysis against closed forms: the Ishigami function's analytic Sobol' indices and
a linear model whose swings and variance shares are exact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from meta_agent.simulation import sensitivity

PI = math.pi


# ---------------------------------------------------------------------------------- tornado


def linear(drivers):
    return 10.0 + 2.0 * drivers["a"] - 3.0 * drivers["b"] + 0.5 * drivers["c"]


class Counting:
    """Wraps a model and counts its calls."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, drivers):
        self.calls += 1
        return self.model(drivers)


BASE = {"a": 1.0, "b": 2.0, "c": 4.0}
RANGES = {"a": (0.5, 2.0), "b": (1.9, 2.1), "c": (0.0, 10.0)}


def _expected_rows():
    base_value = 10 + 2 * 1 - 3 * 2 + 0.5 * 4
    coefficient = {"a": 2.0, "b": -3.0, "c": 0.5}
    rows = []
    for name, (low, high) in RANGES.items():
        at_low = base_value + coefficient[name] * (low - BASE[name])
        at_high = base_value + coefficient[name] * (high - BASE[name])
        rows.append({"driver": name, "low": low, "high": high, "value_at_low": at_low,
                     "value_at_high": at_high, "swing": abs(coefficient[name]) * (high - low),
                     "base_value": base_value})
    return sorted(rows, key=lambda r: -r["swing"])


def test_tornado_on_a_linear_model_has_the_exact_swings_in_one_call():
    model = Counting(linear)
    rows = sensitivity.tornado(model, BASE, RANGES)
    assert model.calls == 1  # every point in one vectorized call
    assert [r["driver"] for r in rows] == ["c", "a", "b"]  # swings 5, 3, 0.6
    for got, want in zip(rows, _expected_rows(), strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == (value if key == "driver" else pytest.approx(value, rel=1e-12, abs=1e-12))


def test_tornado_falls_back_to_one_call_per_point_for_a_scalar_model():
    def scalar_only(drivers):
        if drivers["a"] > 100:  # ambiguous for arrays: raises
            return 0.0
        return 10.0 + 2.0 * drivers["a"] - 3.0 * drivers["b"] + 0.5 * math.fsum([drivers["c"]])

    model = Counting(scalar_only)
    rows = sensitivity.tornado(model, BASE, RANGES)
    assert model.calls == 1 + 2 * len(RANGES) + 1  # the failed vectorized try, then each point
    assert [r["swing"] for r in rows] == pytest.approx([r["swing"] for r in _expected_rows()])


def test_tornado_falls_back_when_the_model_aggregates_its_arrays():
    model = Counting(lambda d: float(np.mean(linear(d))))  # returns one number for all points
    rows = sensitivity.tornado(model, BASE, RANGES)
    assert model.calls == 1 + 2 * len(RANGES) + 1
    assert rows[0]["base_value"] == pytest.approx(8.0)


def test_tornado_keeps_undefined_swings_last_and_rejects_unknown_drivers():
    rows = sensitivity.tornado(lambda d: np.where(d["b"] > 2.05, np.nan, linear(d)), BASE, RANGES)
    assert [r["driver"] for r in rows] == ["c", "a", "b"] and math.isnan(rows[-1]["swing"])
    with pytest.raises(ValueError, match="without a base value: z"):
        sensitivity.tornado(linear, BASE, {"z": (0, 1)})


# ------------------------------------------------------------------------------------ Sobol


def ishigami(drivers, a=7.0, b=0.1):
    x1, x2, x3 = drivers["x1"], drivers["x2"], drivers["x3"]
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def ishigami_indices(a=7.0, b=0.1):
    """Analytic Sobol' indices of the Ishigami function with x_i ~ U(−π, π), from its variance
    decomposition: V1 = (1 + bπ⁴/5)²/2, V2 = a²/8, V13 = b²π⁸(1/18 − 1/50), V3 = V12 = V23 = V123 = 0."""
    variance = a**2 / 8 + b * PI**4 / 5 + b**2 * PI**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    assert v1 + v2 + v13 == pytest.approx(variance)  # the decomposition is complete
    return {"x1": (v1 / variance, (v1 + v13) / variance), "x2": (v2 / variance, v2 / variance),
            "x3": (0.0, v13 / variance)}


def test_ishigami_analytic_values_are_the_published_ones():
    published = {"x1": (0.3139, 0.5576), "x2": (0.4424, 0.4424), "x3": (0.0, 0.2437)}
    for name, (first, total) in ishigami_indices().items():
        assert (round(first, 4), round(total, 4)) == published[name]


def test_sobol_recovers_the_ishigami_indices_to_three_decimals():
    uniform = {"dist": "uniform", "low": -PI, "high": PI}
    estimate = sensitivity.sobol(ishigami, {"x1": uniform, "x2": uniform, "x3": uniform}, n=2**18, seed=0)
    for name, (first, total) in ishigami_indices().items():
        assert abs(estimate[name]["first_order"] - first) < 5e-4, (name, estimate[name], first)
        assert abs(estimate[name]["total"] - total) < 5e-4, (name, estimate[name], total)


def test_sobol_of_an_additive_model_is_each_drivers_share_of_the_variance():
    # y = 2a − 3b + 0.5c with independent inputs: S_i = ST_i = c_i² Var(x_i) / Σ c_j² Var(x_j)
    distributions = {"a": {"dist": "normal", "mean": 1.0, "sd": 0.5},
                     "b": {"dist": "uniform", "low": 0.0, "high": 1.0},
                     "c": {"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 4.0}}
    variances = {"a": 0.25, "b": 1 / 12, "c": (0 + 1 + 16 - 0 - 0 - 4) / 18}  # triangular: (a²+b²+c²−ab−ac−bc)/18
    coefficients = {"a": 2.0, "b": -3.0, "c": 0.5}
    explained = {k: coefficients[k] ** 2 * variances[k] for k in variances}
    total = sum(explained.values())
    estimate = sensitivity.sobol(linear, distributions, n=2**16, seed=3)
    for name in distributions:
        assert estimate[name]["first_order"] == pytest.approx(explained[name] / total, abs=2e-3)
        assert estimate[name]["total"] == pytest.approx(explained[name] / total, abs=2e-3)


def test_sobol_needs_a_power_of_two_and_valid_distributions():
    uniform = {"dist": "uniform", "low": 0, "high": 1}
    with pytest.raises(ValueError, match="power of 2"):
        sensitivity.sobol(linear, {"a": uniform, "b": uniform, "c": uniform}, n=1000)
    with pytest.raises(ValueError, match="driver a: sd must be >= 0"):
        sensitivity.sobol(linear, {"a": {"dist": "normal", "mean": 0, "sd": -1}, "b": uniform, "c": uniform})
