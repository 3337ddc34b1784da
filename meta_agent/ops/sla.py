"""SLA definitions, error-budget evaluation and attribution.

Definitions come from two places:

- ``config/slas.yaml`` in the repo: a ``default:`` block and per-agent blocks under
  ``agents:`` (only the metrics that differ);
- the ``sla_definitions`` table, changed with ``meta-agent sla set|unset``.

Precedence, per agent and metric, most specific first and the database before the file at
each level: **DB agent → YAML agent → DB default → YAML default**. A limit set to ``null``
(YAML) or ``off`` (CLI) switches the metric off at that level.

Budgets, in the error-budget sense: a ceiling (``max_*``) consumes ``actual / limit``; a floor
(``min_success_rate``) consumes ``(1 − actual) / (1 − target)``. Status: ``warn`` at ≥ 80 %
consumed, ``breach`` above 100 %, else ``ok`` (compared after rounding to 9 decimals, so
0.96 against a 0.95 floor is exactly 80 %, not 79.999…).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
import yaml

from meta_agent import config
from meta_agent.errors import InputError
from meta_agent.ops import frames
from meta_agent.ops.metrics import exact_sum
from meta_agent.store.schema_ops_metrics import (
    daily_agent_metrics,
    sla_definitions,
    sla_evaluations,
)
from meta_agent.yaml_nodes import compose, fail, is_null, mapping, read

WARN_AT = 0.80
BREACH_ABOVE = 1.00
DEFAULT_SCOPE = "*"
SLA_FILE = "slas.yaml"
TOP_N = 10


@dataclass(frozen=True)
class SlaMetric:
    key: str  # name in the YAML file, the DB and sla_evaluations.metric
    column: str  # the daily_agent_metrics column it reads
    kind: str  # "floor" or "ceiling"
    label: str
    rule: str  # what a valid limit is, for error messages

    def check(self, value: Any) -> float:
        """A valid limit as float, or ``ValueError`` saying what is expected."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be {self.rule}")
        v = float(value)
        ok = math.isfinite(v) and (0 <= v < 1 if self.key == "min_success_rate"
                                   else 0 < v <= 1 if self.key.endswith("_rate") else v > 0)
        if not ok:
            raise ValueError(f"must be {self.rule}")
        return v


METRICS: tuple[SlaMetric, ...] = (
    SlaMetric("min_success_rate", "success_rate", "floor", "success rate",
              "a ratio ≥ 0 and < 1, e.g. 0.95 (1.0 would leave no error budget)"),
    SlaMetric("max_latency_p95_ms", "latency_p95_ms", "ceiling", "p95 latency (ms)",
              "a number of milliseconds > 0"),
    SlaMetric("max_latency_p99_ms", "latency_p99_ms", "ceiling", "p99 latency (ms)",
              "a number of milliseconds > 0"),
    SlaMetric("max_daily_cost_usd", "cost_usd", "ceiling", "daily cost (USD)", "an amount in USD > 0"),
    SlaMetric("max_human_intervention_rate", "human_intervention_rate", "ceiling", "human-intervention rate",
              "a ratio > 0 and ≤ 1, e.g. 0.1"),
)
BY_KEY = {m.key: m for m in METRICS}


def metric(key: str) -> SlaMetric:
    try:
        return BY_KEY[key]
    except KeyError:
        raise InputError(f"unknown SLA metric '{key}'; use one of {', '.join(BY_KEY)}.") from None


# ---------------------------------------------------------------- budget math

def budget_consumed(kind: str, actual: float, limit: float) -> float:
    """Share of the error budget used: ceiling ``actual/limit``; floor ``(1−actual)/(1−target)``."""
    if kind == "ceiling":
        return actual / limit
    if kind == "floor":
        return (1.0 - actual) / (1.0 - limit)
    raise ValueError(f"kind must be 'floor' or 'ceiling', not {kind!r}")


def status_for(consumed: float) -> str:
    c = round(consumed, 9)
    if c > BREACH_ABOVE:
        return "breach"
    if c >= WARN_AT:
        return "warn"
    return "ok"


# ---------------------------------------------------------------- the YAML file

@dataclass
class SlaFile:
    path: Path
    default: dict[str, float | None] = field(default_factory=dict)
    agents: dict[str, dict[str, float | None]] = field(default_factory=dict)
    exists: bool = True


def sla_file_path() -> Path:
    return config.config_dir() / SLA_FILE


def load_sla_file(path: Path | None = None) -> SlaFile:
    """Parse and validate the SLA file; every error names the file, line, field and fix.

    A missing file is no error (no YAML definitions); an empty one neither.
    """
    path = Path(path or sla_file_path())
    text = read(path)
    if text is None:
        return SlaFile(path, exists=False)
    root = compose(path, text)
    out = SlaFile(path)
    if root is None:
        return out
    top = mapping(path, root, "the file", "a mapping with 'default:' and 'agents:'")
    for key, (knode, vnode) in top.items():
        if key == "version":
            if vnode.value not in ("1",):
                fail(path, vnode, "version", f"unsupported version {vnode.value!r}; this release reads version 1")
        elif key == "default":
            out.default = _limits(path, vnode, "default")
        elif key == "agents":
            if is_null(vnode):
                continue
            for agent, (anode, lnode) in mapping(path, vnode, "agents", "a mapping of agent id → limits").items():
                if not agent.strip() or len(agent) > 128:
                    fail(path, anode, f"agents.{agent!r}", "an agent id must be 1-128 characters")
                out.agents[agent] = _limits(path, lnode, f"agents.{agent}")
        else:
            fail(path, knode, key, "unknown top-level key; use 'version', 'default' and 'agents'")
    return out








def _limits(path: Path, node, where: str) -> dict[str, float | None]:
    if is_null(node):
        return {}
    out: dict[str, float | None] = {}
    for key, (knode, vnode) in mapping(path, node, where, "a mapping of metric → limit").items():
        fld = f"{where}.{key}"
        if key not in BY_KEY:
            fail(path, knode, fld, f"unknown SLA metric; use one of {', '.join(BY_KEY)}")
        if is_null(vnode):
            out[key] = None  # explicitly off
            continue
        value = yaml.SafeLoader("").construct_object(vnode) if isinstance(vnode, yaml.ScalarNode) else None
        try:
            out[key] = BY_KEY[key].check(value)
        except ValueError as exc:
            shown = vnode.value if isinstance(vnode, yaml.ScalarNode) else "a list or mapping"
            fail(path, vnode, fld, f"{exc} (got {shown!r}); set a valid limit, or null to switch it off")
    return out


# ---------------------------------------------------------------- the DB overrides

def set_definition(conn: sa.Connection, scope: str, key: str, value: float | None, *,
                   note: str | None = None, updated_by: str | None = None) -> dict:
    """Add or change one DB definition (``scope`` = agent id or '*'); ``None`` switches it off."""
    m = metric(key)
    if value is not None:
        try:
            value = m.check(value)
        except ValueError as exc:
            raise InputError(f"{key}: {exc} (got {value!r}).") from None
    if not scope or len(scope) > 128:
        raise InputError("agent id must be 1-128 characters.")
    row = {"scope": scope, "metric": key, "limit_value": value, "note": note, "updated_by": updated_by,
           "updated_at": datetime.now(UTC)}
    conn.execute(sla_definitions.delete().where(sla_definitions.c.scope == scope,
                                                sla_definitions.c.metric == key))
    conn.execute(sla_definitions.insert().values(**row))
    return row


def unset_definition(conn: sa.Connection, scope: str, key: str) -> bool:
    metric(key)
    res = conn.execute(sla_definitions.delete().where(sla_definitions.c.scope == scope,
                                                      sla_definitions.c.metric == key))
    return res.rowcount > 0


def db_definitions(conn: sa.Connection) -> list[dict]:
    q = sa.select(sla_definitions).order_by(sla_definitions.c.scope, sla_definitions.c.metric)
    return [dict(r._mapping) for r in conn.execute(q)]


# ---------------------------------------------------------------- resolution

@dataclass(frozen=True)
class Limit:
    value: float | None  # None: switched off
    source: str  # db:agent | yaml:agent | db:default | yaml:default


@dataclass
class SlaDefinitions:
    file: SlaFile
    db: dict[tuple[str, str], float | None] = field(default_factory=dict)

    def limit(self, agent_id: str, key: str) -> Limit | None:
        """The limit in force for ``agent_id``/``key`` (None: nothing defines it);
        ``agent_id='*'`` asks for the default."""
        if agent_id != DEFAULT_SCOPE and (agent_id, key) in self.db:
            return Limit(self.db[(agent_id, key)], "db:agent")
        if key in self.file.agents.get(agent_id, {}):
            return Limit(self.file.agents[agent_id][key], "yaml:agent")
        if (DEFAULT_SCOPE, key) in self.db:
            return Limit(self.db[(DEFAULT_SCOPE, key)], "db:default")
        if key in self.file.default:
            return Limit(self.file.default[key], "yaml:default")
        return None

    def limits_for(self, agent_id: str) -> dict[str, Limit]:
        return {m.key: lim for m in METRICS if (lim := self.limit(agent_id, m.key)) is not None}

    def agents(self) -> list[str]:
        """Agents with a definition of their own (file or DB)."""
        return sorted(set(self.file.agents) | {s for s, _ in self.db if s != DEFAULT_SCOPE})


def load_definitions(conn: sa.Connection, path: Path | None = None) -> SlaDefinitions:
    rows = db_definitions(conn)
    return SlaDefinitions(load_sla_file(path), {(r["scope"], r["metric"]): r["limit_value"] for r in rows})


# ---------------------------------------------------------------- evaluation

def evaluate(metric_rows: list[dict], definitions: SlaDefinitions) -> list[dict]:
    """One evaluation per (agent, metric) with a limit in force and a measured value.

    A metric without data that day (e.g. success rate when everything was cancelled) is
    not evaluated: no data is neither compliance nor breach.
    """
    out = []
    for row in metric_rows:
        for key, lim in definitions.limits_for(row["agent_id"]).items():
            m = BY_KEY[key]
            actual = row.get(m.column)
            if lim.value is None or actual is None:
                continue
            consumed = budget_consumed(m.kind, float(actual), lim.value)
            out.append({"day": row["day"], "agent_id": row["agent_id"], "metric": key,
                        "actual": float(actual), "limit_value": lim.value, "consumed": consumed,
                        "status": status_for(consumed), "limit_source": lim.source, "attribution": {}})
    return out


ATTRIBUTION_COLUMNS = ("execution_id", "started_at", "status", "latency_ms", "model", "prompt_version",
                       "tokens_in", "cost_usd", "error_type", "human_intervention")


def attribute(df, key: str) -> dict:
    """Which executions drove a metric (``df``: the agent's validated executions that day,
    in ``frames.read_day``'s order; ties in a top-N keep it)."""
    def done():
        return df.filter(pl.col("status") != "cancelled")

    if key == "min_success_rate":
        failing = done().filter(pl.col("status") != "success").sort("started_at")
        by_type = failing.group_by(pl.col("error_type").fill_null("unknown")).len().sort("len", descending=True)
        by_hour = failing.group_by(pl.col("started_at").dt.hour().alias("hour")).len().sort("hour")
        return {"driver": "failed and timed-out executions", "count": failing.height,
                "failing_ids": _ids(failing.head(TOP_N), ["execution_id", "status", "error_type", "started_at"]),
                "by_error_type": dict(by_type.iter_rows()),
                "by_utc_hour": {f"{h:02d}": n for h, n in by_hour.iter_rows()}}
    if key in LATENCY_KEYS:
        finished = done()
        slowest = finished.sort("latency_ms", descending=True).head(TOP_N)
        return _latency_attribution(key, finished.height, _by_prompt_version(_one(finished), key).get("", {}), slowest)
    if key == "max_daily_cost_usd":
        costliest = df.sort("cost_usd", descending=True).head(TOP_N)
        return _cost_attribution(df.height, _by_model(_one(df)).get("", {}), costliest)
    if key == "max_human_intervention_rate":
        human = df.filter(pl.col("human_intervention")).sort("started_at")
        by_status = human.group_by("status").len().sort("len", descending=True)
        return {"driver": "executions a human stepped into", "count": human.height,
                "intervention_ids": _ids(human.head(TOP_N), ["execution_id", "status", "error_type", "started_at"]),
                "by_status": dict(by_status.iter_rows())}
    raise ValueError(f"no attribution for {key}")


LATENCY_KEYS = {"max_latency_p95_ms": 0.95, "max_latency_p99_ms": 0.99}
_SLOWEST = ["execution_id", "latency_ms", "model", "prompt_version", "status"]
_COSTLIEST = ["execution_id", "cost_usd", "tokens_in", "model"]


def _ids(frame, cols) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in frame.select(cols).to_dicts()]


def _one(df):
    """One agent's frame as a grouped one (the breakdowns below take every agent at once)."""
    return df.with_columns(pl.lit("", dtype=pl.String).alias("agent_id"))


def _by_prompt_version(finished, key: str) -> dict[str, dict[str, float]]:
    """Per agent: the latency percentile of ``key`` per prompt version (``finished``: the
    non-cancelled executions, agent_id / prompt_version / latency_ms, any order)."""
    q = LATENCY_KEYS[key]
    by_version = (finished.group_by("agent_id", pl.col("prompt_version").fill_null("unknown"))
                  .agg(pl.col("latency_ms").quantile(q, interpolation="linear"))
                  .sort("agent_id", "latency_ms", "prompt_version", descending=[False, True, False]))
    out: dict[str, dict[str, float]] = {}
    for agent, version, latency in by_version.iter_rows():
        out.setdefault(agent, {})[version] = round(latency, 1)
    return out


def _by_model(df) -> dict[str, dict[str, dict]]:
    """Per agent: cost and mean input tokens per model (``df``: agent_id / model / cost_usd /
    tokens_in, any order). Cost is the exact sum (``math.fsum``, as the daily cost), so it
    does not depend on the order the rows arrive in."""
    by_model = (df.group_by("agent_id", pl.col("model").fill_null("unknown"))
                .agg(pl.col("cost_usd"), pl.col("tokens_in").mean().alias("mean_tokens_in"))
                .with_columns(pl.col("cost_usd").map_elements(exact_sum, return_dtype=pl.Float64))
                .sort("agent_id", "cost_usd", "model", descending=[False, True, False]))
    out: dict[str, dict[str, dict]] = {}
    for agent, model, cost, tokens in by_model.iter_rows():
        out.setdefault(agent, {})[model] = {"cost_usd": round(cost, 4), "mean_tokens_in": round(tokens)}
    return out


def _latency_attribution(key: str, count: int, by_version: dict, slowest) -> dict:
    q = LATENCY_KEYS[key]
    return {"driver": "slowest executions", "count": count, "slowest_ids": _ids(slowest, _SLOWEST),
            f"p{round(q * 100)}_by_prompt_version": by_version}


def _cost_attribution(count: int, by_model: dict, costliest) -> dict:
    return {"driver": "most expensive executions", "count": count,
            "most_expensive_ids": _ids(costliest, _COSTLIEST), "by_model": by_model}


# What ``attribute`` reads for success rate and human interventions: the columns, and the
# rows (SQL over executions) that can change its answer — every other row is dropped by its
# first filter. Reading only those, for every flagged agent of the metric at once, gives
# ``attribute`` the same rows in the same order as the agent's whole day would. (Their
# top-N is by start time, which on SQLite is the parsed timestamp, not the text: polars
# sorts it.)
_ATTRIBUTION_READS: dict[str, tuple[tuple[str, ...], str]] = {
    "min_success_rate": (("execution_id", "status", "error_type", "started_at"),
                         "status NOT IN ('success', 'cancelled')"),
    "max_human_intervention_rate": (("execution_id", "status", "error_type", "started_at", "human_intervention"),
                                    "human_intervention = {true}"),
}


_MAX_KEYS = 1000  # rows tied at an agent's TOP_N-th value fetched by key; beyond, by ORDER BY … LIMIT


def _below(value: float) -> float:
    """A bound just under ``value``: its SQL literal, parsed back by the database, is still
    at most ``value`` (SQLite's text-to-double conversion may be off by an ulp)."""
    return value - max(abs(value) * 1e-9, 1e-300)


def _attribute_top(conn: sa.Connection, day: date, keys: Sequence[str], agents: list[str]) -> dict[tuple, dict]:
    """Attribution of the cost or latency metrics ``keys`` (p95 and p99 share one read) for
    ``agents`` — what ``attribute`` gives on each agent's whole day, without reading it row
    by row: the columns the breakdowns need (``frames.read_by_agent``), each agent's
    ``TOP_N``-th largest value, then only the rows at or above it, in the database's order
    ``value DESC, started_at, execution_id`` — the order ``attribute``'s sort gives the day
    read by ``started_at, execution_id``, ties included."""
    if keys == ["max_daily_cost_usd"]:
        col, cols, where, out = "cost_usd", ("cost_usd", "tokens_in", "model"), None, _COSTLIEST
    else:
        col, cols, where, out = "latency_ms", ("latency_ms", "prompt_version"), \
            f"status <> {frames.sql_literal(conn, 'cancelled')}", _SLOWEST
    df = frames.read_by_agent(conn, day, cols, agent_ids=agents, where=where, key=True)
    counts = dict(df.group_by("agent_id").len().iter_rows())
    order = f"{col} DESC, started_at, execution_id"
    above = df.filter(pl.col(col) >= pl.col(col).top_k(TOP_N).min().over("agent_id"))
    ties = above.group_by("agent_id").agg(pl.len(), pl.col(col).min().alias("threshold"))
    crowded = {a: t for a, n, t in ties.iter_rows() if n > _MAX_KEYS}  # e.g. a flat price per run
    row_keys = above.filter(~pl.col("agent_id").is_in(list(crowded)))["row_key"].to_list()
    rows = frames.rows_by_key(conn, row_keys, ("agent_id", *out), f"agent_id, {order}")
    tops = {a: part.head(TOP_N) for (a,), part in rows.partition_by("agent_id", maintain_order=True,
                                                                    as_dict=True).items()}
    for a, threshold in crowded.items():  # the database picks the first TOP_N of the tie itself
        pred = f"{col} >= {frames.sql_literal(conn, _below(threshold))}" + (f" AND {where}" if where else "")
        sql = (f"SELECT {', '.join(('agent_id', *out))} FROM executions "  # noqa: S608 — allowlisted names
               f"WHERE {frames.day_where(conn, day, agent_ids=[a], where=pred)} ORDER BY {order} LIMIT {TOP_N}")
        tops[a] = frames.frame_of(frames.fetch_all(conn, sql), ("agent_id", *out), conn)
    none = frames.empty_frame(out)
    result = {}
    for key in keys:
        if key == "max_daily_cost_usd":
            by_model = _by_model(df)
            for a in agents:
                result[(a, key)] = _cost_attribution(counts.get(a, 0), by_model.get(a, {}), tops.get(a, none))
        else:
            by_version = _by_prompt_version(df, key)
            for a in agents:
                result[(a, key)] = _latency_attribution(key, counts.get(a, 0), by_version.get(a, {}),
                                                        tops.get(a, none))
    return result


def evaluate_day(engine: sa.Engine, day: date, definitions: SlaDefinitions | None = None) -> list[dict]:
    """Evaluate the day's stored metrics, attribute every warn/breach to the executions that
    drove it, and replace the day's ``sla_evaluations`` rows (one transaction)."""
    with engine.begin() as conn:
        frames.lock_day(conn, "sla_evaluations", day)
        definitions = definitions or load_definitions(conn)
        q = sa.select(daily_agent_metrics).where(daily_agent_metrics.c.day == day)
        rows = evaluate([dict(r._mapping) for r in conn.execute(q)], definitions)
        flagged = [r for r in rows if r["status"] != "ok"]
        by_key: dict[str, set[str]] = {}
        for r in flagged:
            by_key.setdefault(r["metric"], set()).add(r["agent_id"])
        attributions: dict[tuple[str, str], dict] = {}
        day_agents = {r["agent_id"] for r in rows}
        latency = [k for k in by_key if k in LATENCY_KEYS]
        if latency:  # p95 and p99 read the same rows
            agents = sorted(set().union(*(by_key[k] for k in latency)))
            attributions |= _attribute_top(conn, day, latency, agents)
        if "max_daily_cost_usd" in by_key:
            attributions |= _attribute_top(conn, day, ["max_daily_cost_usd"], sorted(by_key["max_daily_cost_usd"]))
        for key, agents in by_key.items():
            if key in _ATTRIBUTION_READS:
                cols, where = _ATTRIBUTION_READS[key]
                pred = where.format(true=frames.sql_literal(conn, True))
                # every agent flagged: no agent filter (on SQLite an IN list trades the day's
                # index order for a sort of every row)
                df = frames.read_day(conn, day, ("agent_id", *cols), exclude_rejected=True,
                                     agent_ids=None if agents >= day_agents else sorted(agents), where=pred)
                parts = {a: part.drop("agent_id") for (a,), part in
                         df.partition_by("agent_id", maintain_order=True, as_dict=True).items()}
                for a in agents:
                    attributions[(a, key)] = attribute(parts.get(a, frames.empty_frame(cols)), key)
        for r in flagged:
            r["attribution"] = attributions[(r["agent_id"], r["metric"])]
        now = datetime.now(UTC)
        for r in rows:
            r["evaluated_at"] = now
        conn.execute(sla_evaluations.delete().where(sla_evaluations.c.day == day))
        if rows:
            conn.execute(sla_evaluations.insert(), rows)
    return rows


def evaluations_for_day(conn: sa.Connection, day: date) -> list[dict]:
    """Every stored evaluation of ``day`` (ok, warn and breach), by agent and metric.

    Keys: day, agent_id, metric, actual, limit_value, consumed, status, limit_source,
    attribution, evaluated_at. The alerts sensor turns the warn/breach rows into alerts.
    """
    q = (sa.select(sla_evaluations).where(sla_evaluations.c.day == day)
         .order_by(sla_evaluations.c.agent_id, sla_evaluations.c.metric))
    return [dict(r._mapping) for r in conn.execute(q)]


def evaluations_between(conn: sa.Connection, first: date, last: date) -> list[dict]:
    q = (sa.select(sla_evaluations).where(sla_evaluations.c.day >= first, sla_evaluations.c.day <= last)
         .order_by(sla_evaluations.c.day, sla_evaluations.c.agent_id, sla_evaluations.c.metric))
    return [dict(r._mapping) for r in conn.execute(q)]


def describe(row: dict) -> str:
    """One line a person reads: ``sql-analyst min_success_rate 0.7 vs 0.87: 231% of budget (breach)``."""
    m = BY_KEY.get(row["metric"])
    label = m.label if m else row["metric"]
    return (f"{row['agent_id']} {label} {_fmt(row['actual'])} vs limit {_fmt(row['limit_value'])}: "
            f"{row['consumed']:.0%} of budget ({row['status']})")


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 10 else f"{v:,.0f}"


SHORT = {"min_success_rate": "success", "max_latency_p95_ms": "p95", "max_latency_p99_ms": "p99",
         "max_daily_cost_usd": "cost", "max_human_intervention_rate": "human"}
MARK = {"ok": "ok", "warn": "WARN", "breach": "BREACH"}


def status_grid(rows: list[dict]) -> list[dict]:
    """One row per agent, one column per metric: ``BREACH 235%`` / ``WARN 85%`` / ``ok 40%``
    (``-`` when not evaluated), worst status first."""
    agents: dict[str, dict] = {}
    rank = {"ok": 0, "warn": 1, "breach": 2}
    for r in rows:
        a = agents.setdefault(r["agent_id"], {"agent": r["agent_id"], "worst": "ok",
                                              **{SHORT[m.key]: "-" for m in METRICS}})
        a[SHORT.get(r["metric"], r["metric"])] = f"{MARK[r['status']]} {r['consumed']:.0%}"
        if rank[r["status"]] > rank[a["worst"]]:
            a["worst"] = r["status"]
    return sorted(agents.values(), key=lambda a: (-rank[a["worst"]], a["agent"]))
