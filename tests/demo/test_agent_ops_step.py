"""The demo's agent-ops step finds every injected incident as an SLA breach, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from meta_agent.fleet import Incident
from meta_agent_demo.steps import agent_ops as step

ROOT = Path(__file__).resolve().parents[2]


def test_match_incidents_pairs_breaches_with_their_incident():
    inc = [Incident("outage", "a", date(2026, 3, 3)), Incident("latency_regression", "b", date(2026, 3, 2)),
           Incident("cost_spike", "c", date(2026, 3, 3))]

    def ev(agent, day, metric, status="breach", consumed=1.5):
        return {"agent_id": agent, "day": day, "metric": metric, "status": status, "consumed": consumed,
                "actual": 1.0, "limit_value": 1.0}

    rows = [ev("a", date(2026, 3, 3), "min_success_rate"),
            ev("a", date(2026, 3, 4), "min_success_rate"),  # an outage is one day: not this one
            ev("b", date(2026, 3, 4), "max_latency_p95_ms", consumed=2.0),
            ev("b", date(2026, 3, 1), "max_latency_p95_ms"),  # before the regression
            ev("c", date(2026, 3, 3), "min_success_rate")]  # wrong metric for a cost spike
    found = {f["kind"]: f for f in step.match_incidents(inc, rows)}
    assert found["outage"]["breach_days"] == ["2026-03-03"]
    assert found["latency_regression"]["breach_days"] == ["2026-03-04"]
    assert "200%" in found["latency_regression"]["worst"]
    assert not found["cost_spike"]["found"]


# Run in a process of its own: the code location binds its resources (the ops DB, artifacts)
# to the environment when it is imported, as the demo's process does.
STEPS_SCRIPT = """
from datetime import date
from meta_agent_demo.context import DemoOptions
from meta_agent_demo.runner import run_demo
run_demo(DemoOptions(end=date(2026, 11, 21)), as_json=True, steps=("foundation", "agent_ops"))
"""


@pytest.mark.slow
def test_default_demo_fleet_incidents_are_all_breaches(sqlite_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster_home" / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "META_AGENT_DB_URL": sqlite_url,
           "META_AGENT_ARTIFACTS": str(tmp_path / "artifacts")}
    env.pop("META_AGENT_DAILY_START", None)  # the partitions start where the demo's data starts
    p = subprocess.run([sys.executable, "-c", STEPS_SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    full = json.loads(p.stdout.strip().splitlines()[-1])
    summary = full["agent_ops"]
    assert summary["incidents_found"] == 4, summary["incidents"]
    assert summary["other_breaches"] == []  # ordinary days stay green
    by_kind = {f["kind"]: f for f in summary["incidents"]}
    assert by_kind["outage"]["breach_days"] == ["2026-11-19"]
    assert by_kind["cost_spike"]["metrics"] == ["max_daily_cost_usd"]
    assert len(by_kind["latency_regression"]["breach_days"]) == 6  # every day from day -5 on
    assert all(r["success"] for r in full["dagster_runs"])
    assert [r["job"] for r in full["dagster_runs"]] == ["agent_ops_daily", "sla_reports"]
