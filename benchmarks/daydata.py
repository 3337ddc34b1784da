"""One UTC day of synthetic executions written straight into the ops DB, fast — shared by
the benchmarks (``bench_aggregation.py``, ``bench_daily_pipeline.py``).

SQLite gets one ``executemany`` in one transaction (the text layout of ``UTCDateTime``);
PostgreSQL gets one ``COPY ... FROM STDIN`` of CSV built by polars. Both write the same rows
for the same arguments. ``bad`` adds rows that break the data-quality suite in every way a
database can store (bad status, negative latency/tokens/cost, ``ended_at < started_at``, a
blank agent id; on PostgreSQL a NaN latency, on SQLite timestamp text in another layout —
valid — and text that is no timestamp at all), so a benchmark exercises the rejection path.
"""

from __future__ import annotations

import io
import sqlite3
import time
from datetime import date, timedelta

import numpy as np
import polars as pl
import psycopg
from sqlalchemy.engine import make_url

DAY = date(2026, 1, 5)
STATUSES = np.array(["success", "failure", "timeout", "cancelled"])
ERRORS = np.array(["RateLimitError", "ToolExecutionError", "OutputParserException", "APIConnectionError"])
MODELS = np.array(["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "llama-3.1-8b"])
COLUMNS = ("execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms", "model", "prompt_version",
           "tokens_in", "tokens_out", "cost_usd", "error_type", "human_intervention")
# the kinds of bad rows, each written ``bad`` times (spread over the day)
BAD_KINDS = ("bad-status", "neg-latency", "neg-tokens-in", "neg-tokens-out", "neg-cost", "time-travel", "blank-agent")
SQLITE_BAD_KINDS = ("iso-t-layout", "not-a-timestamp")  # text only SQLite can hold in a timestamp column
POSTGRES_BAD_KINDS = ("nan-latency",)


def day_columns(rows: int, agents: int, seed: int = 1, day: date = DAY) -> dict[str, np.ndarray]:
    """``rows`` executions started on ``day`` (sorted by start), as numpy columns; timestamps
    as ``datetime64[us]`` (UTC)."""
    rng = np.random.default_rng(seed)
    secs = np.sort(rng.uniform(0, 86400, rows))
    lat = rng.lognormal(7.5, 0.6, rows)
    base = np.datetime64(day.isoformat() + "T00:00:00", "us")
    start = base + (secs * 1e6).astype("timedelta64[us]")
    end = start + (lat * 1e3).astype("timedelta64[us]")
    status = STATUSES[rng.choice(4, rows, p=[0.93, 0.04, 0.01, 0.02])]
    err = np.where(np.isin(status, ["failure", "timeout"]), ERRORS[rng.integers(0, 4, rows)], None)
    agent = np.array([f"agent-{i:03d}" for i in range(agents)])[rng.zipf(1.3, rows) % agents]
    raw = rng.bytes(16 * rows).hex()
    ids = np.array([raw[32 * i: 32 * i + 32] for i in range(rows)], dtype=object)
    return {
        "execution_id": ids, "agent_id": agent.astype(object), "started_at": start, "ended_at": end,
        "status": status.astype(object), "latency_ms": lat.round(3),
        "model": MODELS[rng.choice(4, rows, p=[0.6, 0.25, 0.1, 0.05])].astype(object),
        "prompt_version": np.array(["v1", "v2", "v3"])[rng.integers(0, 3, rows)].astype(object),
        "tokens_in": rng.integers(50, 8000, rows), "tokens_out": rng.integers(10, 1500, rows),
        "cost_usd": rng.uniform(0, 0.05, rows), "error_type": err.astype(object),
        "human_intervention": rng.uniform(size=rows) < 0.04,
    }


def _bad_positions(rows: int, kinds: tuple[str, ...], bad: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed + 1000)
    picks = rng.choice(rows, size=min(rows, bad * len(kinds)), replace=False)
    return {k: picks[i * bad:(i + 1) * bad] for i, k in enumerate(kinds)}


def _spoil(cols: dict[str, np.ndarray], where: dict[str, np.ndarray]) -> None:
    """Turn the rows at ``where[kind]`` into rows the suite must reject (in place)."""
    for kind, at in where.items():
        if kind == "bad-status":
            cols["status"][at] = "exploded"
        elif kind == "neg-latency":
            cols["latency_ms"][at] = -5.0
        elif kind == "neg-tokens-in":
            cols["tokens_in"][at] = -1
        elif kind == "neg-tokens-out":
            cols["tokens_out"][at] = -7
        elif kind == "neg-cost":
            cols["cost_usd"][at] = -0.01
        elif kind == "time-travel":
            cols["ended_at"][at] = cols["started_at"][at] - np.timedelta64(30, "s")
        elif kind == "blank-agent":
            cols["agent_id"][at] = "   "
        elif kind == "nan-latency":
            cols["latency_ms"][at] = np.nan


def _sqlite_text(ts: np.ndarray) -> np.ndarray:
    # SQLite layout of UTCDateTime: 'YYYY-MM-DD HH:MM:SS.ffffff'
    return np.char.replace(np.datetime_as_string(ts, unit="us"), "T", " ").astype(object)


def populate(db, rows: int, agents: int, seed: int = 1, *, bad: int = 0, day: date = DAY) -> float:
    """Write the day into the SQLite file ``db``; seconds taken."""
    t0 = time.perf_counter()
    cols = day_columns(rows, agents, seed, day)
    kinds = (*BAD_KINDS, *SQLITE_BAD_KINDS) if bad else ()
    where = _bad_positions(rows, kinds, bad, seed) if bad else {}
    _spoil(cols, {k: v for k, v in where.items() if k in BAD_KINDS})
    start_s, end_s = _sqlite_text(cols["started_at"]), _sqlite_text(cols["ended_at"])
    for at in where.get("iso-t-layout", ()):  # valid ISO 8601 written by hand: must pass
        start_s[at] = start_s[at][:19].replace(" ", "T")
    for at in where.get("not-a-timestamp", ()):  # in the day's text range, but no timestamp
        end_s[at] = f"{day.isoformat()} never"
    data = zip(cols["execution_id"].tolist(), cols["agent_id"].tolist(), start_s.tolist(), end_s.tolist(),
               cols["status"].tolist(), cols["latency_ms"].tolist(), cols["model"].tolist(),
               cols["prompt_version"].tolist(), cols["tokens_in"].tolist(), cols["tokens_out"].tolist(),
               cols["cost_usd"].tolist(), cols["error_type"].tolist(),
               cols["human_intervention"].astype(int).tolist(), strict=True)
    con = sqlite3.connect(db)
    con.executemany(
        f"INSERT INTO executions ({', '.join(COLUMNS)}, source, ingested_at) "  # noqa: S608 — fixed names
        f"VALUES ({', '.join('?' * len(COLUMNS))}, 'bench', '{day + timedelta(days=1)} 00:00:00.000000')", data)
    con.commit()
    con.close()
    return time.perf_counter() - t0


def populate_postgres(url: str, rows: int, agents: int, seed: int = 1, *, bad: int = 0, day: date = DAY) -> float:
    """Write the day into the PostgreSQL database at the SQLAlchemy ``url``; seconds taken."""
    t0 = time.perf_counter()
    cols = day_columns(rows, agents, seed, day)
    if bad:
        _spoil(cols, _bad_positions(rows, (*BAD_KINDS, *POSTGRES_BAD_KINDS), bad, seed))
    frame = pl.DataFrame({
        **{c: pl.Series(c, cols[c].tolist(), dtype=pl.String)
           for c in ("execution_id", "agent_id", "status", "model", "prompt_version", "error_type")},
        "started_at": pl.Series(cols["started_at"]).dt.replace_time_zone("UTC"),
        "ended_at": pl.Series(cols["ended_at"]).dt.replace_time_zone("UTC"),
        "latency_ms": cols["latency_ms"], "tokens_in": cols["tokens_in"], "tokens_out": cols["tokens_out"],
        "cost_usd": cols["cost_usd"], "human_intervention": cols["human_intervention"],
    }).select(COLUMNS).with_columns(source=pl.lit("bench"), ingested_at=pl.lit(f"{day + timedelta(days=1)} 00:00:00+00"))
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="", float_precision=None)
    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database) as con:
        with con.cursor() as cur, cur.copy(
                f"COPY executions ({', '.join(frame.columns)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        con.execute("ANALYZE executions")
    return time.perf_counter() - t0
