"""The daily reads computed in the database against the same computations on the whole day's
rows, on SQLite and PostgreSQL:

- ``metrics.aggregate_in_db`` (SQL counts and sums, exact arrays for the percentiles and the
  cost) equals ``compute_daily_metrics`` on ``read_day`` — every field, to the bit;
- ``frames.read_by_agent`` (SQLite: one array per column and agent) holds the same values as
  ``read_day``, for every column type, and ``rows_by_key`` fetches the rows it names;
- SQL top-N attribution equals ``attribute`` on each agent's whole day, with ties at and
  around the N-th value, fewer rows than N, NULL models and versions and a model literally
  called 'unknown';
- on SQLite the grouped reads stream along the covering index (no sort, no table row).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
from opsdata import execution, flag_everything, generate, insert

from meta_agent.ops import frames, metrics, pushdown, quality, sla
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import executions

DAY = date(2026, 3, 14)
NOON = datetime(2026, 3, 14, 12, tzinfo=UTC)
AGENTS = {"alpha": 400, "beta": 57, "o'brien\\%": 25, "ünï": 6, "solo": 1}


def _day(engine) -> list[dict]:
    """Generated executions plus the awkward ones: ties, NULL and 'unknown' models and error
    types, an agent that only cancels, one that only fails, and rows the suite rejects."""
    rows = generate(DAY, AGENTS, seed=13)
    for i in range(15):  # 15 rows tied at the top of cost and latency, in 3 start times
        rows.append(execution("alpha", NOON + timedelta(seconds=i // 5), cost_usd=0.75, latency_ms=77777.0,
                              status=("success", "failure", "timeout")[i % 3], human=i % 2 == 0,
                              model=(None, "unknown", "gpt-4o")[i % 3], prompt_version=(None, "v9")[i % 2],
                              error_type=(None, "unknown", "RateLimitError")[i % 3] if i % 3 else None,
                              execution_id=f"tie-{14 - i:02d}"))
    rows += [execution("beta", NOON + timedelta(minutes=i), cost_usd=0.0, latency_ms=0.0, execution_id=f"zero-{i}")
             for i in range(3)]
    rows += [execution("quitter", NOON + timedelta(minutes=i), status="cancelled", execution_id=f"quit-{i}")
             for i in range(4)]
    rows += [execution("broken", NOON + timedelta(minutes=i), status="failure", error_type=None,
                       cost_usd=0.1 * (i + 1), execution_id=f"broken-{i}") for i in range(3)]
    insert(engine, rows)
    with engine.begin() as conn:  # rows written around the SDK that the suite rejects
        conn.execute(executions.insert(), [
            execution("alpha", NOON, execution_id="zz-neg-cost", cost_usd=-1.0, latency_ms=1e9),
            execution("beta", NOON, execution_id="zz-bad-status", status="exploded", cost_usd=99.0),
        ])
    assert quality.validate_day(engine, DAY).rows_rejected == 2
    return rows


def _whole_day_metrics(conn, now) -> list[dict]:
    df = frames.read_day(conn, DAY, frames.METRIC_COLUMNS, exclude_rejected=True)
    return metrics.to_rows(metrics.compute_daily_metrics(df), DAY, now)


def _bits(rows: list[dict]) -> list[dict]:
    """Rows with floats as their exact bits (so 0.1 + 0.2 and 0.3 differ, and NaN equals NaN)."""
    return [{k: (v.hex() if isinstance(v, float) else v) for k, v in r.items()} for r in rows]


def test_sql_metrics_equal_the_polars_metrics_to_the_bit(engine):
    _day(engine)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        got = metrics.aggregate_in_db(conn, DAY, now)
        want = _whole_day_metrics(conn, now)
    assert [r["agent_id"] for r in got] == sorted(["alpha", "beta", "o'brien\\%", "ünï", "solo", "quitter", "broken"])
    assert _bits(got) == _bits(want)
    by = {r["agent_id"]: r for r in got}
    assert by["quitter"]["success_rate"] is None and by["quitter"]["latency_p95_ms"] is None
    assert by["broken"]["error_types"] == {"unknown": 3} and by["broken"]["cost_per_success_usd"] is None
    assert list(by["alpha"]["error_types"].items()) == list(want[0]["error_types"].items())  # same order too
    # the stored rows are these
    metrics.aggregate_day(engine, DAY)
    with engine.connect() as conn:
        stored = metrics.read_metrics(conn, DAY)
    assert _bits([{k: r[k] for k in metrics.METRIC_FIELDS} for r in stored]) == \
        _bits([{k: r[k] for k in metrics.METRIC_FIELDS} for r in got])


def test_sql_metrics_sum_cost_exactly_whatever_the_order(engine):
    # 0.1 + 0.2 + 0.3 in this order is 0.6000000000000001; SQLite's sum() (before 3.43) and a
    # running sum give that, the exact sum is 0.6
    t = [NOON + timedelta(minutes=i) for i in range(3)]
    insert(engine, [execution("a", t[i], cost_usd=c, execution_id=f"c{i}") for i, c in enumerate([0.1, 0.2, 0.3])])
    quality.validate_day(engine, DAY)
    with engine.connect() as conn:
        (row,) = metrics.aggregate_in_db(conn, DAY, datetime.now(UTC))
        naive = frames.fetch_all(conn, "SELECT sum(cost_usd) FROM executions")[0][0]
    assert row["cost_usd"] == 0.6 == math.fsum([0.1, 0.2, 0.3])
    if engine.dialect.name == "sqlite":
        assert naive == 0.6000000000000001  # what the exact sum guards against


def test_sql_metrics_of_an_empty_day_and_of_a_day_with_only_rejected_rows(engine):
    with engine.connect() as conn:
        assert metrics.aggregate_in_db(conn, DAY, datetime.now(UTC)) == []
    with engine.begin() as conn:
        conn.execute(executions.insert(), [execution("a", NOON, execution_id="x", status="exploded")])
    quality.validate_day(engine, DAY)
    with engine.connect() as conn:
        assert metrics.aggregate_in_db(conn, DAY, datetime.now(UTC)) == []
    assert metrics.aggregate_day(engine, DAY).rows == []


def test_the_value_arrays_hold_doubles_exactly(engine):
    odd = [5e-324, 2.2250738585072014e-308, 1e300, 0.1, 1 / 3, 123456.789012345678, 2.0 ** 53 + 2, 0.0]
    insert(engine, [execution("a", NOON + timedelta(seconds=i), cost_usd=v, execution_id=f"v{i}") | {"latency_ms": v}
                    for i, v in enumerate(odd)])
    with engine.connect() as conn:
        df = frames.read_by_agent(conn, DAY, ("cost_usd", "latency_ms"), exclude_rejected=False)
    assert sorted(df["cost_usd"].to_list()) == sorted(odd) and sorted(df["latency_ms"].to_list()) == sorted(odd)


def test_read_by_agent_holds_what_read_day_holds(engine):
    rows = _day(engine)
    if engine.dialect.name == "sqlite":  # valid timestamp text in another layout, written by hand
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO executions (execution_id, agent_id, started_at, ended_at, status, latency_ms, "
                "tokens_in, tokens_out, cost_usd, human_intervention, source, ingested_at) VALUES "
                "('t-layout', 'beta', '2026-03-14T10:00:00', '2026-03-14 10:00:01+00:00', 'success', 1.5, 1, 1, "
                "0.5, 1, 'sql', '2026-03-14 00:00:00.000000')")
        quality.validate_day(engine, DAY)
    cols = [c for c in frames.EXECUTION_COLUMNS if c != "agent_id"]
    order = ["agent_id", "execution_id"]
    with engine.connect() as conn:
        want = frames.read_day(conn, DAY, exclude_rejected=True).sort(order)
        got = frames.read_by_agent(conn, DAY, cols, key=True)
        some = frames.read_by_agent(conn, DAY, ["cost_usd", "model"], agent_ids=["beta", "ünï"],
                                    where="status <> 'cancelled'")
        keyed = frames.rows_by_key(conn, got["row_key"].to_list(), tuple(frames.EXECUTION_COLUMNS),
                                   "agent_id, execution_id")
        none = frames.read_by_agent(conn, date(2020, 1, 1), cols)
    assert got.columns == ["agent_id", *cols, "row_key"]
    assert got.select(want.columns).schema == want.schema
    assert got.select(want.columns).sort(order).equals(want, null_equal=True)
    assert keyed.sort(order).equals(want, null_equal=True)  # the keys name exactly those rows
    beta = want.filter(pl.col("agent_id").is_in(["beta", "ünï"]) & (pl.col("status") != "cancelled"))
    assert some.sort("agent_id", "cost_usd", "model").equals(
        beta.select("agent_id", "cost_usd", "model").sort("agent_id", "cost_usd", "model"), null_equal=True)
    assert none.is_empty() and none.schema == got.drop("row_key").schema
    assert len(rows) > 0


def test_sql_top_n_attribution_equals_attribute_on_whole_days_with_ties(engine, tmp_path):
    _day(engine)
    metrics.aggregate_day(engine, DAY)
    with engine.connect() as conn:
        defs = sla.load_definitions(conn, flag_everything(tmp_path, "0.0000001"))
    got = sla.evaluate_day(engine, DAY, defs)
    flagged = [r for r in got if r["status"] != "ok"]
    assert {(r["agent_id"], r["metric"]) for r in flagged} >= {
        (a, m) for a in ("alpha", "beta", "o'brien\\%", "ünï") for m in ("max_latency_p95_ms", "max_latency_p99_ms")}
    with engine.connect() as conn:
        for r in flagged:
            whole = frames.read_day(conn, DAY, sla.ATTRIBUTION_COLUMNS, exclude_rejected=True, agent_id=r["agent_id"])
            assert r["attribution"] == sla.attribute(whole, r["metric"]), (r["agent_id"], r["metric"])
    alpha = {r["metric"]: r["attribution"] for r in flagged if r["agent_id"] == "alpha"}
    cost_ids = [i["execution_id"] for i in alpha["max_daily_cost_usd"]["most_expensive_ids"]]
    # 15 rows tie at the top: the first 10 by start time, then execution id
    assert cost_ids == ["tie-10", "tie-11", "tie-12", "tie-13", "tie-14", "tie-05", "tie-06", "tie-07",
                        "tie-08", "tie-09"]
    assert [i["execution_id"] for i in alpha["max_latency_p99_ms"]["slowest_ids"]] == cost_ids
    assert "zz-neg-cost" not in cost_ids and "unknown" in alpha["max_daily_cost_usd"]["by_model"]
    solo = next(r for r in flagged if (r["agent_id"], r["metric"]) == ("solo", "max_daily_cost_usd"))
    assert solo["attribution"]["count"] == 1 and len(solo["attribution"]["most_expensive_ids"]) == 1


def test_cost_by_model_is_the_exact_sum(engine, tmp_path):
    costs = [0.1, 0.2, 0.3] * 5 + [1e-17] * 7
    insert(engine, [execution("a", NOON + timedelta(seconds=i), cost_usd=c, model="m", execution_id=f"r{i:02d}")
                    for i, c in enumerate(costs)])
    quality.validate_day(engine, DAY)
    metrics.aggregate_day(engine, DAY)
    with engine.connect() as conn:
        defs = sla.load_definitions(conn, flag_everything(tmp_path, "0.0000001"))
    (cost,) = [r for r in sla.evaluate_day(engine, DAY, defs) if r["metric"] == "max_daily_cost_usd"]
    assert cost["attribution"]["by_model"] == {"m": {"cost_usd": round(math.fsum(costs), 4), "mean_tokens_in": 100}}
    assert cost["actual"] == math.fsum(costs)


def test_the_polars_breakdowns_are_order_independent():
    rng = np.random.default_rng(4)
    n = 5000
    df = pl.DataFrame({"agent_id": rng.choice(["a", "b"], n), "model": rng.choice(["x", "y", None], n),
                       "prompt_version": rng.choice(["v1", None], n), "cost_usd": rng.uniform(0, 1, n),
                       "tokens_in": rng.integers(0, 9000, n), "latency_ms": rng.lognormal(7, 1, n)})
    first = (sla._by_model(df), sla._by_prompt_version(df, "max_latency_p95_ms"))
    for seed in range(3):
        shuffled = df.sample(fraction=1.0, shuffle=True, seed=seed)
        assert (sla._by_model(shuffled), sla._by_prompt_version(shuffled, "max_latency_p95_ms")) == first


def _plans(engine, run) -> list[str]:
    """The query plans of every grouped read ``run`` makes (SQLite)."""
    seen: list[str] = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.set_trace_callback(lambda sql: seen.append(sql) if "GROUP BY agent_id" in sql else None)
        try:
            run(conn)
        finally:
            raw.set_trace_callback(None)
        return [" / ".join(r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}")) for sql in seen]


def test_sqlite_grouped_reads_stream_along_the_covering_index(sqlite_url):
    """SQLite's query plans (the test runs on SQLite only, nothing to skip on PostgreSQL)."""
    migrate.upgrade(sqlite_url)
    engine = engine_for(sqlite_url)
    _day(engine)
    plans = _plans(engine, lambda conn: (metrics.aggregate_in_db(conn, DAY, datetime.now(UTC)),
                                        frames.read_by_agent(conn, DAY, ("cost_usd", "tokens_in", "model"), key=True),
                                        frames.read_by_agent(conn, DAY, ("latency_ms", "prompt_version"), key=True)))
    assert len(plans) == 3
    for plan in plans:
        assert "USING COVERING INDEX ix_executions_agent_day (agent_id=? AND started_at>? AND started_at<?)" in plan
        assert "TEMP B-TREE" not in plan, plan  # no sort of the day's rows


def test_not_null_columns_get_no_null_test(engine):
    with engine.connect() as conn:
        pred = pushdown.candidate_predicate(conn, DAY, quality.SUITE)
    assert "IS NULL" not in pred  # every required column is NOT NULL in the schema
    assert all(not executions.c[c].nullable for c in quality.REQUIRED_COLUMNS)
    if engine.dialect.name == "postgresql":
        assert "latency_ms = 'NaN'::float8" in pred and "cost_usd = 'NaN'::float8" in pred


def test_rejected_rows_are_left_out_by_rowid_on_sqlite(engine):
    _day(engine)
    with engine.connect() as conn:
        pred = frames.not_rejected(conn, DAY)
        n = frames.fetch_all(conn, f"SELECT count(*) FROM executions WHERE {frames.day_where(conn, DAY)}")[0][0]  # noqa: S608
        all_rows = frames.fetch_all(conn, "SELECT count(*) FROM executions WHERE "  # noqa: S608
                                    f"{frames.day_where(conn, DAY, exclude_rejected=False)}")[0][0]
    assert pred.startswith("rowid NOT IN") == (engine.dialect.name == "sqlite")
    assert all_rows - n == 2
    with engine.connect() as conn:
        ids = set(frames.read_day(conn, DAY, ["execution_id"], exclude_rejected=True)["execution_id"])
    assert not {"zz-neg-cost", "zz-bad-status"} & ids and len(ids) == n


def test_a_crowded_tie_at_the_top_n_is_cut_by_the_database(engine, tmp_path, monkeypatch):
    # a flat price per run ties every row of an agent at its 10th-largest cost: past _MAX_KEYS
    # tied rows the top-N comes from ORDER BY … LIMIT instead of by key — the same rows
    _day(engine)
    insert(engine, [execution("flat", NOON + timedelta(seconds=i // 4), cost_usd=0.02, latency_ms=500.0,
                              execution_id=f"flat-{(7 * i) % 40:02d}") for i in range(40)])
    quality.validate_day(engine, DAY)
    metrics.aggregate_day(engine, DAY)
    with engine.connect() as conn:
        defs = sla.load_definitions(conn, flag_everything(tmp_path, "0.0000001"))
    by_key = {(r["agent_id"], r["metric"]): r["attribution"] for r in sla.evaluate_day(engine, DAY, defs)}
    monkeypatch.setattr(sla, "_MAX_KEYS", 3)
    crowded = {(r["agent_id"], r["metric"]): r["attribution"] for r in sla.evaluate_day(engine, DAY, defs)}
    assert crowded == by_key
    with engine.connect() as conn:
        for agent in ("flat", "alpha"):
            whole = frames.read_day(conn, DAY, sla.ATTRIBUTION_COLUMNS, exclude_rejected=True, agent_id=agent)
            for key in ("max_daily_cost_usd", "max_latency_p95_ms"):
                assert crowded[(agent, key)] == sla.attribute(whole, key), (agent, key)
    assert [i["execution_id"] for i in crowded[("flat", "max_daily_cost_usd")]["most_expensive_ids"]][:4] == \
        sorted(f"flat-{(7 * i) % 40:02d}" for i in range(4))
