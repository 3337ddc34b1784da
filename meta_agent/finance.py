"""Vectorized real-estate finance: DSCR, cap rate, ROI, NPV, IRR, lending ratios and loans.

Plain maths on numpy (no meta_agent import): the calculation tools (``meta_agent.tools``) wrap
it with their input validation and undefined-result policy, and the portfolio seed
(``meta_agent.portfolio``) sizes loans with it, so both depend on this module, not on each other.

Every function takes scalars or numpy arrays (anything ``np.asarray`` accepts) and works
element-wise with broadcasting, without a Python loop per element — the simulation runs them
over a million samples. They return ``(values, status)``: ``values`` is a float64 array with
NaN where the result is undefined, ``status`` an int8 array of the same shape holding a code
from ``STATUS`` that says why (``OK`` = 0). The tools in ``calculation.py`` turn that into the
public policy (raise for a single undefined scalar; NaN plus a warning for arrays).

Policy, stated once:

- **Division by zero** and non-positive denominators where the ratio has no meaning
  (debt service, property value, loan amount, investment, income) give NaN with status
  ``ZERO_DENOMINATOR`` or ``NEGATIVE_DENOMINATOR`` — never ``inf`` and never a number.
- **Non-finite inputs** (NaN, ±inf) give NaN with status ``INVALID_INPUT``.
- **NPV** needs ``rate > -1`` (at -100 % the discount factor divides by zero): otherwise
  NaN with ``RATE_OUT_OF_RANGE``.
- **IRR** is the periodic rate ``r > -1`` with ``NPV(r) = 0`` (first cash flow at t = 0,
  the numpy-financial convention). A series whose non-zero flows never change sign has no IRR
  (``NO_SIGN_CHANGE``); one with several sign changes may have none (``NO_REAL_ROOT``) or
  several, in which case the one closest to zero is returned — numpy-financial's choice — and
  flagged ``MULTIPLE_IRR`` (a value, with a warning). ``NOT_CONVERGED`` is reported if no
  method reaches the tolerance (it never silently returns a rough number).

IRR method: series with exactly one sign change have exactly one IRR (Descartes' rule in
``x = 1/(1+r)``); they are solved together by Newton's method on the polynomial
``sum(c_t x^t)`` (Horner's scheme, vectorized over series, compacting the active set),
falling back to bisection on the Cauchy root bracket for the few Newton cannot finish.
Series with two or more sign changes are solved exactly from the eigenvalues of batched
companion matrices (grouped by degree), then polished with Newton.
"""

from __future__ import annotations

import numpy as np

OK = 0
ZERO_DENOMINATOR = 1
NEGATIVE_DENOMINATOR = 2
INVALID_INPUT = 3
RATE_OUT_OF_RANGE = 4
NO_SIGN_CHANGE = 5
NO_REAL_ROOT = 6
MULTIPLE_IRR = 7
NOT_CONVERGED = 8
TOO_FEW_PERIODS = 9

STATUS = {
    OK: "ok",
    ZERO_DENOMINATOR: "zero_denominator",
    NEGATIVE_DENOMINATOR: "negative_denominator",
    INVALID_INPUT: "invalid_input",
    RATE_OUT_OF_RANGE: "rate_out_of_range",
    NO_SIGN_CHANGE: "no_sign_change",
    NO_REAL_ROOT: "no_real_root",
    MULTIPLE_IRR: "multiple_irr",
    NOT_CONVERGED: "not_converged",
    TOO_FEW_PERIODS: "too_few_periods",
}

# Statuses that still carry a usable value (flagged, not undefined).
VALUE_STATUSES = frozenset({OK, MULTIPLE_IRR})

REASONS = {
    ZERO_DENOMINATOR: "division by zero",
    NEGATIVE_DENOMINATOR: "a negative denominator has no meaning for this ratio",
    INVALID_INPUT: "an input is NaN or infinite",
    RATE_OUT_OF_RANGE: "the discount rate must be greater than -100 %",
    NO_SIGN_CHANGE: "the cash flows never change sign, so no rate makes NPV zero",
    NO_REAL_ROOT: "no rate above -100 % makes NPV zero",
    MULTIPLE_IRR: "the cash flows change sign more than once and have several IRRs; the one closest to zero is returned",
    NOT_CONVERGED: "the IRR solver did not converge",
    TOO_FEW_PERIODS: "an IRR needs at least two cash flows",
}


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def ratio(numerator, denominator, *, allow_negative_denominator: bool = False):
    """``numerator / denominator`` element-wise, with the division policy above."""
    num, den = np.broadcast_arrays(_f64(numerator), _f64(denominator))
    status = np.zeros(num.shape, dtype=np.int8)
    status[den == 0] = ZERO_DENOMINATOR
    if not allow_negative_denominator:
        status[den < 0] = NEGATIVE_DENOMINATOR
    status[~(np.isfinite(num) & np.isfinite(den))] = INVALID_INPUT
    out = np.full(num.shape, np.nan)
    ok = status == OK
    np.divide(num, den, out=out, where=ok)
    return out, status


def dscr(noi, debt_service):
    """Debt service coverage ratio: NOI / annual debt service (debt service must be > 0)."""
    return ratio(noi, debt_service)


def cap_rate(noi, property_value):
    """Capitalization rate: NOI / property value (value must be > 0)."""
    return ratio(noi, property_value)


def roi(initial_investment, final_value, income=0.0, years=None):
    """Return on investment: (final value + income - investment) / investment; annualized
    (compound) when ``years`` is given. Investment must be > 0; annualizing a total loss
    below -100 % or over non-positive years is undefined."""
    inv = _f64(initial_investment)
    gain = _f64(final_value) + _f64(income) - inv
    total, status = ratio(gain, inv)
    if years is None:
        return total, status
    yrs = _f64(years)
    total, yrs, status = np.broadcast_arrays(total, yrs, status)
    status = status.copy()
    status[(status == OK) & ~(yrs > 0)] = INVALID_INPUT
    status[(status == OK) & (total <= -1)] = RATE_OUT_OF_RANGE
    out = np.full(total.shape, np.nan)
    ok = status == OK
    out[ok] = np.power(1.0 + total[ok], 1.0 / yrs[ok]) - 1.0
    return out, status


def npv(rate, cashflows):
    """Net present value of ``cashflows`` (last axis = periods, first flow at t = 0) at
    ``rate`` per period. ``rate`` broadcasts against the leading axes of ``cashflows``:
    one series at many rates, many series at one rate, or one rate per series."""
    cf = _f64(cashflows)
    if cf.ndim == 0:
        cf = cf[None]
    r = _f64(rate)
    shape = np.broadcast_shapes(r.shape, cf.shape[:-1])
    r = np.broadcast_to(r, shape)
    status = np.zeros(shape, dtype=np.int8)
    status[~(r > -1)] = RATE_OUT_OF_RANGE
    bad_cf = ~np.isfinite(cf).all(axis=-1)
    status[np.broadcast_to(bad_cf, shape) | ~np.isfinite(r)] = INVALID_INPUT
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = 1.0 / (1.0 + r)
        acc = np.zeros(shape)
        for t in range(cf.shape[-1] - 1, -1, -1):  # Horner over periods, vectorized over series
            acc = acc * v + cf[..., t]
    out = np.where(status == OK, acc, np.nan)
    return out, status


def financial_ratios(noi=None, property_value=None, loan_amount=None, operating_expenses=None,
                     effective_gross_income=None, debt_service=None, potential_gross_income=None):
    """Lending ratios, each computed when its inputs are given. Returns
    ``{name: (values, status)}`` for: ``ltv`` = loan / value, ``debt_yield`` = NOI / loan,
    ``operating_expense_ratio`` = opex / effective gross income, ``break_even_occupancy`` =
    (opex + debt service) / potential gross income, ``dscr`` and ``cap_rate``."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if loan_amount is not None and property_value is not None:
        out["ltv"] = ratio(loan_amount, property_value)
    if noi is not None and loan_amount is not None:
        out["debt_yield"] = ratio(noi, loan_amount)
    if operating_expenses is not None and effective_gross_income is not None:
        out["operating_expense_ratio"] = ratio(operating_expenses, effective_gross_income)
    if operating_expenses is not None and debt_service is not None and potential_gross_income is not None:
        out["break_even_occupancy"] = ratio(_f64(operating_expenses) + _f64(debt_service), potential_gross_income)
    if noi is not None and debt_service is not None:
        out["dscr"] = dscr(noi, debt_service)
    if noi is not None and property_value is not None:
        out["cap_rate"] = cap_rate(noi, property_value)
    return out


RATIO_INPUTS = {
    "ltv": ("loan_amount", "property_value"),
    "debt_yield": ("noi", "loan_amount"),
    "operating_expense_ratio": ("operating_expenses", "effective_gross_income"),
    "break_even_occupancy": ("operating_expenses", "debt_service", "potential_gross_income"),
    "dscr": ("noi", "debt_service"),
    "cap_rate": ("noi", "property_value"),
}


def loan_payment(principal, annual_rate, amortization_years, payments_per_year: int = 12):
    """Annual debt service of a fully amortizing loan (``payments_per_year`` level payments,
    summed over a year); a zero rate amortizes linearly."""
    p, r, n = np.broadcast_arrays(_f64(principal), _f64(annual_rate) / payments_per_year,
                                  _f64(amortization_years) * payments_per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmt = np.where(r == 0, p / n, p * r / (1.0 - np.power(1.0 + r, -n)))
    return pmt * payments_per_year


def loan_balance(principal, annual_rate, amortization_years, years_elapsed, payments_per_year: int = 12):
    """Outstanding balance after ``years_elapsed`` of level payments."""
    p, r, n, k = np.broadcast_arrays(_f64(principal), _f64(annual_rate) / payments_per_year,
                                     _f64(amortization_years) * payments_per_year,
                                     np.minimum(_f64(years_elapsed) * payments_per_year,
                                                _f64(amortization_years) * payments_per_year))
    with np.errstate(divide="ignore", invalid="ignore"):
        grow = np.power(1.0 + r, k)
        bal = np.where(r == 0, p * (1.0 - k / n), p * (np.power(1.0 + r, n) - grow) / (np.power(1.0 + r, n) - 1.0))
    return np.maximum(bal, 0.0)


# --------------------------------------------------------------------------------------- IRR

_NEWTON_ITERS = 60
_BISECT_ITERS = 200
_RTOL = 1e-12


def _horner(c: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(x) and p'(x) for coefficient columns ``c`` of shape (periods, series), index = power."""
    p = np.zeros(x.shape)
    dp = np.zeros(x.shape)
    for t in range(c.shape[0] - 1, -1, -1):
        dp *= x
        dp += p
        p *= x
        p += c[t]
    return p, dp


def _residual(c: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(x) and sum(|c_t| x^t): the residual and the size of the terms it came from."""
    p = np.zeros(x.shape)
    scale = np.zeros(x.shape)
    ax = np.abs(x)
    for t in range(c.shape[0] - 1, -1, -1):
        p = p * x + c[t]
        scale = scale * ax + np.abs(c[t])
    return p, scale


def _sign_changes(cf: np.ndarray) -> np.ndarray:
    """Sign changes between consecutive non-zero flows, per row of ``cf`` (series, periods)."""
    s = np.sign(cf).astype(np.int8)
    changes = (s[:, 1:] * s[:, :-1] < 0).sum(axis=1)
    has_zero = np.nonzero((s == 0).any(axis=1))[0]
    if has_zero.size:  # carry the latest non-zero sign across zeros, only where there are zeros
        sz = s[has_zero]
        idx = np.where(sz != 0, np.arange(cf.shape[1]), -1)
        last = np.maximum.accumulate(idx, axis=1)
        prev = np.concatenate([np.full((sz.shape[0], 1), -1), last[:, :-1]], axis=1)
        prev_sign = np.where(prev >= 0, np.take_along_axis(sz, np.maximum(prev, 0), axis=1), 0)
        changes[has_zero] = (sz * prev_sign < 0).sum(axis=1)
    return changes


def _newton(ct: np.ndarray, x0: np.ndarray, iters: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Newton on each series' polynomial from ``x0``; ``ct`` is (periods, series).
    Returns (x, converged); only the still-active series are iterated."""
    iters = _NEWTON_ITERS if iters is None else iters
    x = x0.astype(np.float64).copy()
    done = np.zeros(x.shape, dtype=bool)
    cols = np.arange(x.shape[0])  # series held in ``ca``
    live = np.ones(cols.shape, dtype=bool)  # which of them are still iterating
    ca = ct
    xa = x.copy()
    with np.errstate(all="ignore"):
        for _ in range(iters):
            p, dp = _horner(ca, xa)
            step = p / dp
            xn = xa - step
            bad = ~np.isfinite(xn) | (xn <= 0)
            conv = live & ~bad & (np.abs(step) <= _RTOL * xn)
            xa = np.where(live & ~bad, xn, xa)
            done[cols[conv]] = True
            live &= ~bad & ~conv
            n_live = np.count_nonzero(live)
            if n_live == 0:
                break
            if n_live < cols.size // 2:  # compact only when it halves the work
                x[cols] = xa
                cols, ca, xa = cols[live], ca[:, live], xa[live]
                live = np.ones(cols.shape, dtype=bool)
        x[cols] = xa
    # a converged x must also make the residual small relative to the size of the terms
    with np.errstate(all="ignore"):
        p, scale = _residual(ct, x)
        done &= np.abs(p) <= 1e-9 * np.maximum(scale, 1e-300)
    return x, done


def _first_last_nonzero(ct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nz = ct != 0
    first = nz.argmax(axis=0)
    last = ct.shape[0] - 1 - nz[::-1].argmax(axis=0)
    return first, last


def _bisect(ct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bisection for series with exactly one positive root, on (0, Cauchy bound]."""
    cols = np.arange(ct.shape[1])
    first, last = _first_last_nonzero(ct)
    hi = 1.0 + np.abs(ct).max(axis=0) / np.abs(ct[last, cols])
    lo = np.zeros(ct.shape[1])
    sign_lo = np.sign(ct[first, cols])  # sign of p just above 0 (lowest non-zero power)
    with np.errstate(all="ignore"):
        for _ in range(_BISECT_ITERS):
            mid = 0.5 * (lo + hi)
            p, _ = _horner(ct, mid)
            same = np.sign(p) == sign_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
            if np.all(hi - lo <= 4 * np.finfo(float).eps * hi):
                break
        x = 0.5 * (lo + hi)
        p, scale = _residual(ct, x)
    ok = (hi - lo <= 1e-10 * hi) | (np.abs(p) <= 1e-9 * scale)
    return x, ok & (x > 0)


def _roots_many(ct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real positive roots for series with several sign changes: batched companion-matrix
    eigenvalues grouped by effective degree, polished by Newton; picks the root whose rate
    is closest to zero. Returns (x or NaN, count of distinct valid roots)."""
    n = ct.shape[1]
    best = np.full(n, np.nan)
    count = np.zeros(n, dtype=np.int64)
    first, last = _first_last_nonzero(ct)
    degree = last - first
    for d in np.unique(degree):
        sel = np.nonzero(degree == d)[0]
        if d == 0:
            continue
        rows = first[sel, None] + np.arange(d + 1)  # (k, d+1) period indices
        a = np.take_along_axis(ct[:, sel].T, rows, axis=1)  # a_0..a_d; a_0 and a_d non-zero
        comp = np.zeros((sel.size, d, d))
        if d > 1:
            comp[:, np.arange(1, d), np.arange(d - 1)] = 1.0
        comp[:, :, -1] = -a[:, :d] / a[:, d:d + 1]
        z = np.linalg.eigvals(comp)  # (k, d)
        cand = np.where((np.abs(z.imag) <= 1e-6 * np.maximum(1.0, np.abs(z))) & (z.real > 0), z.real, np.nan)
        owner = np.repeat(np.arange(sel.size), d)
        flat = cand.ravel()
        valid = np.nonzero(np.isfinite(flat))[0]
        polished = np.full(flat.shape, np.nan)
        if valid.size:
            coeffs = a[owner[valid]].T
            xs, conv = _newton(coeffs, flat[valid], iters=30)
            with np.errstate(all="ignore"):
                p, scale = _residual(coeffs, xs)
            good = (conv | (np.abs(p) <= 1e-8 * scale)) & (xs > 0)
            polished[valid[good]] = xs[good]
        polished = polished.reshape(cand.shape)
        with np.errstate(all="ignore"):
            rates = 1.0 / polished - 1.0
        srt = np.sort(rates, axis=1)  # NaN last
        finite = np.isfinite(srt)
        same = np.abs(np.diff(srt, axis=1)) <= 1e-7 * np.maximum(1.0, np.abs(srt[:, 1:]))
        distinct = finite.sum(axis=1) - (finite[:, 1:] & same).sum(axis=1)
        dist = np.where(np.isfinite(rates), np.abs(rates), np.inf)
        pick = dist.argmin(axis=1)
        chosen = polished[np.arange(sel.size), pick]
        best[sel] = np.where(np.isfinite(dist.min(axis=1)), chosen, np.nan)
        count[sel] = distinct
    return best, count


def irr(cashflows):
    """IRR per series: ``cashflows`` is (periods,) or (..., periods). Returns (rates, status)
    with the leading shape. See the module docstring for the policy."""
    cf = _f64(cashflows)
    if cf.ndim == 0:
        cf = cf[None]
    lead_shape = cf.shape[:-1]
    c = cf.reshape(-1, cf.shape[-1])
    n = c.shape[0]
    rate = np.full(n, np.nan)
    status = np.zeros(n, dtype=np.int8)
    if c.shape[1] < 2:
        status[:] = TOO_FEW_PERIODS
        return rate.reshape(lead_shape), status.reshape(lead_shape)
    finite = np.isfinite(c).all(axis=1)
    status[~finite] = INVALID_INPUT
    if not finite.all():
        c = np.where(finite[:, None], c, 0.0)
    changes = _sign_changes(c)
    status[finite & (changes == 0)] = NO_SIGN_CHANGE

    one = np.nonzero(finite & (changes == 1))[0]
    if one.size:
        ct = np.ascontiguousarray(c[one].T)  # (periods, series): each period a contiguous row
        x, ok = _newton(ct, np.full(one.size, 1.0 / 1.1))
        if not ok.all():
            redo = np.nonzero(~ok)[0]
            xb, okb = _bisect(np.ascontiguousarray(ct[:, redo]))
            x[redo] = xb
            ok[redo] = okb
        with np.errstate(all="ignore"):
            rate[one] = np.where(ok, 1.0 / x - 1.0, np.nan)
        status[one[~ok]] = NOT_CONVERGED

    many = np.nonzero(finite & (changes >= 2))[0]
    if many.size:
        x, count = _roots_many(np.ascontiguousarray(c[many].T))
        with np.errstate(all="ignore"):
            rate[many] = 1.0 / x - 1.0
        status[many] = np.where(np.isnan(x), NO_REAL_ROOT, np.where(count > 1, MULTIPLE_IRR, OK))
    return rate.reshape(lead_shape), status.reshape(lead_shape)


def describe_status(status: np.ndarray) -> dict[str, int]:
    """Counts per status name (only non-OK statuses), for messages and details."""
    counts = status_counts(status)  # bincount, not np.unique: O(n), no sort of a million codes
    return {STATUS[k]: int(v) for k, v in enumerate(counts) if k != OK and v}


def status_counts(status: np.ndarray) -> np.ndarray:
    """How many elements have each status code (index = code)."""
    status = np.asarray(status, dtype=np.int8)
    flagged = status[status != OK]  # usually few: count those, the rest are OK
    counts = np.bincount(flagged.view(np.uint8), minlength=len(STATUS))
    counts[OK] = status.size - flagged.size
    return counts
