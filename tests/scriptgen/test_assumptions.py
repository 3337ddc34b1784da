"""Nothing a request says is dropped: assumptions become scenario drivers, aggregation words a
planned aggregate, and every other clause is either planned or named as not handled.

- drivers: each phrasing -> the exact drivers (names and ranges from
  ``meta_agent.portfolio.drivers``), a ``scenario:`` sentence, and the same shape, params and
  script as the request without the assumption (the factory changes the data, not the script);
- aggregates: "average occupancy of retail properties" plans the mean over the selection, and
  its run's result.json has the value an independent SQL/numpy computation gives;
- unhandled: "DSCR weighted by square footage" names 'weighted by square footage'.
"""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
from pathlib import Path

import numpy as np
import pytest

from meta_agent.portfolio.drivers import DRIVERS
from meta_agent.scriptgen import factory
from meta_agent.scriptgen import repository as repo
from meta_agent.scriptgen.examples import REPEATED_SHAPES, TWENTY_REQUESTS
from meta_agent.scriptgen.factory import runtime_data
from meta_agent.scriptgen.generator import render
from meta_agent.scriptgen.offline_planner import OfflinePlanner
from meta_agent.scriptgen.present import key_figures_rows, plan_markdown
from meta_agent.scriptgen.requirements import PlanParameters, ScriptRequirements
from meta_agent.scriptgen.validator import validate_script
from meta_agent.store.engine import engine_for


def outcome(text, fmt=None):
    return OfflinePlanner().plan(text, fmt)


def plan(text, fmt=None):
    out = outcome(text, fmt)
    assert out.ok, out.refusal.message()
    return out.requirements


# ------------------------------------------------------------------------------ drivers

# the phrasings of issue #10 (item 7), then more ways people say the same things
PHRASES = [
    ("IRR for P-004 assuming a 10 % haircut on the exit value", {"exit_value_multiplier": 0.9}),
    ("DSCR if rates rise 200 bp", {"interest_rate_shift_bps": 200.0}),
    ("what if NOI falls 20 %", {"noi_multiplier": 0.8}),
    ("cap rate if values drop 15%", {"value_multiplier": 0.85}),
    ("NPV at 8% with 3% annual market growth", {"market_growth": 0.03}),
    ("DSCR with expenses up 10 %", {"expense_multiplier": 1.1}),
    ("DSCR if rates rise by 2 %", {"interest_rate_shift_bps": 200.0}),
    ("DSCR if rates rise 2 percentage points", {"interest_rate_shift_bps": 200.0}),
    ("DSCR if interest rates go up 150 basis points", {"interest_rate_shift_bps": 150.0}),
    ("DSCR if rates rise 200bps", {"interest_rate_shift_bps": 200.0}),
    ("DSCR with a 50 bp rate cut", {"interest_rate_shift_bps": -50.0}),
    ("DSCR if rates are cut by 50 basis points", {"interest_rate_shift_bps": -50.0}),
    ("DSCR with rates +200bp", {"interest_rate_shift_bps": 200.0}),
    ("IRR with a 10 percent exit haircut", {"exit_value_multiplier": 0.9}),
    ("IRR if the sale price drops 5%", {"exit_value_multiplier": 0.95}),
    ("NOI if income falls 10 percent", {"income_multiplier": 0.9}),
    ("DSCR if rents drop 5%", {"income_multiplier": 0.95}),
    ("DSCR with revenue down 8 %", {"income_multiplier": 0.92}),
    ("DSCR if opex rises 12%", {"expense_multiplier": 1.12}),
    ("LTV if property valuations decline 10%", {"value_multiplier": 0.9}),
    ("NPV at 8% if markets shrink 5 % a year", {"market_growth": -0.05}),
    ("IRR with market growth of 2%", {"market_growth": 0.02}),
    ("IRR with -2% annual market growth", {"market_growth": -0.02}),
    ("DSCR with a 20% drop in NOI", {"noi_multiplier": 0.8}),
    ("DSCR if NOI falls 20 % and rates rise 100 bp", {"noi_multiplier": 0.8, "interest_rate_shift_bps": 100.0}),
]


@pytest.mark.parametrize(("text", "drivers"), PHRASES)
def test_an_assumption_becomes_the_exact_drivers(text, drivers):
    req = plan(text)
    assert req.drivers == pytest.approx(drivers) and list(req.drivers) == [d for d in DRIVERS if d in drivers]
    assert req.unhandled == []
    for name, value in req.drivers.items():
        assert f"scenario: {DRIVERS[name].describe(value)}" in req.assumptions


BASES = [  # the request with its assumption, the same request without it
    ("IRR for P-004 assuming a 10 % haircut on the exit value", "IRR for P-004"),
    ("DSCR if rates rise 200 bp", "DSCR"),
    ("what if NOI falls 20 %", "NOI"),
    ("cap rate if values drop 15%", "cap rate"),
    ("NPV at 8% with 3% annual market growth", "NPV at 8%"),
    ("DSCR with expenses up 10 %", "DSCR"),
    ("Which properties have a DSCR below 1.25 in 2023 if rates rise 200 bp? Excel",
     "Which properties have a DSCR below 1.25 in 2023? Excel"),
    ("top 5 properties by IRR assuming a 20% haircut on exit values", "top 5 properties by IRR"),
]


@pytest.mark.parametrize(("with_it", "without"), BASES)
def test_drivers_change_neither_the_shape_nor_the_params_nor_the_script(with_it, without):
    a, b = plan(with_it), plan(without)
    assert a.drivers and not b.drivers
    assert a.fingerprint() == b.fingerprint()
    assert a.script_params() == b.script_params()  # the year, threshold, rate and ranking all read as before
    assert render(a) == render(b)
    assert "drivers" not in json.dumps(a.script_params())


def test_the_scenario_sentence_uses_the_drivers_own_words():
    req = plan("IRR for P-004 assuming a 10 % haircut on the exit value")
    assert f"scenario: {DRIVERS['exit_value_multiplier'].describe(0.9)}" in req.assumptions
    assert req.scenario_lines() == [DRIVERS["exit_value_multiplier"].describe(0.9)]
    assert req.summary_lines() == [f"scenario: {DRIVERS['exit_value_multiplier'].describe(0.9)}"]
    assert req.parameters.entity_ids == ["P-004"] and req.metrics == ["irr"]
    assert "under the scenario exit value × 0.9" in req.goal


def test_driver_words_are_not_read_as_thresholds_years_rates_or_counts():
    p = plan("DSCR below 1.25 in 2023 if rates rise 200 bp").parameters
    assert [(t.metric, t.op, t.value) for t in p.thresholds] == [("dscr", "<", 1.25)] and p.year == 2023
    assert plan("NPV at 8% with 3% annual market growth").parameters.discount_rate == pytest.approx(0.08)
    assert plan("top 5 by IRR if values drop 15%").parameters.ranking.top_n == 5
    assert plan("DSCR if NOI falls 20 %").metrics == ["dscr"]  # the driver's NOI is not a figure to compute
    req = plan("DSCR below 1.25 if NOI falls 20 %")
    assert req.metrics == ["dscr"] and [(t.metric, t.value) for t in req.parameters.thresholds] == [("dscr", 1.25)]
    assert plan("NOI in 2022 if expenses rise 5%").parameters.year == 2022


def test_a_falling_value_is_not_a_request_to_delete_data():
    assert plan("cap rate if values drop 15%").drivers == {"value_multiplier": 0.85}
    assert not outcome("drop the loans table").ok


def test_a_driver_out_of_range_is_refused_with_the_range():
    r = outcome("DSCR if NOI falls 120 %").refusal
    assert "noi_multiplier" in r.reason and "between 0 and 10" in r.reason and "-0.2" in r.reason
    assert "noi_multiplier 0 to 10" in r.hint


def test_a_driver_set_twice_is_refused():
    r = outcome("DSCR if rates rise 200 bp and rates rise 300 bp").refusal
    assert "twice" in r.reason and "rates rise 200 bp" in r.reason


def test_a_neutral_driver_is_no_scenario():
    assert plan("DSCR if rates rise 0 bp").drivers == {}


def test_the_plan_markdown_shows_the_scenario():
    out = outcome("DSCR if rates rise 200 bp")
    md = plan_markdown(out)
    assert "**Scenario**" in md and DRIVERS["interest_rate_shift_bps"].describe(200) in md
    assert "`interest_rate_shift_bps` = 200" in md


@pytest.mark.parametrize(("drivers", "words"), [
    ({"rate_shift": 200}, ["unknown driver 'rate_shift'", "interest_rate_shift_bps -1000 to 5000"]),
    ({"noi_multiplier": -1}, ["noi_multiplier must be a finite number between 0 and 10", "Fix:"]),
    ({"market_growth": 0.9}, ["market_growth must be a finite number between -0.5 and 0.5"]),
])
def test_the_plan_itself_checks_the_drivers(drivers, words):
    with pytest.raises(ValueError) as info:
        ScriptRequirements(request="x", goal="x", metrics=["dscr"], drivers=drivers)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_the_plan_keeps_only_non_neutral_drivers_in_their_order():
    req = ScriptRequirements(request="x", goal="x", metrics=["dscr"],
                             drivers={"market_growth": 0.02, "noi_multiplier": 1.0, "interest_rate_shift_bps": 100})
    assert req.drivers == {"interest_rate_shift_bps": 100.0, "market_growth": 0.02}


# ----------------------------------------------------------------------------- aggregates

def test_average_occupancy_of_retail_properties_is_the_mean_over_retail():
    req = plan("average occupancy of retail properties")
    p = req.parameters
    assert req.metrics == ["occupancy"] and p.filters == {"property_type": ["retail"]} and p.aggregate == "mean"
    assert req.unhandled == []
    assert [s.kind for s in req.steps if s.kind == "reduce"] == ["reduce"]
    assert "the mean occupancy" in req.goal
    plain = plan("occupancy of retail properties")
    assert plain.parameters.aggregate is None and plain.fingerprint() != req.fingerprint()
    other = plan("average occupancy of the office properties")  # same shape, other values
    assert other.fingerprint() == req.fingerprint() and render(other) == render(req)
    assert plan("median occupancy of retail properties").fingerprint() != req.fingerprint()


@pytest.mark.parametrize(("text", "op", "metrics"), [
    ("average occupancy of retail properties", "mean", ["occupancy"]),
    ("mean DSCR for the hotels", "mean", ["dscr"]),
    ("what is the total NOI of the office properties?", "sum", ["noi"]),
    ("sum of NOI in Houston", "sum", ["noi"]),
    ("NOI in total for Tampa", "sum", ["noi"]),
    ("median cap rate of the industrial properties", "median", ["cap_rate"]),
    ("the minimum DSCR in 2023", "min", ["dscr"]),
    ("the highest LTV in the portfolio", "max", ["ltv"]),
    ("the average of the properties' cap rates", "mean", ["cap_rate"]),
    ("average occupancy and cash flow of the multifamily properties", "mean", ["occupancy", "cash_flow"]),
])
def test_aggregation_words(text, op, metrics):
    req = plan(text)
    assert (req.parameters.aggregate, req.metrics, req.unhandled) == (op, metrics, [])


@pytest.mark.parametrize("text", [
    "which property has the lowest DSCR", "top 5 properties by NOI", "the 3 weakest properties by DSCR",
    "total return for all properties",  # a figure (ROI), not a sum
    "Total NOI by property type", "average cap rate by property type in 2021",  # the group summary has them
])
def test_rankings_figures_and_group_summaries_are_not_aggregates(text):
    req = plan(text)
    assert req.parameters.aggregate is None and req.unhandled == []


def test_an_aggregate_the_group_summary_lacks_is_planned_per_group():
    req = plan("median cap rate by city")
    assert (req.parameters.aggregate, req.parameters.group_by) == ("median", "city")
    assert plan("average cap rate by city").parameters.aggregate is None


def test_a_second_different_aggregate_is_named_not_dropped():
    req = plan("total NOI and average DSCR")
    assert req.parameters.aggregate == "sum" and req.unhandled == ["average"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf", "json"])
@pytest.mark.parametrize("text", ["average occupancy of retail properties", "median NOI and DSCR by city",
                                  "the 3 best properties by DSCR and their average DSCR"])
def test_aggregate_scripts_pass_the_validator(text, fmt):
    report = validate_script(render(plan(text, fmt)))
    assert report.valid and report.findings == [], [(f.line, f.rule, f.message) for f in report.findings]


def test_the_aggregate_needs_a_figure():
    with pytest.raises(ValueError, match="needs a figure"):
        ScriptRequirements(request="x", goal="x", metrics=[], parameters=PlanParameters(aggregate="mean"))


def _latest_rows(path: Path, where: str, args: tuple = ()) -> list[sqlite3.Row]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    rows = con.execute(
        "SELECT p.property_id, p.city, f.* FROM financials f JOIN properties p ON p.property_id = f.property_id "
        f"WHERE f.year = (SELECT MAX(year) FROM financials) AND {where} ORDER BY p.property_id", args).fetchall()
    con.close()
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("ptype", ["retail", "office"])
def test_the_mean_in_result_json_matches_sql(factory_env, local_runner, portfolio_file, ptype):
    engine = engine_for(factory_env)
    with engine.begin() as conn:
        rid = repo.submit_request(conn, f"average occupancy of {ptype} properties", source="test")["request_id"]
    out = factory.process(engine, rid, runner=local_runner)
    assert out["status"] == "succeeded", out.get("run")
    rj = out["run"]["result"]
    con = sqlite3.connect(portfolio_file)
    (mean, n), = con.execute(
        "SELECT AVG(f.occupancy), COUNT(*) FROM financials f JOIN properties p ON p.property_id = f.property_id "
        "WHERE p.property_type = ? AND f.year = (SELECT MAX(year) FROM financials)", (ptype,)).fetchall()
    con.close()
    assert n >= 1
    agg = rj["key_figures"]["aggregate"]
    assert (agg["op"], agg["metric"], agg["count"], agg["undefined"]) == ("mean", "occupancy", n, 0)
    assert agg["value"] == pytest.approx(mean, rel=1e-12)
    assert rj["key_figures"]["aggregates"] == [agg]
    assert rj["parameters"]["aggregate"] == "mean" and rj["rows"] == n  # the per-property rows are still there
    assert any(note.startswith("occupancy: mean over ") for note in rj["notes"])
    assert sorted(rj["outputs"]) == ["occupancy.csv", "occupancy_aggregate.csv"]
    exported = (Path(out["run"]["results_dir"]) / "occupancy_aggregate.csv").read_text().splitlines()
    assert exported[0] == "figure,aggregate,over,value,count" and exported[1].startswith("occupancy,mean,all,")
    assert float(exported[1].split(",")[3]) == pytest.approx(mean, rel=1e-9)
    assert key_figures_rows(rj)[0]["aggregate"] == f"mean {mean * 100:.2f}%"


@pytest.mark.slow
def test_a_median_by_city_matches_numpy_overall_and_per_group(data_url, portfolio_file, local_runner, tmp_path):
    req = plan("median NOI and DSCR by city as Excel")
    data_files, env = runtime_data(data_url)
    result = local_runner.run(render(req), req.script_params(), results_dir=tmp_path / "r", data_files=data_files,
                              env=env, guard=True)
    assert result.status == "succeeded", result.stderr[-3000:]
    kf = result.result_json["key_figures"]
    rows = _latest_rows(portfolio_file, "1 = 1")
    noi = {r["property_id"]: r["noi"] for r in rows}
    dscr = {r["property_id"]: r["noi"] / r["debt_service"] for r in rows if r["debt_service"]}
    by_noi, by_dscr = kf["aggregates"]
    assert kf["aggregate"] == by_noi
    assert by_noi["value"] == pytest.approx(float(np.median(list(noi.values()))), rel=1e-12)
    assert by_dscr["value"] == pytest.approx(statistics.median(dscr.values()), rel=1e-12)
    assert by_dscr["undefined"] == len(rows) - len(dscr)
    for city in {r["city"] for r in rows}:
        ids = [r["property_id"] for r in rows if r["city"] == city]
        assert by_noi["groups"][city]["value"] == pytest.approx(float(np.median([noi[i] for i in ids])), rel=1e-12)
        finite = [dscr[i] for i in ids if i in dscr]
        got = by_dscr["groups"][city]["value"]
        assert (got is None and not finite) or got == pytest.approx(statistics.median(finite), rel=1e-12)
    # the group summary has the median per city too, and the workbook an Aggregate sheet
    summary = {s["city"]: s for s in result.result_json["summary"]}
    assert all(math.isclose(summary[c]["noi_median"], by_noi["groups"][c]["value"], rel_tol=1e-12) for c in summary)
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "r" / req.outputs[0].path)
    assert {"Properties", "Summary", "Aggregate"} <= set(wb.sheetnames)


@pytest.mark.slow
def test_the_aggregate_of_a_ranked_selection_is_over_the_rows_kept(data_url, portfolio_file, local_runner, tmp_path):
    req = plan("the 3 best properties by DSCR and their average DSCR")
    assert (req.parameters.aggregate, req.parameters.ranking.top_n) == ("mean", 3)
    data_files, env = runtime_data(data_url)
    result = local_runner.run(render(req), req.script_params(), results_dir=tmp_path / "r", data_files=data_files,
                              env=env, guard=True)
    assert result.status == "succeeded", result.stderr[-3000:]
    rows = _latest_rows(portfolio_file, "f.debt_service > 0")
    best = sorted((r["noi"] / r["debt_service"] for r in rows), reverse=True)[:3]
    agg = result.result_json["key_figures"]["aggregate"]
    assert agg["count"] == 3 and agg["value"] == pytest.approx(float(np.mean(best)), rel=1e-12)


# ----------------------------------------------------------------------------- unhandled

def test_a_clause_no_extractor_reads_is_named():
    req = plan("DSCR weighted by square footage")
    assert req.metrics == ["dscr"] and req.unhandled == ["weighted by square footage"]
    assert "not handled: 'weighted by square footage' (the plan ignores it)" in req.assumptions
    assert req.confidence < plan("DSCR").confidence
    md = req.to_markdown()
    assert "**Not handled**" in md and "- not handled: 'weighted by square footage'" in md
    assert "not handled: 'weighted by square footage'" in req.summary_lines()
    assert req.fingerprint() == plan("DSCR").fingerprint()  # it still runs, as the plan says


@pytest.mark.parametrize(("text", "unhandled"), [
    ("NOI for retail properties built after 2010", ["built"]),
    ("cap rate excluding the hotels", ["excluding"]),
    ("DSCR per tenant", None),  # refused: no tenant data
    ("occupancy trend for the office properties", ["trend"]),
    ("cap rates for office properties if cap rates rise 50bp", ["rise 50bp"]),
])
def test_other_unplanned_clauses_are_named(text, unhandled):
    out = outcome(text)
    if unhandled is None:
        assert not out.ok
    else:
        assert out.ok and out.requirements.unhandled == unhandled


@pytest.mark.parametrize("text", [
    *TWENTY_REQUESTS, *(t for pair in REPEATED_SHAPES for t in pair),
    "Calculate DSCR for all properties and export to Excel",  # the demo's requests
    "Compute the debt service coverage for P-003 and P-007 as an Excel file",
    "Which properties have a cap rate above 6.5% and a DSCR under 1.3? PDF report",
    "NPV of each property at an 8% discount rate, top 5",
    "DSCR computed from NOI divided by debt service", "IRR of the equity cash flows",
    "NPV using a discount rate of 9 percent", "show me each property's DSCR", "Debt-Service Coverage Ratios please",
    "cap rate and current value of the office properties", "sort the properties by DSCR, lowest first",
    "How many properties have a DSCR below 1.2?", "ROI since acquisition", "the property with the highest NOI",
])
def test_ordinary_requests_leave_nothing_unhandled(text):
    req = plan(text)
    assert req.unhandled == [], req.unhandled
    assert not any(a.startswith("not handled") for a in req.assumptions)
