"""The daily pipeline's fast path against independent computations, on SQLite and PostgreSQL:

- the data-quality suite pushed down into SQL gives exactly what great-expectations gives on
  the whole slice (results in GX's order, counts, examples, every rejection with its detail),
  for bad rows of every kind the suite catches, and the same agent spans for the registry;
- the metrics against numpy, math.fsum and plain SQL, whatever order the rows are read in;
- SLA attribution from the narrow reads against ``attribute`` on each agent's whole day;
- the Arrow reader (PostgreSQL) against the driver's cursor, and SQL literals that hold quotes,
  backslashes and percent signs.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from opsdata import execution, flag_everything, generate, insert, numpy_metrics

from meta_agent.ops import frames, metrics, pushdown, quality, sla
from meta_agent.store.schema import executions

DAY = date(2026, 3, 14)
NOON = datetime(2026, 3, 14, 12, tzinfo=UTC)
COLUMNS = ("execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms", "tokens_in",
           "tokens_out", "cost_usd", "human_intervention", "source", "ingested_at")


def _write(engine, rows: list[dict]) -> None:
    """Rows written around the SDK with SQL (values the ingest contract would refuse)."""
    with engine.begin() as conn:
        for r in rows:
            conn.execute(sa.text(
                f"INSERT INTO executions ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
            ).bindparams(*(sa.bindparam(c, type_=executions.c[c].type) for c in ("started_at", "ended_at",
                                                                                    "ingested_at"))),
                {c: r[c] for c in COLUMNS})


def _write_sqlite_text(engine, rows: list[tuple[str, str, str]]) -> None:
    """SQLite rows whose timestamps are raw text: (execution_id, started_at, ended_at)."""
    with engine.begin() as conn:
        for eid, start, end in rows:
            conn.exec_driver_sql(
                "INSERT INTO executions (execution_id, agent_id, started_at, ended_at, status, latency_ms, "
                "tokens_in, tokens_out, cost_usd, human_intervention, source, ingested_at) VALUES "
                "(?, 'good', ?, ?, 'success', 10.0, 1, 1, 0.01, 0, 'sql', '2026-03-14 00:00:00.000000')",
                (eid, start, end))


def _bad_day(engine) -> None:
    """Good rows of two agents and bad rows of every kind the suite catches (and the engine can hold)."""
    rows = [execution("good", NOON + timedelta(minutes=i), latency_ms=100.0 + i, execution_id=f"good-{i:02d}")
            for i in range(10)]
    rows += [execution("other", NOON + timedelta(hours=2, minutes=i), execution_id=f"other-{i}") for i in range(3)]
    rows.append(execution("good", NOON + timedelta(minutes=30), execution_id="multi-day",
                          ended_at=NOON + timedelta(days=2)))  # valid: ends two days later
    bad = {
        "bad-status": dict(status="exploded"),
        "neg-latency": dict(latency_ms=-5.0, ended_at=NOON + timedelta(minutes=1)),
        "minus-inf-latency": dict(latency_ms=float("-inf"), ended_at=NOON + timedelta(minutes=1)),
        "neg-tokens-in": dict(tokens_in=-1),
        "neg-tokens-out": dict(tokens_out=-7),
        "neg-cost": dict(cost_usd=-0.01),
        "two-at-once": dict(cost_usd=-1.0, status="lost"),
        "time-travel": dict(ended_at=NOON - timedelta(seconds=30)),
        "one-microsecond-back": dict(ended_at=NOON + timedelta(minutes=40) - timedelta(microseconds=1)),
        "blank-agent": dict(agent_id="   "),
        "empty-agent": dict(agent_id=""),
        "unicode-blank-agent": dict(agent_id="\t\u2003"),
    }
    if engine.dialect.name == "postgresql":
        bad |= {"nan-latency": dict(latency_ms=float("nan")), "nan-cost": dict(cost_usd=float("nan"))}
    for i, (eid, kw) in enumerate(bad.items()):
        started = NOON + timedelta(minutes=40 if eid == "one-microsecond-back" else i)
        special = {k: kw.pop(k) for k in ("latency_ms", "cost_usd") if k in kw and not math.isfinite(kw[k])}
        row = execution(kw.pop("agent_id", "good"), started, execution_id=eid, **kw)
        rows.append(row | special)  # not finite: set after execution() derived ended_at from it
    rows.append(execution("good", NOON + timedelta(minutes=50), execution_id="same-instant",
                          ended_at=NOON + timedelta(minutes=50), latency_ms=0.0))  # ended == started: fine
    _write(engine, rows)
    if engine.dialect.name == "sqlite":
        _write_sqlite_text(engine, [
            ("t-layout", "2026-03-14T10:00:00", "2026-03-14T10:00:01.250000"),  # valid ISO, another layout
            ("no-fraction", "2026-03-14 10:00:02", "2026-03-14 10:00:02"),
            ("with-offset", "2026-03-14 10:00:03+00:00", "2026-03-14 12:00:04+02:00"),  # 10:00:04 UTC: fine
            ("short-fraction", "2026-03-14 10:00:05.5", "2026-03-14 10:00:05.250000"),  # ends before it starts
            ("not-a-timestamp", "2026-03-14 10:00:06.000000", "2026-03-14 never"),
            ("punctuated-garbage", "2026-03-14 10:00:07.000000", "2026-03-14 1a:00:00.000000"),
            ("hour-25", "2026-03-14 25:00:00.000000", "2026-03-15 01:00:00.000000"),
            ("both-garbage", "2026-03-14 zz", "zz"),
            ("next-day-end", "2026-03-14 23:59:59.999999", "2026-03-15 00:00:00.500000"),
        ])


def _plain(outcome: quality.QualityOutcome) -> tuple:
    return (outcome.rows_checked, [asdict(r) for r in outcome.results],
            sorted((r["execution_id"], r["agent_id"], r["expectation"], r["detail"]) for r in outcome.rejections))


def test_the_suite_is_defined_once_and_gx_runs_that_definition():
    suite = quality.ExecutionSuite()
    gx = [(c.type, dict(c.kwargs)) for c in suite.suite.expectation_configurations]
    assert gx == [(e.type, e.kwargs) for e in quality.SUITE]
    assert len(quality.SUITE) == 17
    # GX reports grouped by column (table-level first): gx_order is that order
    assert [quality.expectation_name(e) for e in quality.gx_order()][:3] == [
        "expect_table_columns_to_match_set",
        "expect_column_pair_values_a_to_be_greater_than_b(ended_at, started_at)",
        "expect_column_values_to_not_be_null(execution_id)"]


def test_pushdown_gives_exactly_what_gx_gives_on_every_kind_of_bad_row(engine):
    _bad_day(engine)
    suite = quality.ExecutionSuite()
    with engine.connect() as conn:
        whole = frames.read_day(conn, DAY)
        gx = suite.validate(quality._naive_utc(whole).to_pandas())  # GX on the whole slice
        check = suite.check_day(conn, DAY)
        pred = pushdown.candidate_predicate(conn, DAY, suite.expectations,
                                            failing_agents=pushdown.regex_failures(suite.expectations,
                                                                                   ["   ", "", "\t\u2003", "good"]))
        candidates = frames.read_day(conn, DAY, ["execution_id"], where=pred)["execution_id"].to_list()
    assert _plain(check.outcome) == _plain(gx)
    assert _plain(suite.evaluate(whole)) == _plain(gx)  # the polars evaluator on the whole slice too
    rejected = gx.rejected_ids
    assert {"bad-status", "neg-latency", "minus-inf-latency", "neg-tokens-in", "neg-tokens-out", "neg-cost",
            "two-at-once", "time-travel", "one-microsecond-back", "blank-agent", "empty-agent",
            "unicode-blank-agent"} <= rejected
    assert not {"multi-day", "same-instant"} & rejected and not any(i.startswith(("good-", "other-")) for i in rejected)
    assert {"good-00", "other-0", "same-instant"}.isdisjoint(candidates)  # SQL does not even return them
    if engine.dialect.name == "postgresql":
        assert {"nan-latency", "nan-cost"} <= rejected
    else:
        assert {"short-fraction", "not-a-timestamp", "punctuated-garbage", "hour-25", "both-garbage"} <= rejected
        assert not {"t-layout", "no-fraction", "with-offset", "next-day-end"} & rejected
        garbage = next(r for r in gx.results if r.expectation == "expect_column_values_to_not_be_null(ended_at)")
        assert garbage.unexpected_count == 3 and garbage.examples[0]["ended_at"] is None  # JSON-safe, not NaT

    # the registry's spans: first/last started_at of each agent's valid rows, as from the whole slice
    valid = whole.filter(~pl.col("execution_id").is_in(list(rejected)))
    want = {r["agent_id"]: (r["lo"], r["hi"]) for r in valid.group_by("agent_id").agg(
        pl.col("started_at").min().alias("lo"), pl.col("started_at").max().alias("hi")).to_dicts()}
    assert check.spans == want

    result = quality.validate_day(engine, DAY)
    assert (result.rows_checked, result.rows_rejected, result.new_agents) == (whole.height, len(rejected), 2)
    with engine.connect() as conn:
        stored = {(r["execution_id"], r["expectation"], r["detail"]) for r in quality.rejections_for_day(conn, DAY)}
    assert stored == {(r["execution_id"], r["expectation"], r["detail"]) for r in gx.rejections}
    m = metrics.aggregate_day(engine, DAY)
    assert m.executions == whole.height - len(rejected)


def test_a_clean_day_reads_no_candidate_and_passes(engine):
    rows = generate(DAY, {"a": 200, "b": 30}, seed=11)
    insert(engine, rows)
    with engine.connect() as conn:
        check = quality.ExecutionSuite().check_day(conn, DAY)
    assert check.outcome.rejections == [] and check.outcome.success
    assert check.outcome.rows_checked == 230 and [r.expectation for r in check.outcome.results] == [
        quality.expectation_name(e) for e in quality.gx_order()]
    starts = {a: sorted(r["started_at"] for r in rows if r["agent_id"] == a and r["started_at"].date() == DAY)
              for a in ("a", "b")}
    assert check.spans == {a: (s[0], s[-1]) for a, s in starts.items()}


def test_metrics_match_numpy_fsum_and_sql_after_rejections(engine):
    rows = generate(DAY, {"alpha": 500, "beta": 120, "gamma": 7}, seed=21)
    insert(engine, rows)
    _write(engine, [execution("alpha", NOON, execution_id="neg", cost_usd=-5.0),
                    execution("beta", NOON, execution_id="bad", status="exploded")])
    quality.validate_day(engine, DAY)
    got = {r["agent_id"]: r for r in metrics.aggregate_day(engine, DAY).rows}
    want = numpy_metrics(rows, DAY)  # the rejected rows are not in ``rows``
    assert set(got) == set(want)
    start, end = frames.day_bounds(DAY)
    for agent, w in want.items():
        g = got[agent]
        for k in ("executions", "successes", "failures", "timeouts", "cancelled", "tokens_in", "tokens_out",
                  "human_interventions", "error_types"):
            assert g[k] == w[k], (agent, k)
        for k in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "success_rate", "human_intervention_rate"):
            assert g[k] == pytest.approx(w[k], rel=1e-12), (agent, k)
        day_rows = [r for r in rows if r["agent_id"] == agent and start <= r["started_at"] < end]
        assert g["cost_usd"] == math.fsum(r["cost_usd"] for r in day_rows)  # exactly: correctly rounded
        done = np.array([r["latency_ms"] for r in day_rows if r["status"] != "cancelled"])
        # the same polars quantile as before the fast path, on the same values: identical bits
        assert g["latency_p95_ms"] == pl.Series(done).quantile(0.95, interpolation="linear")
        assert g["latency_p95_ms"] == pytest.approx(np.percentile(done, 95), rel=1e-12)


def test_metrics_do_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    n = 20_000
    df = pl.DataFrame({"agent_id": rng.choice(["a", "b", "c"], n), "status": rng.choice(
        ["success", "failure", "timeout", "cancelled"], n), "latency_ms": rng.lognormal(7, 1, n),
        "tokens_in": rng.integers(0, 5000, n), "tokens_out": rng.integers(0, 900, n),
        "cost_usd": rng.uniform(0, 0.05, n), "error_type": rng.choice(["X", "Y"], n),
        "human_intervention": rng.uniform(size=n) < 0.1})
    first = metrics.compute_daily_metrics(df)
    for seed in range(3):
        shuffled = df.sample(fraction=1.0, shuffle=True, seed=seed)
        assert metrics.compute_daily_metrics(shuffled).equals(first)


def test_attribution_from_narrow_reads_equals_attribution_from_whole_days(engine, tmp_path):
    rows = generate(DAY, {"alpha": 300, "beta": 80, "o'brien\\%": 25}, seed=5)
    for i in range(12):  # ties: equal costs and latencies at the top, equal start times
        rows.append(execution("alpha", NOON + timedelta(seconds=i // 3), cost_usd=0.5, latency_ms=99999.0,
                              status="failure" if i % 2 else "success", human=i % 3 == 0,
                              execution_id=f"tie-{11 - i:02d}"))
    insert(engine, rows)
    _write(engine, [execution("alpha", NOON, execution_id="zz-rejected", cost_usd=-1.0, latency_ms=1e9)])
    quality.validate_day(engine, DAY)
    metrics.aggregate_day(engine, DAY)
    with engine.connect() as conn:
        defs = sla.load_definitions(conn, flag_everything(tmp_path, "0.001"))
    got = sla.evaluate_day(engine, DAY, defs)
    flagged = [r for r in got if r["status"] != "ok"]
    assert len(flagged) == 15  # 3 agents x 5 metrics
    with engine.connect() as conn:
        for r in flagged:  # the way before: each agent's whole validated day, in the fixed order
            whole = frames.read_day(conn, DAY, sla.ATTRIBUTION_COLUMNS, exclude_rejected=True, agent_id=r["agent_id"])
            assert r["attribution"] == sla.attribute(whole, r["metric"]), (r["agent_id"], r["metric"])
    alpha_cost = next(r for r in flagged if (r["agent_id"], r["metric"]) == ("alpha", "max_daily_cost_usd"))
    assert "zz-rejected" not in {i["execution_id"] for i in alpha_cost["attribution"]["most_expensive_ids"]}


@pytest.mark.postgres
def test_the_arrow_reader_reads_what_the_cursor_reads(pg_url, monkeypatch):
    from meta_agent.store import migrate
    from meta_agent.store.engine import engine_for

    migrate.upgrade(pg_url)
    eng = engine_for(pg_url)
    insert(eng, generate(DAY, {"a": 150, "b'c": 40}, seed=9))
    _write(eng, [execution("a", NOON, execution_id="nan") | {"latency_ms": float("nan")}])
    with eng.connect() as conn:
        assert frames.arrow_uri(conn) is not None
        fast = frames.read_day(conn, DAY, agent_ids=["a", "b'c"])
        monkeypatch.setattr(frames, "arrow_uri", lambda conn: None)
        slow = frames.read_day(conn, DAY, agent_ids=["a", "b'c"])
        empty = frames.read_day(conn, date(2020, 1, 1))
    assert fast.schema == slow.schema == frames.empty_frame(frames.EXECUTION_COLUMNS).schema
    assert fast.equals(slow, null_equal=True) and fast.height == 191
    assert empty.is_empty() and empty.schema == fast.schema


def test_sql_literals_quote_every_character(engine):
    odd = ["o'brien", "back\\slash", "100%", "semi;colon--", "quote''s", "ünï"]
    with engine.connect() as conn:
        for text in odd:
            assert frames.fetch_all(conn, f"SELECT {frames.sql_literal(conn, text)}")[0][0] == text
        ts = datetime(2026, 3, 14, 1, 2, 3, 456789, tzinfo=UTC)
        got = frames.fetch_all(conn, f"SELECT {frames.sql_literal(conn, ts)}")[0][0]
        assert got == ts if engine.dialect.name == "postgresql" else got == "2026-03-14 01:02:03.456789"
        with pytest.raises(ValueError, match="timezone-aware"):
            frames.sql_literal(conn, datetime(2026, 3, 14))
