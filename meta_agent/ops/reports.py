"""Weekly and monthly SLA reports: compliance history and breach trends.

Rolling reports over the last ``periods`` ISO weeks (Monday-based) or calendar months up to
``as_of`` (default: the latest evaluated day), rebuilt from ``sla_evaluations`` each time, so
late re-evaluations of a day are always reflected. The newest period may be partial; its
``days_evaluated`` says how much of it there is.

Per agent and period: days evaluated, days whose worst status was ok / warn / breach,
breach and warn evaluations, ``compliance`` = share of evaluated days without a breach,
and which metrics breached how often.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from meta_agent.ops import frames
from meta_agent.store.schema_ops_metrics import sla_evaluations, sla_period_reports

PERIODS = ("week", "month")


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"period must be 'week' or 'month', not {period!r}")


def window_start(as_of: date, period: str, periods: int) -> date:
    """First day of the oldest of ``periods`` periods ending with the one holding ``as_of``."""
    start = period_start(as_of, period)
    if period == "week":
        return start - timedelta(weeks=periods - 1)
    y, m = start.year, start.month - (periods - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def summarize(evaluations: list[dict], period: str) -> list[dict]:
    """Per (period, agent) roll-up of evaluation rows (day, agent_id, metric, status)."""
    if not evaluations:
        return []
    df = pl.DataFrame([{k: r[k] for k in ("day", "agent_id", "metric", "status")} for r in evaluations],
                      schema={"day": pl.Date, "agent_id": pl.String, "metric": pl.String, "status": pl.String})
    rank = pl.col("status").replace_strict({"ok": 0, "warn": 1, "breach": 2}, return_dtype=pl.Int8)
    trunc = "1w" if period == "week" else "1mo"
    df = df.with_columns(pl.col("day").dt.truncate(trunc).alias("period_start"), rank.alias("rank"))
    days = (df.group_by("period_start", "agent_id", "day").agg(pl.col("rank").max())
            .group_by("period_start", "agent_id")
            .agg(pl.len().alias("days_evaluated"),
                 (pl.col("rank") == 0).sum().alias("days_ok"),
                 (pl.col("rank") == 1).sum().alias("days_warn"),
                 (pl.col("rank") == 2).sum().alias("days_breach")))
    evals = df.group_by("period_start", "agent_id").agg(
        (pl.col("status") == "breach").sum().alias("breaches"),
        (pl.col("status") == "warn").sum().alias("warnings"))
    metrics = (df.filter(pl.col("status") == "breach").group_by("period_start", "agent_id", "metric").len()
               .sort("metric").group_by("period_start", "agent_id", maintain_order=True)
               .agg(pl.struct("metric", "len").alias("breached_metrics")))
    out = (days.join(evals, on=["period_start", "agent_id"])
           .join(metrics, on=["period_start", "agent_id"], how="left")
           .with_columns((1 - pl.col("days_breach") / pl.col("days_evaluated")).alias("compliance"))
           .sort("period_start", "agent_id"))
    rows = []
    for r in out.to_dicts():
        r["breached_metrics"] = {m["metric"]: int(m["len"]) for m in (r["breached_metrics"] or [])}
        for k in ("days_evaluated", "days_ok", "days_warn", "days_breach", "breaches", "warnings"):
            r[k] = int(r[k])
        rows.append({"period": period, **r})
    return rows


@dataclass
class PeriodReport:
    period: str
    as_of: date | None
    first: date | None
    rows: list[dict] = field(default_factory=list)
    fleet: list[dict] = field(default_factory=list)  # one row per period across agents
    chart: Path | None = None


def fleet_trend(rows: list[dict]) -> list[dict]:
    """Per period, across agents: agent-days, compliance, breaches and the worst agent."""
    by: dict[date, list[dict]] = {}
    for r in rows:
        by.setdefault(r["period_start"], []).append(r)
    out = []
    for start in sorted(by):
        rs = by[start]
        days = sum(r["days_evaluated"] for r in rs)
        breach_days = sum(r["days_breach"] for r in rs)
        worst = max(rs, key=lambda r: (r["days_breach"], r["breaches"], r["agent_id"]))
        out.append({"period_start": start, "agents": len(rs), "agent_days": days,
                    "compliance": 1 - breach_days / days if days else None,
                    "breach_days": breach_days, "breaches": sum(r["breaches"] for r in rs),
                    "warnings": sum(r["warnings"] for r in rs),
                    "worst_agent": worst["agent_id"] if worst["days_breach"] else ""})
    return out


def build_report(engine: sa.Engine, period: str, *, periods: int = 12, as_of: date | None = None,
                 chart_dir: Path | None = None) -> PeriodReport:
    """Roll up the last ``periods`` periods, replace them in ``sla_period_reports`` (one
    transaction) and draw the trend chart into ``chart_dir`` when given."""
    with engine.begin() as conn:
        frames.lock_day(conn, f"sla_period_reports:{period}", date.min)  # one rebuild at a time
        if as_of is None:
            as_of = conn.execute(sa.select(sa.func.max(sla_evaluations.c.day))).scalar()
            if isinstance(as_of, str):  # SQLite returns the aggregate as text
                as_of = date.fromisoformat(as_of)
        if as_of is None:
            return PeriodReport(period, None, None)
        first = window_start(as_of, period, periods)
        q = sa.select(sla_evaluations.c.day, sla_evaluations.c.agent_id, sla_evaluations.c.metric,
                      sla_evaluations.c.status).where(sla_evaluations.c.day >= first, sla_evaluations.c.day <= as_of)
        rows = summarize([dict(r._mapping) for r in conn.execute(q)], period)
        now = datetime.now(UTC)
        conn.execute(sla_period_reports.delete().where(sla_period_reports.c.period == period,
                                                       sla_period_reports.c.period_start >= first))
        if rows:
            conn.execute(sla_period_reports.insert(), [{**r, "computed_at": now} for r in rows])
    report = PeriodReport(period, as_of, first, rows, fleet_trend(rows))
    if chart_dir is not None and rows:
        report.chart = trend_chart(report, Path(chart_dir) / f"sla-{period}ly-{as_of.isoformat()}.png")
    return report


def trend_chart(report: PeriodReport, path: Path) -> Path:
    """Compliance per agent (lines) over breaches per period by metric (stacked bars)."""
    import matplotlib  # local: matplotlib (~0.5 s with pyplot) loads only when a chart is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # local, after choosing the Agg backend (needs no display)

    periods = [f["period_start"] for f in report.fleet]
    labels = [p.strftime("%G-W%V") if report.period == "week" else p.strftime("%Y-%m") for p in periods]
    x = list(range(len(periods)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=[3, 2])
    agents = sorted({r["agent_id"] for r in report.rows})
    for agent in agents:
        by = {r["period_start"]: r["compliance"] for r in report.rows if r["agent_id"] == agent}
        top.plot(x, [by.get(p, float("nan")) * 100 for p in periods], marker="o", linewidth=1, alpha=0.7, label=agent)
    top.plot(x, [f["compliance"] * 100 for f in report.fleet], color="black", linewidth=2.5, label="fleet")
    top.set_ylabel("days without breach (%)")
    lowest = min(r["compliance"] for r in report.rows) * 100
    top.set_ylim(max(0, min(50, lowest - 5)), 102)
    top.legend(fontsize=7, ncol=3, loc="lower left")
    top.set_title(f"SLA compliance by {report.period}, {periods[0]} .. {report.as_of} (last {report.period} may be partial)")
    metrics = sorted({m for r in report.rows for m in r["breached_metrics"]})
    base = [0] * len(periods)
    for m in metrics:
        counts = [sum(r["breached_metrics"].get(m, 0) for r in report.rows if r["period_start"] == p) for p in periods]
        bottom.bar(x, counts, bottom=base, label=m)
        base = [b + c for b, c in zip(base, counts, strict=True)]
    bottom.set_ylabel("breaches")
    if metrics:
        bottom.legend(fontsize=7, loc="upper left")
    bottom.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def read_reports(conn: sa.Connection, period: str) -> list[dict]:
    q = (sa.select(sla_period_reports).where(sla_period_reports.c.period == period)
         .order_by(sla_period_reports.c.period_start, sla_period_reports.c.agent_id))
    return [dict(r._mapping) for r in conn.execute(q)]
