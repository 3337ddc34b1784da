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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

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
        .with_columns(pl.col("cost_usd").map_elements(_exact_sum, return_dtype=pl.Float64))
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


def _exact_sum(values: pl.Series) -> float:
    return math.fsum(values.to_numpy())


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
        # the metrics do not depend on row order (cost is summed exactly): no sort needed
        df = frames.read_day(conn, day, frames.METRIC_COLUMNS, exclude_rejected=True, ordered=False)
        rows = to_rows(compute_daily_metrics(df), day, datetime.now(UTC))
        write_day(conn, day, rows)
    return DayMetrics(day, rows=rows, executions=df.height)


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
