"""Sensor ticks at production volume, as the daemon evaluates them, and the delivery run.

Data (ops DB on SQLite; PostgreSQL too with --pg and META_AGENT_TEST_PG_URL): the current
hour at --rate executions/minute (default 10,000/min = 600,000 rows; bench_health.py's
generator, with its two incidents) plus the same hour on 7 previous days; then --due alerts
(default 200) due for delivery on two channels, ``log`` and a ``webhook`` whose server
accepts connections and never answers (the notifier's 10 s timeout).

Measured:
1. every alert sensor of the code location (the real definitions, evaluated through
   ``build_sensor_context`` with the real resources) over --ticks ticks, 30 s of new
   executions between health ticks: p50 and worst per sensor, against Dagster's 60 s limit;
2. the ``alert_delivery`` run the delivery sensor requests (one attempt, in process): its
   duration and what it logged — the dead webhook costs it one timeout;
3. the same-run baseline: delivery inside the tick, as the sensors did before — one send per
   due alert, each paying the dead webhook's timeout (measured on the first --baseline-sends
   alerts and extrapolated to all of them, because the whole would take 200 × 10 s).

    .venv/bin/python benchmarks/bench_sensor_ticks.py [--rate 10000] [--due 200] [--ticks 5] [--pg]
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("META_AGENT_DAILY_START", "2025-01-01")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg  # noqa: E402
import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from bench_health import load, rows_for  # noqa: E402
from pgscratch import scratch_database  # noqa: E402

from meta_agent.ops import alerts  # noqa: E402
from meta_agent.ops.alerts import AlertSpec  # noqa: E402
from meta_agent.store import migrate  # noqa: E402
from meta_agent.store.engine import dispose_all, engine_for  # noqa: E402
from meta_agent_defs.alerts import jobs, sensors  # noqa: E402
from meta_agent_defs.resources import NotifierResource, OpsDatabase, RepoConfig, WebhookChannel  # noqa: E402

SENSOR_TIMEOUT_S = 60  # Dagster's default limit for one sensor evaluation
ROOT = Path(__file__).resolve().parents[1]


def dead_webhook() -> tuple[socket.socket, str]:
    """A server that accepts and never answers: every POST waits for the client's timeout."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(s.accept()[0]) for _ in iter(int, 1)], daemon=True).start()
    return s, f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def evaluate(sensor, instance: dg.DagsterInstance, resources: dict, cursor: str | None = None):
    t0 = time.perf_counter()
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as ctx:
        out = sensor(ctx)
    return time.perf_counter() - t0, out


def raise_due(engine: sa.Engine, n: int, agents: list[str], at: datetime) -> None:
    with engine.begin() as conn:
        for i in range(n):  # distinct (agent, type, hour) keys: n alerts, 2n deliveries
            spec = AlertSpec(agents[i % len(agents)], "run_failure", "critical", f"bench alert {i}", "x",
                             at - timedelta(hours=i // len(agents)), "bench")
            alerts.raise_alert(conn, spec, ["log", "webhook"], at)


def run(url: str, label: str, args, tmp: Path) -> None:
    logging.getLogger("meta_agent.alerts").addHandler(logging.NullHandler())  # the JSONL file is the record
    logging.getLogger("meta_agent.alerts").propagate = False
    migrate.upgrade(url)
    engine = engine_for(url)
    rng = np.random.default_rng(7)
    agent_ids = [f"agent-{i:02d}" for i in range(args.agents)]
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    load(engine, [r for k in range(1, 8) for r in rows_for(rng, agent_ids, now - timedelta(days=k, hours=1), 3600,
                                                           args.history_rate * 60)])
    load(engine, rows_for(rng, agent_ids, now - timedelta(hours=1), 3600, args.rate * 60, failing=agent_ids[0],
                          fail_from=now - timedelta(minutes=10), slow=agent_ids[1]))
    print(f"[{label}] data: {args.rate * 60:,} executions in the last hour ({args.rate:,}/min), "
          f"{args.history_rate * 60 * 7:,} on 7 previous days, {args.agents} agents "
          f"(loaded in {time.perf_counter() - t0:.1f}s)")

    listener, hook = dead_webhook()
    raise_due(engine, args.due, agent_ids, now)
    notifier = NotifierResource(channels="log,webhook", log_path=str(tmp / f"{label}-notifications.jsonl"),
                                webhook=WebhookChannel(url=hook))  # the default 10 s timeout
    resources = {"ops_db": OpsDatabase(url=url), "notifier": notifier,
                 "repo_config": RepoConfig(config_dir=str(ROOT / "config"))}
    with engine.connect() as conn:
        due = alerts.due_deliveries(conn, ["log", "webhook"])
    print(f"[{label}] {args.due} alerts due on 2 channels ({due.due} deliveries); the webhook never answers "
          f"(timeout {notifier.timeout_seconds:.0f} s)")

    times: dict[str, list[float]] = {s.name: [] for s in sensors.SENSORS if s.name != "run_failure_alert_sensor"}
    with dg.instance_for_test() as instance:
        cursors: dict[str, str | None] = {}
        at = now
        for _ in range(args.ticks):
            load(engine, rows_for(rng, agent_ids, at, 30, args.rate // 2, failing=agent_ids[0],
                                  fail_from=now - timedelta(minutes=10), slow=agent_ids[1]))
            at += timedelta(seconds=30)
            for sensor in (sensors.agent_health_sensor, sensors.sla_alert_sensor, sensors.alert_delivery_sensor):
                seconds, out = evaluate(sensor, instance, resources, cursors.get(sensor.name))
                cursors[sensor.name] = out.cursor
                times[sensor.name].append(seconds)
        requested = out.run_requests
        for name, ts in times.items():
            print(f"[{label}] {name}: p50 {statistics.median(ts):.3f}s, worst {max(ts):.3f}s over {len(ts)} ticks "
                  f"({max(ts) / SENSOR_TIMEOUT_S:.1%} of the 60 s sensor timeout)")
        print(f"[{label}] alert_delivery_sensor requested: "
              + ", ".join(f"{r.run_key} (tags {r.tags})" for r in requested))

        once = jobs.deliver_due_alerts.with_retry_policy(dg.RetryPolicy(max_retries=0))

        @dg.job(name="alert_delivery", tags=jobs.TAGS)
        def delivery() -> None:
            once()

        defs = dg.Definitions(jobs=[delivery], resources=resources)
        t0 = time.perf_counter()
        result = defs.resolve_job_def("alert_delivery").execute_in_process(
            instance=instance, raise_on_error=False, run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            tags={"dagster/run_key": requested[0].run_key} if requested else None)
        run_s = time.perf_counter() - t0
        logs = [e.message for e in instance.all_logs(result.run_id) if e.user_message and "delivered" in e.user_message]
    print(f"[{label}] alert_delivery run (one attempt): {run_s:.2f}s; {logs[0] if logs else '?'}; the step "
          f"{'failed and would be retried by its RetryPolicy' if not result.success else 'succeeded'} "
          f"(max_retries {jobs.DELIVERY_RETRY.max_retries}, delay {jobs.DELIVERY_RETRY.delay} s, exponential)")

    # the baseline: inline delivery, one send at a time, each alert paying the dead channel's timeout
    with engine.begin() as conn:
        conn.execute(sa.update(alerts.alert_deliveries).values(next_attempt_at=now - timedelta(minutes=1)))
    n = notifier.get()
    t0 = time.perf_counter()
    for _ in range(args.baseline_sends):
        alerts.deliver_due(engine, n, limit=1)  # a pass per alert: the old sensor's cost per due alert
    base_s = time.perf_counter() - t0
    per = base_s / args.baseline_sends
    projected = per * args.due
    print(f"[{label}] baseline (delivery inside the tick, no deferral): {args.baseline_sends} sends took "
          f"{base_s:.1f}s = {per:.1f}s each → {args.due} due alerts ≈ {projected:,.0f}s in one tick "
          f"(×{projected / SENSOR_TIMEOUT_S:.0f} the 60 s sensor timeout); the tick now: "
          f"{max(times['alert_delivery_sensor']):.3f}s worst (×{projected / max(times['alert_delivery_sensor']):,.0f})")
    listener.close()
    engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=10_000, help="executions per minute in the current hour")
    p.add_argument("--history-rate", type=int, default=1_000, help="executions per minute on previous days")
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--due", type=int, default=200, help="alerts due for delivery")
    p.add_argument("--ticks", type=int, default=5)
    p.add_argument("--baseline-sends", type=int, default=3, help="inline sends measured for the baseline")
    p.add_argument("--pg", action="store_true", help="also on PostgreSQL (META_AGENT_TEST_PG_URL)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ticks-") as tmp:
        run(f"sqlite:///{Path(tmp) / 'ops.db'}", "sqlite", args, Path(tmp))
        dispose_all()
        if args.pg:
            with scratch_database() as url:
                run(url, "postgresql", args, Path(tmp))

if __name__ == "__main__":
    main()
