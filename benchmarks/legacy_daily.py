"""Today's daily pipeline before the pushdown — the baseline ``bench_daily_pipeline.py``
measures the new path against, in the same run. Verbatim from meta_agent/ops at commit
d4d9b56 (frames.read_day, quality.validate_day, metrics.aggregate_day, sla.evaluate_day),
only the imports adapted: the whole day read row by row through the driver's cursor, the
great-expectations suite on a pandas copy of it, polars sums, per-agent attribution reads.
It calls today's ``sla.attribute``, whose cost per model is now the exact sum (as the new
path's; before, polars' threaded sum, which could differ between runs in the last bits).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import polars as pl
import sqlalchemy as sa

from meta_agent.errors import MetaAgentError
from meta_agent.ops import frames, metrics, retention, sla
from meta_agent.ops.frames import EXECUTION_COLUMNS, day_bounds, empty_frame, lock_day
from meta_agent.ops.metrics import ERROR_STATUSES, METRIC_FIELDS, PERCENTILES, DayMetrics
from meta_agent.ops.quality import DayQuality, ExecutionSuite, QualityOutcome
from meta_agent.store.executions import register_agents
from meta_agent.store.schema_ops_metrics import (
    daily_agent_metrics,
    data_quality_results,
    execution_rejections,
    sla_evaluations,
)
from meta_agent.store.types import sqlite_utc_text

_TIMESTAMPS = ("started_at", "ended_at")


def read_day(conn: sa.Connection, day: date, columns: Sequence[str] = tuple(EXECUTION_COLUMNS), *,
             exclude_rejected: bool = False, agent_id: str | None = None) -> pl.DataFrame:
    """The executions that started on ``day`` (UTC), ``columns`` only.

    ``exclude_rejected`` leaves out the executions the quality suite rejected for that day
    (``execution_rejections``): what the metrics and SLA attribution see.
    """
    unknown = [c for c in columns if c not in EXECUTION_COLUMNS]
    if unknown:
        raise ValueError(f"unknown execution columns: {unknown}")
    start, end = day_bounds(day)
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    where = [f"started_at >= {mark}", f"started_at < {mark}"]
    params: list = [sqlite_utc_text(start), sqlite_utc_text(end)] if sqlite else [start, end]
    if agent_id is not None:
        where.append(f"agent_id = {mark}")
        params.append(agent_id)
    if exclude_rejected:
        where.append(f"execution_id NOT IN (SELECT execution_id FROM execution_rejections WHERE day = {mark})")  # noqa: S608
        params.append(day.isoformat() if sqlite else day)
    # a fixed row order makes floating-point sums, and so re-runs, bit-for-bit identical
    sql = (f"SELECT {', '.join(columns)} FROM executions WHERE {' AND '.join(where)} "  # noqa: S608 — names from a fixed allowlist
           "ORDER BY started_at, execution_id")
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        rows = cur.fetchall()
    finally:
        cur.close()
    return _frame(rows, columns, sqlite)


def _frame(rows: list[tuple], columns: Sequence[str], sqlite: bool) -> pl.DataFrame:
    if not rows:
        return empty_frame(columns)
    load_schema = {}
    for c in columns:
        dtype = EXECUTION_COLUMNS[c]
        if c in _TIMESTAMPS and sqlite:
            dtype = pl.String
        elif dtype == pl.Boolean and sqlite:
            dtype = pl.Int64  # SQLite stores booleans as 0/1
        load_schema[c] = dtype
    df = pl.DataFrame(rows, schema=load_schema, orient="row")
    casts = []
    for c in columns:
        if c in _TIMESTAMPS and sqlite:
            casts.append(frames.parse_sqlite_ts(df, c))
        elif EXECUTION_COLUMNS[c] == pl.Boolean and sqlite:
            casts.append(pl.col(c).cast(pl.Boolean))
    return df.with_columns(casts) if casts else df


def compute_daily_metrics(df: pl.DataFrame) -> pl.DataFrame:
    """Per-agent metrics of one day's executions (columns of ``frames.METRIC_COLUMNS``)."""
    if df.is_empty():
        return pl.DataFrame(schema={"agent_id": pl.String, **{f: pl.Float64 for f in METRIC_FIELDS}})
    status = pl.col("status")
    done = status != "cancelled"
    latency = pl.col("latency_ms").filter(done)
    base = (
        df.group_by("agent_id")
        .agg(
            pl.len().alias("executions"),
            (status == "success").sum().alias("successes"),
            (status == "failure").sum().alias("failures"),
            (status == "timeout").sum().alias("timeouts"),
            (status == "cancelled").sum().alias("cancelled"),
            *[latency.quantile(q, interpolation="linear").alias(name) for name, q in PERCENTILES.items()],
            pl.col("tokens_in").sum(),
            pl.col("tokens_out").sum(),
            pl.col("cost_usd").sum(),
            pl.col("human_intervention").sum().alias("human_interventions"),
        )
        .with_columns(
            pl.when(pl.col("executions") > pl.col("cancelled"))
            .then(pl.col("successes") / (pl.col("executions") - pl.col("cancelled")))
            .alias("success_rate"),
            pl.when(pl.col("successes") > 0)
            .then(pl.col("cost_usd") / pl.col("successes"))
            .alias("cost_per_success_usd"),
            (pl.col("human_interventions") / pl.col("executions")).alias("human_intervention_rate"),
        )
    )
    errors = (
        df.filter(status.is_in(ERROR_STATUSES))
        .group_by("agent_id", pl.col("error_type").fill_null("unknown"))
        .len()
        .sort("agent_id", "len", "error_type", descending=[False, True, False])
        .group_by("agent_id", maintain_order=True)
        .agg(pl.struct("error_type", "len").alias("error_types"))
    )
    out = base.join(errors, on="agent_id", how="left").sort("agent_id")
    return out.select("agent_id", *METRIC_FIELDS)


def aggregate_day(engine: sa.Engine, day: date, *, require_validated: bool = True) -> DayMetrics:
    """Read the day's validated executions, compute the metrics, replace the day's rows.

    Refuses a day the quality suite has not checked (``require_validated``): its rejected
    rows are unknown, and they must never reach the metrics. A day whose raw executions were
    pruned keeps the metrics it has.
    """
    with engine.begin() as conn:
        lock_day(conn, "daily_agent_metrics", day)
        pruned_before = retention.pruned_before(conn)
        if pruned_before is not None and day_bounds(day)[1] <= pruned_before:
            return DayMetrics(day, skipped=f"raw executions pruned before {pruned_before:%Y-%m-%d}; metrics kept")
        if require_validated and not metrics._validated(conn, day):
            raise MetaAgentError(
                f"{day} has not been checked by the data-quality suite; materialize "
                f"validated_executions for {day} before daily_agent_metrics."
            )
        df = read_day(conn, day, frames.METRIC_COLUMNS, exclude_rejected=True)
        rows = metrics.to_rows(compute_daily_metrics(df), day, datetime.now(UTC))
        metrics.write_day(conn, day, rows)
    return DayMetrics(day, rows=rows, executions=df.height)


def validate_day(engine: sa.Engine, day: date, suite: ExecutionSuite | None = None) -> DayQuality:
    """Check the day's slice, register first-seen agents, and replace the day's rejections
    and quality result (one transaction)."""
    suite = suite or ExecutionSuite()
    with engine.begin() as conn:
        lock_day(conn, "execution_rejections", day)
        cutoff = retention.pruned_before(conn)
        if cutoff is not None and day_bounds(day)[1] <= cutoff:
            return DayQuality(day, skipped=f"raw executions pruned before {cutoff:%Y-%m-%d}; result kept")
        df = read_day(conn, day)
        outcome = suite.validate(_naive_utc(df).to_pandas()) if df.height else QualityOutcome(0, [], [])
        new_agents = _register_agents(conn, df, outcome.rejected_ids)
        now = datetime.now(UTC)
        results = [{"expectation": r.expectation, "success": r.success,
                    "unexpected_count": r.unexpected_count, "examples": r.examples} for r in outcome.results]
        rejected = len(outcome.rejected_ids)
        conn.execute(execution_rejections.delete().where(execution_rejections.c.day == day))
        if outcome.rejections:
            conn.execute(execution_rejections.insert(),
                         [{**r, "day": day, "checked_at": now} for r in outcome.rejections])
        conn.execute(data_quality_results.delete().where(data_quality_results.c.day == day))
        conn.execute(data_quality_results.insert().values(
            day=day, rows_checked=outcome.rows_checked, rows_rejected=rejected,
            success=rejected == 0, results=results, checked_at=now))
    return DayQuality(day, outcome.rows_checked, rejected, new_agents, results)


def _naive_utc(df):
    """Timestamps as naive UTC for GX (its pandas metrics drop the zone with a warning)."""
    return df.with_columns(pl.col(c).dt.replace_time_zone(None) for c in ("started_at", "ended_at") if c in df.columns)


def _register_agents(conn: sa.Connection, df, rejected: set[str]) -> int:
    """Agents in the valid rows that the registry does not know yet (rows written around
    the SDK) are registered, never rejected."""
    if df.is_empty():
        return 0
    valid = df.filter(~pl.col("execution_id").is_in(list(rejected))) if rejected else df
    spans = valid.group_by("agent_id").agg(pl.col("started_at").min().alias("lo"),
                                          pl.col("started_at").max().alias("hi"))
    rows = [{"agent_id": r["agent_id"], "started_at": t} for r in spans.to_dicts() for t in (r["lo"], r["hi"])]
    return register_agents(conn, rows)


def evaluate_day(engine: sa.Engine, day: date, definitions: sla.SlaDefinitions | None = None) -> list[dict]:
    """Evaluate the day's stored metrics, attribute every warn/breach to the executions that
    drove it, and replace the day's ``sla_evaluations`` rows (one transaction)."""
    with engine.begin() as conn:
        lock_day(conn, "sla_evaluations", day)
        definitions = definitions or sla.load_definitions(conn)
        q = sa.select(daily_agent_metrics).where(daily_agent_metrics.c.day == day)
        rows = sla.evaluate([dict(r._mapping) for r in conn.execute(q)], definitions)
        flagged = sorted({r["agent_id"] for r in rows if r["status"] != "ok"})
        for agent in flagged:
            df = read_day(conn, day, sla.ATTRIBUTION_COLUMNS, exclude_rejected=True, agent_id=agent)
            for r in rows:
                if r["agent_id"] == agent and r["status"] != "ok":
                    r["attribution"] = sla.attribute(df, r["metric"])
        now = datetime.now(UTC)
        for r in rows:
            r["evaluated_at"] = now
        conn.execute(sla_evaluations.delete().where(sla_evaluations.c.day == day))
        if rows:
            conn.execute(sla_evaluations.insert(), rows)
    return rows

