"""Daily aggregation, end to end: one UTC day of 1,000,000 executions in the ops DB (SQLite),
read + computed + written by ``meta_agent.ops.metrics.aggregate_day`` (SQL counts and sums,
exact per-agent arrays for the percentiles and the cost: see metrics.py), beside, in the same
run, the whole-day path it replaced (every row read into polars, ``compute_daily_metrics``)
and a pandas implementation of the same metrics with that same read and write.

    .venv/bin/python benchmarks/bench_aggregation.py [--rows 1000000] [--agents 50] [--repeat 3]

Goal: under 5 s end to end. Prints seconds, rows/s, the ratios, and checks that aggregate_day
writes the whole-day path's rows to the bit (and pandas' within float rounding).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from daydata import DAY, populate  # noqa: E402 — the day's rows, shared with bench_daily_pipeline.py

from meta_agent.ops import frames, metrics, quality  # noqa: E402
from meta_agent.store import migrate  # noqa: E402
from meta_agent.store.engine import engine_for  # noqa: E402


def pandas_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """The same definitions as meta_agent.ops.metrics, in pandas (the baseline)."""
    done = df[df["status"] != "cancelled"]
    g = df.groupby("agent_id")
    out = pd.DataFrame({
        "executions": g.size(),
        "successes": g["status"].agg(lambda s: (s == "success").sum()),
        "failures": g["status"].agg(lambda s: (s == "failure").sum()),
        "timeouts": g["status"].agg(lambda s: (s == "timeout").sum()),
        "cancelled": g["status"].agg(lambda s: (s == "cancelled").sum()),
        "tokens_in": g["tokens_in"].sum(), "tokens_out": g["tokens_out"].sum(), "cost_usd": g["cost_usd"].sum(),
        "human_interventions": g["human_intervention"].sum(),
    })
    lat = done.groupby("agent_id")["latency_ms"]
    for name, q in metrics.PERCENTILES.items():
        out[name] = lat.quantile(q)  # pandas' default interpolation is linear, as numpy's
    non_cancelled = out["executions"] - out["cancelled"]
    out["success_rate"] = (out["successes"] / non_cancelled).where(non_cancelled > 0)
    out["cost_per_success_usd"] = (out["cost_usd"] / out["successes"]).where(out["successes"] > 0)
    out["human_intervention_rate"] = out["human_interventions"] / out["executions"]
    errs = df[df["status"].isin(metrics.ERROR_STATUSES)].fillna({"error_type": "unknown"})
    counts = errs.groupby(["agent_id", "error_type"]).size()
    out["error_types"] = [dict(counts.loc[a].items()) if a in counts.index.get_level_values(0) else {}
                          for a in out.index]
    return out.reset_index().sort_values("agent_id")


def pandas_end_to_end(engine) -> tuple[float, float, pd.DataFrame]:
    """Read with the same cursor path, compute with pandas, write the same table rows."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.execute(
            f"SELECT {', '.join(frames.METRIC_COLUMNS)} FROM executions WHERE started_at >= ? AND started_at < ? "  # noqa: S608
            "ORDER BY started_at, execution_id",
            [f"{DAY} 00:00:00.000000", f"{date.fromordinal(DAY.toordinal() + 1)} 00:00:00.000000"])
        df = pd.DataFrame.from_records(cur.fetchall(), columns=list(frames.METRIC_COLUMNS))
        df["human_intervention"] = df["human_intervention"].astype(bool)
        c0 = time.perf_counter()
        out = pandas_metrics(df)
        compute = time.perf_counter() - c0
        now = datetime.now(UTC)
        rows = [{"day": DAY, **{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()},
                 "computed_at": now} for r in out.to_dict("records")]
        for r in rows:
            for k in ("executions", "successes", "failures", "timeouts", "cancelled", "tokens_in", "tokens_out",
                      "human_interventions"):
                r[k] = int(r[k])
        metrics.write_day(conn, DAY, rows)
    return time.perf_counter() - t0, compute, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-agg-") as tmp:
        db = Path(tmp) / "ops.db"
        url = f"sqlite:///{db}"
        migrate.upgrade(url)
        setup_s = populate(db, args.rows, args.agents)
        engine = engine_for(url)
        t0 = time.perf_counter()
        q = quality.validate_day(engine, DAY)  # the quality suite runs before the metrics, as in Dagster
        gx_s = time.perf_counter() - t0
        print(f"data: {args.rows:,} executions of {args.agents} agents on {DAY} in SQLite "
              f"({db.stat().st_size / 2**20:.0f} MiB; written in {setup_s:.1f} s)")
        print(f"the data-quality suite on the day (quality.validate_day, untimed below): {gx_s:.2f} s, "
              f"{q.rows_checked:,} rows checked, {q.rows_rejected} rejected")

        sql_runs, whole_runs, pandas_runs, pandas_compute, phases = [], [], [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = metrics.aggregate_day(engine, DAY)  # read + compute + write, one transaction
            sql_runs.append(time.perf_counter() - t0)
            secs, whole_rows, read_s, compute_s = whole_day_end_to_end(engine)
            whole_runs.append(secs)
            phases.append((read_s, compute_s))
            secs, pd_compute, pdf = pandas_end_to_end(engine)
            pandas_runs.append(secs)
            pandas_compute.append(pd_compute)
        assert result.executions == args.rows, result.executions

        # the same rows: to the bit against the whole-day polars path, within rounding against pandas
        new = {r["agent_id"]: r for r in result.rows}
        same = all({k: v for k, v in new[r["agent_id"]].items() if k != "computed_at"}
                   == {k: v for k, v in r.items() if k != "computed_at"} for r in whole_rows)
        same = same and len(whole_rows) == len(new)
        worst = max(abs(new[r["agent_id"]][k] - r[k]) / max(abs(r[k]), 1e-9)
                    for r in pdf.to_dict("records")
                    for k in ("success_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "cost_usd")
                    if r[k] is not None and not (isinstance(r[k], float) and np.isnan(r[k])))
        best_sql, best_whole, best_pd = min(sql_runs), min(whole_runs), min(pandas_runs)
        read_s = statistics.median(p[0] for p in phases)
        compute_s = statistics.median(p[1] for p in phases)
        print(f"aggregate_day end to end (read + compute + write), best of {args.repeat}: {best_sql:.2f} s "
              f"= {args.rows / best_sql:,.0f} rows/s (median {statistics.median(sql_runs):.2f} s)")
        print(f"whole-day polars path (every row read, compute_daily_metrics), best of {args.repeat}: "
              f"{best_whole:.2f} s (median phases: read {read_s:.2f} s, compute {compute_s:.2f} s) "
              f"-> {best_whole / best_sql:.1f}x slower")
        print(f"pandas end to end, same read and write as the whole-day path, best of {args.repeat}: {best_pd:.2f} s "
              f"-> {best_pd / best_sql:.1f}x slower; compute only (median): pandas "
              f"{statistics.median(pandas_compute):.2f} s vs polars {compute_s:.2f} s")
        print(f"{len(result.rows)} agent rows written; identical to the whole-day path's: {'yes' if same else 'NO'}; "
              f"max relative difference to pandas: {worst:.1e}")
        print(f"goal < 5 s end to end: {'met' if best_sql < 5 else 'NOT met'}")


def whole_day_end_to_end(engine) -> tuple[float, list[dict], float, float]:
    """The path aggregate_day replaced: every validated row read into polars, then
    compute_daily_metrics, then the same write."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        df = frames.read_day(conn, DAY, frames.METRIC_COLUMNS, exclude_rejected=True, ordered=False)
        t1 = time.perf_counter()
        rows = metrics.to_rows(metrics.compute_daily_metrics(df), DAY, datetime.now(UTC))
        t2 = time.perf_counter()
        metrics.write_day(conn, DAY, rows)
    return time.perf_counter() - t0, rows, t1 - t0, t2 - t1


if __name__ == "__main__":
    main()
