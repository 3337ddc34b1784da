"""Calculation tools: DSCR, cap rate, IRR, NPV, ROI, lending ratios, loan payment.

Each takes numbers, lists or numpy arrays (broadcasting like numpy) and returns the same
kind: a float for scalars, a list for lists, an ndarray for arrays. The maths is in
``meta_agent.finance`` (vectorized; no Python loop per element).

Undefined results (policy, see ``meta_agent.finance`` for the cases):

- ``on_undefined="auto"`` (default): a single scalar result that is undefined raises
  ``CalculationError`` with the reason; in a list or array the undefined elements are NaN
  and one ``CalculationWarning`` says how many and why.
- ``"raise"``: any undefined element raises ``CalculationError``.
- ``"nan"``: never raises; NaN plus the warning.
- ``details=True`` returns ``{"value", "status", "undefined", "reasons"}`` so a caller can see
  per element why (``status``: names for scalars/lists, int8 codes for arrays — see
  ``finance.STATUS``).

A flagged-but-defined value (``multiple_irr``) is returned with a warning, never raised.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from meta_agent import finance
from meta_agent.tools.base import (
    NUMBER_OR_ARRAY,
    BaseTool,
    CalculationError,
    CalculationWarning,
    ToolInputError,
)

_POLICY = {
    "type": "string",
    "enum": ["auto", "raise", "nan"],
    "default": "auto",
    "description": "undefined results: auto = raise for a scalar, NaN + warning for arrays; raise; nan",
}
_DETAILS = {"type": "boolean", "default": False,
            "description": "return {value, status, undefined, reasons} instead of the bare value"}


def _num(description: str) -> dict[str, Any]:
    return {**NUMBER_OR_ARRAY, "description": description}


def _kind(*values: Any) -> str:
    kinds = {"scalar"}
    for v in values:
        if v is None or isinstance(v, int | float | np.number):
            continue
        if isinstance(v, list | tuple):
            kinds.add("list")
        else:
            kinds.add("array")
    return "array" if "array" in kinds else "list" if "list" in kinds else "scalar"


def _convert(values: np.ndarray, kind: str) -> Any:
    if values.ndim == 0:
        return float(values)
    if kind == "list":
        return values.tolist()
    return values


def _status_out(status: np.ndarray, kind: str) -> Any:
    if status.ndim == 0:
        return finance.STATUS[int(status)]
    if kind == "list":
        names = np.array([finance.STATUS[k] for k in range(len(finance.STATUS))], dtype=object)
        return names[status].tolist()
    return status


def finish(tool: str, values: np.ndarray, status: np.ndarray, kind: str, on_undefined: str = "auto",
           details: bool = False, what: str | None = None) -> Any:
    """Apply the undefined-result policy to a (values, status) pair from ``finance``."""
    values = np.asarray(values)
    status = np.asarray(status)
    counts = finance.status_counts(status)
    n_undef = int(status.size - sum(counts[k] for k in finance.VALUE_STATUSES))
    n_flagged = int(counts[finance.MULTIPLE_IRR])
    reasons = finance.describe_status(status)
    label = what or tool
    if n_undef:
        mode = on_undefined if on_undefined != "auto" else ("raise" if status.ndim == 0 else "nan")
        text = "; ".join(f"{finance.REASONS[_code(k)]} ({v}×)" if status.ndim else finance.REASONS[_code(k)]
                         for k, v in reasons.items() if _code(k) not in finance.VALUE_STATUSES)
        if mode == "raise":
            where = "" if status.ndim == 0 else f" for {n_undef:,} of {status.size:,} elements"
            raise CalculationError(f"{label} is undefined{where}: {text}.")
        warnings.warn(CalculationWarning(f"{label}: {n_undef:,} of {status.size:,} results are NaN: {text}."),
                      stacklevel=3)
    if n_flagged:
        warnings.warn(CalculationWarning(
            f"{label}: {n_flagged:,} of {status.size:,} series {finance.REASONS[finance.MULTIPLE_IRR]}."),
            stacklevel=3)
    out = _convert(values, kind)
    if details:
        return {"value": out, "status": _status_out(status, kind), "undefined": n_undef, "reasons": reasons}
    return out


def pad_ragged(cashflows: Any) -> Any:
    """A list of cash-flow series of different lengths as a 2-D array padded with trailing
    zeros (which change neither NPV nor IRR); anything else unchanged."""
    if isinstance(cashflows, list | tuple) and cashflows and all(isinstance(r, list | tuple) for r in cashflows):
        lengths = {len(r) for r in cashflows}
        if len(lengths) > 1:
            width = max(lengths)
            try:
                return [list(map(float, r)) + [0.0] * (width - len(r)) for r in cashflows]
            except (TypeError, ValueError):
                return cashflows  # validation reports the bad element
    return cashflows


def _code(name: str) -> int:
    return next(k for k, v in finance.STATUS.items() if v == name)


class _CalcTool(BaseTool):
    category = "calculation"

    def _run(self, values, status, *inputs, on_undefined="auto", details=False, what=None):
        return finish(self.name, values, status, _kind(*inputs), on_undefined, details, what)


class CalculateDSCR(_CalcTool):
    name = "calculate_dscr"
    description = ("Debt service coverage ratio (DSCR) = net operating income / annual debt service, "
                   "for one property or many (scalars or arrays).")
    keywords = ("dscr", "debt service coverage", "coverage ratio", "loan covenant", "noi")
    parameters = {
        "type": "object",
        "properties": {
            "noi": _num("net operating income per year"),
            "debt_service": _num("annual debt service (principal + interest); must be > 0"),
            "on_undefined": _POLICY,
            "details": _DETAILS,
        },
        "required": ["noi", "debt_service"],
        "additionalProperties": False,
    }
    returns = {"type": ["number", "array"], "description": "DSCR (x), same shape as the inputs"}
    array_params = {"noi": 8, "debt_service": 8}

    def execute(self, noi, debt_service, on_undefined="auto", details=False):
        v, s = finance.dscr(noi, debt_service)
        return self._run(v, s, noi, debt_service, on_undefined=on_undefined, details=details, what="DSCR")


class CalculateCapRate(_CalcTool):
    name = "calculate_cap_rate"
    description = "Capitalization rate = net operating income / property value (a fraction, 0.065 = 6.5 %)."
    keywords = ("cap rate", "capitalization", "yield", "valuation", "noi")
    parameters = {
        "type": "object",
        "properties": {
            "noi": _num("net operating income per year"),
            "property_value": _num("property value or price; must be > 0"),
            "on_undefined": _POLICY,
            "details": _DETAILS,
        },
        "required": ["noi", "property_value"],
        "additionalProperties": False,
    }
    returns = {"type": ["number", "array"], "description": "cap rate as a fraction"}
    array_params = {"noi": 8, "property_value": 8}

    def execute(self, noi, property_value, on_undefined="auto", details=False):
        v, s = finance.cap_rate(noi, property_value)
        return self._run(v, s, noi, property_value, on_undefined=on_undefined, details=details, what="cap rate")


class CalculateROI(_CalcTool):
    name = "calculate_roi"
    description = ("Return on investment = (final value + income received - initial investment) / "
                   "initial investment; annualized (compound) when years is given.")
    keywords = ("roi", "return on investment", "return", "gain", "profit", "annualized return")
    parameters = {
        "type": "object",
        "properties": {
            "initial_investment": _num("amount invested (equity or price); must be > 0"),
            "final_value": _num("value at the end (sale price or current value)"),
            "income": _num("cash income received over the holding period (default 0)"),
            "years": _num("holding period in years; when given the ROI is annualized"),
            "on_undefined": _POLICY,
            "details": _DETAILS,
        },
        "required": ["initial_investment", "final_value"],
        "additionalProperties": False,
    }
    returns = {"type": ["number", "array"], "description": "ROI as a fraction (total, or per year)"}
    array_params = {"initial_investment": 8, "final_value": 8, "income": 8, "years": 8}

    def execute(self, initial_investment, final_value, income=0.0, years=None, on_undefined="auto", details=False):
        v, s = finance.roi(initial_investment, final_value, 0.0 if income is None else income, years)
        return self._run(v, s, initial_investment, final_value, income, years,
                         on_undefined=on_undefined, details=details, what="ROI")


class CalculateNPV(_CalcTool):
    name = "calculate_npv"
    description = ("Net present value of a cash-flow series at a discount rate per period (first flow at "
                   "t = 0, undiscounted). Many series (rows) and/or many rates at once.")
    keywords = ("npv", "net present value", "discount", "discounted cash flow", "dcf", "present value")
    parameters = {
        "type": "object",
        "properties": {
            "rate": _num("discount rate per period as a fraction (0.08 = 8 %); must be > -1"),
            "cashflows": _num("cash flows per period, or one row per series (2-D; ragged rows padded with zeros)"),
            "on_undefined": _POLICY,
            "details": _DETAILS,
        },
        "required": ["rate", "cashflows"],
        "additionalProperties": False,
    }
    returns = {"type": ["number", "array"], "description": "NPV per series (and rate)"}
    array_params = {"rate": 8, "cashflows": 8}

    def prepare_for_validation(self, kwargs):
        cf = kwargs.get("cashflows")
        if isinstance(cf, int | float):
            raise ToolInputError(self.name, ["cashflows: must be a list or array of cash flows, not a single number"])
        if "cashflows" in kwargs:
            kwargs["cashflows"] = pad_ragged(kwargs["cashflows"])
        return kwargs

    def execute(self, rate, cashflows, on_undefined="auto", details=False):
        cashflows = pad_ragged(cashflows)
        v, s = finance.npv(rate, cashflows)
        return self._run(v, s, rate, cashflows, on_undefined=on_undefined, details=details, what="NPV")


class CalculateIRR(_CalcTool):
    name = "calculate_irr"
    description = ("Internal rate of return of a cash-flow series (the rate making NPV zero; first flow at "
                   "t = 0), or of many series at once (one row each).")
    keywords = ("irr", "internal rate of return", "rate of return", "yield", "cash flow", "equity return")
    parameters = {
        "type": "object",
        "properties": {
            "cashflows": _num("cash flows per period (at least two), or one row per series (2-D; rows of different "
                              "lengths are padded with trailing zeros, which change nothing)"),
            "on_undefined": _POLICY,
            "details": _DETAILS,
        },
        "required": ["cashflows"],
        "additionalProperties": False,
    }
    returns = {"type": ["number", "array"], "description": "IRR per period as a fraction, one per series"}
    array_params = {"cashflows": 8}

    def prepare_for_validation(self, kwargs):
        if isinstance(kwargs.get("cashflows"), int | float):
            raise ToolInputError(self.name, ["cashflows: must be a list or array of cash flows, not a single number"])
        if "cashflows" in kwargs:
            kwargs["cashflows"] = pad_ragged(kwargs["cashflows"])
        return kwargs

    def execute(self, cashflows, on_undefined="auto", details=False):
        cashflows = pad_ragged(cashflows)
        v, s = finance.irr(cashflows)
        return self._run(v, s, cashflows, on_undefined=on_undefined, details=details, what="IRR")


class FinancialRatios(_CalcTool):
    name = "financial_ratios"
    description = ("Lending ratios: loan-to-value (LTV), debt yield, operating expense ratio, break-even "
                   "occupancy, plus DSCR and cap rate — each computed when its inputs are given.")
    keywords = ("ltv", "loan to value", "debt yield", "operating expense ratio", "oer", "expense ratio",
                "break even occupancy", "breakeven", "ratios", "underwriting", "leverage")
    _inputs = {
        "noi": "net operating income per year",
        "property_value": "property value",
        "loan_amount": "outstanding loan balance",
        "operating_expenses": "operating expenses per year",
        "effective_gross_income": "effective gross income (after vacancy) per year",
        "debt_service": "annual debt service",
        "potential_gross_income": "potential gross income at 100 % occupancy per year",
    }
    parameters = {
        "type": "object",
        "properties": {**{k: _num(v) for k, v in _inputs.items()}, "on_undefined": _POLICY, "details": _DETAILS},
        "additionalProperties": False,
    }
    returns = {"type": "object", "description": "{ratio name: value(s)} for every ratio its inputs allow"}
    array_params = dict.fromkeys(_inputs, 8)

    def prepare_for_validation(self, kwargs):
        given = {k for k in self._inputs if kwargs.get(k) is not None}
        if not any(set(need) <= given for need in finance.RATIO_INPUTS.values()):
            needs = "; ".join(f"{r}: {', '.join(n)}" for r, n in finance.RATIO_INPUTS.items())
            raise ToolInputError(self.name, [f"inputs: not enough to compute any ratio (each needs — {needs})"])
        return kwargs

    def execute(self, on_undefined="auto", details=False, **inputs):
        results = finance.financial_ratios(**inputs)
        kind = _kind(*inputs.values())
        return {name: finish(self.name, v, s, kind, on_undefined, details, what=name)
                for name, (v, s) in results.items()}


class CalculateLoanPayment(_CalcTool):
    name = "calculate_loan_payment"
    description = ("Annual debt service of a fully amortizing loan from principal, annual interest rate and "
                   "amortization period (monthly payments, summed per year).")
    keywords = ("debt service", "mortgage payment", "loan payment", "amortization", "pmt", "annual payment")
    parameters = {
        "type": "object",
        "properties": {
            "principal": _num("loan principal"),
            "annual_rate": _num("annual interest rate as a fraction (0.055 = 5.5 %); >= 0"),
            "amortization_years": _num("amortization period in years; > 0"),
            "on_undefined": _POLICY,
            "details": _DETAILS,
        },
        "required": ["principal", "annual_rate", "amortization_years"],
        "additionalProperties": False,
    }
    returns = {"type": ["number", "array"], "description": "annual debt service"}
    array_params = {"principal": 8, "annual_rate": 8, "amortization_years": 8}

    def execute(self, principal, annual_rate, amortization_years, on_undefined="auto", details=False):
        p, r, n = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                        for x in (principal, annual_rate, amortization_years)))
        status = np.zeros(p.shape, dtype=np.int8)
        status[~(n > 0) | ~(r >= 0) | ~(r < 1)] = finance.INVALID_INPUT
        status[~(np.isfinite(p) & np.isfinite(r) & np.isfinite(n))] = finance.INVALID_INPUT
        ok = status == finance.OK
        values = np.full(p.shape, np.nan)
        values[ok] = finance.loan_payment(p[ok], r[ok], n[ok])
        return self._run(values, status, principal, annual_rate, amortization_years,
                         on_undefined=on_undefined, details=details, what="loan payment")


CALCULATION_TOOLS: tuple[type[BaseTool], ...] = (
    CalculateDSCR, CalculateCapRate, CalculateIRR, CalculateNPV, CalculateROI, FinancialRatios,
    CalculateLoanPayment,
)
