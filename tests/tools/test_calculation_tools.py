"""Calculation tools on scalars, lists and arrays, with the division-by-zero policy."""

from __future__ import annotations

import warnings

import jsonschema
import numpy as np
import numpy_financial as npf
import pytest

from meta_agent.tools import (
    CalculationError,
    CalculationWarning,
    ToolInputError,
    call_tool,
    get_tool,
)


def quiet(name, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalculationWarning)
        return call_tool(name, **kw)


# ------------------------------------------------------------------------------ DSCR


def test_dscr_scalar_list_array_keep_their_kind():
    assert call_tool("calculate_dscr", noi=1_250_000, debt_service=1_000_000) == pytest.approx(1.25)
    assert call_tool("calculate_dscr", noi=[120, 90], debt_service=[100, 100]) == pytest.approx([1.2, 0.9])
    arr = call_tool("calculate_dscr", noi=np.array([150.0, 50.0]), debt_service=100.0)  # broadcast
    assert isinstance(arr, np.ndarray) and arr.tolist() == pytest.approx([1.5, 0.5])


def test_dscr_negative_noi_is_a_number_but_zero_or_negative_debt_service_is_not():
    assert call_tool("calculate_dscr", noi=-50, debt_service=100) == pytest.approx(-0.5)
    with pytest.raises(CalculationError, match="division by zero"):
        call_tool("calculate_dscr", noi=100, debt_service=0)
    with pytest.raises(CalculationError, match="negative denominator"):
        call_tool("calculate_dscr", noi=100, debt_service=-10)
    with pytest.warns(CalculationWarning, match="1 of 3 results are NaN: division by zero"):
        out = call_tool("calculate_dscr", noi=[100, 100, 100], debt_service=[50, 0, 80])
    assert out[0] == 2.0 and np.isnan(out[1]) and out[2] == 1.25
    with pytest.warns(CalculationWarning):
        assert np.isnan(call_tool("calculate_dscr", noi=1, debt_service=0, on_undefined="nan"))


def test_dscr_on_a_million_samples_matches_numpy_and_flags_zeros():
    rng = np.random.default_rng(0)
    noi = rng.normal(1e6, 2e5, 1_000_000)
    ds = rng.normal(7e5, 1e5, 1_000_000)
    ds[::100_000] = 0.0
    with pytest.warns(CalculationWarning, match="10 of 1,000,000"):
        out = call_tool("calculate_dscr", noi=noi, debt_service=ds)
    ok = ds > 0
    np.testing.assert_allclose(out[ok], noi[ok] / ds[ok])
    assert np.isnan(out[~ok]).all()
    details = quiet("calculate_dscr", noi=noi, debt_service=ds, details=True)
    assert details["undefined"] == 10 and details["reasons"] == {"zero_denominator": 10}
    assert details["status"].dtype == np.int8


def test_array_validation_never_walks_the_elements(monkeypatch):
    seen = {}
    real = jsonschema.Draft202012Validator.iter_errors

    def spy(self, instance, *a, **k):
        seen.update(instance)
        return real(self, instance, *a, **k)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "iter_errors", spy)
    tool = get_tool("calculate_dscr")
    assert tool.validate_inputs(noi=np.ones(1_000_000), debt_service=np.ones(1_000_000)).valid
    assert seen["noi"] == 0.0 and seen["debt_service"] == 0.0  # stand-ins, not the arrays


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"noi": "a lot", "debt_service": 1}, "noi: must be a number or an array of numbers, not str"),
        ({"noi": [1, "x"], "debt_service": 1}, "noi: must be a number or an array of numbers"),
        ({"noi": True, "debt_service": 1}, "not a boolean"),
        ({"noi": [], "debt_service": 1}, "noi: is empty"),
        ({"noi": {"a": 1}, "debt_service": 1}, "not dict"),
        ({"debt_service": 1}, "'noi' is a required property"),
        ({"noi": 1, "debt_service": 1, "rate": 2}, "'rate' was unexpected"),
        ({"noi": 1, "debt_service": 1, "on_undefined": "ignore"}, "on_undefined"),
    ],
)
def test_dscr_bad_inputs_name_the_field(kwargs, fragment):
    with pytest.raises(ToolInputError) as exc:
        call_tool("calculate_dscr", **kwargs)
    assert any(fragment in e for e in exc.value.errors), exc.value.errors


# ----------------------------------------------------------------------- cap rate, ROI


def test_cap_rate():
    assert call_tool("calculate_cap_rate", noi=650_000, property_value=10_000_000) == pytest.approx(0.065)
    with pytest.raises(CalculationError):
        call_tool("calculate_cap_rate", noi=1, property_value=0)
    with pytest.raises(ToolInputError, match="property_value"):
        call_tool("calculate_cap_rate", noi=1)


def test_roi_total_and_annualized():
    assert call_tool("calculate_roi", initial_investment=100, final_value=150, income=20) == pytest.approx(0.7)
    annual = call_tool("calculate_roi", initial_investment=100, final_value=150, income=20, years=5)
    assert annual == pytest.approx(1.7 ** 0.2 - 1)
    vec = call_tool("calculate_roi", initial_investment=np.array([100.0, 200.0]), final_value=np.array([110.0, 150.0]))
    np.testing.assert_allclose(vec, [0.1, -0.25])
    with pytest.raises(CalculationError):
        call_tool("calculate_roi", initial_investment=0, final_value=10)
    with pytest.raises(CalculationError, match="-100"):
        call_tool("calculate_roi", initial_investment=100, final_value=-50, years=2)  # a loss beyond -100 %
    with pytest.raises(CalculationError, match="NaN or infinite"):
        call_tool("calculate_roi", initial_investment=100, final_value=150, years=0)


# -------------------------------------------------------------------- ratios and loans


def test_financial_ratios_against_direct_computation():
    out = call_tool("financial_ratios", noi=800_000, property_value=12_000_000, loan_amount=7_800_000,
                    operating_expenses=520_000, effective_gross_income=1_320_000, debt_service=560_000,
                    potential_gross_income=1_400_000)
    assert out == pytest.approx({
        "ltv": 7.8 / 12, "debt_yield": 0.8 / 7.8, "operating_expense_ratio": 520 / 1320,
        "break_even_occupancy": (520 + 560) / 1400, "dscr": 800 / 560, "cap_rate": 0.8 / 12,
    })


def test_financial_ratios_partial_inputs_and_arrays():
    out = quiet("financial_ratios", loan_amount=np.array([60.0, 70.0, 1.0]), property_value=np.array([100.0, 100.0, 0.0]))
    assert set(out) == {"ltv"}
    np.testing.assert_allclose(out["ltv"][:2], [0.6, 0.7])
    assert np.isnan(out["ltv"][2])
    with pytest.raises(ToolInputError, match="not enough to compute any ratio"):
        call_tool("financial_ratios", noi=5)
    with pytest.raises(CalculationError, match="ltv is undefined"):
        call_tool("financial_ratios", loan_amount=5, property_value=0)


def test_loan_payment_matches_numpy_financial():
    got = call_tool("calculate_loan_payment", principal=10_000_000, annual_rate=0.055, amortization_years=30)
    assert got == pytest.approx(-npf.pmt(0.055 / 12, 360, 10_000_000) * 12)
    assert call_tool("calculate_loan_payment", principal=1200, annual_rate=0, amortization_years=1) == pytest.approx(1200)
    rates = np.array([0.03, 0.05, 0.07])
    np.testing.assert_allclose(call_tool("calculate_loan_payment", principal=1e6, annual_rate=rates, amortization_years=25),
                               -npf.pmt(rates / 12, 300, 1e6) * 12)
    with pytest.raises(CalculationError):
        call_tool("calculate_loan_payment", principal=1e6, annual_rate=0.05, amortization_years=0)
