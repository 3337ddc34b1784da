"""Daily per-agent metrics, computed with polars.

Definitions (tests pin each against numpy / plain SQL):

- an execution belongs to the UTC day of its ``started_at``;
- ``executions`` counts every status; ``successes``/``failures``/``timeouts``/``cancelled``
  count each status;
- ``success_rate`` = successes / (executions − cancelled); NULL when every execution was
  cancelled (cancelled executions are counted but left out of success rate and latency);
- ``latency_p50/p95/p99_ms``: percentiles of ``latency_ms`` over the non-cancelled
  executions, linear interpolation between closest ranks (numpy's default method);
  NULL when there are none;
- ``tokens_in``/``tokens_out``/``cost_usd``: sums over every execution (a cancelled run
  still spent what it spent); ``cost_usd`` is the correctly rounded sum (``math.fsum``), so
  it does not depend on the order rows arrive in, nor on polars' threads: a re-run, either
  database and any read order give the same bits;
- ``cost_per_success_usd`` = cost_usd / successes; NULL without a success;
- ``human_interventions``: executions with ``human_intervention``; the rate divides by
  ``executions``;
- ``error_types``: failures and timeouts by ``error_type`` (missing type → ``"unknown"``).

Only executions that passed the data-quality suite are aggregated (see ``quality.py``).

``aggregate_day`` computes them in the database where that is exact and cheap, and in polars
what needs every value: one grouped query per day returns, per agent, the counts and integer
sums (SQL ``count(*) FILTER``/``sum``, exact on both engines) and two arrays — the latencies
of the non-cancelled executions and the costs (``frames.reals_pair_agg``: exact doubles) — and
the error types; the percentiles are then polars' ``quantile`` and the cost ``math.fsum``
of those arrays, the same functions ``compute_daily_metrics`` applies to the whole day's
rows (tests pin the two against each other). SQLite's own ``sum`` of REALs is no substitute:
before 3.43 it is a plain running sum, which depends on the row order (``0.1 + 0.2 + 0.3``
gives ``0.6000000000000001``; ``math.fsum`` gives ``0.6``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial

import numpy as np
import polars as pl
import sqlalchemy as sa

from meta_agent.errors import MetaAgentError
from meta_agent.ops import frames, retention
from meta_agent.store.schema_ops_metrics import daily_agent_metrics, data_quality_results

PERCENTILES = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}
METRIC_FIELDS = (
    "executions", "successes", "failures", "timeouts", "cancelled", "success_rate",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "tokens_in", "tokens_out", "cost_usd",
    "cost_per_success_usd", "human_interventions", "human_intervention_rate", "error_types",
)
ERROR_STATUSES = ("failure", "timeout")
_STATUSES = ("success", "failure", "timeout", "cancelled")


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
            pl.col("cost_usd"),  # a list per agent, summed exactly below
            pl.col("human_intervention").sum().alias("human_interventions"),
        )
        .with_columns(pl.col("cost_usd").map_elements(exact_sum, return_dtype=pl.Float64))
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


def exact_sum(values: pl.Series) -> float:
    """The correctly rounded sum (``math.fsum``): the same bits whatever the order."""
    return math.fsum(memoryview(np.ascontiguousarray(values.to_numpy(), dtype=np.float64)))


def to_rows(metrics: pl.DataFrame, day: date, computed_at: datetime) -> list[dict]:
    """Table rows for ``daily_agent_metrics`` (error types as a ``{type: count}`` object)."""
    rows = []
    for r in metrics.to_dicts():
        r["error_types"] = {e["error_type"]: int(e["len"]) for e in (r["error_types"] or [])}
        for k in ("executions", "successes", "failures", "timeouts", "cancelled", "tokens_in",
                  "tokens_out", "human_interventions"):
            r[k] = int(r[k])
        rows.append({"day": day, **r, "computed_at": computed_at})
    return rows


def write_day(conn: sa.Connection, day: date, rows: list[dict]) -> None:
    """Replace the day's rows (call inside a transaction: delete + insert is atomic)."""
    conn.execute(daily_agent_metrics.delete().where(daily_agent_metrics.c.day == day))
    if rows:
        conn.execute(daily_agent_metrics.insert(), rows)


@dataclass
class DayMetrics:
    day: date
    rows: list[dict] = field(default_factory=list)
    executions: int = 0
    skipped: str | None = None  # why the day was left as it was (e.g. raw data pruned)

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "agents": len(self.rows), "executions": self.executions,
                "skipped": self.skipped}


def aggregate_day(engine: sa.Engine, day: date, *, require_validated: bool = True) -> DayMetrics:
    """Read the day's validated executions, compute the metrics, replace the day's rows.

    Refuses a day the quality suite has not checked (``require_validated``): its rejected
    rows are unknown, and they must never reach the metrics. A day whose raw executions were
    pruned keeps the metrics it has.
    """
    with engine.begin() as conn:
        frames.lock_day(conn, "daily_agent_metrics", day)
        pruned_before = retention.pruned_before(conn)
        if pruned_before is not None and frames.day_bounds(day)[1] <= pruned_before:
            return DayMetrics(day, skipped=f"raw executions pruned before {pruned_before:%Y-%m-%d}; metrics kept")
        if require_validated and not _validated(conn, day):
            raise MetaAgentError(
                f"{day} has not been checked by the data-quality suite; materialize "
                f"validated_executions for {day} before daily_agent_metrics."
            )
        rows = aggregate_in_db(conn, day, datetime.now(UTC))
        write_day(conn, day, rows)
    return DayMetrics(day, rows=rows, executions=sum(r["executions"] for r in rows))


def aggregate_in_db(conn: sa.Connection, day: date, computed_at: datetime) -> list[dict]:
    """The day's ``daily_agent_metrics`` rows (validated executions only) — what
    ``to_rows(compute_daily_metrics(read_day(...)))`` gives — from one grouped query (see the
    module doc). SQLite groups along the ``(agent_id, started_at, …)`` covering index, one
    agent after another: no sort, no table row read."""
    sqlite = conn.dialect.name == "sqlite"
    agents = list(frames.day_agents(conn, day)) if sqlite else None  # SQLite: the index's agent order
    if agents == []:
        return []
    lit = partial(frames.sql_literal, conn)
    big = "" if sqlite else "::bigint"  # PostgreSQL's sum(bigint) is numeric
    status_counts = ", ".join(f"count(*) FILTER (WHERE status = {lit(s)})" for s in _STATUSES)
    where = frames.day_where(conn, day, agent_ids=agents, exclude_rejected=frames.has_rejections(conn, day))
    not_cancelled = f"status <> {lit('cancelled')}"
    # fixed column names, literals quoted by frames.sql_literal
    sql = (
        f"SELECT agent_id, count(*), {status_counts}, sum(tokens_in){big}, sum(tokens_out){big}, "  # noqa: S608
        "count(*) FILTER (WHERE human_intervention), "
        f"{frames.reals_pair_agg(conn, 'latency_ms', 'cost_usd', x_when=not_cancelled)}, "
        f"{frames.values_agg(conn, 'coalesce(error_type, ' + lit('unknown') + ')')} "
        f"FILTER (WHERE {' OR '.join(f'status = {lit(s)}' for s in ERROR_STATUSES)}) "
        f"FROM executions WHERE {where} GROUP BY agent_id")
    groups = sorted(frames.group_rows(conn, sql, ["value"] * 9 + ["reals2", "values"]), key=lambda g: g[0])
    if not groups:
        return []
    # the same polars quantile compute_daily_metrics takes of each agent's latencies
    names = pl.Series("agent_id", [g[0] for g in groups], dtype=pl.String)
    latency = pl.DataFrame({
        "agent_id": names.gather(np.repeat(np.arange(len(groups)), [g[9].len() for g in groups])),
        "latency_ms": pl.concat([g[9] for g in groups]),
    })
    pct = {r["agent_id"]: r for r in latency.group_by("agent_id").agg(
        pl.col("latency_ms").quantile(q, interpolation="linear").alias(name) for name, q in PERCENTILES.items()
    ).to_dicts()}
    rows = []
    for agent, execs, succ, fail, tout, canc, tokens_in, tokens_out, human, _, cost, errors in groups:
        execs, succ, canc, human = int(execs), int(succ), int(canc), int(human)
        cost_usd = exact_sum(cost)
        p = pct.get(agent, {})
        rows.append({
            "day": day, "agent_id": agent, "executions": execs, "successes": succ, "failures": int(fail),
            "timeouts": int(tout), "cancelled": canc,
            "success_rate": succ / (execs - canc) if execs > canc else None,
            **{name: p.get(name) for name in PERCENTILES},
            "tokens_in": int(tokens_in), "tokens_out": int(tokens_out), "cost_usd": cost_usd,
            "cost_per_success_usd": cost_usd / succ if succ > 0 else None,
            "human_interventions": human, "human_intervention_rate": human / execs,
            # by count, then name: compute_daily_metrics' order
            "error_types": dict(sorted(Counter(errors).items(), key=lambda kv: (-kv[1], kv[0]))),
            "computed_at": computed_at,
        })
    return rows


def _validated(conn: sa.Connection, day: date) -> bool:
    q = sa.select(sa.func.count()).select_from(data_quality_results).where(data_quality_results.c.day == day)
    return bool(conn.execute(q).scalar())


def read_metrics(conn: sa.Connection, day: date, agent_id: str | None = None) -> list[dict]:
    """The stored metrics of ``day`` (one agent or all), ordered by agent."""
    q = sa.select(daily_agent_metrics).where(daily_agent_metrics.c.day == day)
    if agent_id is not None:
        q = q.where(daily_agent_metrics.c.agent_id == agent_id)
    return [dict(r._mapping) for r in conn.execute(q.order_by(daily_agent_metrics.c.agent_id))]


def read_metrics_range(conn: sa.Connection, first: date, last: date) -> list[dict]:
    q = (sa.select(daily_agent_metrics)
         .where(daily_agent_metrics.c.day >= first, daily_agent_metrics.c.day <= last)
         .order_by(daily_agent_metrics.c.day, daily_agent_metrics.c.agent_id))
    return [dict(r._mapping) for r in conn.execute(q)]
