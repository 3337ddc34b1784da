"""`meta-agent demo` end to end on a scratch DAGSTER_HOME (small fleet to keep it quick)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "meta-agent"


@pytest.mark.slow
def test_demo_runs_every_step_through_dagster(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster_home" / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("META_AGENT_")}
    env["DAGSTER_HOME"] = str(home)
    args = [str(BIN), "demo", "--agents", "4", "--days", "7", "--per-day", "40", "--json"]
    p = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads(p.stdout)  # exactly one JSON document
    assert "STEP_START" not in p.stderr  # runs log to the instance, not as DEBUG lines on the console
    from meta_agent_defs.demo import STEPS

    assert list(summary["step_seconds"]) == STEPS
    found = summary["foundation"]
    assert found["ingest"]["accepted"] == found["simulated"]["executions"] > 0
    assert found["ingest"]["quarantined"] == 0 and len(found["incidents"]) == 4
    assert all(r["success"] for r in summary["dagster_runs"])

    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the config reads its storage dir from the env
    with dg.DagsterInstance.get() as instance:  # the runs are on the demo's instance
        runs = instance.get_run_records()
        assert {r.dagster_run.run_id for r in runs} >= {r["run_id"] for r in summary["dagster_runs"]}

    again = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    second = json.loads(again.stdout)["foundation"]["ingest"]
    assert second["accepted"] == 0 and second["duplicates"] == found["simulated"]["executions"]  # idempotent
