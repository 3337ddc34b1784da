"""The scenario comparison table on small hand-built results; expected deltas and z-scores are
computed here with numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from meta_agent.simulation.compare import compare


def result(key, dscr, ltv, values, status="succeeded", is_base=False, name=None):
    return {"scenario": key, "name": name or key.title(), "is_base": is_base, "status": status,
            "values": values, "portfolio": {"dscr": dscr, "ltv": ltv}}


def props(*pairs):
    return {f"P{i + 1}": {"dscr": d, "ltv": v} for i, (d, v) in enumerate(pairs)}


SCENARIOS = [
    result("base", 1.45, 0.60, props((1.5, 0.55), (1.4, 0.65)), is_base=True, name="Base case"),
    result("mild", 1.42, 0.61, props((1.47, 0.56), (1.37, 0.66))),
    result("rates_up", 1.38, 0.60, props((1.41, 0.55), (1.35, 0.65))),
    result("growth", 1.51, 0.58, props((1.56, 0.53), (1.46, 0.63))),
    result("recession", 0.94, float("nan"), props((1.0, None), (0.88, 0.80))),
    result("broken", None, None, {}, status="failed"),
]


def modified_z(values):
    values = np.asarray(values, dtype=float)
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    return 0.6745 * (values - median) / mad


def _row(table, metric, scenario):
    return next(r for r in table["rows"] if r["metric"] == metric and r["scenario"] == scenario)


def test_rows_hold_each_figure_with_its_delta_and_robust_z():
    table = compare(SCENARIOS, ["dscr", "ltv"])
    assert table["base"] == "base"
    assert [(r["metric"], r["scenario"]) for r in table["rows"][:6]] == [("dscr", s["scenario"]) for s in SCENARIOS]
    dscr = [1.45, 1.42, 1.38, 1.51, 0.94]
    z = modified_z(dscr)
    for key, value, score in zip(["base", "mild", "rates_up", "growth", "recession"], dscr, z, strict=True):
        row = _row(table, "dscr", key)
        assert row["value"] == value
        assert row["delta"] == pytest.approx(value - 1.45)
        assert row["delta_pct"] == pytest.approx((value - 1.45) / 1.45 * 100)
        assert row["robust_z"] == pytest.approx(score)
        assert row["outlier"] == (abs(score) > 3.5)
    assert _row(table, "dscr", "base")["is_base"] and _row(table, "dscr", "base")["delta"] == 0
    assert [r["scenario"] for r in table["rows"] if r["outlier"]] == ["recession"]


def test_undefined_and_failed_figures_have_no_numbers():
    table = compare(SCENARIOS, ["dscr", "ltv"])
    nan_ltv = _row(table, "ltv", "recession")
    assert nan_ltv["value"] is None and nan_ltv["delta"] is None and nan_ltv["robust_z"] is None
    # the z of the others is computed among the defined figures only
    assert _row(table, "ltv", "growth")["robust_z"] == pytest.approx(modified_z([0.60, 0.61, 0.60, 0.58])[3])
    broken = _row(table, "dscr", "broken")
    assert broken["status"] == "failed" and broken["value"] is None and broken["outlier"] is False
    assert table["failed"] == [{"scenario": "broken", "name": "Broken", "status": "failed"}]


def test_outliers_are_sentences_with_the_figure_z_and_median():
    table = compare(SCENARIOS, ["dscr"])
    z = abs(modified_z([1.45, 1.42, 1.38, 1.51, 0.94])[4])
    median = np.median([1.45, 1.42, 1.38, 1.51, 0.94])
    assert table["outliers"] == [f"Recession: portfolio dscr 0.94 is {z:.1f} robust-z below the scenarios' "
                                 f"median {median:.3g}"]


def test_properties_sit_side_by_side_with_deltas_to_base():
    table = compare(SCENARIOS, ["dscr", "ltv"])
    assert [(p["property_id"], p["metric"]) for p in table["properties"]] == [
        ("P1", "dscr"), ("P1", "ltv"), ("P2", "dscr"), ("P2", "ltv")]
    p2_dscr = table["properties"][2]
    assert p2_dscr["base"] == 1.4
    assert p2_dscr["values"] == {"base": 1.4, "mild": 1.37, "rates_up": 1.35, "growth": 1.46, "recession": 0.88}
    for key, value in p2_dscr["values"].items():
        assert p2_dscr["deltas"][key] == pytest.approx(value - 1.4)
    p1_ltv = table["properties"][1]
    assert p1_ltv["values"]["recession"] is None and p1_ltv["deltas"]["recession"] is None
    assert "broken" not in p1_ltv["values"]


def test_the_base_is_the_flagged_one_else_the_one_keyed_base_else_none():
    flagged = [result("base", 1.0, 0.5, {}), result("alt", 2.0, 0.5, {}, is_base=True)]
    assert compare(flagged, ["dscr"])["base"] == "alt"
    assert _row(compare(flagged, ["dscr"]), "dscr", "base")["delta"] == pytest.approx(-1.0)
    keyed = [result("other", 1.2, 0.5, {}), result("base", 1.0, 0.5, {})]
    assert _row(compare(keyed, ["dscr"]), "dscr", "other")["delta_pct"] == pytest.approx(20.0)
    none = compare([result("a", 1.2, 0.5, props((1, 1))), result("b", 1.0, 0.5, props((2, 1)))], ["dscr"])
    assert none["base"] is None
    assert all(r["delta"] is None and r["delta_pct"] is None for r in none["rows"])
    assert none["properties"][0]["deltas"] == {"a": None, "b": None}
    assert any("no base case" in note for note in none["notes"])


def test_a_failed_base_gives_no_deltas_and_says_so():
    table = compare([result("base", None, None, {}, status="failed", is_base=True),
                     result("alt", 1.2, 0.5, {})], ["dscr"])
    assert table["base"] == "base"
    assert _row(table, "dscr", "alt")["delta"] is None
    assert any("did not succeed (failed)" in note for note in table["notes"])


def test_a_single_scenario_and_a_zero_base():
    single = compare([result("base", 0.0, 0.5, {}, is_base=True)], ["dscr"])
    row = single["rows"][0]
    assert row["value"] == 0.0 and row["delta"] == 0.0 and row["delta_pct"] is None  # % of 0 is undefined
    assert row["robust_z"] == 0.0 and not row["outlier"] and single["outliers"] == []
    assert any("only 1 scenario succeeded" in note for note in single["notes"])
    empty = compare([], ["dscr"])
    assert (empty["rows"], empty["properties"], empty["outliers"], empty["base"]) == ([], [], [], None)
    assert any("no scenario succeeded" in note for note in empty["notes"])


def test_duplicate_keys_are_rejected():
    with pytest.raises(ValueError, match="unique"):
        compare([result("a", 1, 1, {}), result("a", 2, 1, {})], ["dscr"])


def test_large_figures_read_with_thousands_separators():
    noi = [5.0e6, 5.1e6, 4.9e6, 5.05e6, 1.0e6]
    results = [{"scenario": f"s{i}", "name": f"S{i}", "is_base": i == 0, "status": "succeeded", "values": {},
                "portfolio": {"noi": v}} for i, v in enumerate(noi)]
    (sentence,) = compare(results, ["noi"])["outliers"]
    assert sentence.startswith("S4: portfolio noi 1,000,000 is ") and "median 5,000,000" in sentence
    assert math.isclose(float(sentence.split(" is ")[1].split()[0]), abs(modified_z(noi)[4]), abs_tol=0.05)
