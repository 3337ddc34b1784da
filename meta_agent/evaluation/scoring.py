"""The evaluation scores: 0–100 per dimension, each carrying the inputs it was computed from.

One mapping everywhere (``linear``): **100 at or better than the target, 0 at or worse than
a floor, a straight line between** — monotone, and a reader can redo it by hand. Which
target and floor each input uses, and where the target comes from, is in ``Component``;
docs/evaluation-report.md has the table and a worked example.

- **reliability** = 0.75 × success rate (target: the SLA's ``min_success_rate``; floor:
  three times the allowed failure rate, ``1 − 3 × (1 − target)``) + 0.25 × timeout rate
  (target 1 % and floor 5 %, or ``max_timeout_rate`` and 5 × it);
- **efficiency** = 0.5 × p95 latency (target: the SLA's ``max_latency_p95_ms``, else the
  agent's previous-period p95; floor 3 × target) + 0.3 × p50 latency (target: the previous
  period's p50 — no SLA sets a p50 — or ``max_latency_p50_ms``; floor 3 × target)
  + 0.2 × retries per successful execution (target 0.05, floor 0.5). A retry is a failed
  action inside an execution that still succeeded, plus ``metadata.retries`` when present;
- **cost** = mean of: cost per successful execution against the fleet median cost per
  success of the same period (floor 4 × that median); the mean daily cost against the SLA's
  ``max_daily_cost_usd`` (floor 2 ×); and ``max_cost_per_success_usd`` when given (floor 2 ×)
  — whichever have a target;
- **quality** = 0.7 × mean execution score (values 0–1; target 0.8 or
  ``min_quality_score``, floor half the target) + 0.3 × human-intervention rate (target: the SLA's
  ``max_human_intervention_rate``, default 10 %; floor 3 × target). Without any score the
  quality score is the intervention part alone and is flagged ``unscored`` — quality is
  never invented;
- **overall** = weighted mean, reliability 0.35, quality 0.25, efficiency 0.20, cost 0.20
  (a dimension without data drops out and the others' weights are renormalized).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

WEIGHTS = {"reliability": 0.35, "quality": 0.25, "efficiency": 0.20, "cost": 0.20}
DEFAULT_SUCCESS_TARGET = 0.90  # config/slas.yaml's default, for an agent without an SLA
DEFAULT_TIMEOUT_TARGET, DEFAULT_TIMEOUT_FLOOR = 0.01, 0.05
DEFAULT_INTERVENTION_TARGET = 0.10
DEFAULT_QUALITY_TARGET = 0.80  # floor: half the target
RETRIES_TARGET, RETRIES_FLOOR = 0.05, 0.5
LATENCY_FLOOR_X = 3.0
FLEET_COST_FLOOR_X = 4.0
BUDGET_FLOOR_X = 2.0


def linear(value: float, target: float, floor: float) -> float:
    """100 at ``target`` or better, 0 at ``floor`` or worse, linear between. ``floor < target``
    means higher is better (a success rate), ``floor > target`` lower is better (latency)."""
    if floor == target:
        raise ValueError("target and floor must differ")
    share = (value - floor) / (target - floor)
    return float(min(100.0, max(0.0, 100.0 * share)))


@dataclass(frozen=True)
class Component:
    name: str  # success_rate, latency_p95_ms, ...
    value: float
    target: float
    floor: float
    score: float
    weight: float
    source: str  # where the target comes from: sla:min_success_rate, default, previous period, fleet median
    unit: str  # ratio | ms | usd | count | score


@dataclass(frozen=True)
class Score:
    dimension: str
    score: float | None  # None: no data for any component
    components: tuple[Component, ...] = ()
    unscored: bool = False  # quality without any execution score: interventions only
    note: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["components"] = [asdict(c) for c in self.components]
        return d


def combine(dimension: str, components: list[Component], *, unscored: bool = False, note: str = "") -> Score:
    comps = [c for c in components if c is not None]
    total = sum(c.weight for c in comps)
    value = sum(c.score * c.weight for c in comps) / total if total else None
    return Score(dimension, value, tuple(comps), unscored, note)


def component(name: str, value: float | None, target: float | None, floor: float | None, weight: float, source: str,
              unit: str) -> Component | None:
    if value is None or target is None or floor is None or not math.isfinite(value) or target == floor:
        return None
    return Component(name, float(value), float(target), float(floor), linear(value, target, floor), weight, source,
                     unit)


# ---------------------------------------------------------------- the period's numbers


@dataclass
class PeriodMetrics:
    """What one agent did in one period, with the definitions of ``ops/metrics.py``."""

    executions: int = 0
    finished: int = 0  # not cancelled
    successes: int = 0
    timeouts: int = 0
    human: int = 0
    days: int = 0
    success_rate: float | None = None  # successes / finished
    timeout_rate: float | None = None  # timeouts / finished
    human_intervention_rate: float | None = None  # / executions
    latency_p50_ms: float | None = None  # over finished executions
    latency_p95_ms: float | None = None
    cost_usd: float = 0.0
    cost_per_execution_usd: float | None = None
    cost_per_success_usd: float | None = None
    daily_cost_usd: float | None = None  # total cost / days with executions
    retries: int | None = None
    retries_per_success: float | None = None
    mean_score: float | None = None
    scores: int = 0
    score_means: dict[str, float] = field(default_factory=dict)  # per score name


def _retries(executions: pd.DataFrame, actions: pd.DataFrame | None) -> int | None:
    ok = executions[executions["status"] == "success"]
    meta = 0
    if "metadata" in ok.columns:
        for m in ok["metadata"]:
            if isinstance(m, dict) and isinstance(m.get("retries"), int | float) and not isinstance(m["retries"], bool):
                meta += int(m["retries"])
    if actions is None:
        return meta if meta else None
    ok_ids = set(ok["execution_id"])
    failed_inside = actions[actions["execution_id"].isin(ok_ids) & actions["status"].isin(("failure", "timeout"))]
    return meta + len(failed_inside)


def period_metrics(executions: pd.DataFrame, actions: pd.DataFrame | None = None,
                   scores: pd.DataFrame | None = None) -> PeriodMetrics:
    m = PeriodMetrics()
    n = len(executions)
    if n == 0:
        return m
    status = executions["status"]
    done = executions[status != "cancelled"]
    m.executions, m.finished = n, len(done)
    m.successes = int((status == "success").sum())
    m.timeouts = int((status == "timeout").sum())
    m.human = int(executions["human_intervention"].fillna(False).astype(bool).sum())
    m.days = int(executions["started_at"].dt.date.nunique())
    if m.finished:
        m.success_rate = m.successes / m.finished
        m.timeout_rate = m.timeouts / m.finished
        lat = done["latency_ms"].dropna().to_numpy(float)
        if len(lat):
            m.latency_p50_ms, m.latency_p95_ms = (float(x) for x in np.quantile(lat, [0.5, 0.95]))
    m.human_intervention_rate = m.human / n
    cost = executions["cost_usd"].fillna(0.0).to_numpy(float)
    m.cost_usd = math.fsum(cost)
    m.cost_per_execution_usd = m.cost_usd / n
    m.cost_per_success_usd = m.cost_usd / m.successes if m.successes else None
    m.daily_cost_usd = m.cost_usd / m.days if m.days else None
    m.retries = _retries(executions, actions)
    if m.retries is not None and m.successes:
        m.retries_per_success = m.retries / m.successes
    if scores is not None and len(scores):
        vals = scores["value"].dropna().astype(float)
        if len(vals):
            m.scores, m.mean_score = len(vals), float(vals.mean())
            m.score_means = {str(k): float(v) for k, v in scores.groupby("name")["value"].mean().items()}
    return m


def fleet_median_cost_per_success(fleet: pd.DataFrame) -> float | None:
    """The median over agents of each agent's cost per successful execution in ``fleet``."""
    if fleet is None or not len(fleet):
        return None
    g = fleet.assign(_ok=(fleet["status"] == "success").astype(int), _cost=fleet["cost_usd"].fillna(0.0))
    per = g.groupby("agent_id").agg(cost=("_cost", "sum"), ok=("_ok", "sum"))
    per = per[per["ok"] > 0]
    return float((per["cost"] / per["ok"]).median()) if len(per) else None


# ---------------------------------------------------------------- the four scores


def _target(targets: dict, key: str, default: float | None) -> tuple[float | None, str]:
    v = targets.get(key)
    return (float(v), f"sla:{key}") if v is not None else (default, "default")


def reliability(m: PeriodMetrics, targets: dict) -> Score:
    target, src = _target(targets, "min_success_rate", DEFAULT_SUCCESS_TARGET)
    floor = max(0.0, 1 - 3 * (1 - target))
    t_target, t_src = _target(targets, "max_timeout_rate", DEFAULT_TIMEOUT_TARGET)
    t_floor = DEFAULT_TIMEOUT_FLOOR if t_src == "default" else 5 * t_target
    return combine("reliability", [
        component("success_rate", m.success_rate, target, floor, 0.75, src, "ratio"),
        component("timeout_rate", m.timeout_rate, t_target, t_floor, 0.25, t_src, "ratio"),
    ])


def efficiency(m: PeriodMetrics, targets: dict, previous: PeriodMetrics | None = None) -> Score:
    p95_t, p95_src = _target(targets, "max_latency_p95_ms", None)
    if p95_t is None and previous is not None and previous.latency_p95_ms:
        p95_t, p95_src = previous.latency_p95_ms, "previous period"
    p50_t, p50_src = _target(targets, "max_latency_p50_ms", None)
    if p50_t is None and previous is not None and previous.latency_p50_ms:
        p50_t, p50_src = previous.latency_p50_ms, "previous period"
    return combine("efficiency", [
        component("latency_p95_ms", m.latency_p95_ms, p95_t, p95_t and p95_t * LATENCY_FLOOR_X, 0.5, p95_src, "ms"),
        component("latency_p50_ms", m.latency_p50_ms, p50_t, p50_t and p50_t * LATENCY_FLOOR_X, 0.3, p50_src, "ms"),
        component("retries_per_success", m.retries_per_success, RETRIES_TARGET, RETRIES_FLOOR, 0.2, "default",
                  "count"),
    ])


def cost(m: PeriodMetrics, targets: dict, fleet_median: float | None) -> Score:
    parts = [component("cost_per_success_usd", m.cost_per_success_usd, fleet_median,
                       fleet_median and fleet_median * FLEET_COST_FLOOR_X, 1.0, "fleet median", "usd")]
    daily = targets.get("max_daily_cost_usd")
    if daily is not None:
        parts.append(component("daily_cost_usd", m.daily_cost_usd, daily, daily * BUDGET_FLOOR_X, 1.0,
                               "sla:max_daily_cost_usd", "usd"))
    per = targets.get("max_cost_per_success_usd")
    if per is not None:
        parts.append(component("cost_per_success_usd", m.cost_per_success_usd, per, per * BUDGET_FLOOR_X, 1.0,
                               "target:max_cost_per_success_usd", "usd"))
    return combine("cost", parts)


def quality(m: PeriodMetrics, targets: dict) -> Score:
    h_target, h_src = _target(targets, "max_human_intervention_rate", DEFAULT_INTERVENTION_TARGET)
    human = component("human_intervention_rate", m.human_intervention_rate, h_target, h_target * 3, 0.3, h_src,
                      "ratio")
    if m.mean_score is None:
        return combine("quality", [human], unscored=True,
                       note="no execution scores this period: computed from human interventions only")
    q_target, q_src = _target(targets, "min_quality_score", DEFAULT_QUALITY_TARGET)
    return combine("quality", [component("mean_score", m.mean_score, q_target, q_target / 2, 0.7, q_src, "score"),
                               human])


def overall(scores: dict[str, Score]) -> float | None:
    have = {k: s.score for k, s in scores.items() if s.score is not None}
    total = sum(WEIGHTS[k] for k in have)
    return sum(WEIGHTS[k] * v for k, v in have.items()) / total if total else None


def score_all(m: PeriodMetrics, targets: dict, *, previous: PeriodMetrics | None = None,
              fleet_median: float | None = None) -> tuple[dict[str, Score], float | None]:
    """The four dimension scores and the overall score of one period."""
    scores = {"reliability": reliability(m, targets), "efficiency": efficiency(m, targets, previous),
              "cost": cost(m, targets, fleet_median), "quality": quality(m, targets)}
    return scores, overall(scores)
