"""UI test helpers: a dagster-webserver on loopback with its own scratch DAGSTER_HOME, and
what headless Chromium (driven by Playwright) shows of it.

Nothing here is a pytest fixture; ``conftest.py`` wires these into fixtures. The research
that decided the waits and selectors is in ``FINDINGS.md`` next to this file.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = Path(os.environ.get("META_AGENT_CHROMIUM", "/usr/bin/chromium"))
# Headless on this machine as root; without the background-networking flags Chromium keeps
# trying Google's services and floods the closed network. Playwright adds a fresh
# --user-data-dir of its own to every launch.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WEBSERVER = Path(sys.executable).parent / "dagster-webserver"
SCREENSHOTS: list[Path] = []  # taken this session, for the terminal summary

LOCATION_QUERY = """{
  workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message } } } } }
  assetNodes { assetKey { path } }
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tooling_problem() -> str | None:
    """Why a UI test cannot run here (``None`` when Chromium and Playwright are both present)."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"Playwright for Python is not installed ({e}): `pip install -e '.[dev]'`"
    return None


# --- the instance and the webserver ------------------------------------------------------


@dataclass
class ScratchHome:
    """A DAGSTER_HOME of its own (the repo's dagster.yaml) with its own ops DB and artifacts."""

    path: Path
    db_url: str
    artifacts: Path

    @classmethod
    def create(cls, path: Path) -> ScratchHome:
        path.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "dagster_home" / "dagster.yaml", path / "dagster.yaml")
        return cls(path=path, db_url=f"sqlite:///{path / 'meta_agent.db'}", artifacts=path / "artifacts")

    def env(self) -> dict[str, str]:
        return {"DAGSTER_HOME": str(self.path), "META_AGENT_DB_URL": self.db_url,
                "META_AGENT_ARTIFACTS": str(self.artifacts)}

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """This process's environment pointed at this home (for in-process materializations)."""
        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def materialize(self, assets: Sequence[Any], **kwargs: Any):
        """``dg.materialize`` into this home's instance, which the webserver reads live.

        A partition range (one run, as a single-run backfill does it) is
        ``tags={"dagster/asset_partition_range_start": a, "dagster/asset_partition_range_end": b}``.
        """
        import dagster as dg

        def run():
            with dg.DagsterInstance.get() as instance:
                return dg.materialize(list(assets), instance=instance, **kwargs)

        # In a thread of its own: once Playwright's sync API has started, this thread counts
        # as running an event loop, and Dagster (or an asset) may want one of its own.
        with self.active(), concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(run).result()


@dataclass
class Webserver:
    """``dagster-webserver`` on 127.0.0.1 and a free port, started from the repo root.

    ``target`` is the code location arguments: ``["-w", "workspace.yaml"]`` (the project's)
    or ``["-f", "/tmp/.../defs.py"]`` (a throwaway one).
    """

    target: Sequence[str]
    home: ScratchHome
    cwd: Path = ROOT
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home.path / "webserver.log"

    def start(self) -> Webserver:
        log = self.log_path.open("wb")  # a file, not a pipe: a full pipe would block the server
        env = {**os.environ, **self.home.env(), "DAGSTER_TELEMETRY_DISABLED": "1"}
        self.process = subprocess.Popen(
            [str(WEBSERVER), *self.target, "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "<no log>"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30) -> dict:
        body = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                          timeout=timeout).json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def wait_until_loaded(self, timeout: float = 240) -> list[tuple[str, ...]]:
        """Block until the code location has loaded (``assetNodes`` non-empty); its asset keys.

        Fails with the load error when the location does not load, and with the server's log
        tail when the server dies or ``timeout`` seconds pass.
        """
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"dagster-webserver exited with {self.process.returncode}:\n"
                                     f"{self.log_tail()}")
            try:
                data = self.graphql(LOCATION_QUERY, timeout=10)
                for entry in data["workspaceOrError"].get("locationEntries", []):
                    loaded = entry["locationOrLoadError"] or {}
                    if loaded.get("__typename") == "PythonError":
                        raise AssertionError(f"code location {entry['name']!r} failed to load:\n"
                                             f"{loaded['message']}\n--- webserver log ---\n"
                                             f"{self.log_tail()}")
                if data["assetNodes"]:
                    return [tuple(n["assetKey"]["path"]) for n in data["assetNodes"]]
                last = "the code location has no assets yet"
            except (httpx.HTTPError, ValueError) as e:
                last = f"{type(e).__name__}: {e}"
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"dagster-webserver on {self.url} did not load its code location within "
                    f"{timeout:.0f} s ({last}); log tail:\n{self.log_tail()}")
            time.sleep(1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def serving(target: Sequence[str], home: ScratchHome, timeout: float = 240) -> Iterator[Webserver]:
    """A started webserver whose code location has loaded; stopped on leaving the block."""
    server = Webserver(list(target), home).start()
    try:
        server.wait_until_loaded(timeout=timeout)
        yield server
    finally:
        server.stop()


# --- the browser -------------------------------------------------------------------------

# Dagster's "Join the Dagster community" dialog opens over every page on localhost until it
# is dismissed; this is what dismissing it stores in the browser.
NO_COMMUNITY_DIALOG = "localStorage.setItem('communityNux', JSON.stringify('1'))"


def launch_chromium(playwright):
    """A headless Chromium Browser from Debian's package (never a Playwright download)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def new_page(browser, timeout_ms: float = 30_000):
    """A page in a fresh context (1600x1000, the community dialog dismissed)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script(NO_COMMUNITY_DIALOG)
    context.set_default_timeout(timeout_ms)
    return context.new_page()


def screenshot(page, name: str) -> Path:
    """A full-page PNG under test-artifacts/ui/ (gitignored); prints the path for the log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.append(path)
    print(f"screenshot: {path}")
    return path


def asset_path(key: str | Sequence[str]) -> str:
    parts = key.split("/") if isinstance(key, str) else list(key)
    return "/assets/" + "/".join(parts)


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in text.split("'")) + ")"


def metadata_row(page, key: str):
    """The metadata table row whose first cell is exactly ``key`` (overview, Events tab and
    partition detail all render metadata as a table: key cell first, value cell last)."""
    return page.locator(f"xpath=//tr[td[1][normalize-space(.)={_xpath_literal(key)}]]").first


def open_asset_page(page, server: Webserver, key: str | Sequence[str], *, expect_key: str | None = None,
                    query: str | None = None, timeout: float = 60_000):
    """Navigate to the asset's page and wait until its latest materialization's metadata shows.

    ``expect_key``: a metadata key whose row must be rendered (default: any row of the
    overview's Key/Timestamp/Value table). ``query``: e.g. ``"view=events"`` (then pass
    ``expect_key``), ``"view=partitions&partition=2026-01-02"``, ``"view=checks"``.
    """
    page.goto(server.url + asset_path(key) + (f"?{query}" if query else ""), wait_until="domcontentloaded")
    if expect_key is not None:
        metadata_row(page, expect_key).wait_for(state="visible", timeout=timeout)
    else:
        page.locator("xpath=//table[thead//td[normalize-space(.)='Key']]/tbody/tr").first.wait_for(
            state="visible", timeout=timeout)
    return page


def metadata_value(page, key: str):
    """The value cell of ``key``'s metadata row."""
    return metadata_row(page, key).locator("xpath=./td[last()]")


def show_metadata_dialog(page, key: str, button: str = "[Show Markdown]"):
    """Click the row's ``[Show Markdown]`` (or ``[Show JSON]``, ``Show schema``...) and return
    the dialog that opens. Markdown of 1000 characters or more is only shown this way."""
    metadata_row(page, key).get_by_text(button, exact=True).click()
    dialog = page.get_by_role("dialog").last
    dialog.wait_for(state="visible")
    return dialog


def close_dialog(page) -> None:
    page.get_by_role("dialog").last.get_by_role("button", name="Close").click()
    page.get_by_role("dialog").wait_for(state="detached")


def metadata_text(page, key: str) -> str:
    """What the UI shows for ``key``: the value cell's text, or for markdown behind
    ``[Show Markdown]`` the rendered markdown in its dialog (closed again afterwards)."""
    cell = metadata_value(page, key)
    if cell.get_by_text("[Show Markdown]", exact=True).count():
        dialog = show_metadata_dialog(page, key)
        text = dialog.locator(".dagster-markdown").inner_text()
        close_dialog(page)
        return text
    return cell.inner_text()


def metadata_table(page, key: str) -> list[dict[str, str]]:
    """The rows of the table ``key``'s value shows, as ``{column header: cell text}``: a
    ``MetadataValue.table`` (inline) or a markdown table (inline, or in its dialog)."""
    cell = metadata_value(page, key)
    dialog = None
    if cell.get_by_text("[Show Markdown]", exact=True).count():
        dialog = show_metadata_dialog(page, key)
        cell = dialog.locator(".dagster-markdown")
    table = cell.locator("table").first
    table.wait_for(state="visible")
    headers = [h.strip() for h in table.locator("th").all_inner_texts()]
    rows = [dict(zip(headers, [c.strip() for c in r.locator("td").all_inner_texts()], strict=False))
            for r in table.locator("tbody tr").all()]
    if dialog is not None:
        close_dialog(page)
    return rows


def images(scope) -> list[dict]:
    """Every <img> under ``scope`` (a page or locator): source prefix, alt, natural size."""
    return scope.locator("img").evaluate_all("""els => els.map(e => ({
        src: (e.getAttribute('src') || '').slice(0, 40), alt: e.alt, complete: e.complete,
        naturalWidth: e.naturalWidth, naturalHeight: e.naturalHeight,
        visible: !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)}))""")


def wait_for_image(page, alt: str, *, timeout: float = 30_000) -> dict:
    """Wait until an <img alt=...> has decoded (naturalWidth > 0); its ``images`` entry."""
    page.wait_for_function(
        "alt => [...document.images].some(i => i.alt === alt && i.complete && i.naturalWidth > 0)",
        arg=alt, timeout=timeout)
    return next(i for i in images(page) if i["alt"] == alt and i["naturalWidth"] > 0)


# The asset plots are chart.js canvases: their points are not in the DOM. This reads the data
# react-chartjs-2 was given from the canvas's React props (tied to Dagster's UI internals; if
# it returns nothing after an upgrade, look at the screenshot and FINDINGS.md).
_CHART_DATA_JS = """() => [...document.querySelectorAll('canvas')].map(c => {
  const k = Object.keys(c).find(k => k.startsWith('__reactFiber'));
  let f = k && c[k];
  while (f && !(f.memoizedProps && f.memoizedProps.data && f.memoizedProps.data.datasets)) f = f.return;
  if (!f) return null;
  const d = f.memoizedProps.data;
  return {labels: d.labels || [], datasets: d.datasets.map(s => ({label: s.label,
    points: (s.data || []).map((p, i) => (p && typeof p === 'object') ? [p.x, p.y] : [i, p])}))};
}).filter(Boolean)"""


def chart_series(page) -> dict[str, dict[str, float]]:
    """Every plotted series on the page: ``{metadata key: {x label: y}}`` without gaps (NaN)."""
    out: dict[str, dict[str, float]] = {}
    for chart in page.evaluate(_CHART_DATA_JS):
        for ds in chart["datasets"]:
            labels = chart["labels"]
            series = {}
            for i, (x, y) in enumerate(ds["points"]):
                if isinstance(y, int | float) and y == y:  # NaN marks a gap
                    series[str(labels[i]) if i < len(labels) else str(x)] = y
            out[ds["label"]] = series
    return out


def open_metadata_plots(page, by: str = "Partitions") -> None:
    """On an asset's overview: switch the Metadata section to Plots (``by`` Partitions or
    Events) and wait until a chart canvas is drawn."""
    page.locator("button", has_text=re.compile(r"^\s*Plots\s*$")).click()
    page.locator("button", has_text=re.compile(rf"^\s*{re.escape(by)}\s*$")).click()
    page.locator("canvas").first.wait_for(state="visible")
