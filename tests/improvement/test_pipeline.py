"""The improvement pipeline's knowledge step on both engines: an adopted change that has run
long enough is measured against the same span before it (the effect pinned against an
independent two-proportion computation), becomes one learning, and a second run of the day
does not count the same adoption again; applying refuses a stale proposal without holding back
the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from meta_agent.improvement import pipeline, workflow
from meta_agent.improvement.model import Proposal
from meta_agent.store.ingest import ingest_items
from meta_agent.store.schema_improvement import learning_events, learnings

AGENT = "kb-agent"
CHANGED = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _records(n: int, start: datetime, success_rate: float, rng: np.random.Generator, tag: str) -> list[dict]:
    ok = rng.uniform(size=n) < success_rate
    return [{"execution_id": f"{tag}-{i}", "agent_id": AGENT, "started_at": (start + timedelta(minutes=7 * i)).isoformat(),
             "latency_ms": 900.0, "status": "success" if good else "failure",
             **({} if good else {"error_type": "TimeoutError", "error_message": "upstream timed out"})}
            for i, good in enumerate(ok)]


def _proposal() -> Proposal:
    return Proposal(
        kind="config_change", agent_id=AGENT, agents=[AGENT], category="external",
        title=f"{AGENT}: a retry budget of 3", summary="timeouts from the provider",
        change={"setting": "retry_budget", "from": 0, "to": 3, "model": "gpt-4.1-mini"},
        expected={"metric": "success_rate", "unit": "ratio", "current": 0.7, "expected": 0.95, "effect": 0.25,
                  "ci_low": 0.2, "ci_high": 0.3, "confidence_level": 0.95, "method": "newcombe", "n_current": 400,
                  "n_reference": 400},
        risk="medium", confidence=0.9, blast_radius={"traffic_share": 0.1, "agents": [AGENT], "executions_per_day": 200},
        rollback_plan="retry budget back to 0", priority=2.0, evidence={"finding_ids": ["f-1"]})


def test_an_adopted_change_becomes_one_learning_with_its_measured_effect(migrated_url):
    rng = np.random.default_rng(3)
    before = _records(600, CHANGED - timedelta(days=4), 0.70, rng, "b")
    after = _records(600, CHANGED, 0.95, rng, "a")
    report = ingest_items(((r["execution_id"], r) for r in before + after), url=migrated_url, source="t", origin="test")
    assert report.quarantined == 0
    engine = sa.create_engine(migrated_url)
    p = _proposal()
    with engine.begin() as conn:
        workflow.upsert(conn, [p], day=date(2026, 11, 20), now=CHANGED - timedelta(hours=2))
        workflow.decide(conn, p.proposal_id, "approve", reviewer="ana", reason="retries are cheap",
                        now=CHANGED - timedelta(hours=1))
        workflow.apply(conn, p.proposal_id, actor="ana", reason="deployed", promote=True, now=CHANGED)
    day = (CHANGED + timedelta(days=4)).date()
    first = pipeline.knowledge_day(migrated_url, day)
    assert len(first.recorded) == 1 and first.active == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(learnings)).one()._mapping
    # independent: the success rates of the executions in the measured windows, after − before
    window = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) - CHANGED, timedelta(days=7))
    def rate(rs, lo, hi):
        sel = [r for r in rs if lo <= datetime.fromisoformat(r["started_at"]) < hi]
        return sum(r["status"] == "success" for r in sel) / len(sel)
    expected = rate(after, CHANGED, CHANGED + window) - rate(before, CHANGED - window, CHANGED)
    assert abs(row["effect"] - expected) < 1e-9 and row["ci_low"] < expected < row["ci_high"]
    assert row["metric"] == "success_rate" and row["confirmations"] == 1 and row["status"] == "active"

    again = pipeline.knowledge_day(migrated_url, day)
    assert again.recorded == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(learning_events)).scalar_one() == 1
        assert conn.execute(sa.select(learnings.c.confirmations)).scalar_one() == 1
    engine.dispose()


def test_applying_refuses_a_stale_proposal_and_goes_on_with_the_others(migrated_url):
    engine = sa.create_engine(migrated_url)
    stale = Proposal(
        kind="prompt_rollback", agent_id=AGENT, agents=[AGENT], category="prompt", title="roll back v4 to v3",
        summary="-", change={"prompt": "system", "label": "production", "from_version": "v4", "to_version": "v3"},
        expected={"metric": "success_rate", "unit": "ratio", "effect": 0.1, "ci_low": 0.05, "ci_high": 0.15},
        risk="low", confidence=0.9, blast_radius={"traffic_share": 0.1, "agents": [AGENT]}, rollback_plan="-",
        priority=1.0, evidence={})
    fine = _proposal()
    with engine.begin() as conn:
        workflow.upsert(conn, [stale, fine], day=date(2026, 11, 20))
        for p in (stale, fine):
            workflow.decide(conn, p.proposal_id, "approve", reviewer="ana", reason="ok")
    out = pipeline.apply_approved(migrated_url, [stale.proposal_id, fine.proposal_id], actor="sensor")
    assert [a.proposal_id for a in out.applied] == [fine.proposal_id]
    assert "registry does not have" in out.refused[stale.proposal_id] and "Nothing was changed" in out.refused[stale.proposal_id]
    with engine.connect() as conn:
        assert workflow.get(conn, stale.proposal_id)["applied"] is None
    assert [p["proposal_id"] for p in pipeline.pending_application(migrated_url)] == [stale.proposal_id]
    engine.dispose()
