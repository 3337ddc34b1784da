"""The README's `make ui` claim, checked against a running dagster-webserver: the demo's
assets and runs are what the UI serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import httpx
import pytest

from meta_agent.fleet import FleetSpec, simulate
from meta_agent.store import migrate
from meta_agent.store.ingest import ingest_items
from meta_agent_defs.agent_ops.assets import agent_registry
from meta_agent_defs.resources import OpsDatabase, RepoConfig

ROOT = Path(__file__).resolve().parents[2]
QUERY = """{
  assetNodes { assetKey { path } groupName }
  runsOrError { ... on Runs { results { runId status } } }
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_webserver_serves_the_materialized_assets_and_runs(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster_home" / "dagster.yaml").read_text())
    db = f"sqlite:///{home / 'meta_agent.db'}"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("META_AGENT_DB_URL", db)
    migrate.upgrade(db)
    spec = FleetSpec(agents=2, days=2, per_day=10, seed=1, end=date(2026, 11, 2))
    ingest_items(((str(i), r) for i, r in enumerate(simulate(spec))), url=db, source="t", origin="fleet")
    with dg.DagsterInstance.get() as instance:
        run_id = dg.materialize([agent_registry], instance=instance, resources={
            "ops_db": OpsDatabase(url=db), "repo_config": RepoConfig(config_dir=str(ROOT / "config"))}).run_id

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)], cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "webserver did not start within 180 s"
            time.sleep(1)
        data = None
        while time.time() < deadline:  # the code location loads in the background
            data = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=30).json()["data"]
            if data["assetNodes"]:
                break
            time.sleep(1)
        groups = {tuple(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
        assert groups[("execution_log",)] == "agent_ops" and groups[("agent_registry",)] == "agent_ops"
        runs = {r["runId"]: r["status"] for r in data["runsOrError"]["results"]}
        assert runs[run_id] == "SUCCESS"
        page = httpx.get(f"http://127.0.0.1:{port}/assets/execution_log", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
