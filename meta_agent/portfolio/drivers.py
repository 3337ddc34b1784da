"""Scenario drivers: what a scenario may change in the portfolio, and the one function that
changes it.

Every scenario run — a fixed scenario re-running a request's script, a Monte Carlo sample, a
plain-English assumption in a request — goes through ``apply`` before any tool computes, so
every script sees the same world. ``apply`` works on numbers and on numpy arrays alike: a
driver given as an array of ``n`` samples (shape ``(n, 1)``) broadcasts against the
properties (shape ``(p,)``), which is how Monte Carlo stays vectorized.

The drivers (neutral value in brackets):

- ``noi_multiplier`` [1]: × NOI;
- ``income_multiplier`` [1]: × effective gross income (EGI);
- ``expense_multiplier`` [1]: × operating expenses (opex);
  NOI' = (EGI × income_multiplier − opex × expense_multiplier) × noi_multiplier, from the
  latest financial year;
- ``interest_rate_shift_bps`` [0]: floating-rate loans reprice — annual debt service =
  12 × the monthly payment of the loan's principal at (rate + shift) over its amortization
  years (the seeded formula, ``finance.loan_payment``); fixed loans keep theirs;
- ``value_multiplier`` [1]: × current value (cap rate, LTV);
- ``exit_value_multiplier`` [1]: × the net sale proceeds at the end of the cash-flow series;
- ``market_growth`` [0]: yearly growth applied to the operating cash flows after period 0
  (period t × (1 + g)^t) and to the exit value (× (1 + g)^T), for IRR and NPV.

The cash-flow series also carries the change in the latest year's levered cash flow: each
operating cash flow after period 0 moves by ΔNOI − Δdebt service (a 20 % NOI cut lowers the
IRR too, as an analyst expects), before growth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from meta_agent import finance


@dataclass(frozen=True)
class Driver:
    name: str
    neutral: float  # the value that changes nothing
    unit: str  # "x" multiplier, "bp" basis points, "/yr" fraction per year
    low: float  # the smallest value a scenario may set (inclusive)
    high: float  # the largest (inclusive)
    description: str
    example: str  # a phrase as an analyst would say it

    def describe(self, value: float) -> str:
        """The driver at ``value`` in words: ``NOI × 0.8 (−20 %)``, ``rates +200 bp``."""
        if self.unit == "bp":
            return f"{self.label} {value:+,.0f} bp"
        if self.unit == "/yr":
            return f"{self.label} {value * 100:+.1f} %/yr"
        return f"{self.label} × {value:g} ({(value - 1) * 100:+.0f} %)"

    @property
    def label(self) -> str:
        return LABELS[self.name]


LABELS = {
    "noi_multiplier": "NOI", "income_multiplier": "income (EGI)", "expense_multiplier": "operating expenses",
    "interest_rate_shift_bps": "floating rates", "value_multiplier": "property value",
    "exit_value_multiplier": "exit value", "market_growth": "market growth",
}

DRIVERS: dict[str, Driver] = {d.name: d for d in (
    Driver("noi_multiplier", 1.0, "x", 0.0, 10.0, "× net operating income (after the income and expense drivers)",
           "NOI falls 20 % → 0.8"),
    Driver("income_multiplier", 1.0, "x", 0.0, 10.0, "× effective gross income", "income down 10 % → 0.9"),
    Driver("expense_multiplier", 1.0, "x", 0.0, 10.0, "× operating expenses", "expenses up 15 % → 1.15"),
    Driver("interest_rate_shift_bps", 0.0, "bp", -1000.0, 5000.0,
           "basis points added to floating-rate loans' interest rate (fixed loans keep theirs)",
           "rates rise 200 bp → 200"),
    Driver("value_multiplier", 1.0, "x", 0.0, 10.0, "× current property value", "values fall 15 % → 0.85"),
    Driver("exit_value_multiplier", 1.0, "x", 0.0, 10.0, "× net sale proceeds at the end of the hold",
           "a 10 % haircut on the exit value → 0.9"),
    Driver("market_growth", 0.0, "/yr", -0.5, 0.5,
           "yearly growth of operating cash flows after period 0 and of the exit value",
           "markets shrink 5 % a year → -0.05"),
)}

NEUTRAL: dict[str, float] = {name: d.neutral for name, d in DRIVERS.items()}


def describe(drivers: Mapping[str, float]) -> str:
    """A scenario's fixed drivers in words, neutral ones left out: ``NOI × 0.8 (−20 %); floating
    rates +200 bp``; ``the base case`` when nothing changes."""
    parts = [DRIVERS[k].describe(float(v)) for k, v in drivers.items() if float(v) != DRIVERS[k].neutral]
    return "; ".join(parts) or "the base case"


@dataclass
class PortfolioBase:
    """The figures drivers act on, one entry per property (order of ``property_ids``), from the
    latest financial year; cash flows as a zero-padded matrix (properties × periods)."""

    property_ids: list[str]
    year: np.ndarray  # latest financial year per property
    egi: np.ndarray
    opex: np.ndarray
    noi: np.ndarray
    debt_service: np.ndarray  # the latest year's, as stored
    value: np.ndarray
    # loans (one row per loan), with the index of their property
    loan_property: np.ndarray
    loan_principal: np.ndarray
    loan_rate: np.ndarray
    loan_amortization: np.ndarray
    loan_floating: np.ndarray  # bool
    loan_debt_service: np.ndarray
    operating: np.ndarray  # (p, T) levered operating cash flow per period, 0 past the end
    capital: np.ndarray  # (p, T) -equity at period 0, net sale proceeds at the last period
    last_period: np.ndarray  # (p,) index of each property's last period (-1: no cash flows)

    @property
    def periods(self) -> int:
        return self.operating.shape[1]


@dataclass
class Applied:
    """The world under a set of drivers: the same shapes as ``PortfolioBase`` with a leading
    sample axis when a driver was an array."""

    egi: Any
    opex: Any
    noi: Any
    debt_service: Any
    value: Any
    loan_debt_service: Any
    operating: Any  # (..., p, T)
    capital: Any  # (..., p, T)

    @property
    def amount(self) -> Any:
        """Equity cash flow per period (operating + capital): the series IRR and NPV read."""
        return self.operating + self.capital


def check(drivers: Mapping[str, Any]) -> dict[str, Any]:
    """The drivers with every unset one at its neutral value; an unknown name or a value out of
    range is a ``ValueError`` naming it and the allowed range."""
    out = dict(NEUTRAL)
    for name, value in drivers.items():
        if name not in DRIVERS:
            raise ValueError(f"unknown driver {name!r}; the drivers are: {', '.join(DRIVERS)}")
        d = DRIVERS[name]
        arr = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr < d.low) or np.any(arr > d.high):
            raise ValueError(f"{name} must be a finite number between {d.low:g} and {d.high:g}")
        out[name] = value
    return out


def _col(v: Any) -> Any:
    """A driver as a column against the property axis: scalars stay, 1-D samples become (n, 1)."""
    a = np.asarray(v, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.reshape(-1, 1)


def income_under(base: PortfolioBase, d: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(EGI, opex, NOI) under checked drivers ``d`` (columns from ``_col``)."""
    egi = base.egi * d["income_multiplier"]
    opex = base.opex * d["expense_multiplier"]
    return egi, opex, (egi - opex) * d["noi_multiplier"]  # the seeded data has NOI = EGI - opex exactly


def _repriced_change(base: PortfolioBase, d: Mapping[str, Any]) -> Any:
    """Each floating loan's change in annual debt service at rate + shift (floored at 0 %)."""
    floating = base.loan_floating
    repriced = finance.loan_payment(base.loan_principal[floating],
                                    np.maximum(base.loan_rate[floating] + d["interest_rate_shift_bps"] / 10_000.0, 0.0),
                                    base.loan_amortization[floating])
    return repriced - base.loan_debt_service[floating]  # (..., floating loans)


def debt_service_under(base: PortfolioBase, d: Mapping[str, Any]) -> Any:
    """Each property's annual debt service under ``d``: floating loans reprice at rate + shift,
    fixed loans keep theirs (a property may have several loans: their changes add up)."""
    shift = d["interest_rate_shift_bps"]
    if np.ndim(shift) == 0 and shift == 0:
        return base.debt_service
    change = _repriced_change(base, d)
    owners = base.loan_property[base.loan_floating]
    if np.ndim(change) == 1:
        return base.debt_service + np.bincount(owners, weights=change, minlength=len(base.property_ids))
    out = np.repeat(base.debt_service[None, :], change.shape[0], axis=0)
    if len(np.unique(owners)) == len(owners):  # one floating loan per property: add in place
        out[:, owners] += change
    else:
        np.add.at(out, (slice(None), owners), change)
    return out


def debt_under(base: PortfolioBase, d: Mapping[str, Any]) -> tuple[Any, Any]:
    """(each loan's annual debt service, each property's debt service) under ``d``."""
    loan_ds = base.loan_debt_service.astype(np.float64)
    shift = d["interest_rate_shift_bps"]
    if not (np.ndim(shift) == 0 and shift == 0):
        change = _repriced_change(base, d)
        loan_ds = np.broadcast_to(loan_ds, np.shape(change)[:-1] + loan_ds.shape).copy()
        loan_ds[..., base.loan_floating] += change
    return loan_ds, debt_service_under(base, d)


def value_under(base: PortfolioBase, d: Mapping[str, Any]) -> Any:
    return base.value * d["value_multiplier"]


def cash_flows_under(base: PortfolioBase, d: Mapping[str, Any], noi: Any, debt_service: Any) -> tuple[Any, Any]:
    """(operating, capital) per property and period under ``d``, given the NOI and debt
    service under the same drivers: operating flows after period 0 move by the change in the
    latest year's levered cash flow and grow by (1 + g)^t; the exit proceeds are scaled by the
    exit multiplier and (1 + g)^T."""
    periods = np.arange(base.periods)
    g = d["market_growth"]
    growth = (1.0 + (g if np.ndim(g) == 0 else g[..., None])) ** periods  # (T,) or (n, 1, T)
    alive = periods[None, :] <= base.last_period[:, None]  # (p, T)
    after_start = alive & (periods[None, :] >= 1)
    levered_change = np.nan_to_num((noi - base.noi) - (debt_service - base.debt_service))  # (..., p)
    operating = np.where(after_start, (base.operating + levered_change[..., None]) * growth, base.operating)
    is_exit = (periods[None, :] == base.last_period[:, None]) & (base.last_period[:, None] >= 1)
    m = d["exit_value_multiplier"]
    capital = np.where(is_exit, base.capital * (m if np.ndim(m) == 0 else m[..., None]) * growth, base.capital)
    return operating, capital


def columns(drivers: Mapping[str, Any]) -> dict[str, Any]:
    """The drivers checked, every unset one neutral, samples as (n, 1) columns."""
    return {k: _col(v) for k, v in check(drivers).items()}


def apply(base: PortfolioBase, drivers: Mapping[str, Any]) -> Applied:
    """The portfolio under ``drivers`` (names from ``DRIVERS``; unset ones neutral). Each driver
    is a number or a 1-D array of samples; the results get a leading sample axis then.
    Monte Carlo calls the parts it needs (``income_under``, ``debt_under``...) directly."""
    d = columns(drivers)
    egi, opex, noi = income_under(base, d)
    loan_ds, debt_service = debt_under(base, d)
    operating, capital = cash_flows_under(base, d, noi, debt_service)
    return Applied(egi=egi, opex=opex, noi=noi, debt_service=debt_service, value=value_under(base, d),
                   loan_debt_service=loan_ds, operating=operating, capital=capital)
