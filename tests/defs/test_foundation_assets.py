"""The foundation assets materialize through Dagster and report what SQL says is there."""

from __future__ import annotations

from datetime import date

import dagster as dg
import sqlalchemy as sa
import yaml

from meta_agent.fleet import FleetSpec, simulate
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema import agents, executions
from meta_agent_defs.assets.foundation import agent_registry, execution_log
from meta_agent_defs.resources import OpsDatabase


def test_registry_and_daily_slices_over_a_backfill_range(ops_env, tmp_path, monkeypatch):
    spec = FleetSpec(agents=3, days=4, per_day=15, seed=5, end=date(2026, 11, 4))
    ingest_items(((str(i), r) for i, r in enumerate(simulate(spec))), url=ops_env, source="t", origin="fleet")
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "agents.yaml").write_text(yaml.safe_dump({"agents": [
        {"agent_id": "support-triage", "owner": "maria", "team": "customer-ops"},
        {"agent_id": "brand-new-agent", "owner": "nobody-yet"}]}))
    monkeypatch.setenv("META_AGENT_CONFIG_DIR", str(cfg))

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [agent_registry, execution_log], instance=instance, resources={"ops_db": OpsDatabase(url=ops_env)},
            tags={"dagster/asset_partition_range_start": "2026-11-01",
                  "dagster/asset_partition_range_end": "2026-11-04"})
    assert result.success
    mats = result.get_asset_materialization_events()
    assert sorted(m.partition for m in mats if m.asset_key.path == ["execution_log"]) == [
        "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    log_md = next(m for m in mats if m.asset_key.path == ["execution_log"]).materialization.metadata
    with sa.create_engine(ops_env).connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar_one()
        owners = dict(conn.execute(sa.select(agents.c.agent_id, agents.c.owner)).all())
    assert log_md["executions"].value == total
    assert owners["support-triage"] == "maria" and owners["brand-new-agent"] == "nobody-yet"
    assert owners["invoice-extractor"] is None  # seen in logs only: registered, not rejected
