"""``meta-agent eval``: reports, clusters, root causes and similar failures from the command
line, each with ``--json``; every bad input (unknown agent, empty period, a week that does not
exist, days the wrong way round, k out of range, no embeddings yet) prints one sentence naming
the option and the fix, exits 2, and stores nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from meta_agent.cli import main
from meta_agent.evaluation import pipeline
from meta_agent.fleet import FleetSpec, default_incidents, fleet, simulate
from meta_agent.llm.gateway import OfflineGateway
from meta_agent.store.engine import engine_for
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_evaluation import evaluation_reports

END = date(2026, 11, 29)
AGENTS = 4


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fleet_db(ops_env, tmp_path, monkeypatch):
    monkeypatch.delenv("META_AGENT_LLM_MODELS", raising=False)  # offline: the rule-based narrative
    monkeypatch.delenv("META_AGENT_LLM_CONFIG", raising=False)
    ids = [p.agent_id for p in fleet(AGENTS)]
    spec = FleetSpec(agents=AGENTS, days=21, per_day=120, seed=3, end=END, incidents=default_incidents(ids, END, 21))
    ingest_items(((r["execution_id"], r) for r in simulate(spec)), url=ops_env, source="test", origin="fleet")
    return ops_env


def _reports(url) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(evaluation_reports)).scalar_one()


def test_report_on_demand_is_stored_as_a_new_version_and_prints_json(fleet_db, capsys):
    agent = fleet(AGENTS)[3].agent_id  # the latency regression (prompt v4)
    code, out, err = run(capsys, "eval", "report", agent, "--from", str(END - timedelta(days=6)), "--to", str(END),
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["agent_id"] == agent and doc["version"] == 1 and doc["narrative_source"] == "rules"
    assert set(doc["scores"]) == {"reliability", "efficiency", "cost", "quality"}
    assert any(c["metric"].startswith("latency") and c["verdict"] == "regression" for c in doc["changes"])
    assert doc["html"].endswith(".html")
    code, out, _ = run(capsys, "eval", "report", agent, "--week", "2026-W48", "--json")
    assert code == 0 and json.loads(out)["period_start"] == "2026-11-23" and _reports(fleet_db) == 2


@pytest.mark.parametrize("args, needles", [
    (["report", "nobody", "--from", "2026-11-23", "--to", "2026-11-29"], ["nobody", "no such agent", "support-triage"]),
    (["report", "support-triage", "--from", "2025-03-01", "--to", "2025-03-07"],
     ["no executions", "2025-03-01", "no data"]),
    (["report", "support-triage", "--week", "2026-W60"], ["--week", "2026-W60", "YYYY-Www"]),
    (["report", "support-triage", "--from", "2026-11-29", "--to", "2026-11-23"], ["--from", "after --to"]),
    (["report", "support-triage", "--week", "2026-W48", "--to", "2026-11-29"], ["--week or --from/--to"]),
    (["report", "support-triage", "--from", "last tuesday"], ["--from", "not a day", "YYYY-MM-DD"]),
    (["clusters", "--from", "2026-11-23", "--to", "2026-11-29"], ["no failure clusters stored", "eval run"]),
    (["rootcause", "--from", "2026-11-23", "--to", "2026-11-29"], ["no root-cause analysis stored", "eval run"]),
    (["similar", "--text", "503 Service Unavailable"], ["no failure embeddings yet", "failure_embeddings"]),
    (["similar"], ["exactly one of"]),
])
def test_bad_input_names_the_problem_and_stores_nothing(fleet_db, capsys, args, needles):
    code, out, err = run(capsys, "eval", *args)
    assert code == 2 and out == ""
    assert all(n in err for n in needles), err
    assert _reports(fleet_db) == 0


def test_clusters_rootcause_and_similar_after_the_daily_pipeline(fleet_db, capsys, tmp_path):
    gateway = OfflineGateway()
    index_dir = tmp_path / "artifacts" / "evaluation" / "failure_index"
    first = END - timedelta(days=pipeline.WINDOW_DAYS - 1)
    for d in (first + timedelta(days=i) for i in range(pipeline.WINDOW_DAYS)):
        pipeline.embed_day(fleet_db, d, gateway, index_dir)
    for d in (first + timedelta(days=i) for i in range(pipeline.WINDOW_DAYS)):
        pipeline.cluster_day(fleet_db, d)
        pipeline.findings_day(fleet_db, d)
    code, out, err = run(capsys, "eval", "clusters", "--from", str(END), "--to", str(END), "--json")
    assert code == 0, err
    clusters = json.loads(out)["clusters"]
    assert clusters and all(len(c["member_execution_ids"]) == c["size"] for c in clusters)
    outage_agent = fleet(AGENTS)[2].agent_id
    code, out, err = run(capsys, "eval", "rootcause", "--from", str(first), "--to", str(END), "--agent",
                         outage_agent, "--json")
    assert code == 0, err
    found = json.loads(out)["findings"]
    external = [f for f in found if f["category"] == "external"]
    assert external and external[0]["first_bad_execution_id"] and external[0]["evidence"]
    code, out, err = run(capsys, "eval", "similar", external[0]["first_bad_execution_id"], "-k", "5", "--json")
    assert code == 0, err
    near = json.loads(out)
    assert len(near["failures"]) == 5 and near["failures"][0]["similarity"] > 0.9
    assert near["successes"] and all(s["execution_id"] != near["query"]["execution_id"] for s in near["successes"])
    code, _, err = run(capsys, "eval", "rootcause", "--from", str(first), "--to", str(END), "--agent", "nobody")
    assert code == 2 and "no such agent" in err
    code, _, err = run(capsys, "eval", "similar", "x" * 20, "-k", "0")
    assert code == 2 and "k" in err
