"""UI fixtures: dagster-webserver on loopback (each with its own scratch DAGSTER_HOME) and
headless Chromium driven by Playwright.

- ``project_server``: the project's code location (``-w workspace.yaml``), empty instance.
- ``probe_server``: the throwaway location in ``probe_location.py`` (``-f``), materialized.
- ``page``: a fresh browser page; on a failing test its screenshot is saved.

Without Chromium or Playwright the tests skip with the reason (under CI=true they fail).

A new test::

    @pytest.mark.slow
    def test_my_asset_page(project_server, page):
        home = project_server.home                  # seed home.db_url, then materialize:
        assert home.materialize([my_assets_def]).success
        open_asset_page(page, project_server, "my_asset", expect_key="report")
        rows = metadata_table(page, "report")      # or metadata_text / metadata_value
        screenshot(page, "my_asset-overview")       # test-artifacts/ui/my_asset-overview.png
        assert rows[0]["agent_id"] == "support-triage"

Helpers (``uihelpers``) and what the UI does with each metadata type: FINDINGS.md.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from uihelpers import (  # noqa: E402
    ROOT,
    SCREENSHOTS,
    ScratchHome,
    launch_chromium,
    new_page,
    screenshot,
    serving,
    tooling_problem,
)

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def ui_tooling(unavailable) -> None:
    problem = tooling_problem()
    if problem:
        unavailable("Chromium and Playwright (the UI tests)", problem)


@pytest.fixture(scope="session")
def browser(ui_tooling):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"ui_report_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if SCREENSHOTS:
        terminalreporter.write_sep("-", f"UI screenshots ({len(SCREENSHOTS)})")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path.relative_to(ROOT)))


@pytest.fixture
def page(browser, request):
    page = new_page(browser)
    yield page
    report = getattr(request.node, "ui_report_call", None)
    if report is not None and report.failed:
        try:
            screenshot(page, f"FAILED-{request.node.name}")
        except Exception as e:  # the browser may be what failed
            print(f"no failure screenshot: {e}")
    page.context.close()


@pytest.fixture(scope="session")
def project_server(ui_tooling, tmp_path_factory):
    """dagster-webserver on the project's workspace.yaml, with a scratch DAGSTER_HOME whose
    ops DB is migrated and empty. Tests seed it (``server.home.db_url``) and materialize
    into it (``server.home.materialize``); the webserver reads the instance live."""
    from meta_agent.store import migrate

    home = ScratchHome.create(tmp_path_factory.mktemp("ui-project-home"))
    migrate.upgrade(home.db_url)
    with serving(["-w", "workspace.yaml"], home, timeout=300) as server:
        yield server


def load_probe(path: Path):
    spec = importlib.util.spec_from_file_location("ui_probe_location", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def probe_server(ui_tooling, tmp_path_factory):
    """dagster-webserver on the throwaway location (probe_location.py, copied to a scratch
    directory and loaded with ``-f``), everything in it materialized once. ``server.probe``
    is the module, for the tests' expected values."""
    scratch = tmp_path_factory.mktemp("ui-probe")
    defs_file = scratch / "probe_location.py"
    shutil.copy(HERE / "probe_location.py", defs_file)
    home = ScratchHome.create(scratch / "home")
    with serving(["-f", str(defs_file)], home, timeout=180) as server:
        server.probe = load_probe(defs_file)
        server.probe.materialize_all(home.materialize)
        yield server
