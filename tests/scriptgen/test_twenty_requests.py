"""Twenty requests in different phrasings: each planned as expected, each script syntax-valid
and passing validation, each run in the local sandbox — with the figures in its result.json
checked against a direct computation (SQL on the portfolio file, numpy, numpy-financial)."""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest

from meta_agent.scriptgen.examples import TWENTY_REQUESTS
from meta_agent.scriptgen.factory import runtime_data
from meta_agent.scriptgen.generator import render
from meta_agent.scriptgen.offline_planner import OfflinePlanner
from meta_agent.scriptgen.validator import validate_script

# request -> what the plan must say (metrics in order; parameters that must be set; formats)
EXPECTED = {
    TWENTY_REQUESTS[0]: dict(metrics=["dscr"], params={}, formats=["xlsx"]),
    TWENTY_REQUESTS[1]: dict(metrics=["dscr"], params={"entity_ids": ["P-007"]}, formats=["csv"]),
    TWENTY_REQUESTS[2]: dict(metrics=["dscr"], params={"thresholds": [("dscr", "<", 1.25)]}, formats=["csv"]),
    TWENTY_REQUESTS[3]: dict(metrics=["dscr"], params={"year": 2023, "thresholds": [("dscr", "<", 1.2)]},
                             formats=["csv"]),
    TWENTY_REQUESTS[4]: dict(metrics=["cap_rate"], params={"filters": {"property_type": ["office", "retail"]}},
                             formats=["xlsx"]),
    TWENTY_REQUESTS[5]: dict(metrics=["cap_rate"], params={"thresholds": [("cap_rate", ">", 0.065)]},
                             formats=["csv"]),
    TWENTY_REQUESTS[6]: dict(metrics=["noi"], params={"group_by": "property_type"}, formats=["csv"]),
    TWENTY_REQUESTS[7]: dict(metrics=["noi"], params={"year": 2022, "ranking": ("noi", "desc", 5)}, formats=["csv"]),
    TWENTY_REQUESTS[8]: dict(metrics=["irr"], params={}, formats=["csv"]),
    TWENTY_REQUESTS[9]: dict(metrics=["npv"], params={"entity_ids": ["P-001", "P-002", "P-003"],
                                                      "discount_rate": 0.08}, formats=["csv"]),
    TWENTY_REQUESTS[10]: dict(metrics=["npv"], params={"filters": {"property_type": ["hotel"]}, "discount_rate": 0.10},
                              formats=["csv"]),
    TWENTY_REQUESTS[11]: dict(metrics=["roi"], params={"filters": {"property_type": ["multifamily"]}}, formats=["csv"]),
    TWENTY_REQUESTS[12]: dict(metrics=["roi"], params={"entity_ids": [f"P-{i:03d}" for i in range(10, 16)],
                                                       "annualized": True}, formats=["csv"]),
    TWENTY_REQUESTS[13]: dict(metrics=["ltv", "debt_yield"], params={}, formats=["pdf"]),
    TWENTY_REQUESTS[14]: dict(metrics=["ltv"], params={"thresholds": [("ltv", ">", 0.6)]}, formats=["xlsx"]),
    TWENTY_REQUESTS[15]: dict(metrics=["operating_expense_ratio"], params={"group_by": "city"}, formats=["csv"]),
    TWENTY_REQUESTS[16]: dict(metrics=["break_even_occupancy"], params={"filters": {"property_type": ["industrial"]},
                                                                        "year": 2024}, formats=["json"]),
    TWENTY_REQUESTS[17]: dict(metrics=["dscr"], params={"ranking": ("dscr", "asc", 3)}, formats=["csv"]),
    TWENTY_REQUESTS[18]: dict(metrics=["occupancy", "cash_flow"], params={"filters": {"city": ["Portland", "Tampa"]}},
                              formats=["csv"]),
    TWENTY_REQUESTS[19]: dict(metrics=[], params={"filters": {"city": ["Houston"]}}, formats=["csv"]),
}
PARAM_DEFAULTS = {"entity_ids": None, "filters": {}, "year": None, "thresholds": [],
                  "ranking": None, "group_by": None, "discount_rate": None, "annualized": False, "aggregate": None}


def _normalize(params: dict) -> dict:
    out = dict(params)
    out["thresholds"] = [(t["metric"], t["op"], pytest.approx(t["value"])) for t in params["thresholds"]]
    r = params["ranking"]
    out["ranking"] = (r["metric"], r["order"], r["top_n"]) if r else None
    if out["discount_rate"] is not None:
        out["discount_rate"] = pytest.approx(out["discount_rate"])
    return out


def _plan(request: str):
    outcome = OfflinePlanner().plan(request)
    assert outcome.ok, outcome.refusal.message()
    return outcome.requirements


def test_all_twenty_requests_are_planned_as_expected():
    assert len(TWENTY_REQUESTS) == 20 and set(EXPECTED) == set(TWENTY_REQUESTS)
    wrong = []
    for request, want in EXPECTED.items():
        req = _plan(request)
        got = _normalize(req.script_params())
        expected = {**PARAM_DEFAULTS, **want["params"]}
        if req.metrics != want["metrics"] or req.parameters.output_formats != want["formats"] or \
                any(got[k] != v for k, v in expected.items()):
            wrong.append((request, req.metrics, req.script_params()))
    assert wrong == [], f"{20 - len(wrong)}/20 planned correctly; wrong: {wrong}"


@pytest.mark.parametrize("request_text", TWENTY_REQUESTS)
def test_every_clause_of_the_twenty_is_planned_and_none_assumes_a_scenario(request_text):
    req = _plan(request_text)
    assert req.unhandled == [] and req.drivers == {}
    assert not any(a.startswith(("not handled", "scenario")) for a in req.assumptions)


@pytest.mark.parametrize("request_text", TWENTY_REQUESTS)
def test_every_plan_names_registered_tools_in_a_sensible_order(request_text):
    from meta_agent.scriptgen.tooling import registry

    req = _plan(request_text)
    assert all(t in registry() for t in req.tools)
    kinds = [s.kind for s in req.steps]
    assert kinds[0] == "fetch" and kinds[-1] == "summarize" and "export" in kinds
    assert [s.n for s in req.steps] == list(range(1, len(req.steps) + 1))
    assert req.outputs[-1].path == "result.json"


@pytest.mark.parametrize("request_text", TWENTY_REQUESTS)
def test_every_generated_script_is_syntax_valid_and_passes_validation(request_text):
    source = render(_plan(request_text))
    ast.parse(source)
    report = validate_script(source)
    assert report.valid, [(f.line, f.rule, f.message) for f in report.findings]
    assert report.findings == []


# ------------------------------------------------------------------ direct computation

def _direct(path: Path, params: dict, metrics: list[str]) -> list[dict]:
    """The per-property figures straight from the portfolio file (SQL + numpy + numpy-financial)."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    props = [dict(r) for r in con.execute(
        "SELECT p.*, COALESCE(l.outstanding_balance, 0.0) AS balance FROM properties p "
        "LEFT JOIN loans l ON l.property_id = p.property_id ORDER BY p.property_id")]
    if params["entity_ids"]:
        props = [p for p in props if p["property_id"] in params["entity_ids"]]
    for dimension, values in params["filters"].items():  # the portfolio's dimensions are its columns
        props = [p for p in props if p[dimension] in values]
    year = params["year"] or con.execute("SELECT MAX(year) FROM financials").fetchone()[0]
    fin = {r["property_id"]: dict(r) for r in con.execute("SELECT * FROM financials WHERE year = ?", (year,))}
    noi_total = dict(con.execute("SELECT property_id, SUM(noi) FROM financials GROUP BY property_id").fetchall())
    flows: dict[str, list[float]] = {}
    for pid, amount in con.execute("SELECT property_id, amount FROM cash_flows ORDER BY property_id, period"):
        flows.setdefault(pid, []).append(amount)
    con.close()

    def div(a, b):
        return a / b if b else math.nan

    rows = []
    for p in props:
        pid = p["property_id"]
        f = fin.get(pid)
        row = {"property_id": pid}
        for m in metrics:
            if m == "dscr":
                row[m] = div(f["noi"], f["debt_service"])
            elif m == "cap_rate":
                row[m] = f["noi"] / p["current_value"]
            elif m in ("noi", "occupancy", "cash_flow", "debt_service"):
                row[m] = f[m]
            elif m == "irr":
                row[m] = float(npf.irr(flows[pid]))
            elif m == "npv":
                row[m] = float(npf.npv(params["discount_rate"], flows[pid]))
            elif m == "roi":
                total = (p["current_value"] + noi_total[pid] - p["purchase_price"]) / p["purchase_price"]
                if params["annualized"]:
                    years = (dt.date.fromisoformat(p["valuation_date"]) -
                             dt.date.fromisoformat(p["acquisition_date"])).days / 365.25
                    total = (1 + total) ** (1 / years) - 1
                row[m] = total
            elif m == "ltv":
                row[m] = p["balance"] / p["current_value"]
            elif m == "debt_yield":
                row[m] = div(f["noi"], p["balance"])
            elif m == "operating_expense_ratio":
                row[m] = f["operating_expenses"] / f["effective_gross_income"]
            elif m == "break_even_occupancy":
                row[m] = (f["operating_expenses"] + f["debt_service"]) / f["potential_gross_income"]
        row["_group"] = p.get(params["group_by"]) if params["group_by"] else None
        rows.append(row)
    ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
    for t in params["thresholds"]:
        rows = [r for r in rows if not math.isnan(r[t["metric"]]) and ops[t["op"]](r[t["metric"]], t["value"])]
    if params["ranking"]:
        rk = params["ranking"]
        finite = [r for r in rows if not math.isnan(r[rk["metric"]])]
        finite.sort(key=lambda r: r[rk["metric"]], reverse=rk["order"] == "desc")
        rows = (finite + [r for r in rows if math.isnan(r[rk["metric"]])])[:rk["top_n"] or None]
    return rows


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("request_text", TWENTY_REQUESTS)
def test_every_script_runs_and_its_figures_match_a_direct_computation(request_text, data_url, portfolio_file,
                                                                     local_runner, tmp_path):
    req = _plan(request_text)
    source = render(req)
    params = req.script_params()
    data_files, env = runtime_data(data_url)
    # under the runtime guard, as generated scripts run in production
    result = local_runner.run(source, params, results_dir=tmp_path / "results", data_files=data_files, env=env,
                              guard=True)
    assert result.status == "succeeded", result.message + "\n" + result.stderr[-3000:]
    rj = result.result_json
    assert rj["status"] == "succeeded", rj.get("error")
    # every output the plan promised is there, in its format
    written = {o.path: o for o in result.outputs}
    for out in req.outputs:
        assert out.path in written or out.path.endswith("_summary.csv"), (out.path, sorted(written))
        if out.path in written:
            assert written[out.path].size_bytes > 0
    expected = _direct(portfolio_file, params, req.metrics)
    table = rj["table"]
    assert [r["property_id"] for r in table] == [r["property_id"] for r in expected]
    assert rj["key_figures"]["properties"] == len(expected) > 0
    for got, want in zip(table, expected, strict=True):
        for m in req.metrics:
            assert _same(want[m], got[m]), (got["property_id"], m, got[m], want[m])
    for m in req.metrics:
        finite = [r[m] for r in expected if not math.isnan(r[m])]
        kf = rj["key_figures"][m]
        assert kf["count"] == len(finite) and kf["undefined"] == len(expected) - len(finite)
        if finite:
            assert kf["mean"] == pytest.approx(float(np.mean(finite)), rel=1e-9)
            assert kf["min"] == pytest.approx(min(finite)) and kf["max"] == pytest.approx(max(finite))
    if params["group_by"]:
        m = req.metrics[0]
        groups: dict[str, list[float]] = {}
        for r in expected:
            groups.setdefault(r["_group"], []).append(r[m])
        summary = {s[params["group_by"]]: s for s in rj["summary"]}
        assert set(summary) == set(groups)
        for g, values in groups.items():
            assert summary[g]["property_id_count"] == len(values)
            agg = "sum" if m == "noi" else "mean"
            assert summary[g][f"{m}_{agg}"] == pytest.approx(float(getattr(np, agg)(values)), rel=1e-9)
    if "json" in params["output_formats"]:
        exported = json.loads((tmp_path / "results" / req.outputs[0].path).read_text())
        assert [r["property_id"] for r in exported] == [r["property_id"] for r in expected]
    if "xlsx" in params["output_formats"]:
        from openpyxl import load_workbook

        ws = load_workbook(tmp_path / "results" / req.outputs[0].path).active
        assert ws.max_row == len(expected) + 1
    if "pdf" in params["output_formats"]:
        assert (tmp_path / "results" / req.outputs[0].path).read_bytes().startswith(b"%PDF")
