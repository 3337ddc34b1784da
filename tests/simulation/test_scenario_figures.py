"""Scenario figures against an independent computation.

The expected DSCR, cap rate, NOI, debt service, IRR and NPV of every property under a fixed
scenario are computed here from the *original* portfolio database, read with plain sqlite3,
with numpy and numpy_financial and the driver definitions of ``meta_agent.portfolio.drivers``'s
docstring — never with the code under test:

- NOI' = (EGI × income_multiplier − opex × expense_multiplier) × noi_multiplier (latest year);
- debt service' = Σ fixed loans' stored annual debt service + Σ floating loans'
  12 × −npf.pmt((rate + shift / 10 000) / 12, amortization × 12, principal) (with no shift, the
  neutral value, nothing reprices);
- value' = current value × value_multiplier;
- the cash flows: period 0 as stored; each later operating flow (op_t + ΔNOI − Δdebt service)
  × (1 + g)^t; the net sale proceeds at the last period T × exit_value_multiplier × (1 + g)^T;
- IRR = npf.irr of the equity series, NPV = npf.npv at 8 % (first flow undiscounted).

They are compared with the figures read back from the SQLite world ``write_world`` builds and
with ``metrics.evaluate``; Monte Carlo is checked against closed forms (a normal NOI multiplier
makes DSCR normal) and a one-dimensional quadrature of the Gaussian copula.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest
import scipy.integrate
import scipy.stats

from meta_agent import portfolio
from meta_agent.portfolio import db as pdb
from meta_agent.portfolio.worlds import load_base, write_world
from meta_agent.simulation import metrics, montecarlo

DISCOUNT_RATE = 0.08
REL = 1e-9  # DSCR, cap rate, NOI, debt service, NPV, cash flows
IRR_ABS = 1e-6
FLOAT_REL = 1e-6  # neutral world vs the original, column by column

SCENARIOS = {
    "pessimistic": {"noi_multiplier": 0.8, "market_growth": -0.05},
    "rate_shock": {"interest_rate_shift_bps": 300},
    "recession": {"noi_multiplier": 0.85, "value_multiplier": 0.85, "interest_rate_shift_bps": 150,
                  "market_growth": -0.03, "exit_value_multiplier": 0.9},
    "income_expense": {"income_multiplier": 0.9, "expense_multiplier": 1.1},
}
ALL_METRICS = ["dscr", "cap_rate", "noi", "debt_service", "irr", "npv"]


# --------------------------------------------------------------------------- the databases


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """The default portfolio (25 properties, seed 42) in a SQLite file."""
    path = tmp_path_factory.mktemp("figures") / "portfolio.db"
    portfolio.seed_database(_url(path), 25, 42)
    pdb.dispose(_url(path))
    return path


@pytest.fixture(scope="module")
def edge(seeded: Path, tmp_path_factory) -> Path:
    """The seeded portfolio with the cases it lacks: P-014 keeps only its period-0 cash flow,
    P-023 has no cash flows at all, P-001 gets a second (floating) loan beside its fixed one and
    P-005 a second (fixed) loan beside its floating one — the latest year's debt service
    staying the sum of the property's loans, as in the seed."""
    path = tmp_path_factory.mktemp("edge") / "portfolio.db"
    shutil.copy(seeded, path)
    con = sqlite3.connect(path)
    with con:
        con.execute("DELETE FROM cash_flows WHERE property_id = 'P-014' AND period > 0")
        con.execute("DELETE FROM cash_flows WHERE property_id = 'P-023'")
        extra = [("L-901", "P-001", "floating", 4_000_000.0, 0.0625, 25),
                 ("L-902", "P-005", "fixed", 6_500_000.0, 0.0541, 30)]
        for loan_id, pid, kind, principal, rate, amort in extra:
            ds = round(12 * -float(npf.pmt(rate / 12, amort * 12, principal)), 2)
            con.execute(
                "INSERT INTO loans (loan_id, property_id, lender, loan_type, principal, interest_rate, term_years,"
                " amortization_years, origination_date, maturity_date, annual_debt_service, outstanding_balance)"
                " VALUES (?, ?, 'Test Bank', ?, ?, ?, 10, ?, '2020-01-01', '2030-01-01', ?, ?)",
                (loan_id, pid, kind, principal, rate, amort, ds, principal * 0.9))
            con.execute("UPDATE financials SET debt_service = debt_service + ?, cash_flow = cash_flow - ?"
                        " WHERE property_id = ? AND year = (SELECT MAX(year) FROM financials WHERE property_id = ?)",
                        (ds, ds, pid, pid))
    con.close()
    return path


DATABASES = ["seeded", "edge"]


# ------------------------------------------------------------------- plain SQL, plain numpy


@dataclass
class Loan:
    loan_type: str
    principal: float
    rate: float
    amortization_years: int
    annual_debt_service: float


@dataclass
class Prop:
    pid: str
    value: float
    egi: float = math.nan
    opex: float = math.nan
    noi: float = math.nan
    debt_service: float = math.nan
    capex: float = math.nan
    loans: list[Loan] = field(default_factory=list)
    periods: list[int] = field(default_factory=list)
    operating: list[float] = field(default_factory=list)
    capital: list[float] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)


def read_portfolio(path: Path) -> dict[str, Prop]:
    """Each property's latest financial year, loans and cash-flow series, by plain SQL."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        props = {pid: Prop(pid, value) for pid, value in
                 con.execute("SELECT property_id, current_value FROM properties ORDER BY property_id")}
        for pid, egi, opex, noi, ds, capex in con.execute(
                "SELECT f.property_id, f.effective_gross_income, f.operating_expenses, f.noi, f.debt_service,"
                " f.capital_expenditures FROM financials f"
                " WHERE f.year = (SELECT MAX(g.year) FROM financials g WHERE g.property_id = f.property_id)"):
            p = props[pid]
            p.egi, p.opex, p.noi, p.debt_service, p.capex = egi, opex, noi, ds, capex
        for pid, kind, principal, rate, amort, ds in con.execute(
                "SELECT property_id, loan_type, principal, interest_rate, amortization_years, annual_debt_service"
                " FROM loans ORDER BY loan_id"):
            props[pid].loans.append(Loan(kind, principal, rate, amort, ds))
        for pid, period, op, cap, amount in con.execute(
                "SELECT property_id, period, operating, capital, amount FROM cash_flows ORDER BY property_id, period"):
            p = props[pid]
            p.periods.append(period)
            p.operating.append(op)
            p.capital.append(cap)
            p.amount.append(amount)
    finally:
        con.close()
    return props


def _irr(series) -> float:
    return float(npf.irr(series)) if len(series) >= 2 else math.nan


def _npv(series) -> float:
    return float(npf.npv(DISCOUNT_RATE, series)) if len(series) >= 2 else math.nan


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def expected(p: Prop, drivers: dict) -> dict:
    """The figures of property ``p`` under ``drivers``, from the documented definitions."""
    d = {"noi_multiplier": 1.0, "income_multiplier": 1.0, "expense_multiplier": 1.0, "interest_rate_shift_bps": 0.0,
         "value_multiplier": 1.0, "exit_value_multiplier": 1.0, "market_growth": 0.0, **drivers}
    noi = (p.egi * d["income_multiplier"] - p.opex * d["expense_multiplier"]) * d["noi_multiplier"]
    shift = d["interest_rate_shift_bps"] / 10_000
    loan_ds = [12 * -float(npf.pmt((ln.rate + shift) / 12, ln.amortization_years * 12, ln.principal))
               if ln.loan_type == "floating" and shift != 0 else ln.annual_debt_service for ln in p.loans]
    ds = float(sum(loan_ds))
    value = p.value * d["value_multiplier"]
    levered_change = (noi - p.noi) - (ds - p.debt_service)
    g = d["market_growth"]
    last = max(p.periods, default=-1)
    operating = [op if t == 0 else (op + levered_change) * (1 + g) ** t
                 for t, op in zip(p.periods, p.operating, strict=True)]
    capital = [cap * d["exit_value_multiplier"] * (1 + g) ** t if t == last and t >= 1 else cap
               for t, cap in zip(p.periods, p.capital, strict=True)]
    amount = np.add(operating, capital)
    return {"noi": noi, "debt_service": ds, "loan_ds": loan_ds, "value": value, "dscr": _ratio(noi, ds),
            "cap_rate": noi / value, "operating": operating, "capital": capital, "amount": amount,
            "irr": _irr(amount), "npv": _npv(amount)}


def from_world(p: Prop) -> dict:
    """The same figures recomputed from a world's rows."""
    return {"noi": p.noi, "debt_service": p.debt_service, "loan_ds": [ln.annual_debt_service for ln in p.loans],
            "value": p.value, "dscr": _ratio(p.noi, p.debt_service), "cap_rate": p.noi / p.value,
            "operating": p.operating, "capital": p.capital, "amount": p.amount,
            "irr": _irr(p.amount), "npv": _npv(p.amount)}


def rel_err(got: float, want: float) -> float:
    if math.isnan(want) or math.isnan(got):
        return 0.0 if math.isnan(want) and math.isnan(got) else math.inf
    return abs(got - want) / max(abs(want), 1e-300) if want != 0 else abs(got)


def abs_err(got: float, want: float) -> float:
    if math.isnan(want) or math.isnan(got):
        return 0.0 if math.isnan(want) and math.isnan(got) else math.inf
    return abs(got - want)


def compare(got: dict, want: dict, pid: str, where: str) -> dict[str, float]:
    """Assert every figure within tolerance; return the errors (relative, IRR absolute)."""
    errors = {}
    for key in ("noi", "debt_service", "value", "dscr", "cap_rate", "npv"):
        errors[key] = rel_err(float(got[key]), want[key])
        assert errors[key] <= REL, f"{where} {pid} {key}: got {got[key]!r}, expected {want[key]!r}"
    errors["irr"] = abs_err(float(got["irr"]), want["irr"])
    assert errors["irr"] <= IRR_ABS, f"{where} {pid} irr: got {got['irr']!r}, expected {want['irr']!r}"
    return errors


# ------------------------------------------------------------------------ fixed scenarios


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_world_figures_equal_the_independent_computation(request, tmp_path, database, scenario):
    source = request.getfixturevalue(database)
    drivers = SCENARIOS[scenario]
    original = read_portfolio(source)
    world = read_portfolio(write_world(drivers, tmp_path / "worlds", _url(source)))
    assert sorted(world) == sorted(original)
    for pid, p in original.items():
        want, got = expected(p, drivers), from_world(world[pid])
        compare(got, want, pid, f"world {scenario}")
        # the rows themselves: each loan (stored to the cent), each cash flow, and the flow columns add up
        assert got["loan_ds"] == pytest.approx(want["loan_ds"], abs=0.005), f"{pid} loans"
        assert world[pid].periods == p.periods
        for column in ("operating", "capital", "amount"):
            np.testing.assert_allclose(got[column], want[column], rtol=REL, atol=1e-6, err_msg=f"{pid} {column}")
        np.testing.assert_allclose(world[pid].amount, np.add(world[pid].operating, world[pid].capital), rtol=1e-12)


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_evaluate_figures_equal_the_independent_computation(request, database, scenario):
    source = request.getfixturevalue(database)
    drivers = SCENARIOS[scenario]
    original = read_portfolio(source)
    base = load_base(_url(source))
    out = metrics.evaluate(base, drivers, ALL_METRICS, DISCOUNT_RATE)
    assert base.property_ids == sorted(original)
    assert all(np.shape(v) == (len(original),) for v in out.values())
    for i, pid in enumerate(base.property_ids):
        want = expected(original[pid], drivers)
        got = {m: out[m][i] for m in ALL_METRICS} | {"value": want["value"]}
        compare(got, want, pid, f"evaluate {scenario}")


def test_undefined_figures(edge):
    """No debt: no DSCR; one cash-flow row or none: no IRR (world and evaluate alike)."""
    drivers = SCENARIOS["recession"]
    original = read_portfolio(edge)
    out = metrics.evaluate(load_base(_url(edge)), drivers, ALL_METRICS, DISCOUNT_RATE)
    ids = sorted(original)
    assert not original["P-007"].loans and math.isnan(out["dscr"][ids.index("P-007")])
    assert out["debt_service"][ids.index("P-007")] == 0 and np.isfinite(out["cap_rate"][ids.index("P-007")])
    for pid in ("P-014", "P-023"):
        assert len(original[pid].periods) <= 1
        assert math.isnan(out["irr"][ids.index(pid)]) and math.isnan(expected(original[pid], drivers)["irr"])
    assert np.isfinite(np.delete(out["irr"], [ids.index("P-014"), ids.index("P-023")])).all()
    assert np.isfinite(np.delete(out["dscr"], ids.index("P-007"))).all()


def test_a_rate_shift_leaves_fixed_loans_alone(seeded):
    original = read_portfolio(seeded)
    out = metrics.evaluate(load_base(_url(seeded)), SCENARIOS["rate_shock"], ["debt_service"])
    for i, (pid, p) in enumerate(sorted(original.items())):
        if p.loans and all(ln.loan_type == "fixed" for ln in p.loans):
            assert out["debt_service"][i] == p.debt_service, pid
        elif p.loans:
            assert out["debt_service"][i] > p.debt_service * 1.1, pid  # +300 bp on a ~6 % loan


# ------------------------------------------------------------------------- neutral world


def _dump(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {}
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            keys = [r[1] for r in sorted(con.execute(f'PRAGMA table_info("{t}")'), key=lambda r: r[5]) if r[5]]
            out[t] = (cols, con.execute(f'SELECT * FROM "{t}" ORDER BY {", ".join(keys)}').fetchall())
    finally:
        con.close()
    return out


@pytest.mark.parametrize("database", DATABASES)
def test_the_neutral_world_is_the_original(request, tmp_path, database):
    source = request.getfixturevalue(database)
    original, world = _dump(source), _dump(write_world({}, tmp_path / "worlds", _url(source)))
    assert sorted(world) == sorted(original) == ["cash_flows", "dataset_info", "financials", "loans", "properties"]
    info = [r for r in world["dataset_info"][1] if r[0] == "scenario_drivers"]
    assert len(info) == 1  # the one row a world adds: the drivers it was built with (all neutral)
    world["dataset_info"] = (world["dataset_info"][0], [r for r in world["dataset_info"][1] if r not in info])
    worst = 0.0
    for table, (cols, rows) in original.items():
        wcols, wrows = world[table]
        assert wcols == cols, table
        assert len(wrows) == len(rows), table
        for row, wrow in zip(rows, wrows, strict=True):
            for col, a, b in zip(cols, row, wrow, strict=True):
                if isinstance(a, float) or isinstance(b, float):
                    err = abs(b - a) / max(abs(a), 1e-12) if a != 0 else abs(b)
                    worst = max(worst, err)
                    assert b == pytest.approx(a, rel=FLOAT_REL, abs=1e-9), f"{table}.{col} {row[0]}: {a!r} → {b!r}"
                else:
                    assert b == a, f"{table}.{col} {row[0]}: {a!r} → {b!r}"
    assert worst <= FLOAT_REL


# --------------------------------------------------------------------------- Monte Carlo


N_MC = 200_000
NOI_SD = 0.1


@pytest.fixture(scope="module")
def noi_only(seeded):
    base = load_base(_url(seeded))
    result = montecarlo.simulate(base, distributions={"noi_multiplier": {"dist": "normal", "mean": 1.0, "sd": NOI_SD}},
                                 correlations=[], iterations=N_MC, seed=7, metrics=["dscr"],
                                 risk={"dscr_below": 1.0})
    return read_portfolio(seeded), result


def test_monte_carlo_breach_probability_matches_the_normal_closed_form(noi_only):
    """DSCR_i = m·NOI_i/DS_i with m ~ N(1, 0.1): P(DSCR_i < 1) = Φ((DS_i/NOI_i − 1)/0.1)."""
    original, result = noi_only
    assert result.clipped == {"noi_multiplier": 0}
    risk = result.risk[0]
    assert (risk["metric"], risk["op"], risk["threshold"]) == ("dscr", "below", 1.0)
    checked = 0
    for pid, p in original.items():
        row = risk["per_property"][pid]
        if not p.debt_service > 0:
            assert row["p"] is None and result.per_property[pid]["dscr"]["count"] == 0
            continue
        exact = float(scipy.stats.norm.cdf((p.debt_service / p.noi - 1.0) / NOI_SD))
        closed_se = math.sqrt(exact * (1 - exact) / N_MC)
        tol = 4 * max(row["se"], closed_se)  # the reported se is 0 when no sample breached
        assert abs(row["p"] - exact) <= tol, f"{pid}: P(DSCR < 1) {row['p']} vs closed form {exact} (tol {tol})"
        if exact > 0.01:
            assert row["se"] == pytest.approx(closed_se, rel=0.05), pid
        summary = result.per_property[pid]["dscr"]
        dscr = p.noi / p.debt_service
        assert summary["count"] == N_MC
        assert abs(summary["mean"] - dscr) <= 4 * summary["se"], pid
        assert summary["sd"] == pytest.approx(NOI_SD * dscr, rel=0.01), pid
        checked += 1
    assert checked == 24
    # the portfolio figure is the mean over the levered properties: m × mean(NOI/DS)
    a = np.mean([p.noi / p.debt_service for p in original.values() if p.debt_service > 0])
    exact = float(scipy.stats.norm.cdf((1 / a - 1) / NOI_SD))
    tol = 4 * max(risk["portfolio"]["se"], math.sqrt(exact * (1 - exact) / N_MC))
    assert abs(risk["portfolio"]["p"] - exact) <= tol
    assert abs(result.portfolio["dscr"]["mean"] - a) <= 4 * result.portfolio["dscr"]["se"]


def _run(base, seed):
    return montecarlo.simulate(base, distributions={"noi_multiplier": {"dist": "normal", "mean": 1.0, "sd": 0.1},
                                                    "interest_rate_shift_bps": {"dist": "triangular", "low": 0.0,
                                                                                "mode": 100.0, "high": 300.0}},
                               correlations=[{"between": ["noi_multiplier", "interest_rate_shift_bps"], "rho": -0.4}],
                               iterations=20_000, seed=seed, metrics=["dscr", "npv"], risk={"dscr_below": 1.0},
                               discount_rate=DISCOUNT_RATE)


def test_same_seed_same_numbers_other_seed_other_numbers(seeded):
    base = load_base(_url(seeded))
    a, b, c = _run(base, 7), _run(base, 7), _run(base, 8)
    da, db, dc = (r.as_dict() for r in (a, b, c))
    for d in (da, db, dc):
        d.pop("duration_s")
    assert da == db
    assert da["per_property"] != dc["per_property"]
    means = {s: [r.per_property[pid]["dscr"]["mean"] for pid in base.property_ids if pid != "P-007"]
             for s, r in ((7, a), (8, c))}
    assert all(x != y for x, y in zip(means[7], means[8], strict=True))
    assert a.portfolio["dscr"]["mean"] != c.portfolio["dscr"]["mean"]


RHO = -0.4
TRI = scipy.stats.triang(c=1 / 3, loc=0.0, scale=300.0)  # low 0, mode 100, high 300 bp


def _copula_mean_dscr(p: Prop) -> float:
    """E[DSCR] under the Gaussian copula: m = 1 + 0.1·z₁, shift = F⁻¹(Φ(z₂)), corr(z₁, z₂) = ρ,
    so E[m | z₂] = 1 + 0.1·ρ·z₂ and E[DSCR] = NOI · E[(1 + 0.1ρz₂) / DS(shift(z₂))]."""
    def integrand(z):
        shift = TRI.ppf(scipy.stats.norm.cdf(z)) / 10_000
        ds = sum(12 * -float(npf.pmt((ln.rate + shift) / 12, ln.amortization_years * 12, ln.principal))
                 if ln.loan_type == "floating" else ln.annual_debt_service for ln in p.loans)
        return (1 + NOI_SD * RHO * z) / ds * scipy.stats.norm.pdf(z)

    value, _ = scipy.integrate.quad(integrand, -9, 9, epsabs=1e-14, epsrel=1e-12, limit=200)
    return p.noi * value


def test_correlated_drivers_fixed_and_floating_loans(seeded):
    original = read_portfolio(seeded)
    base = load_base(_url(seeded))
    result = montecarlo.simulate(
        base, distributions={"noi_multiplier": {"dist": "normal", "mean": 1.0, "sd": NOI_SD},
                             "interest_rate_shift_bps": {"dist": "triangular", "low": 0.0, "mode": 100.0,
                                                         "high": 300.0}},
        correlations=[{"between": ["noi_multiplier", "interest_rate_shift_bps"], "rho": RHO}],
        iterations=N_MC, seed=11, metrics=["dscr"], risk={"dscr_below": 1.0})
    kinds = {"fixed": 0, "floating": 0}
    for pid, p in original.items():
        if not p.loans:
            continue
        s = result.per_property[pid]["dscr"]
        base_dscr = p.noi / p.debt_service
        if all(ln.loan_type == "fixed" for ln in p.loans):
            assert abs(s["mean"] - base_dscr) <= 4 * s["se"], f"{pid} fixed: {s['mean']} vs {base_dscr}"
            kinds["fixed"] += 1
        else:
            assert s["mean"] < base_dscr, f"{pid} floating: {s['mean']} vs base {base_dscr}"
            want = _copula_mean_dscr(p)
            assert abs(s["mean"] - want) <= 4 * s["se"], f"{pid} floating: {s['mean']} vs quadrature {want}"
            kinds["floating"] += 1
    assert kinds == {"fixed": 18, "floating": 6}
