"""What Dagster's asset pages show, checked in headless Chromium against a running
dagster-webserver (FINDINGS.md says why each assertion is the way it is)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from datetime import date, timedelta

import pytest
from uihelpers import (
    chart_series,
    images,
    metadata_table,
    metadata_value,
    open_asset_page,
    open_metadata_plots,
    screenshot,
    show_metadata_dialog,
    wait_for_image,
)

pytestmark = pytest.mark.slow


# --- the throwaway location (probe_location.py) -------------------------------------------


@pytest.mark.parametrize("alt", ["chart_50kb", "chart_300kb"])
def test_markdown_data_uri_image_renders_in_the_show_markdown_dialog(probe_server, page, alt):
    open_asset_page(page, probe_server, "chart_images", expect_key=alt)
    # 1000+ characters of markdown: the overview shows a button, not the image
    assert metadata_value(page, alt).inner_text().strip() == "[Show Markdown]"
    assert not [i for i in images(page) if i["alt"] == alt]
    dialog = show_metadata_dialog(page, alt)
    img = wait_for_image(page, alt)
    side = probe_server.probe.IMAGE_SIDES[alt]
    assert (img["naturalWidth"], img["naturalHeight"]) == (side, side) and img["visible"]
    assert "text after" in dialog.inner_text()
    screenshot(page, f"chart_images-{alt}-dialog")


def test_markdown_data_uri_image_on_the_events_tab(probe_server, page):
    open_asset_page(page, probe_server, "chart_images", query="view=events", expect_key="chart_50kb")
    show_metadata_dialog(page, "chart_50kb")
    assert wait_for_image(page, "chart_50kb")["naturalWidth"] == probe_server.probe.IMAGE_SIDES["chart_50kb"]
    screenshot(page, "chart_images-events-dialog")


def test_short_markdown_renders_inline_svg_sparkline(probe_server, page):
    open_asset_page(page, probe_server, "sparkline", expect_key="spark")
    img = wait_for_image(page, "sparkline")  # no click: under 1000 characters renders inline
    assert img["naturalWidth"] == 120 and img["src"].startswith("data:image/svg+xml")
    assert int(metadata_value(page, "spark_chars").inner_text()) < 1000
    screenshot(page, "sparkline-overview")


def test_html_img_tag_in_markdown_is_dropped(probe_server, page):
    open_asset_page(page, probe_server, "html_image", expect_key="html_img")
    dialog = show_metadata_dialog(page, "html_img")
    assert "after the html tag" in dialog.locator(".dagster-markdown").inner_text()
    assert images(dialog) == []  # rehype-sanitize removes raw HTML; only ![alt](src) renders


def test_table_metadata_renders_inline_with_its_columns(probe_server, page):
    open_asset_page(page, probe_server, "scores_table", expect_key="scores")
    cell = metadata_value(page, "scores")
    headers = cell.locator("table th").all_inner_texts()
    assert headers == ["agent_id", "executions", "p95_ms"]
    rows = [r.locator("td").all_inner_texts() for r in cell.locator("table tbody tr").all()]
    assert rows == [[r["agent_id"], str(r["executions"]), str(r["p95_ms"])] for r in probe_server.probe.TABLE_ROWS]
    # column descriptions are not in the table; "Show schema" opens them in a dialog
    assert "the agent's registry id" not in cell.inner_text()
    dialog = show_metadata_dialog(page, "scores", button="Show schema")
    assert "the agent's registry id" in dialog.inner_text() and "executions that day" in dialog.inner_text()
    screenshot(page, "scores_table-schema-dialog")
    # a MetadataValue.table_schema of under 5 columns shows its descriptions inline
    page.keyboard.press("Escape")
    assert "the agent's registry id" in metadata_value(page, "schema").inner_text()


def test_partition_plot_has_one_point_per_partition(probe_server, page):
    probe = probe_server.probe
    open_asset_page(page, probe_server, "daily_scores", expect_key="score")
    open_metadata_plots(page, "Partitions")
    series = chart_series(page)
    screenshot(page, "daily_scores-plots-by-partition")
    assert series["score"] == {pk: probe.score(pk) for pk in probe.RANGE}
    assert set(series) == {"score", "rows"}


def _check_partitions_summary(page, server, check: str) -> str:
    open_asset_page(page, server, "daily_scores", query=f"view=checks&checkDetail={check}", expect_key="score")
    page.get_by_role("tab", name="Partitions").last.click()
    summary = page.get_by_text("Partitions Selected").locator("xpath=..")
    summary.get_by_text("Passed (").wait_for()
    return summary.inner_text()


def test_partitioned_check_shows_failed_partitions_when_evaluations_name_their_target(probe_server, page):
    probe = probe_server.probe
    failing = [pk for pk in probe.RANGE if probe.score(pk) >= probe.LIMIT]
    assert len(failing) == 2
    summary = _check_partitions_summary(page, probe_server, "score_linked")
    screenshot(page, "daily_scores-check-score_linked-partitions")
    assert f"Failed ({len(failing)})" in summary and f"Passed ({len(probe.RANGE) - len(failing)})" in summary


def test_partitioned_check_without_target_materialization_shows_every_partition_missing(probe_server, page):
    probe = probe_server.probe
    summary = _check_partitions_summary(page, probe_server, "score_unlinked")
    screenshot(page, "daily_scores-check-score_unlinked-partitions")
    assert "Failed (0)" in summary and "Passed (0)" in summary
    # ... though the execution history has every evaluation, failures included
    page.get_by_role("tab", name="Execution history").click()
    history = page.locator("table").filter(has_text="Evaluation result")
    history.get_by_text(probe.RANGE[-1], exact=True).wait_for()
    rows = {r.locator("td").nth(3).inner_text().strip(): r.locator("td").first.inner_text().strip()
            for r in history.locator("tbody tr").all()}
    assert rows == {pk: "Passed" if probe.score(pk) < probe.LIMIT else "Failed" for pk in probe.RANGE}


def test_description_owners_kinds_and_sensor_description(probe_server, page):
    open_asset_page(page, probe_server, "chart_images")
    body = page.locator("body")
    description = "Charts as markdown images with inline PNG data URIs."
    page.get_by_text(description).first.wait_for()  # the overview's Description section
    definition = page.get_by_text("Owners", exact=True).locator("xpath=../..")
    definition.get_by_text("alice@example.com", exact=True).first.wait_for()
    assert {"platform", "alice@example.com", "Python", "SQL"} <= set(definition.inner_text().split("\n"))
    screenshot(page, "chart_images-overview")
    page.goto(f"{probe_server.url}/assets")
    page.get_by_text(description).wait_for()  # the catalog lists it under the asset's name
    page.goto(f"{probe_server.url}/locations/probe_location.py/sensors/probe_sensor")
    page.get_by_text("Probe sensor: never fires").wait_for()
    assert "Description" in body.inner_text()
    screenshot(page, "probe_sensor-page")


# --- the project's code location (workspace.yaml) -----------------------------------------


def _project_defs(home):
    """``meta_agent_defs.definitions.defs`` loaded afresh with this home's environment: the
    module binds its resources to META_AGENT_DB_URL & co. when it is imported, and the copy
    in sys.modules was imported by other tests without them."""
    origin = importlib.util.find_spec("meta_agent_defs.definitions").origin
    spec = importlib.util.spec_from_file_location("ui_project_definitions", origin)
    module = importlib.util.module_from_spec(spec)
    with home.active():
        spec.loader.exec_module(module)
    return module.defs


def test_agent_registry_page_shows_the_fleet(project_server, page):
    from meta_agent.fleet import FleetSpec, simulate
    from meta_agent.store.ingest import ingest_items

    home = project_server.home
    spec = FleetSpec(agents=3, days=1, per_day=5, seed=3, end=date.today() - timedelta(days=1))
    records = list(simulate(spec))
    per_agent = Counter(r["agent_id"] for r in records)
    ingest_items(((str(i), r) for i, r in enumerate(records)), url=home.db_url, source="ui-test", origin="fleet")
    registry = _project_defs(home).resolve_assets_def("agent_registry")
    assert home.materialize([registry]).success

    open_asset_page(page, project_server, "agent_registry", expect_key="registry")
    rows = {r["agent_id"]: r for r in metadata_table(page, "registry")}
    screenshot(page, "agent_registry-overview")
    assert {a: rows.get(a, {}).get("executions") for a in per_agent} == {a: str(n) for a, n in per_agent.items()}
