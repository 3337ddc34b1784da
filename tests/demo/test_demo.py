"""`meta-agent demo` end to end on a scratch DAGSTER_HOME (small fleet to keep it quick)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from meta_agent_demo.runner import STEPS

ROOT = Path(__file__).resolve().parents[2]
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
    assert tuple(summary["step_seconds"]) == STEPS
    found = summary["foundation"]
    assert found["ingest"]["accepted"] == found["simulated"]["executions"] > 0
    assert found["ingest"]["quarantined"] == 0 and len(found["incidents"]) == 4
    assert all(r["success"] for r in summary["dagster_runs"])

    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the config reads its storage dir from the env
    with dg.DagsterInstance.get() as instance:  # the runs are on the demo's instance, under their job names
        runs = {r.dagster_run.run_id: r.dagster_run for r in instance.get_run_records()}
        assert set(runs) >= {r["run_id"] for r in summary["dagster_runs"]}
        jobs = {runs[r["run_id"]].job_name for r in summary["dagster_runs"]}
        assert jobs == {"agent_ops_daily", "sla_reports", "alert_delivery", "alert_digests", "fleet_health_refresh",
                        "isolation_probe_job", "script_factory_job", "evaluation_daily", "evaluation_weekly",
                        "improvement_daily"} | ({"proposal_decision"} if summary["improvement"]["approved_by_person"]
                                               else set()) | ({"apply_approved_proposals"}
                                                              if summary["improvement"]["applied"] else set())
        # no ephemeral asset jobs, except the backfill's runs (Dagster runs an asset backfill as __ASSET_JOB)
        assert not any(r.job_name.startswith("__") for r in runs.values() if "dagster/backfill" not in r.tags)
        sim = summary["simulation"]
        backfill = instance.get_backfill(sim["backfill"]["backfill_id"])
        assert backfill.status.value == "COMPLETED_SUCCESS" == sim["backfill"]["status"]
        backfill_runs = [r for r in runs.values() if r.tags.get("dagster/backfill") == backfill.backfill_id]
        # one run per scenario, + the request's plan and script (a new request), + the comparison
        assert len(backfill_runs) == sim["backfill"]["runs"] == len(sim["scenarios"]) + 2
    assert {"base", "pessimistic", "noi_monte_carlo"} <= set(sim["scenarios"])
    assert [x["scenario"] for x in sim["comparison"]["broken_ranges"]] == ["pessimistic"]
    assert sim["monte_carlo"]["iterations"] == 200_000 and sim["monte_carlo"]["risk"][0]["metric"] == "dscr"
    language = summary["script_language"]  # the model-style script outside the language, judged
    assert not language["valid"] and {"import-not-allowed", "attribute-not-allowed", "tool-args"} <= set(language["rules"])
    refused = [r for r in summary["script_factory"]["requests"] if r["status"] == "refused"]
    assert len(refused) == 1 and all(r["success"] for r in summary["dagster_runs"])  # a refusal is no failure

    ev = summary["evaluation"]  # 7 days leave no baseline for root causes; the step still runs end to end
    assert len(ev["incidents"]) == 4 and ev["weeks"] and ev["clusters"] > 0
    assert ev["worst_agent"]["overall"] is not None and Path(ev["worst_agent"]["html"]).is_file()

    imp = summary["improvement"]  # 7 days: few findings, maybe no proposal; the step runs end to end
    assert len(imp["incidents"]) == 4 and imp["proposals"] == sum(imp["by_state"].values())
    assert set(imp["waiting_for_a_person"]).isdisjoint(imp["auto_approved"])

    again = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    second = json.loads(again.stdout)["foundation"]["ingest"]
    assert second["accepted"] == 0 and second["duplicates"] == found["simulated"]["executions"]  # idempotent
