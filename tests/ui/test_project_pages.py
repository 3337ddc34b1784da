"""What a new user sees on the project's own asset pages after the daily jobs ran, checked in
headless Chromium against a running dagster-webserver on workspace.yaml.

A fleet of 10 days ending yesterday, with the demo's four incidents, goes through the named
jobs (``python -m meta_agent_launch``, as the demo runs them): then each claim of the
architecture page's "What the UI shows" is asserted on the page, and screenshots are kept
under test-artifacts/ui/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from uihelpers import (
    ROOT,
    chart_series,
    metadata_row,
    metadata_table,
    metadata_value,
    open_asset_page,
    open_metadata_plots,
    screenshot,
    show_metadata_dialog,
    wait_for_image,
)

from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_ops_metrics import daily_agent_metrics, sla_evaluations

pytestmark = pytest.mark.slow
DAYS = 10


def launch(home, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-m", "meta_agent_launch", *args], capture_output=True, text=True,
                       env={**os.environ, **home.env()}, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fleet_ran(project_server):
    """The project server's home with a 10-day fleet and the daily jobs run over it."""
    home = project_server.home
    end = datetime.now(UTC).date() - timedelta(days=1)
    ids = [p.agent_id for p in fleet(6)]
    spec = FleetSpec(agents=6, days=DAYS, per_day=300, seed=11, end=end, incidents=default_incidents(ids, end, DAYS))
    ingest_items(((r["execution_id"], r) for r in simulate(spec)), url=home.db_url, source="ui-test", origin="fleet")
    first = (end - timedelta(days=DAYS - 1)).isoformat()
    runs = [launch(home, "agent_ops_daily", "--from", first, "--to", end.isoformat()),
            launch(home, "sla_reports"), launch(home, "fleet_health_refresh")]
    assert all(r["success"] for r in runs)
    engine = sa.create_engine(home.db_url)
    with engine.connect() as conn:
        executions = dict(conn.execute(sa.select(daily_agent_metrics.c.day, sa.func.sum(daily_agent_metrics.c.executions))
                                       .group_by(daily_agent_metrics.c.day)).all())
        cost_breach_days = sorted({str(r.day) for r in conn.execute(sa.select(sla_evaluations.c.day).where(
            sla_evaluations.c.metric == "max_daily_cost_usd", sla_evaluations.c.status == "breach"))})
    engine.dispose()
    return {"end": end, "executions": {str(k): int(v) for k, v in executions.items()},
            "cost_breach_days": cost_breach_days}


def test_the_weekly_report_shows_its_trend_inline_and_its_chart_on_the_page(project_server, fleet_ran, page):
    open_asset_page(page, project_server, "sla_report_weekly", expect_key="chart")
    trend = wait_for_image(page, "fleet compliance by ISO week")  # inline: no click
    assert trend["naturalWidth"] == 160 and trend["src"].startswith("data:image/svg+xml")
    headers = metadata_value(page, "fleet_trend").locator("table th").all_inner_texts()
    assert headers[:4] == ["period_start", "agents", "agent_days", "compliance"]
    rows = metadata_table(page, "latest_period_by_agent")
    assert rows and all(r["compliance"].endswith("%") for r in rows)
    screenshot(page, "sla_report_weekly-overview")  # the sparkline and the tables
    show_metadata_dialog(page, "chart")
    png = wait_for_image(page, "SLA compliance by ISO week")  # the full PNG, one click away
    assert png["naturalWidth"] >= 800 and png["src"].startswith("data:image/png;base64,")
    screenshot(page, "sla_report_weekly-chart")


def test_daily_metrics_give_each_day_its_own_point_and_readable_units(project_server, fleet_ran, page):
    open_asset_page(page, project_server, "daily_agent_metrics", expect_key="by_agent")
    rows = metadata_table(page, "by_agent")
    assert rows and all(r["cost"].startswith("$") for r in rows)
    assert all(r["p95"].endswith((" ms", " s", " min")) and "e+" not in r["p95"] for r in rows)
    assert all(r["success_rate"].endswith(" %") for r in rows)
    screenshot(page, "daily_agent_metrics-by_agent")
    open_metadata_plots(page, "Partitions")
    series = chart_series(page)
    screenshot(page, "daily_agent_metrics-plots-by-partition")
    assert series["executions"] == {d: float(n) for d, n in fleet_ran["executions"].items()}  # one point a day


def test_the_cost_check_is_red_exactly_on_the_breach_days(project_server, fleet_ran, page):
    breaches = fleet_ran["cost_breach_days"]
    assert breaches == [fleet_ran["end"].isoformat()]  # the demo's cost spike is on the last day
    open_asset_page(page, project_server, "sla_compliance", query="view=checks&checkDetail=sla_daily_cost",
                    expect_key="breaches")
    screenshot(page, "sla_compliance-check-sla_daily_cost")  # the latest verdict, its flagged table, its plots
    page.get_by_role("tab", name="Partitions").last.click()
    summary = page.get_by_text("Partitions Selected").locator("xpath=..")
    summary.get_by_text("Passed (").wait_for()
    text = summary.inner_text()
    screenshot(page, "sla_compliance-check-sla_daily_cost-partitions")
    assert f"Failed ({len(breaches)})" in text and f"Passed ({DAYS - len(breaches)})" in text


def test_fleet_health_is_the_page_to_open_first(project_server, fleet_ran, page):
    open_asset_page(page, project_server, "fleet_health", expect_key="incidents")
    incidents = metadata_table(page, "incidents")
    agents = metadata_table(page, "agents_now")
    screenshot(page, "fleet_health-overview")
    spiked = [r for r in incidents if r["day"] == fleet_ran["end"].isoformat() and "cost" in r["breached"]]
    assert len(spiked) == 1 and spiked[0]["agent"] == "invoice-extractor"
    assert "invoice-extractor" in {r["agent"] for r in agents}
    assert metadata_value(page, "window").inner_text().strip().endswith(fleet_ran["end"].isoformat())


def test_a_script_run_shows_its_provenance_policy_and_guard(project_server, page):
    """Issue #9 on the asset page: script_run's partition says who wrote the script, the run
    policy's verdict for its runner and that the guard was on."""
    env = {**os.environ, **project_server.home.env()}
    cli = [str(Path(sys.executable).parent / "meta-agent")]
    seed = subprocess.run([*cli, "data", "seed"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert seed.returncode == 0, seed.stderr[-2000:]
    p = subprocess.run([*cli, "request", "Calculate DSCR for all properties as CSV", "--wait", "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    rid = json.loads(p.stdout)["request_id"]
    open_asset_page(page, project_server, "script_run", expect_key="provenance",
                    query=f"view=partitions&partition={rid}")
    screenshot(page, "script_run-provenance")

    def value(key: str) -> str:  # the partition view's table has a trailing empty column: the value is the 2nd cell
        return metadata_row(page, key).locator("xpath=./td[2]").inner_text().strip()

    assert value("provenance") == "template" and value("outcome") == "ran" and value("guard").lower() == "true"
    assert "may run under" in value("policy")


def test_a_simulation_shows_its_comparison_and_charts_on_the_page(project_server, page):
    """Issue #10 on the asset page: after `simulate run --wait` (a backfill), the request's
    scenario_comparison partition shows the comparison table and the distribution and tornado
    charts inline (SVG, no click), the PNG one click away; the pessimistic scenario's range is
    named as broken."""
    env = {**os.environ, **project_server.home.env()}
    cli = [str(Path(sys.executable).parent / "meta-agent")]
    seed = subprocess.run([*cli, "data", "seed"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert seed.returncode == 0, seed.stderr[-2000:]
    p = subprocess.run([*cli, "simulate", "run", "DSCR for all properties", "--scenario", "base", "--scenario",
                        "pessimistic", "--scenario", "noi_monte_carlo", "--wait", "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    rid = out["request_id"]
    assert out["backfill"]["status"] == "COMPLETED_SUCCESS"
    open_asset_page(page, project_server, "scenario_comparison", expect_key="comparison",
                    query=f"view=partitions&partition={rid}")

    def cell(key: str):  # the partition view's table has a trailing empty column: the value is the 2nd cell
        return metadata_row(page, key).locator("xpath=./td[2]")

    table = cell("comparison").locator("table").first
    table.wait_for(state="visible")
    headers = [h.strip() for h in table.locator("th").all_inner_texts()]
    rows = [dict(zip(headers, [c.strip() for c in r.locator("td").all_inner_texts()], strict=False))
            for r in table.locator("tbody tr").all()]
    assert {r["scenario"] for r in rows} == {"base", "pessimistic", "noi_monte_carlo"}
    pessimistic = next(r for r in rows if r["scenario"] == "pessimistic")
    assert pessimistic["shown"] == "1.32x" and pessimistic["delta_shown"] == "-20.0 %"  # readable units
    assert "OUTSIDE" in pessimistic["expected"]
    for alt in ("portfolio dscr per scenario", "tornado (noi_monte_carlo): portfolio dscr"):
        img = wait_for_image(page, alt)  # inline: rendered without opening a dialog
        assert img["src"].startswith("data:image/svg+xml;base64,") and img["visible"]
    assert "Pessimistic Case: portfolio dscr 1.32x is outside" in cell("outliers_and_ranges").inner_text()
    screenshot(page, "scenario_comparison-partition")
    show_metadata_dialog(page, "distribution_png")
    png = wait_for_image(page, "distribution")
    assert png["src"].startswith("data:image/png;base64,") and png["naturalWidth"] >= 600
    screenshot(page, "scenario_comparison-distribution-png")


def test_evaluation_pages_show_clusters_findings_and_the_weekly_reports(project_server, fleet_ran, page):
    """Issue #11 on the asset pages: after the evaluation jobs ran over the fleet's last week,
    failure_clusters shows its clusters table and the per-day trend inline (SVG, no click);
    root_cause_findings its findings with category and confidence; agent_evaluation_report one
    row per agent with the four scores, the worst agent's trend inline and its report one
    click away."""
    home, end = project_server.home, fleet_ran["end"]
    first = end - timedelta(days=6)
    assert launch(home, "evaluation_daily", "--from", first.isoformat(), "--to", end.isoformat())["success"]
    week = (end - timedelta(days=end.weekday())).isoformat()
    assert launch(home, "evaluation_weekly", "--partition", week)["success"]

    open_asset_page(page, project_server, "failure_clusters", expect_key="clusters")
    clusters = metadata_table(page, "clusters")
    assert clusters and {"cluster", "label", "size", "trend", "agents"} <= set(clusters[0])
    assert all(r["trend"] in ("new", "growing", "recurring", "resolved") for r in clusters)
    trend = wait_for_image(page, "clustered failures per day")
    assert trend["src"].startswith("data:image/svg+xml") and trend["visible"]
    screenshot(page, "failure_clusters-overview")

    open_asset_page(page, project_server, "root_cause_findings", expect_key="findings")
    findings = metadata_table(page, "findings")
    screenshot(page, "root_cause_findings-overview")
    assert all(r["category"] in ("prompt", "tool", "context", "external", "unknown") for r in findings)
    assert all(r["confidence"].endswith("%") and r["first_bad_execution"] for r in findings)

    open_asset_page(page, project_server, "agent_evaluation_report", expect_key="reports")
    reports = metadata_table(page, "reports")
    assert len(reports) == 6 and all(0 <= float(r["overall"]) <= 100 for r in reports)
    assert [float(r["overall"]) for r in reports] == sorted(float(r["overall"]) for r in reports)  # worst first
    worst = metadata_value(page, "worst_agent").inner_text().strip()
    assert worst == reports[0]["agent"]
    spark = wait_for_image(page, "worst agent, its largest regression per day")
    assert spark["src"].startswith("data:image/svg+xml") and spark["visible"]
    screenshot(page, "agent_evaluation_report-overview")
    show_metadata_dialog(page, "worst_agent_report")
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Recommendations").first.wait_for()
    assert worst in dialog.inner_text()
    screenshot(page, "agent_evaluation_report-worst-agent")
