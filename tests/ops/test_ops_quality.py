"""The great-expectations suite on the daily slice: rows written around the SDK with bad
values are rejected per expectation, kept out of the metrics, and recorded idempotently."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from opsdata import execution, insert

from meta_agent.ops import metrics, quality
from meta_agent.store.schema import agents, executions
from meta_agent.store.sql import bulk_insert

DAY = date(2026, 3, 14)
NOON = datetime(2026, 3, 14, 12, tzinfo=UTC)


def _bad_rows_by_sql(engine) -> dict[str, str]:
    """Rows the ingest contract would refuse, written straight into the table with SQL."""
    bad = {
        "bad-status": dict(status="exploded"),
        "neg-latency": dict(latency_ms=-5.0, ended_at=NOON + timedelta(minutes=1)),  # row 1 starts at 12:01
        "neg-tokens": dict(tokens_in=-1),
        "neg-cost": dict(cost_usd=-0.01),
        "time-travel": dict(ended_at=NOON - timedelta(seconds=30)),
        "blank-agent": dict(agent_id="   "),
    }
    rows = [execution("good", NOON + timedelta(minutes=i), execution_id=eid, **kw)
            for i, (eid, kw) in enumerate(bad.items())]
    with engine.begin() as conn:
        for r in rows:
            conn.execute(sa.text(
                "INSERT INTO executions (execution_id, agent_id, started_at, ended_at, status, latency_ms, "
                "tokens_in, tokens_out, cost_usd, human_intervention, source, ingested_at) VALUES "
                "(:execution_id, :agent_id, :started_at, :ended_at, :status, :latency_ms, :tokens_in, "
                ":tokens_out, :cost_usd, :human_intervention, 'sql', :ingested_at)").bindparams(
                sa.bindparam("started_at", type_=executions.c.started_at.type),
                sa.bindparam("ended_at", type_=executions.c.ended_at.type),
                sa.bindparam("ingested_at", type_=executions.c.ingested_at.type)),
                {k: r[k] for k in ("execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms",
                                   "tokens_in", "tokens_out", "cost_usd", "human_intervention", "ingested_at")})
    return {
        "bad-status": "expect_column_values_to_be_in_set(status)",
        "neg-latency": "expect_column_values_to_be_between(latency_ms)",
        "neg-tokens": "expect_column_values_to_be_between(tokens_in)",
        "neg-cost": "expect_column_values_to_be_between(cost_usd)",
        "time-travel": "expect_column_pair_values_a_to_be_greater_than_b(ended_at, started_at)",
        "blank-agent": "expect_column_values_to_match_regex(agent_id)",
    }


def test_bad_rows_are_rejected_per_expectation_and_never_reach_the_metrics(engine):
    good = [execution("good", NOON + timedelta(hours=1, minutes=i), latency_ms=100.0 + i) for i in range(10)]
    insert(engine, good)
    expected = _bad_rows_by_sql(engine)

    result = quality.validate_day(engine, DAY)
    assert (result.rows_checked, result.rows_rejected, result.success) == (16, 6, False)
    failing = {r["expectation"]: r for r in result.results if not r["success"]}
    assert set(failing) == set(expected.values())
    assert all(r["unexpected_count"] == 1 for r in failing.values())
    assert failing[expected["bad-status"]]["examples"] == [{"execution_id": "bad-status", "status": "exploded"}]
    with engine.connect() as conn:
        stored = {(r["execution_id"], r["expectation"]) for r in quality.rejections_for_day(conn, DAY)}
        q = quality.quality_for_day(conn, DAY)
    assert stored == {(eid, exp) for eid, exp in expected.items()}
    assert (q["rows_checked"], q["rows_rejected"], q["success"]) == (16, 6, False)

    m = metrics.aggregate_day(engine, DAY)
    assert [(r["agent_id"], r["executions"]) for r in m.rows] == [("good", 10)]  # no "   " agent either
    assert m.rows[0]["latency_p50_ms"] == 104.5 and m.rows[0]["cost_usd"] > 0


def test_revalidation_is_idempotent_and_a_fixed_row_is_readmitted(engine):
    insert(engine, [execution("good", NOON)])
    _bad_rows_by_sql(engine)
    quality.validate_day(engine, DAY)
    with engine.connect() as conn:
        first = [(r["execution_id"], r["expectation"], r["detail"]) for r in quality.rejections_for_day(conn, DAY)]
    quality.validate_day(engine, DAY)
    with engine.connect() as conn:
        again = [(r["execution_id"], r["expectation"], r["detail"]) for r in quality.rejections_for_day(conn, DAY)]
    assert again == first and len(first) == 6

    with engine.begin() as conn:
        conn.execute(executions.update().where(executions.c.execution_id == "bad-status").values(status="failure"))
    result = quality.validate_day(engine, DAY)
    assert result.rows_rejected == 5
    m = metrics.aggregate_day(engine, DAY)
    assert {r["agent_id"]: r["executions"] for r in m.rows} == {"good": 2}


def test_a_first_seen_agent_is_registered_not_rejected(engine):
    with engine.begin() as conn:  # written around the SDK: the registry never heard of it
        bulk_insert(conn, executions, [execution("stowaway", NOON)])
        assert conn.execute(sa.select(agents.c.agent_id)).scalars().all() == []
    result = quality.validate_day(engine, DAY)
    assert result.rows_rejected == 0 and result.new_agents == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(agents).where(agents.c.agent_id == "stowaway")).one()
    assert row.first_seen_at == NOON


def test_an_empty_day_is_checked_and_recorded(engine):
    result = quality.validate_day(engine, DAY)
    assert (result.rows_checked, result.rows_rejected, result.success) == (0, 0, True)
    with engine.connect() as conn:
        assert quality.quality_for_day(conn, DAY)["rows_checked"] == 0


def test_a_slice_missing_a_required_column_is_rejected_whole():
    df = pd.DataFrame({"execution_id": ["a", "b"], "agent_id": ["x", "y"], "status": ["success"] * 2})
    out = quality.ExecutionSuite().validate(df)
    assert out.rejected_ids == {"a", "b"} and not out.success
    table = next(r for r in out.results if r.expectation == quality.TABLE_EXPECTATION)
    assert not table.success and "latency_ms" in table.examples[0]["detail"]
