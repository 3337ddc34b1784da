"""The seeded portfolio: deterministic, realistic, internally consistent, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
import sqlalchemy as sa

from meta_agent import finance, portfolio
from meta_agent.errors import InputError
from meta_agent.portfolio import db as pdb
from meta_agent.portfolio import schema
from meta_agent.portfolio.seed import generate


@pytest.fixture(scope="module")
def big():
    return generate(400, 7)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = generate(30, 1), generate(30, 1), generate(30, 2)
    assert a.properties == b.properties and a.financials == b.financials and a.cash_flows == b.cash_flows
    assert a.properties != c.properties


def test_ids_and_shapes(big):
    ids = [p["property_id"] for p in big.properties]
    assert ids == [f"P-{i:03d}" for i in range(1, 401)]
    assert {p["property_type"] for p in big.properties} == set(schema.PROPERTY_TYPES)
    assert len({p["name"] for p in big.properties}) == 400
    with pytest.raises(ValueError):
        generate(0)


def test_realistic_cap_rates_and_dscr(big):
    fin = pd.DataFrame(big.financials)
    latest = fin[fin.year == fin.year.max()].set_index("property_id")
    value = pd.Series({p["property_id"]: p["current_value"] for p in big.properties})
    cap = latest.noi / value[latest.index]
    assert cap.between(0.039, 0.091).all()
    levered = latest[latest.debt_service > 0]
    dscr = levered.noi / levered.debt_service
    assert dscr.between(1.1, 2.0).mean() >= 0.7  # mostly 1.1–2.0
    assert 0.05 <= (dscr < 1.25).mean() <= 0.3  # a few below the usual 1.25 covenant
    assert 0 < (latest.debt_service == 0).sum() < 0.15 * len(latest)  # some unlevered properties


def test_loans_are_consistent_with_numpy_financial(big):
    for loan in big.loans[:50]:
        pmt = -npf.pmt(loan["interest_rate"] / 12, loan["amortization_years"] * 12, loan["principal"]) * 12
        assert loan["annual_debt_service"] == pytest.approx(pmt, abs=0.01)
        assert 0 < loan["outstanding_balance"] < loan["principal"]
    prop = {p["property_id"]: p for p in big.properties}
    ltv = [ln["principal"] / prop[ln["property_id"]]["purchase_price"] for ln in big.loans]
    assert max(ltv) <= 0.75 + 1e-3 and min(ltv) > 0.2


def test_operating_statements_add_up(big):
    fin = pd.DataFrame(big.financials)
    assert np.allclose(fin.effective_gross_income - fin.operating_expenses, fin.noi, atol=0.02)
    assert np.allclose(fin.noi - fin.debt_service - fin.capital_expenditures, fin.cash_flow, atol=0.02)
    assert np.allclose(fin.potential_gross_income - fin.vacancy_loss + fin.other_income,
                       fin.effective_gross_income, atol=0.03)
    assert fin.occupancy.between(0.35, 1.0).all()
    oer = fin.operating_expenses / fin.effective_gross_income
    assert oer.between(0.1, 0.85).all()


def test_equity_cash_flows_give_an_irr(big):
    cf = pd.DataFrame(big.cash_flows)
    assert np.allclose(cf.operating + cf.capital, cf.amount, atol=0.02)
    series = [g.sort_values("period").amount.to_numpy() for _, g in cf.groupby("property_id")]
    width = max(map(len, series))
    padded = np.array([np.pad(s, (0, width - len(s))) for s in series])
    rate, status = finance.irr(padded)
    assert (status == finance.OK).mean() > 0.95
    ok = status == finance.OK
    assert np.median(rate[ok]) == pytest.approx(0.12, abs=0.1)  # plausible levered returns
    for s, r in list(zip(series, rate, strict=True))[:20]:
        assert r == pytest.approx(npf.irr(s), rel=1e-7)


def test_seed_database_and_summary(db_url):
    try:
        report = portfolio.seed_database(db_url, 25, 42)
        assert report["properties"] == 25 and portfolio.is_seeded(db_url)
        assert portfolio.ensure_seeded(db_url) is None  # already there: untouched
        again = portfolio.seed_database(db_url, 25, 42)  # re-seeding replaces, never duplicates
        assert again == report
        with pdb.write_engine(db_url).connect() as conn:
            n = conn.execute(sa.text("SELECT COUNT(*) FROM properties")).scalar()
            below = conn.execute(sa.text(
                "SELECT COUNT(*) FROM financials WHERE year = 2024 AND debt_service > 0 "
                "AND noi / debt_service < 1.25")).scalar()
            total_noi = conn.execute(sa.text("SELECT SUM(noi) FROM financials WHERE year = 2024")).scalar()
        s = portfolio.summary(db_url)
        assert n == s["properties"] == 25
        assert s["dscr"]["below_1_25"] == below
        assert s["total_noi"] == pytest.approx(total_noi, abs=0.01)
        assert len(s["rows"]) == 25 and s["latest_year"] == 2024
    finally:
        pdb.dispose()


def test_summary_of_a_missing_database(tmp_path):
    with pytest.raises(InputError, match="meta-agent data seed"):
        portfolio.summary(f"sqlite:///{tmp_path / 'none.db'}")
    assert portfolio.ensure_seeded(f"sqlite:///{tmp_path / 'new.db'}")["properties"] == 25
    pdb.dispose()
