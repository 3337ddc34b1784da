"""Daily agent metrics: every number pinned against numpy and plain SQL, edge cases,
idempotence and backfills — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from opsdata import execution, generate, insert, numpy_metrics

from meta_agent.errors import MetaAgentError
from meta_agent.ops import frames, metrics, quality
from meta_agent.store.schema_ops_metrics import daily_agent_metrics

DAY = date(2026, 3, 14)
NOON = datetime(2026, 3, 14, 12, tzinfo=UTC)
FLOATS = ("success_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "cost_usd",
          "cost_per_success_usd", "human_intervention_rate")
INTS = ("executions", "successes", "failures", "timeouts", "cancelled", "tokens_in", "tokens_out",
        "human_interventions")


def run_day(engine, day=DAY) -> dict[str, dict]:
    quality.validate_day(engine, day)
    metrics.aggregate_day(engine, day)
    with engine.connect() as conn:
        return {r["agent_id"]: r for r in metrics.read_metrics(conn, day)}


def assert_matches(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for agent, w in want.items():
        g = got[agent]
        for k in INTS:
            assert g[k] == w[k], (agent, k)
        for k in FLOATS:
            if w[k] is None:
                assert g[k] is None, (agent, k)
            else:
                assert g[k] == pytest.approx(w[k], rel=1e-12), (agent, k)
        assert g["error_types"] == w["error_types"], agent


def test_every_metric_matches_numpy_on_generated_data(engine):
    rows = generate(DAY, {"alpha": 400, "beta": 57, "gamma": 3}, seed=42)
    insert(engine, rows)
    got = run_day(engine)
    assert_matches(got, numpy_metrics(rows, DAY))
    # the neighbours just outside the day were not counted (they would dominate p99)
    assert all(g["latency_p99_ms"] < 9e6 for g in got.values())


def test_counts_and_sums_match_plain_sql(engine):
    insert(engine, generate(DAY, {"alpha": 300, "beta": 120}, seed=7))
    got = run_day(engine)
    start, end = frames.day_bounds(DAY)
    q = sa.text("""
        SELECT agent_id, COUNT(*) AS executions,
               SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS successes,
               SUM(CASE WHEN status = 'failure' THEN 1 ELSE 0 END) AS failures,
               SUM(CASE WHEN status = 'timeout' THEN 1 ELSE 0 END) AS timeouts,
               SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
               SUM(tokens_in) AS tokens_in, SUM(tokens_out) AS tokens_out, SUM(cost_usd) AS cost_usd,
               SUM(CASE WHEN human_intervention THEN 1 ELSE 0 END) AS human_interventions
        FROM executions WHERE started_at >= :start AND started_at < :end GROUP BY agent_id""")
    from meta_agent.store.schema import executions

    bind = sa.bindparam("start", type_=executions.c.started_at.type), sa.bindparam("end", type_=executions.c.started_at.type)
    with engine.connect() as conn:
        sql_rows = conn.execute(q.bindparams(*bind), {"start": start, "end": end}).mappings().all()
        errs = conn.execute(sa.text(
            "SELECT agent_id, COALESCE(error_type, 'unknown') AS e, COUNT(*) AS n FROM executions "
            "WHERE started_at >= :start AND started_at < :end AND status IN ('failure', 'timeout') "
            "GROUP BY agent_id, COALESCE(error_type, 'unknown')").bindparams(*bind), {"start": start, "end": end}).all()
    assert {r["agent_id"] for r in sql_rows} == set(got)
    for r in sql_rows:
        g = got[r["agent_id"]]
        for k in INTS:
            assert g[k] == int(r[k]), k
        assert g["cost_usd"] == pytest.approx(float(r["cost_usd"]), rel=1e-12)
        done = r["executions"] - r["cancelled"]
        assert g["success_rate"] == pytest.approx(r["successes"] / done)
    for agent, etype, n in errs:
        assert got[agent]["error_types"][etype] == n


def test_percentiles_are_numpys_linear_interpolation():
    lat = [10.0, 20.0, 30.0, 40.0, 1000.0]
    df = pl.DataFrame({"agent_id": ["a"] * 6, "status": ["success"] * 5 + ["cancelled"],
                       "latency_ms": [*lat, 1e9], "tokens_in": [1] * 6, "tokens_out": [1] * 6,
                       "cost_usd": [0.1] * 6, "error_type": [None] * 6, "human_intervention": [False] * 6})
    out = metrics.compute_daily_metrics(df).to_dicts()[0]
    assert out["latency_p50_ms"] == np.percentile(lat, 50) == 30.0
    assert out["latency_p95_ms"] == pytest.approx(np.percentile(lat, 95))  # 40 + 0.8 * 960 = 808
    assert out["latency_p99_ms"] == pytest.approx(np.percentile(lat, 99))
    assert out["latency_p95_ms"] == pytest.approx(808.0)


def test_day_is_the_utc_day_of_started_at(engine):
    plus2 = timezone(timedelta(hours=2))
    insert(engine, [
        execution("a", datetime(2026, 3, 15, 1, 30, tzinfo=plus2)),  # 23:30 UTC on the 14th
        execution("a", datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=UTC)),
        execution("a", datetime(2026, 3, 14, 0, 0, tzinfo=UTC)),
        execution("a", datetime(2026, 3, 15, 0, 0, tzinfo=UTC)),  # the next day
        execution("a", datetime(2026, 3, 14, 1, 0, tzinfo=plus2)),  # 23:00 UTC the day before
    ])
    assert run_day(engine)["a"]["executions"] == 3
    assert run_day(engine, date(2026, 3, 15))["a"]["executions"] == 1
    assert run_day(engine, date(2026, 3, 13))["a"]["executions"] == 1


def test_no_executions_writes_nothing_and_clears_a_stale_day(engine):
    assert run_day(engine) == {}
    insert(engine, [execution("a", NOON)])
    assert run_day(engine)["a"]["executions"] == 1
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM executions"))
    assert run_day(engine) == {}  # the day now has no executions: no stale row survives


def test_all_failures(engine):
    insert(engine, [execution("a", NOON + timedelta(minutes=i), status="failure", error_type=None,
                              latency_ms=100.0 * (i + 1), cost_usd=0.5) for i in range(4)])
    m = run_day(engine)["a"]
    assert (m["executions"], m["successes"], m["failures"], m["success_rate"]) == (4, 0, 4, 0.0)
    assert m["cost_per_success_usd"] is None and m["cost_usd"] == pytest.approx(2.0)
    assert m["error_types"] == {"unknown": 4}
    assert m["latency_p50_ms"] == pytest.approx(np.percentile([100, 200, 300, 400], 50))


def test_one_execution(engine):
    insert(engine, [execution("a", NOON, latency_ms=1234.5, cost_usd=0.02, human=True)])
    m = run_day(engine)["a"]
    assert m["latency_p50_ms"] == m["latency_p95_ms"] == m["latency_p99_ms"] == 1234.5
    assert (m["success_rate"], m["cost_per_success_usd"], m["human_intervention_rate"]) == (1.0, 0.02, 1.0)
    assert m["error_types"] == {}


def test_all_cancelled_counts_but_has_no_rate_or_latency(engine):
    insert(engine, [execution("a", NOON + timedelta(seconds=i), status="cancelled", error_type="CancelledError",
                              cost_usd=0.25, tokens_in=10) for i in range(3)])
    m = run_day(engine)["a"]
    assert (m["executions"], m["cancelled"], m["successes"]) == (3, 3, 0)
    assert m["success_rate"] is None and m["latency_p50_ms"] is None and m["latency_p99_ms"] is None
    assert m["cost_usd"] == pytest.approx(0.75) and m["tokens_in"] == 30  # spend still counts
    assert m["error_types"] == {}  # cancelled is not an error


def _table(engine) -> list[tuple]:
    cols = [c for c in daily_agent_metrics.c if c.name != "computed_at"]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*cols).order_by(daily_agent_metrics.c.day,
                                                                          daily_agent_metrics.c.agent_id))]


def test_rerun_is_idempotent_and_backfill_re_aggregates_safely(engine):
    days = [DAY + timedelta(days=i) for i in range(4)]
    rows = [r for i, d in enumerate(days) for r in generate(d, {"a": 50, "b": 20}, seed=i, neighbours=False)]
    insert(engine, rows)
    for d in days:
        run_day(engine, d)
    first = _table(engine)
    assert len(first) == 8
    for d in reversed(days):  # a second backfill, another order: identical rows, no duplicates
        run_day(engine, d)
    assert _table(engine) == first
    late = execution("a", datetime.combine(days[1], datetime.min.time(), UTC) + timedelta(hours=3),
                     status="failure", error_type="LateError")
    insert(engine, [late])
    for d in days[1:3]:  # backfill an overlapping range after late data arrived
        run_day(engine, d)
    after = _table(engine)
    assert len(after) == 8
    changed = [r for r, f in zip(after, first, strict=True) if r != f]
    assert len(changed) == 1 and changed[0][0] == days[1] and changed[0][1] == "a"
    with engine.connect() as conn:
        assert metrics.read_metrics(conn, days[1], "a")[0]["error_types"]["LateError"] == 1
    with engine.connect() as conn:
        again = {r["agent_id"]: r for r in metrics.read_metrics_range(conn, days[1], days[1])}
    assert_matches(again, numpy_metrics([*rows, late], days[1]))


def test_refuses_a_day_the_quality_suite_has_not_checked(engine):
    insert(engine, [execution("a", NOON)])
    with pytest.raises(MetaAgentError, match="validated_executions"):
        metrics.aggregate_day(engine, DAY)


def test_read_day_parses_sqlite_text_in_other_iso_layouts(sqlite_url):
    from meta_agent.store import migrate
    from meta_agent.store.engine import engine_for

    migrate.upgrade(sqlite_url)
    eng = engine_for(sqlite_url)
    with eng.begin() as conn:  # rows written around the SDK, e.g. by hand
        conn.exec_driver_sql(
            "INSERT INTO executions (execution_id, agent_id, started_at, ended_at, status, latency_ms, "
            "tokens_in, tokens_out, cost_usd, human_intervention, source, ingested_at) VALUES "
            "('x1', 'a', '2026-03-14 08:00:00', '2026-03-14T08:00:01.5', 'success', 1500, 0, 0, 0, 0, 'sql', "
            "'2026-03-14 08:00:00')")
    with eng.connect() as conn:
        df = frames.read_day(conn, DAY)
    assert df["started_at"][0] == datetime(2026, 3, 14, 8, tzinfo=UTC)
    assert df["ended_at"][0] == datetime(2026, 3, 14, 8, 0, 1, 500000, tzinfo=UTC)


def test_two_runs_of_the_same_day_at_once_leave_one_correct_copy(engine):
    from concurrent.futures import ThreadPoolExecutor

    rows = generate(DAY, {"a": 200, "b": 50}, seed=3, neighbours=False)
    insert(engine, rows)
    quality.validate_day(engine, DAY)
    with ThreadPoolExecutor(4) as pool:  # a backfill and the schedule racing on one partition
        list(pool.map(lambda _: metrics.aggregate_day(engine, DAY), range(8)))
    with engine.connect() as conn:
        got = {r["agent_id"]: r for r in metrics.read_metrics(conn, DAY)}
    assert_matches(got, numpy_metrics(rows, DAY))
