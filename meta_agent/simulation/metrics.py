"""The figures of a scenario, computed from the portfolio under drivers by the calculation tools.

One function, ``evaluate``, serves the three places that need figures without running a
script: Monte Carlo (each driver an array of samples), the tornado (2 × drivers points at
once) and Sobol (thousands of points). It applies the drivers with the same library function
that builds scenario worlds (``meta_agent.portfolio.drivers``) and computes through the same
tools a script calls (``calculate_dscr``, ``calculate_cap_rate``, ``calculate_irr``,
``calculate_npv``), so a fixed scenario's figures here equal the script's (tests pin it).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from meta_agent.portfolio import drivers as drv
from meta_agent.portfolio.drivers import PortfolioBase
from meta_agent.tools.base import CalculationWarning
from meta_agent.tools.calculation import CalculateCapRate, CalculateDSCR, CalculateIRR, CalculateNPV

# Figures Monte Carlo, the tornado and Sobol can compute (a request's other figures still come
# from its script in every fixed scenario run).
SIMULATED_METRICS = ("dscr", "cap_rate", "noi", "debt_service", "irr", "npv")
HIGHER_IS_BETTER = {"dscr": True, "cap_rate": True, "noi": True, "debt_service": False, "irr": True, "npv": True}
CASH_FLOW_METRICS = frozenset({"irr", "npv"})

_DSCR, _CAP, _IRR, _NPV = CalculateDSCR(), CalculateCapRate(), CalculateIRR(), CalculateNPV()


def simulated(metrics: list[str]) -> list[str]:
    """The metrics of ``metrics`` this module computes, in order."""
    return [m for m in metrics if m in SIMULATED_METRICS]


def clip_to_bounds(samples: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Samples clipped to each driver's allowed range (a normal NOI multiplier has a tail below
    0), with the number clipped per driver so the result can say so."""
    out, clipped = {}, {}
    for name, values in samples.items():
        d = drv.DRIVERS[name]
        a = np.asarray(values, dtype=np.float64)
        n = int(np.count_nonzero((a < d.low) | (a > d.high)))
        out[name] = np.clip(a, d.low, d.high) if n else a
        clipped[name] = n
    return out, clipped


def evaluate(base: PortfolioBase, drivers: Mapping[str, Any], metrics: list[str],
             discount_rate: float | None = None) -> dict[str, np.ndarray]:
    """``{metric: values}`` under ``drivers`` (numbers, or 1-D arrays of n samples): values
    have shape ``(p,)`` for scalar drivers, ``(n, p)`` for samples; undefined figures (a
    property without debt has no DSCR) are NaN. Only the parts a metric needs are computed."""
    unknown = [m for m in metrics if m not in SIMULATED_METRICS]
    if unknown:
        raise ValueError(f"cannot simulate {', '.join(unknown)}; simulated metrics: {', '.join(SIMULATED_METRICS)}")
    if "npv" in metrics and discount_rate is None:
        raise ValueError("npv needs a discount rate")
    d = drv.columns(drivers)
    _, _, noi = drv.income_under(base, d)
    debt_service = drv.debt_service_under(base, d)
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalculationWarning)  # NaN is the answer for undefined elements here
        shape = np.broadcast_shapes(np.shape(noi), np.shape(debt_service))  # samples × properties
        for name, values in (("noi", noi), ("debt_service", debt_service)):
            if name in metrics:
                out[name] = np.broadcast_to(values, shape).copy()
        if "dscr" in metrics:
            out["dscr"] = np.asarray(_DSCR.execute(noi=np.asarray(noi), debt_service=np.asarray(debt_service),
                                                   on_undefined="nan"))
        if "cap_rate" in metrics:
            out["cap_rate"] = np.asarray(_CAP.execute(noi=np.asarray(noi),
                                                      property_value=np.asarray(drv.value_under(base, d)),
                                                      on_undefined="nan"))
        if CASH_FLOW_METRICS & set(metrics):
            operating, capital = drv.cash_flows_under(base, d, noi, debt_service)
            amount = operating + capital
            has_flows = base.last_period >= 1
            if "irr" in metrics:
                out["irr"] = np.where(has_flows, np.asarray(_IRR.execute(cashflows=amount, on_undefined="nan")), np.nan)
            if "npv" in metrics:
                out["npv"] = np.where(has_flows, np.asarray(_NPV.execute(rate=discount_rate, cashflows=amount,
                                                                         on_undefined="nan")), np.nan)
    return {m: out[m] for m in metrics}


def portfolio_mean(values: np.ndarray) -> np.ndarray:
    """The portfolio mean of a figure over its properties (last axis), undefined ones left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are NaN
        return np.nanmean(values, axis=-1)


def operating_by_period(base: PortfolioBase, drivers: Mapping[str, Any]) -> np.ndarray:
    """The portfolio's total levered operating cash flow per period under ``drivers`` (the fan
    chart's series): shape ``(T,)`` or ``(n, T)``."""
    d = drv.columns(drivers)
    _, _, noi = drv.income_under(base, d)
    debt_service = drv.debt_service_under(base, d)
    operating, _ = drv.cash_flows_under(base, d, noi, debt_service)
    return operating.sum(axis=-2)
