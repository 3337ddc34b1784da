"""Weekly/monthly SLA reports, and retention that prunes raw data but keeps the metrics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from opsdata import execution, insert

from meta_agent.errors import InputError
from meta_agent.ops import metrics, quality, reports, retention
from meta_agent.store.schema import actions, executions
from meta_agent.store.schema_ops_metrics import (
    daily_agent_metrics,
    sla_evaluations,
    sla_period_reports,
)
from meta_agent.store.sql import bulk_insert


def _evals(engine, spec: dict[date, dict[str, list[str]]]) -> list[dict]:
    """spec: day -> agent -> statuses of its evaluations (one metric each)."""
    rows = []
    metrics_ = ["min_success_rate", "max_latency_p95_ms", "max_daily_cost_usd"]
    for day, by_agent in spec.items():
        for agent, statuses in by_agent.items():
            for m, st in zip(metrics_, statuses, strict=False):
                rows.append({"day": day, "agent_id": agent, "metric": m, "actual": 1.0, "limit_value": 1.0,
                             "consumed": {"ok": 0.5, "warn": 0.9, "breach": 1.5}[st], "status": st,
                             "attribution": {}, "evaluated_at": datetime.now(UTC)})
    with engine.begin() as conn:
        conn.execute(sla_evaluations.insert(), rows)
    return rows


def test_period_boundaries():
    assert reports.period_start(date(2026, 3, 15), "week") == date(2026, 3, 9)  # Sunday -> Monday
    assert reports.period_start(date(2026, 3, 9), "week") == date(2026, 3, 9)
    assert reports.period_start(date(2026, 3, 15), "month") == date(2026, 3, 1)
    assert reports.window_start(date(2026, 3, 15), "month", 12) == date(2025, 4, 1)
    assert reports.window_start(date(2026, 3, 15), "week", 3) == date(2026, 2, 23)
    with pytest.raises(ValueError):
        reports.period_start(date(2026, 3, 15), "year")


def test_weekly_and_monthly_rollups_match_a_hand_count(engine, tmp_path):
    spec = {
        date(2026, 3, 1): {"a": ["ok", "ok", "ok"], "b": ["breach", "warn", "ok"]},  # Sunday, week of Feb 23
        date(2026, 3, 2): {"a": ["warn", "ok", "ok"], "b": ["breach", "breach", "ok"]},  # Monday
        date(2026, 3, 3): {"a": ["ok", "ok", "ok"], "b": ["ok", "ok", "ok"]},
        date(2026, 2, 27): {"a": ["ok", "ok", "breach"]},
    }
    _evals(engine, spec)
    weekly = reports.build_report(engine, "week", periods=4, chart_dir=tmp_path)
    assert weekly.as_of == date(2026, 3, 3)
    got = {(r["period_start"], r["agent_id"]): r for r in weekly.rows}
    a1 = got[(date(2026, 2, 23), "a")]  # Feb 27 breach + Mar 1 ok
    assert (a1["days_evaluated"], a1["days_ok"], a1["days_breach"], a1["breaches"]) == (2, 1, 1, 1)
    assert a1["compliance"] == pytest.approx(0.5) and a1["breached_metrics"] == {"max_daily_cost_usd": 1}
    b2 = got[(date(2026, 3, 2), "b")]  # Mar 2 breach (2 metrics) + Mar 3 ok
    assert (b2["days_evaluated"], b2["days_breach"], b2["breaches"], b2["warnings"]) == (2, 1, 2, 0)
    assert b2["breached_metrics"] == {"max_latency_p95_ms": 1, "min_success_rate": 1}
    a2 = got[(date(2026, 3, 2), "a")]
    assert (a2["days_warn"], a2["days_ok"], a2["compliance"]) == (1, 1, 1.0)
    assert weekly.chart.exists() and weekly.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    monthly = reports.build_report(engine, "month", periods=12)
    m = {(r["period_start"], r["agent_id"]): r for r in monthly.rows}
    assert m[(date(2026, 3, 1), "b")]["days_breach"] == 2 and m[(date(2026, 3, 1), "b")]["days_warn"] == 0
    assert m[(date(2026, 2, 1), "a")]["compliance"] == 0.0
    fleet = {f["period_start"]: f for f in monthly.fleet}
    assert fleet[date(2026, 3, 1)]["compliance"] == pytest.approx(1 - 2 / 6)
    assert fleet[date(2026, 3, 1)]["worst_agent"] == "b"

    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(sla_period_reports)).scalar_one()
    reports.build_report(engine, "week", periods=4)
    reports.build_report(engine, "month", periods=12)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sla_period_reports)).scalar_one() == before
        assert len(reports.read_reports(conn, "week")) == len(weekly.rows)


def test_no_evaluations_no_report(engine, tmp_path):
    rep = reports.build_report(engine, "week", chart_dir=tmp_path)
    assert rep.rows == [] and rep.as_of is None and rep.chart is None


# ---------------------------------------------------------------- retention

TODAY = date(2026, 6, 30)


def _history(engine) -> dict[date, int]:
    """Executions (with actions) on days 100, 40, 10 and 1 days before TODAY."""
    counts = {}
    rows, acts = [], []
    for age, n in ((100, 3), (40, 4), (10, 5), (1, 2)):
        day = TODAY - timedelta(days=age)
        counts[day] = n
        for i in range(n):
            r = execution("a", datetime(day.year, day.month, day.day, 10, i, tzinfo=UTC))
            rows.append(r)
            acts += [{"execution_id": r["execution_id"], "seq": s, "action_type": "llm_inference",
                      "started_at": r["started_at"], "latency_ms": 10.0} for s in range(2)]
    insert(engine, rows)
    with engine.begin() as conn:
        bulk_insert(conn, actions, acts)
    for day in counts:
        quality.validate_day(engine, day)
        metrics.aggregate_day(engine, day)
    return counts


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_prune_deletes_old_raw_rows_keeps_metrics_and_guards_re_aggregation(engine):
    counts = _history(engine)
    with engine.connect() as conn:
        metrics_before = [tuple(r) for r in conn.execute(sa.select(daily_agent_metrics).order_by(daily_agent_metrics.c.day))]

    dry = retention.prune_executions(engine, 30, today=TODAY, dry_run=True)
    assert (dry.executions, dry.actions, dry.dry_run) == (7, 14, True)
    assert _count(engine, executions) == 14  # a dry run changes nothing

    report = retention.prune_executions(engine, 30, today=TODAY, batch_size=2)  # several batches
    assert (report.executions, report.actions) == (7, 14)
    assert report.cutoff == datetime(2026, 5, 31, tzinfo=UTC)
    assert _count(engine, executions) == 7 and _count(engine, actions) == 14
    with engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.min(executions.c.started_at))).scalar_one()
        assert left >= report.cutoff
        assert retention.pruned_before(conn) == report.cutoff
        after = [tuple(r) for r in conn.execute(sa.select(daily_agent_metrics).order_by(daily_agent_metrics.c.day))]
    assert after == metrics_before  # the metrics are intact

    old_day = TODAY - timedelta(days=40)
    skipped = metrics.aggregate_day(engine, old_day)  # a backfill over pruned days keeps their metrics
    assert skipped.skipped and "pruned" in skipped.skipped
    assert quality.validate_day(engine, old_day).skipped
    with engine.connect() as conn:
        assert metrics.read_metrics(conn, old_day)[0]["executions"] == counts[old_day]

    again = retention.prune_executions(engine, 30, today=TODAY)
    assert (again.executions, again.actions) == (0, 0)
    retention.prune_executions(engine, 90, today=TODAY)  # a longer age never moves the watermark back
    with engine.connect() as conn:
        assert retention.pruned_before(conn) == report.cutoff


def test_retention_refuses_an_age_below_one_day(engine):
    with pytest.raises(InputError, match="at least 1"):
        retention.prune_executions(engine, 0)
