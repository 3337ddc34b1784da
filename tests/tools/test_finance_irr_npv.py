"""IRR and NPV, pinned against numpy-financial on many series, including the awkward ones."""

from __future__ import annotations

import warnings

import numpy as np
import numpy_financial as npf
import pytest

from meta_agent import finance as f
from meta_agent.tools import CalculationError, CalculationWarning, call_tool


def _npv_at(rate: float, cf) -> tuple[float, float]:
    """NPV at ``rate`` and the size of the terms (to judge 'zero' relatively)."""
    t = np.arange(len(cf))
    terms = np.asarray(cf, dtype=float) / (1.0 + rate) ** t
    return float(terms.sum()), float(np.abs(terms).sum())


def _series_batch(seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for n in range(2, 16):
        k = 160
        # typical investments: one outflow, then inflows (one sign change)
        inv = rng.uniform(1, 30, (k, n)) * rng.choice([1, 1e-3, 1e3, 1e6], size=(k, 1))
        inv[:, 0] = -rng.uniform(20, 200, k) * (inv[:, 1:].mean(axis=1) if n > 1 else 1)
        out += list(inv)
        # anything goes: several sign changes, zeros, mixed magnitudes
        wild = rng.normal(0, 1, (k, n)) * rng.choice([1, 100, 1e5], size=(k, 1))
        wild[rng.uniform(size=(k, n)) < 0.15] = 0.0
        out += list(wild)
    return out


def test_irr_matches_numpy_financial_on_thousands_of_series():
    series = _series_batch()
    by_len: dict[int, list[int]] = {}
    for i, s in enumerate(series):
        by_len.setdefault(len(s), []).append(i)
    ours = np.empty(len(series))
    status = np.empty(len(series), dtype=np.int8)
    for idx in by_len.values():  # one vectorized call per length
        r, s = f.irr(np.stack([series[i] for i in idx]))
        ours[idx], status[idx] = r, s
    agree = both_none = npf_missed = ours_missed = 0
    for i, cf in enumerate(series):
        ref = npf.irr(cf)
        if np.isfinite(ref) and np.isfinite(ours[i]):
            assert ours[i] == pytest.approx(ref, rel=1e-6, abs=1e-9), (cf, ours[i], ref)
            agree += 1
        elif np.isfinite(ours[i]):
            # numpy-financial keeps only roots whose imaginary part is exactly 0; ours must be a real root
            npv, scale = _npv_at(ours[i], cf)
            assert abs(npv) <= 1e-7 * scale, (cf, ours[i])
            npf_missed += 1
        elif np.isfinite(ref):
            # we say "no IRR": then numpy-financial's number must not be a root either
            npv, scale = _npv_at(ref, cf)
            assert abs(npv) > 1e-7 * scale, (cf, ref, f.STATUS[int(status[i])])
            ours_missed += 1
        else:
            assert status[i] not in f.VALUE_STATUSES
            both_none += 1
    assert agree > 0.75 * len(series) and agree + both_none > 0.98 * len(series)
    assert ours_missed == 0


@pytest.mark.parametrize(
    ("cashflows", "expected_status"),
    [
        ([-100, 39, 59, 55, 20], "ok"),
        ([-100, 0, 0, 74], "ok"),  # negative IRR
        ([-100, 100], "ok"),  # exactly zero
        ([-100, 100.0000001], "ok"),  # tiny rate
        ([-1, 1e9], "ok"),  # huge rate
        ([-100, 1e-6], "ok"),  # rate near -100 %
        ([0, 0, -100, 110], "ok"),  # leading zeros
        ([-100, 110, 0, 0, 0], "ok"),  # trailing zeros
        ([-1e12, 5e11, 7e11], "ok"),  # huge amounts
        ([-1e-9, 5e-10, 7e-10], "ok"),  # tiny amounts
        ([-100, 230, -132], "multiple_irr"),  # 10 % and 20 %
        ([-5, 10.5, 1, -8, 1], "multiple_irr"),
        ([10, -100, 110], "multiple_irr"),
    ],
)
def test_awkward_series_with_an_irr(cashflows, expected_status):
    rate, status = f.irr(cashflows)
    assert f.STATUS[int(status)] == expected_status
    assert float(rate) == pytest.approx(npf.irr(np.array(cashflows, dtype=float)), rel=1e-7, abs=1e-10)
    npv, scale = _npv_at(float(rate), cashflows)
    assert abs(npv) <= 1e-8 * scale


@pytest.mark.parametrize(
    ("cashflows", "expected_status"),
    [
        ([-100, -50, -25], "no_sign_change"),  # all negative
        ([1, 2, 3], "no_sign_change"),  # all positive
        ([0, 0, 0], "no_sign_change"),  # all zero
        ([-100, 0, 0, 0], "no_sign_change"),
        ([100, -300, 250], "no_real_root"),  # two sign changes, complex roots only
        ([-100, np.nan, 110], "invalid_input"),
        ([-100, np.inf], "invalid_input"),
        ([-100], "too_few_periods"),
    ],
)
def test_awkward_series_without_an_irr(cashflows, expected_status):
    rate, status = f.irr(cashflows)
    assert np.isnan(rate) and f.STATUS[int(status)] == expected_status
    if expected_status in ("no_sign_change", "no_real_root"):
        assert np.isnan(npf.irr(np.array(cashflows, dtype=float)))


def test_triple_root_is_found_to_its_conditioning():
    rate, status = f.irr([-1, 3, -3, 1])  # (x - 1)^3: IRR 0, ill-conditioned
    assert f.STATUS[int(status)] in ("ok", "multiple_irr") and abs(float(rate)) < 1e-4


def test_bisection_rescues_series_newton_cannot_finish(monkeypatch):
    rng = np.random.default_rng(3)
    cf = rng.uniform(5, 15, (500, 8))
    cf[:, 0] = -rng.uniform(40, 120, 500)
    expected = np.array([npf.irr(c) for c in cf])
    monkeypatch.setattr(f, "_NEWTON_ITERS", 1)  # Newton gives up at once: bisection does the work
    rate, status = f.irr(cf)
    assert (status == f.OK).all()
    np.testing.assert_allclose(rate, expected, rtol=1e-8, atol=1e-12)


def test_non_convergence_is_nan_with_a_reason_never_a_rough_number(monkeypatch):
    monkeypatch.setattr(f, "_NEWTON_ITERS", 1)
    monkeypatch.setattr(f, "_BISECT_ITERS", 2)
    rate, status = f.irr(np.array([[-100.0, 30, 40, 50, 60]]))
    assert np.isnan(rate[0]) and f.STATUS[int(status[0])] == "not_converged"


def test_irr_is_vectorized_over_a_million_series_and_matches_a_sample():
    rng = np.random.default_rng(5)
    n = 1_000_000
    cf = rng.uniform(5, 15, (n, 6))
    cf[:, 0] = -rng.uniform(30, 60, n)
    rate, status = f.irr(cf)
    assert rate.shape == (n,) and (status == f.OK).all()
    sample = rng.choice(n, 200, replace=False)
    np.testing.assert_allclose(rate[sample], [npf.irr(cf[i]) for i in sample], rtol=1e-8)


# ------------------------------------------------------------------------------- NPV


@pytest.mark.parametrize("rate", [0.0, 1e-12, 0.05, 0.08, 0.5, 3.0, 1e6, -0.5, -0.99])
def test_npv_matches_numpy_financial(rate):
    rng = np.random.default_rng(8)
    cf = rng.normal(0, 100, (300, 12))
    cf[:40, 5:] = 0.0
    ours, status = f.npv(rate, cf)
    assert (status == f.OK).all()
    np.testing.assert_allclose(ours, [npf.npv(rate, c) for c in cf], rtol=1e-9, atol=1e-9)


def test_npv_broadcasts_rates_and_series():
    cf = np.array([-100.0, 60.0, 60.0])
    rates = np.array([0.0, 0.05, 0.1, 0.2])
    ours, _ = f.npv(rates, cf)  # one series at many rates
    np.testing.assert_allclose(ours, [npf.npv(r, cf) for r in rates])
    many = np.stack([cf, cf * 2, cf * 3, cf * 4])
    ours, _ = f.npv(rates, many)  # one rate per series
    np.testing.assert_allclose(ours, [npf.npv(r, c) for r, c in zip(rates, many, strict=True)])


@pytest.mark.parametrize(("rate", "status"), [(-1.0, "rate_out_of_range"), (-2.0, "rate_out_of_range"),
                                              (np.nan, "invalid_input")])
def test_npv_undefined_rates(rate, status):
    value, code = f.npv(rate, [-100, 50, 60])
    assert np.isnan(value) and f.STATUS[int(code)] == status


def test_npv_and_irr_are_consistent():
    rng = np.random.default_rng(2)
    cf = rng.uniform(1, 10, (1000, 9))
    cf[:, 0] = -rng.uniform(20, 50, 1000)
    rate, _ = f.irr(cf)
    npv, _ = f.npv(rate, cf)
    scale = np.abs(cf).sum(axis=1)
    assert (np.abs(npv) <= 1e-9 * scale).all()


# ------------------------------------------------------------------- the tools' policy


def test_irr_tool_scalar_value_and_errors():
    assert call_tool("calculate_irr", cashflows=[-100, 110]) == pytest.approx(0.1)
    with pytest.raises(CalculationError, match="never change sign"):
        call_tool("calculate_irr", cashflows=[-100, -50])
    with pytest.raises(CalculationError, match="no rate above -100"):
        call_tool("calculate_irr", cashflows=[100, -300, 250])
    with pytest.warns(CalculationWarning, match="several IRRs"):
        assert call_tool("calculate_irr", cashflows=[-100, 230, -132]) == pytest.approx(0.1)


def test_irr_tool_many_series_gives_nan_with_a_warning_and_details():
    series = [[-100, 110], [-100, -5], [-100, 60, 60]]
    with pytest.warns(CalculationWarning, match="1 of 3 results are NaN"):
        out = call_tool("calculate_irr", cashflows=series)
    assert isinstance(out, list) and out[0] == pytest.approx(0.1) and np.isnan(out[1])
    assert out[2] == pytest.approx(npf.irr([-100, 60, 60]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalculationWarning)
        details = call_tool("calculate_irr", cashflows=series, details=True)
    assert details["status"] == ["ok", "no_sign_change", "ok"] and details["reasons"] == {"no_sign_change": 1}
    with pytest.raises(CalculationError, match="1 of 3"):
        call_tool("calculate_irr", cashflows=series, on_undefined="raise")


def test_npv_tool_scalar_list_and_array():
    assert call_tool("calculate_npv", rate=0.08, cashflows=[-40_000, 5_000, 8_000, 12_000, 30_000]) == \
        pytest.approx(3065.22267, abs=1e-4)
    arr = np.array([[-100.0, 60, 60], [-100.0, 50, 50]])
    out = call_tool("calculate_npv", rate=0.1, cashflows=arr)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [npf.npv(0.1, c) for c in arr])
    with pytest.raises(CalculationError, match="greater than -100"):
        call_tool("calculate_npv", rate=-1, cashflows=[-100, 50])
