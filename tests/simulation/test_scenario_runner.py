"""A request's script re-run under scenarios (no Dagster): the world it reads, the figures it
reports against an independent SQL computation, the expected-outcome verdict, Monte Carlo,
tornado, repeat reliability, and what is stored — on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy_financial as npf
import pytest

from meta_agent.portfolio import worlds
from meta_agent.scriptgen import factory
from meta_agent.scriptgen import repository as repo
from meta_agent.simulation import catalog, montecarlo, present, runner
from meta_agent.simulation import repository as srepo
from meta_agent.simulation.scenario import parse_scenario
from meta_agent.store.engine import engine_for

pytestmark = pytest.mark.slow


@pytest.fixture
def env(factory_env, tmp_path, local_runner):
    engine = engine_for(factory_env)
    return engine, factory.Places.from_environment(), local_runner


def planned(engine, text: str, places, local_runner) -> str:
    with engine.begin() as conn:
        rid = repo.submit_request(conn, text, source="test")["request_id"]
    out = factory.process(engine, rid, places=places, runner=local_runner, execute=False)
    assert out["status"] == "generated", out
    return rid


def scenario(text: str, key: str):
    return parse_scenario(text, path=f"{key}.yaml", key=key)


def sql_dscr(data_url: str, noi_multiplier: float = 1.0) -> dict[str, float | None]:
    """DSCR per property from the latest financial year, in plain SQL on the real portfolio."""
    path = data_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("""
            SELECT f.property_id, f.noi, f.debt_service FROM financials f
            JOIN (SELECT property_id, MAX(year) AS y FROM financials GROUP BY property_id) m
              ON m.property_id = f.property_id AND m.y = f.year""").fetchall()
    return {pid: (noi * noi_multiplier / ds if ds > 0 else None) for pid, noi, ds in rows}


def test_a_fixed_scenario_reruns_the_script_on_its_world(env, data_url):
    engine, places, local_runner = env
    rid = planned(engine, "DSCR for all properties", places, local_runner)
    before = sql_dscr(data_url)
    s = scenario("scenario:\n  name: Pessimistic\n  parameters: {noi_multiplier: 0.8}\n"
                 "  expected_outcome: {dscr_range: [1.0, 1.2]}\n", "pessimistic")
    out = runner.run_scenario(engine, rid, s, local_runner, places=places)
    assert out.status == "succeeded", out.message
    expected = sql_dscr(data_url, 0.8)
    assert set(out.values) == set(expected)
    for pid, dscr in expected.items():
        got = out.values[pid]["dscr"]
        assert (got is None) == (dscr is None)
        if dscr is not None:
            assert got == pytest.approx(dscr, rel=1e-9)
    mean = sum(v for v in expected.values() if v is not None) / sum(v is not None for v in expected.values())
    (verdict,) = out.expected
    assert verdict["portfolio_mean"] == pytest.approx(mean, rel=1e-12)
    assert verdict["in_range"] is (1.0 <= mean <= 1.2)
    assert {o["property_id"] for o in verdict["outside"]} == {
        pid for pid, v in expected.items() if v is not None and not 1.0 <= v <= 1.2}
    # the world is a file beside the runs, and the real portfolio is untouched
    assert Path(out.world).exists() and Path(out.world).parent == places.worlds_dir
    assert sql_dscr(data_url) == before
    # the tornado of a one-driver scenario: the driver alone moves DSCR from base to the scenario
    (row,) = out.tornado
    assert row["driver"] == "noi_multiplier" and row["value_at_high"] == pytest.approx(mean, rel=1e-9)
    with engine.connect() as conn:
        stored = srepo.read_scenario_run(conn, rid, "pessimistic")
    assert stored["status"] == "succeeded" and stored["drivers"]["noi_multiplier"] == 0.8
    back = runner.outcome_from_row(stored)
    assert back.values == out.values and back.expected == out.expected


def test_a_rerun_rewrites_the_row_and_the_base_case_is_the_script_own_figures(env, data_url):
    engine, places, local_runner = env
    rid = planned(engine, "DSCR for all properties", places, local_runner)
    base = scenario("scenario:\n  name: Base\n", "base")
    first = runner.run_scenario(engine, rid, base, local_runner, places=places)
    again = runner.run_scenario(engine, rid, base, local_runner, places=places)
    assert first.values == again.values
    assert {k: v["dscr"] for k, v in first.values.items()} == pytest.approx(sql_dscr(data_url))
    with engine.connect() as conn:
        assert [r["scenario_key"] for r in srepo.scenario_runs_for(conn, rid)] == ["base"]


def test_monte_carlo_scenario_with_repeat(env):
    engine, places, local_runner = env
    rid = planned(engine, "DSCR for all properties", places, local_runner)
    s = scenario("""scenario:
  name: MC
  repeat: 2
  expected_outcome: {dscr_range: [1.0, 3.0]}
  monte_carlo:
    iterations: 20000
    seed: 3
    distributions:
      noi_multiplier: {dist: normal, mean: 1.0, sd: 0.1}
      interest_rate_shift_bps: {dist: triangular, low: 0, mode: 100, high: 300}
    correlations:
      - {between: [noi_multiplier, interest_rate_shift_bps], rho: -0.4}
    risk: {dscr_below: 1.0}
""", "mc")
    out = runner.run_scenario(engine, rid, s, local_runner, places=places)
    assert out.status == "succeeded", out.message
    assert len(out.runs) == 2 and out.repeat["identical_figures"] is True
    assert out.repeat["successes"] == 2 and out.repeat["pass_hat_k"] == 1.0
    lo, hi = out.repeat["interval"]
    assert lo == pytest.approx(2 / (2 + 1.959964**2), rel=1e-4) and hi == 1.0  # Wilson, 2 of 2
    mc = out.monte_carlo
    assert mc["iterations"] == 20000 and set(mc["per_property"]) == set(out.values)
    (risk,) = mc["risk"]
    for p in risk["per_property"].values():
        if p["p"] is not None:
            assert 0 <= p["p"] <= 1 and p["se"] == pytest.approx(math.sqrt(p["p"] * (1 - p["p"]) / 20000), rel=1e-6)
    # the script ran at the distributions' means: NOI x 1, rates +133.3 bp
    assert out.drivers["interest_rate_shift_bps"] == pytest.approx(400 / 3)
    assert {r["driver"] for r in out.tornado} == {"noi_multiplier", "interest_rate_shift_bps"}
    assert set(out.sobol["indices"]) == {"noi_multiplier", "interest_rate_shift_bps"}
    scalars, markdown = present.scenario_run_metadata(out)
    assert scalars["iterations"] == 20000 and "p_portfolio_dscr_below_1" in scalars
    assert all(len(md) < 1000 for md in markdown.values() if md.startswith("![")), "charts must render inline"


def test_comparison_of_a_request_scenarios(env, tmp_path):
    engine, places, local_runner = env
    rid = planned(engine, "DSCR and cap rate for all properties", places, local_runner)
    outs = [runner.run_scenario(engine, rid, scenario(text, key), local_runner, places=places)
            for key, text in [("base", "scenario:\n  name: Base\n"),
                              ("mild", "scenario:\n  name: Mild\n  parameters: {noi_multiplier: 0.95}\n"),
                              ("shock", "scenario:\n  name: Shock\n  parameters: {noi_multiplier: 0.5}\n"
                                        "  expected_outcome: {dscr_range: [1.2, 2.0]}\n"),
                              ("up", "scenario:\n  name: Up\n  parameters: {noi_multiplier: 1.05}\n")]]
    report = present.comparison(rid, outs, tmp_path / "sim")
    base = {r["metric"]: r["value"] for r in report.rows if r["scenario"] == "base"}
    shock = next(r for r in report.rows if r["scenario"] == "shock" and r["metric"] == "dscr")
    assert shock["delta"] == pytest.approx(shock["value"] - base["dscr"]) and shock["value"] == pytest.approx(
        base["dscr"] * 0.5, rel=1e-9)
    assert "OUTSIDE" in shock["expected"] and report.metadata["broken_ranges"] == 1
    assert report.path.exists() and Path(report.charts["distribution"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.markdown["distribution"].startswith("![") and len(report.markdown["distribution"]) < 1000


def test_a_scenario_of_an_unplanned_request_is_an_error_that_stores_nothing(env):
    engine, places, local_runner = env
    with engine.begin() as conn:
        rid = repo.submit_request(conn, "DSCR for all properties", source="test")["request_id"]
    with pytest.raises(factory.NotPlanned, match="not been planned"):
        runner.run_scenario(engine, rid, scenario("scenario:\n  name: Base\n", "base"), local_runner, places=places)
    with engine.connect() as conn:
        assert srepo.scenario_runs_for(conn, rid) == []


def test_sync_keeps_good_files_and_reports_bad_ones(env, tmp_path):
    engine, _, _ = env
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "good.yaml").write_text("scenario:\n  name: Good\n  parameters: {noi_multiplier: 0.9}\n")
    (folder / "bad.yaml").write_text("scenario:\n  name: Bad\n  parameters: {noi_multipler: 0.9}\n")
    report = catalog.sync_directory(engine, folder)
    assert report.scenarios == ["good"] and report.changed == ["good"]
    (error,) = report.errors
    assert "bad.yaml, line 3" in error and "noi_multiplier" in error
    assert catalog.sync_directory(engine, folder).changed == []  # unchanged: not rewritten
    # a good file turned bad keeps its last good version
    (folder / "good.yaml").write_text("scenario:\n  name: Good\n  parameters: {noi_multiplier: -1}\n")
    again = catalog.sync_directory(engine, folder)
    assert len(again.errors) == 2 and catalog.get(engine, "good").parameters == {"noi_multiplier": 0.9}


def test_a_request_stating_an_assumption_runs_on_that_scenario(env, data_url):
    """'if rates rise 200 bp' is not dropped: the plan carries the driver and the script reads the
    world — DSCR recomputed here from the portfolio rows with numpy-financial's pmt."""
    engine, places, local_runner = env
    with engine.begin() as conn:
        rid = repo.submit_request(conn, "DSCR for all properties if rates rise 200 bp", source="test")["request_id"]
    out = factory.process(engine, rid, places=places, runner=local_runner)
    assert out["status"] == "succeeded", out
    assert out["plan"]["requirements"]["drivers"] == {"interest_rate_shift_bps": 200.0}
    assert out["run"]["message"].startswith("under the assumed scenario (floating rates +200 bp)")
    path = data_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        fin = dict(conn.execute("""SELECT f.property_id, f.noi FROM financials f JOIN (SELECT property_id, MAX(year) y
                                   FROM financials GROUP BY property_id) m ON m.property_id = f.property_id
                                   AND m.y = f.year""").fetchall())
        loans = conn.execute("SELECT property_id, loan_type, principal, interest_rate, amortization_years, "
                             "annual_debt_service FROM loans").fetchall()
    debt: dict[str, float] = {}
    for pid, kind, principal, rate, years, stored in loans:
        ds = -12 * npf.pmt((rate + 0.02) / 12, years * 12, principal) if kind == "floating" else stored
        debt[pid] = debt.get(pid, 0.0) + ds
    values = out["run"]["result"]["key_figures"]["values"]
    for pid, noi in fin.items():
        expected = noi / debt[pid] if debt.get(pid) else None
        got = values[pid]["dscr"]
        assert (got is None) == (expected is None) and (got is None or got == pytest.approx(expected, rel=1e-9))
    with engine.connect() as conn:
        assert factory.describe_request(conn, rid)["plan"]["scenario"] == "floating rates +200 bp"


def test_a_scenario_added_by_hand_is_not_replaced_by_a_file_with_its_key(env, tmp_path):
    engine, _, _ = env
    mine = tmp_path / "good.yaml"
    mine.write_text("scenario:\n  name: Mine\n  parameters: {noi_multiplier: 0.7}\n")
    catalog.add(engine, mine)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "good.yaml").write_text("scenario:\n  name: Theirs\n  parameters: {noi_multiplier: 0.9}\n")
    report = catalog.sync_directory(engine, folder)
    assert report.scenarios == [] and "belongs to a scenario added with the CLI" in report.errors[0]
    assert catalog.get(engine, "good").name == "Mine"


def test_risks_that_cannot_be_estimated_are_named_not_dropped(data_url):
    base = worlds.load_base(data_url)
    out = montecarlo.simulate(base, distributions={"noi_multiplier": {"dist": "normal", "mean": 1.0, "sd": 0.1}},
                              correlations=[], iterations=5_000, seed=1, metrics=["dscr"],
                              risk={"dscr_below": 1.0, "ltv_above": 0.8, "npv_below": 0.0})
    assert [r["metric"] for r in out.risk] == ["dscr"]
    assert any("ltv_above 0.8 is not estimated" in n for n in out.notes)
    assert any("npv_below 0 is not estimated: NPV needs the request's discount rate" in n for n in out.notes)
