"""The agent evaluation report: four scores, period-over-period changes, risk, summary and
specific recommendations (docs/evaluation-report.md is the methodology).

``build_report`` is pure: it takes the frames of ``meta_agent.evaluation.data`` (the agent's
executions in the period and in the previous one, its actions, its scores, the whole fleet's
executions of the period) and the agent's SLA limits, and returns an ``EvaluationReport``
that renders itself as JSON (``to_dict``), markdown and a standalone HTML page, and lists
the numbers a narrative may quote (``facts``).

A recommendation names the metric, the size of the change with its interval, the day it
started (the first day the daily series crossed halfway between the two periods' levels) and
what changed with it: the value of ``prompt_version``, ``model``, ``error_type``, a
``metadata`` version key or an action name whose share of executions jumped between the days
before and the days since.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from meta_agent import units
from meta_agent.errors import InputError
from meta_agent.evaluation import render, scoring, stats
from meta_agent.evaluation.render import (
    METRICS,
    change_size,
    component_label,
    fmt,
    fmt_pp,
    fmt_rel,
    fmt_score,
)
from meta_agent.evaluation.scoring import PeriodMetrics, Score
from meta_agent.evaluation.stats import Change

RISK_LEVELS = ("low", "medium", "high", "critical")
STRENGTH_AT = 80.0
WEAKNESS_BELOW = 60.0
MIN_JUMP = 0.10  # a value's share must rise by ≥ 10 points to be named as what changed
BASELINE_DAYS = 3  # what changed is read against the days just before the change
CONTRAST_P = 0.001  # ... and its share's jump must be significant at this level (not sampling noise)
FINDING_METRICS = {  # how a root-cause finding may name a metric → the report's metric
    "success_rate": "success_rate", "failure_rate": "success_rate", "error_rate": "success_rate",
    "failures": "success_rate", "timeout_rate": "timeout_rate", "timeouts": "timeout_rate",
    "latency": "latency_p95_ms", "latency_ms": "latency_p95_ms", "latency_p95_ms": "latency_p95_ms",
    "p95_latency": "latency_p95_ms", "latency_p50_ms": "latency_p50_ms",
    "cost": "cost_per_execution_usd", "cost_usd": "cost_per_execution_usd",
    "cost_per_execution_usd": "cost_per_execution_usd", "cost_per_success_usd": "cost_per_success_usd",
    "human_intervention_rate": "human_intervention_rate", "quality": "mean_score", "mean_score": "mean_score",
}
CONTRAST_ORDER = ("prompt_version", "model", "metadata", "error_type", "action")


def _iso(v):
    if isinstance(v, datetime | date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _iso(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_iso(x) for x in v]
    return v


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Contrast:
    """What changed with a metric: ``value``'s share of executions before and since."""

    dimension: str  # prompt_version | model | error_type | metadata.<key> | action
    value: str
    share_before: float
    share_after: float
    previous_value: str | None  # the dimension's most common value before

    @property
    def is_new(self) -> bool:
        return self.share_before < 0.05

    def phrase(self) -> str:
        shares = f"{self.value}: {units.pct(self.share_after, 0)} of executions since; " \
                 f"{units.pct(self.share_before, 0)} before"
        dim, v = self.dimension, self.value
        if dim == "prompt_version":
            what = f"prompt {v}"
        elif dim == "model":
            what = f"model {v}"
        elif dim.startswith("tool_version:"):
            what = f"{dim.split(':', 1)[1]} {v}"
            shares = f"{what}: {units.pct(self.share_after, 0)} of its calls since; " \
                     f"{units.pct(self.share_before, 0)} before"
        elif dim.startswith("metadata."):
            what = f"{dim[9:]} {v}"
        elif dim == "action":
            what = f"the action {v}"
        else:  # error_type
            head = f"with a new error type, {v}" if self.is_new else f"with more {v}"
            return f"{head} ({shares})"
        return f"{'the day ' + what + ' went live' if self.is_new else 'when ' + what + ' grew'} ({shares})"

    def action(self, metric: str) -> str:
        prev, dim, v = self.previous_value, self.dimension, self.value
        if dim == "prompt_version":
            verb = "profile" if metric.startswith("latency") else "fix"
            return f"roll back to {prev} or {verb} {v}" if prev and prev != v else f"review prompt {v}"
        if dim == "model":
            return f"compare {v} with {prev} and switch back if it does not pay off" if prev and prev != v else \
                f"review the move to {v}"
        if dim.startswith("tool_version:"):
            tool = dim.split(":", 1)[1]
            return f"roll back {tool} to {prev} or fix {v}" if prev and prev != v else f"review {tool} {v}"
        if dim == "error_type":
            return f"fix the cause of {v} (its failure cluster and first failing executions)"
        if dim.startswith("metadata."):
            key = dim[9:]
            return f"roll back {key} to {prev} or fix {v}" if prev and prev != v else f"review {key} {v}"
        return f"check the {v} step"


@dataclass(frozen=True)
class Recommendation:
    metric: str
    severity: str  # high | medium | low
    text: str
    action: str
    change: Change | None = None
    started: date | None = None
    contrasts: tuple[Contrast, ...] = ()
    extra: str = ""  # e.g. prompt tokens rose with a cost change
    finding: dict | None = None
    headline: str = ""  # the change, its day and its main companion, for the summary

    def to_dict(self) -> dict:
        return {"metric": self.metric, "severity": self.severity, "text": self.text, "action": self.action,
                "change": self.change.to_dict() if self.change else None,
                "started": self.started.isoformat() if self.started else None,
                "contrasts": [asdict(c) for c in self.contrasts], "extra": self.extra,
                "finding": _iso(self.finding) if self.finding else None, "headline": self.headline}


@dataclass
class EvaluationReport:
    agent_id: str
    period_start: date
    period_end: date
    previous_start: date
    previous_end: date
    current: PeriodMetrics
    previous: PeriodMetrics
    scores: dict[str, Score]
    overall: float | None
    changes: list[Change]
    strengths: list[str]
    weaknesses: list[str]
    risk_level: str
    risk_reasons: list[str]
    summary: str
    recommendations: list[Recommendation]
    daily: list[dict]
    targets: dict
    findings: list[dict] = field(default_factory=list)
    fleet_median_cost_per_success: float | None = None

    def change(self, metric: str) -> Change:
        return next(c for c in self.changes if c.metric == metric)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == "regression"]

    @property
    def significant(self) -> list[Change]:
        return [c for c in self.changes if c.significant]

    def to_dict(self) -> dict:
        return _iso({
            "agent_id": self.agent_id, "period_start": self.period_start, "period_end": self.period_end,
            "previous_start": self.previous_start, "previous_end": self.previous_end,
            "overall": self.overall, "risk_level": self.risk_level, "risk_reasons": self.risk_reasons,
            "scores": {k: s.to_dict() for k, s in self.scores.items()},
            "changes": [c.to_dict() for c in self.changes],
            "strengths": self.strengths, "weaknesses": self.weaknesses, "summary": self.summary,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "metrics": {"current": asdict(self.current), "previous": asdict(self.previous)},
            "daily": self.daily, "targets": self.targets, "findings": self.findings,
            "fleet_median_cost_per_success_usd": self.fleet_median_cost_per_success,
            "method": {"alpha": stats.ALPHA, "correction": "holm", "min_n": stats.MIN_N, "n_boot": stats.N_BOOT,
                       "weights": scoring.WEIGHTS},
        })

    def markdown(self, narrative: str | None = None) -> str:
        return render.markdown(self, narrative)

    def html(self, narrative: str | None = None) -> str:
        return render.html(self, narrative)

    def facts(self) -> dict[str, str]:
        """Every number the report shows, formatted as it shows it (label → text): what a
        narrative may quote."""
        f: dict[str, str] = {
            "agent": self.agent_id,
            "period": f"{self.period_start.isoformat()} to {self.period_end.isoformat()}",
            "previous period": f"{self.previous_start.isoformat()} to {self.previous_end.isoformat()}",
            "days in the period": str((self.period_end - self.period_start).days + 1),
            "executions": units.count(self.current.executions),
            "executions in the previous period": units.count(self.previous.executions),
            "overall score": f"{fmt_score(self.overall)}/100",
            "risk level": self.risk_level,
            "confidence level": "95 %",
            "score scale": "0 to 100",
        }
        for k, s in self.scores.items():
            f[f"{k} score"] = f"{fmt_score(s.score)}/100" + (" (unscored: interventions only)" if s.unscored else "")
            for comp in s.components:
                f[f"{k}: {component_label(comp.name)}"] = f"{fmt(comp.value, _unit(comp.unit))} (target {fmt(comp.target, _unit(comp.unit))}" \
                                         f", {comp.source}; {fmt_score(comp.score)}/100)"
        for c in self.changes:
            label = METRICS[c.metric][0]
            f[f"{label} before"] = fmt(c.before, c.unit)
            f[f"{label} after"] = fmt(c.after, c.unit)
            f[f"{label} change"] = f"{change_size(c)} ({c.verdict})"
        if self.fleet_median_cost_per_success is not None:
            f["fleet median cost per success"] = units.usd(self.fleet_median_cost_per_success)
        for i, r in enumerate(self.recommendations, 1):
            f[f"recommendation {i}"] = r.text
        for i, s in enumerate(self.strengths, 1):
            f[f"strength {i}"] = s
        for i, w in enumerate(self.weaknesses, 1):
            f[f"weakness {i}"] = w
        return f


def _unit(u: str) -> str:
    return "plain" if u == "count" else u


# ---------------------------------------------------------------- building it


def build_report(agent_id: str, *, period: tuple[date, date], current: pd.DataFrame, previous: pd.DataFrame,
                 actions_current: pd.DataFrame | None, scores_current: pd.DataFrame, scores_previous: pd.DataFrame,
                 fleet_current: pd.DataFrame, targets: dict, findings: Sequence[dict] = (),
                 seed: int = 0) -> EvaluationReport:
    """The evaluation report of ``agent_id`` for the days ``period = (first, last)`` inclusive.

    ``current``/``previous``: the agent's executions in the period and in the one before
    (``data.load_executions``; other agents' rows are ignored); ``actions_current``: their
    actions (or None); ``scores_*``: ``data.load_scores`` of each period; ``fleet_current``:
    every agent's executions in the period (the fleet median cost); ``targets``: the agent's
    SLA limits, ``{key: value}`` with the keys of ``meta_agent.ops.sla`` (``{k: lim.value for
    k, lim in definitions.limits_for(agent_id).items()}``); ``findings``: root-cause finding
    dicts, used to enrich the recommendations.
    """
    first, last = _period(period)
    cur = _agent_rows(current, agent_id)
    cur = cur[(cur["started_at"].dt.date >= first) & (cur["started_at"].dt.date <= last)] if len(cur) else cur
    if not len(cur):
        agents = sorted(set(_agents(fleet_current)) | set(_agents(current)))
        raise InputError(f"no executions for agent {agent_id} between {first.isoformat()} and {last.isoformat()}; "
                         f"agents with data: {', '.join(agents) if agents else 'none'}.")
    prev = _agent_rows(previous, agent_id)
    days = (last - first).days + 1
    p_first, p_last = first - timedelta(days=days), first - timedelta(days=1)
    if len(prev):
        lo, hi = prev["started_at"].dt.date.min(), prev["started_at"].dt.date.max()
        if lo < p_first or hi > p_last:
            p_first, p_last = min(lo, p_first), max(hi, p_last)
    ids_cur, ids_prev = set(cur["execution_id"]), set(prev["execution_id"])
    acts = None
    if actions_current is not None:
        acts = actions_current[actions_current["execution_id"].isin(ids_cur)]
    sc_cur = _scores_of(scores_current, ids_cur)
    sc_prev = _scores_of(scores_previous, ids_prev)
    targets = {k: float(v) for k, v in (targets or {}).items() if v is not None}

    m_cur = scoring.period_metrics(cur, acts, sc_cur)
    m_prev = scoring.period_metrics(prev, None, sc_prev)
    fleet_median = scoring.fleet_median_cost_per_success(fleet_current)
    scores, overall = scoring.score_all(m_cur, targets, previous=m_prev, fleet_median=fleet_median)
    changes = stats.with_holm(_changes(prev, cur, sc_prev, sc_cur, seed))

    both = pd.concat([prev, cur], ignore_index=True) if len(prev) else cur
    sc_both = pd.concat([sc_prev, sc_cur], ignore_index=True) if len(sc_prev) else sc_cur
    daily = _daily(both, sc_both, p_first, last)
    findings = [dict(f) for f in findings or () if _concerns(f, agent_id)]
    recs = _recommendations(changes, daily, both, acts, first, scores, m_cur, fleet_median, findings)
    risk, reasons = risk_level(overall, scores, changes)
    strengths, weaknesses = _strengths_weaknesses(scores, changes)
    report = EvaluationReport(agent_id, first, last, p_first, p_last, m_cur, m_prev, scores, overall, changes,
                              strengths, weaknesses, risk, reasons, "", recs, daily, targets, findings, fleet_median)
    report.summary = executive_summary(report)
    return report


def _period(period) -> tuple[date, date]:
    try:
        first, last = period
    except (TypeError, ValueError):
        raise InputError(f"period must be (first_day, last_day), not {period!r}.") from None
    first, last = (d.date() if isinstance(d, datetime) else d for d in (first, last))
    if not isinstance(first, date) or not isinstance(last, date):
        raise InputError(f"period must be two dates (first_day, last_day), not {period!r}.")
    if last < first:
        raise InputError(f"period ends ({last.isoformat()}) before it starts ({first.isoformat()}); "
                         "give (first_day, last_day).")
    return first, last


def _agents(df: pd.DataFrame | None) -> list[str]:
    return [] if df is None or not len(df) or "agent_id" not in df.columns else list(df["agent_id"].dropna().unique())


def _agent_rows(df: pd.DataFrame | None, agent_id: str) -> pd.DataFrame:
    if df is None or not len(df):
        return pd.DataFrame(columns=list(df.columns) if df is not None else ["execution_id", "agent_id", "started_at"])
    return df[df["agent_id"] == agent_id].reset_index(drop=True)


def _scores_of(scores: pd.DataFrame | None, ids: set) -> pd.DataFrame:
    if scores is None or not len(scores):
        return pd.DataFrame(columns=["execution_id", "name", "value"])
    return scores[scores["execution_id"].isin(ids)]


def _arrays(df: pd.DataFrame) -> dict:
    if not len(df):
        empty = np.array([], float)
        return {"lat": empty, "cost": empty, "ok": empty, "status": np.array([], object), "human": 0, "n": 0}
    done = df[df["status"] != "cancelled"]
    return {"lat": done["latency_ms"].dropna().to_numpy(float), "cost": df["cost_usd"].fillna(0.0).to_numpy(float),
            "ok": (df["status"] == "success").to_numpy(float), "status": done["status"].to_numpy(object),
            "human": int(df["human_intervention"].fillna(False).astype(bool).sum()), "n": len(df)}


def _changes(prev, cur, sc_prev, sc_cur, seed: int) -> list[Change]:
    a, b = _arrays(prev), _arrays(cur)
    na, nb = len(a["status"]), len(b["status"])
    out = [
        stats.two_proportion(int((a["status"] == "success").sum()), na, int((b["status"] == "success").sum()), nb,
                             metric="success_rate", higher_is_better=True),
        stats.two_proportion(int((a["status"] == "timeout").sum()), na, int((b["status"] == "timeout").sum()), nb,
                             metric="timeout_rate", higher_is_better=False),
        stats.two_proportion(a["human"], a["n"], b["human"], b["n"], metric="human_intervention_rate",
                             higher_is_better=False),
        stats.quantile_change(a["lat"], b["lat"], 0.50, metric="latency_p50_ms", seed=seed),
        stats.quantile_change(a["lat"], b["lat"], 0.95, metric="latency_p95_ms", seed=seed + 1),
    ]
    welch = stats.welch(a["cost"], b["cost"], metric="cost_per_execution_usd", unit="usd", higher_is_better=False)
    if welch.verdict != "insufficient data":
        mw = stats.mann_whitney(a["cost"], b["cost"], metric="cost_per_execution_usd", unit="usd", shift=False)
        welch = replace(welch, companion={"test": mw.test, "statistic": mw.statistic, "p_value": mw.p_value,
                                                "median_before": mw.before, "median_after": mw.after})
    out.append(welch)
    out.append(stats.ratio_change(a["cost"], a["ok"], b["cost"], b["ok"], metric="cost_per_success_usd",
                                  seed=seed + 2))
    out.append(stats.welch(sc_prev["value"].to_numpy(float) if len(sc_prev) else [],
                           sc_cur["value"].to_numpy(float) if len(sc_cur) else [],
                           metric="mean_score", unit="score", higher_is_better=True))
    return out


# ---------------------------------------------------------------- daily series and the change day


def _daily(ex: pd.DataFrame, scores: pd.DataFrame, first: date, last: date) -> list[dict]:
    ex = ex.assign(_day=ex["started_at"].dt.date)
    score_day = {}
    if len(scores):
        s = scores.merge(ex[["execution_id", "_day"]], on="execution_id")
        score_day = s.groupby("_day")["value"].mean().to_dict()
    by_day = dict(tuple(ex.groupby("_day")))
    out = []
    d = first
    while d <= last:
        g = by_day.get(d)
        row: dict = {"day": d.isoformat(), "executions": 0 if g is None else len(g)}
        if g is not None and len(g):
            m = scoring.period_metrics(g)
            row.update(success_rate=m.success_rate, timeout_rate=m.timeout_rate,
                       human_intervention_rate=m.human_intervention_rate, latency_p50_ms=m.latency_p50_ms,
                       latency_p95_ms=m.latency_p95_ms, cost_per_execution_usd=m.cost_per_execution_usd,
                       cost_per_success_usd=m.cost_per_success_usd, mean_score=score_day.get(d),
                       tokens_in=float(g["tokens_in"].fillna(0).mean()))
        out.append(row)
        d += timedelta(days=1)
    return out


def change_days(daily: list[dict], change: Change, first: date) -> tuple[date | None, list[date]]:
    """The day the series crossed halfway between ``before`` and ``after``, and the bad days.

    A day is *bad* when its value is on the ``after`` side of the midpoint. If the period's
    last day is bad, the change started at the first day of the run of bad days that ends
    it (ongoing); otherwise (it came and went) at the first bad day of the period."""
    if change.before is None or change.after is None or change.before == change.after:
        return None, []
    mid = (change.before + change.after) / 2
    up = change.after > change.before
    series = [(date.fromisoformat(r["day"]), r.get(change.metric)) for r in daily]
    series = [(d, v) for d, v in series if v is not None]

    def bad(v):
        return v > mid if up else v < mid

    if not series:
        return None, []
    if bad(series[-1][1]):
        i = len(series) - 1
        while i > 0 and bad(series[i - 1][1]):
            i -= 1
        start = series[i][0]
    else:
        start = next((d for d, v in series if d >= first and bad(v)), None)
    bad_days = [d for d, v in series if start is not None and d >= start and bad(v)]
    return start, bad_days


def _counts(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "(none)" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)) \
        .value_counts()


def _metadata_dims(ex: pd.DataFrame) -> dict[str, pd.Series]:
    """``metadata`` keys naming a version (``tool_version``, ``retriever_version``), one level
    of nesting flattened (``tool_versions.fetch_diff``)."""
    if "metadata" not in ex.columns:
        return {}

    def flat(m) -> dict:
        out = {}
        for k, v in (m.items() if isinstance(m, dict) else ()):
            if isinstance(v, dict):
                out.update({f"{k}.{k2}": v2 for k2, v2 in v.items() if not isinstance(v2, dict | list)})
            elif not isinstance(v, list):
                out[str(k)] = v
        return {k: v for k, v in out.items() if "version" in k.lower()}

    flats = ex["metadata"].map(flat)
    keys = sorted({k for f in flats for k in f})
    return {f"metadata.{k}": flats.map(lambda f, k=k: f.get(k)) for k in keys}


def _action_tokens(actions: pd.DataFrame) -> pd.Series:
    """Per execution, the set of ``type:name`` of its actions and ``name version`` of each
    action whose metadata names a version (tool calls: ``fetch_diff 2.0.0``)."""
    def tokens(g: pd.DataFrame) -> frozenset:
        out = set()
        for atype, name, meta in zip(g["action_type"], g["name"], g["metadata"], strict=True):
            if atype == "human_intervention":
                continue
            out.add(f"action\x00{atype}:{name}")
            for k, v in (meta.items() if isinstance(meta, dict) else ()):
                if "version" in str(k).lower() and isinstance(v, str | int | float):
                    out.add(f"tool_version\x00{name}\x00{v}")
        return frozenset(out)

    cols = actions[["execution_id", "action_type", "name", "metadata"]]
    return cols.groupby("execution_id")[["action_type", "name", "metadata"]].apply(tokens)


def contrasts(ex: pd.DataFrame, actions: pd.DataFrame | None, start: date, bad_days: Sequence[date],
              limit: int = 2) -> list[Contrast]:
    """What changed with a metric: the values whose share of executions rose by at least
    ``MIN_JUMP`` between the baseline (the ``BASELINE_DAYS`` days with executions just before
    ``start``) and the bad days since — prompt version, model, metadata versions, error type,
    and from the actions (current period only) tool versions and action names — the largest
    jump first, one per dimension."""
    day = ex["started_at"].dt.date
    before_days = sorted({d for d in day if d < start})[-BASELINE_DAYS:]
    good_mask, bad_mask = day.isin(set(before_days)), day.isin(set(bad_days))
    if not good_mask.any() or not bad_mask.any():
        return []
    found: dict[str, tuple[float, int, Contrast]] = {}

    def offer(rank: int, dim: str, value: str, x_before: int, n_before: int, x_after: int, n_after: int,
              prev: str | None) -> None:
        jump = x_after / n_after - x_before / n_before
        if jump < MIN_JUMP or (dim in found and jump <= found[dim][0]):
            return
        test = stats.two_proportion(x_before, n_before, x_after, n_after)
        if test.p_value is None or test.p_value >= CONTRAST_P:
            return
        found[dim] = (jump, rank, Contrast(dim, value, x_before / n_before, x_after / n_after, prev))

    dims: list[tuple[str, pd.Series]] = [("prompt_version", ex["prompt_version"]), ("model", ex["model"])]
    dims += list(_metadata_dims(ex).items())
    dims.append(("error_type", ex["error_type"]))
    n_good, n_bad = int(good_mask.sum()), int(bad_mask.sum())
    for rank, (dim, col) in enumerate(dims):
        before, after = _counts(col[good_mask]), _counts(col[bad_mask])
        prev = next((v for v in before.index if v != "(none)"), None)
        for value, x_after in after.items():
            if value != "(none)":
                offer(rank, dim, value, int(before.get(value, 0)), n_good, int(x_after), n_bad, prev)
    if actions is not None and len(actions):
        per_exec = _action_tokens(actions)
        ids_good = [i for i in ex.loc[good_mask, "execution_id"] if i in per_exec.index]
        ids_bad = [i for i in ex.loc[bad_mask, "execution_id"] if i in per_exec.index]
        if ids_good and ids_bad:
            good_sets, bad_sets = list(per_exec[ids_good]), list(per_exec[ids_bad])
            for tok in sorted(set().union(*bad_sets)):
                kind, *rest = tok.split("\x00")
                if kind == "tool_version":  # the version's share among the executions that call the tool
                    name, version = rest
                    calls = f"action\x00tool_call:{name}"
                    g = [t for t in good_sets if any(x.startswith(f"tool_version\x00{name}\x00") for x in t)
                         or calls in t]
                    b = [t for t in bad_sets if any(x.startswith(f"tool_version\x00{name}\x00") for x in t)
                         or calls in t]
                    if not g or not b:
                        continue
                    olds = Counter(x.split("\x00")[2] for t in g for x in t
                                   if x.startswith(f"tool_version\x00{name}\x00"))
                    prev = olds.most_common(1)[0][0] if olds else None
                    offer(len(dims), f"tool_version:{name}", version, sum(tok in t for t in g), len(g),
                          sum(tok in t for t in b), len(b), prev)
                else:
                    offer(len(dims) + 1, "action", rest[0], sum(tok in t for t in good_sets), len(good_sets),
                          sum(tok in t for t in bad_sets), len(bad_sets), None)
    ranked = sorted(found.values(), key=lambda x: (-x[0], x[1]))
    return [c for _, _, c in ranked[:limit]]


# ---------------------------------------------------------------- recommendations, risk, summary


def _concerns(f: dict, agent_id: str) -> bool:
    """A finding of this agent, or a fleet-wide one that lists it (or lists no agent)."""
    if f.get("agent_id") not in (None, agent_id):
        return False
    agents = f.get("agents") or []
    return f.get("agent_id") == agent_id or not agents or agent_id in agents


def _finding_metric(f: dict) -> str | None:
    return FINDING_METRICS.get(str(f.get("metric") or "").lower())


def _finding_sentence(f: dict) -> str:
    cat = f.get("category") or "unknown"
    text = f"Root cause ({cat}): {f.get('title') or 'finding'}"
    if f.get("first_bad_execution_id"):
        text += f"; first bad execution {f['first_bad_execution_id']}"
    return text + "."


def _severity(c: Change) -> str:
    if c.metric in ("success_rate", "timeout_rate") and c.delta is not None and abs(c.delta) >= 0.05:
        return "high"
    if c.relative is not None and abs(c.relative) >= 0.5:
        return "high"
    return "medium"


PAIRED = {"latency_p50_ms": "latency_p95_ms", "cost_per_success_usd": "cost_per_execution_usd"}  # folded into


def _recommendations(changes, daily, ex, actions, first, scores, m: PeriodMetrics, fleet_median,
                     findings) -> list[Recommendation]:
    """One recommendation per regression (p50 folded into p95 latency, cost per success into
    cost per execution when both regressed), then those the scores call for, then the
    findings no regression took up."""
    recs: list[Recommendation] = []
    used: set[int] = set()
    regressed = {c.metric: c for c in changes if c.verdict == "regression"}
    leads = [c for c in regressed.values() if PAIRED.get(c.metric) not in regressed]
    leads.sort(key=lambda c: (_severity(c) != "high", -(abs(c.relative or 0))))
    for c in leads:
        label, unit, _ = METRICS[c.metric]
        start, bad_days = change_days(daily, c, first)
        verb = "rose" if c.delta > 0 else "fell"
        text = f"{label} {verb} from {fmt(c.before, unit)} to {fmt(c.after, unit)} ({change_size(c)})"
        cons: list[Contrast] = []
        extra = None
        if start is not None:
            text += f" from {start.isoformat()}"
            cons = contrasts(ex, actions, start, bad_days)
            if cons:
                text += f", {cons[0].phrase()}"
        headline = _capital(text)
        if start is not None:
            if len(cons) > 1:
                text += f"; also {cons[1].phrase()}"
            if c.metric.startswith("cost"):
                extra = _tokens_note(daily, start, bad_days)
        folded = [x for x in regressed.values() if PAIRED.get(x.metric) == c.metric]
        for x in folded:
            xl, xu, _ = METRICS[x.metric]
            text += f"; {xl} too: {fmt(x.before, xu)} to {fmt(x.after, xu)} ({change_size(x)})"
        if extra:
            text += f"; {extra}"
        action = cons[0].action(c.metric) if cons else (
            f"investigate the executions since {start.isoformat()}: no prompt version, model, tool version or "
            "error type changed with it" if start else "investigate: the daily series shows no single change day")
        text += f" — {action}."
        f = next((f for f in findings if _finding_metric(f) in {c.metric, *(x.metric for x in folded)}), None)
        if f is not None:
            used.add(id(f))
            text += f" {_finding_sentence(f)}"
        recs.append(Recommendation(c.metric, _severity(c), _capital(text), action, c, start, tuple(cons),
                                   extra or "", f, headline))
    recs += _score_recommendations(scores, m, fleet_median, set(regressed))
    for f in findings:
        if id(f) not in used:
            text = f"Investigate: {f.get('title') or 'a root-cause finding'}"
            if f.get("description"):
                text += f" — {f['description']}"
            recs.append(Recommendation(str(f.get("metric") or "finding"), "medium", text.rstrip(".") + ".",
                                       "investigate the finding", finding=f))
    return recs


def _capital(text: str) -> str:
    """Sentence case, but ``p95 latency`` stays as written."""
    return text if len(text) > 1 and text[0] == "p" and text[1].isdigit() else text[0].upper() + text[1:]


def _tokens_note(daily, start, bad_days) -> str | None:
    good = [r["tokens_in"] for r in daily if r.get("tokens_in") is not None and date.fromisoformat(r["day"]) < start]
    bad = [r["tokens_in"] for r in daily if r.get("tokens_in") is not None and date.fromisoformat(r["day"]) in bad_days]
    if not good or not bad:
        return None
    g, b = float(np.mean(good)), float(np.mean(bad))
    if g <= 0 or b < 1.5 * g:
        return None
    return f"prompt tokens per execution rose from {units.number(round(g))} to {units.number(round(b))} " \
           f"({b / g:.1f}×): a longer context, not a price change"


def _score_recommendations(scores, m: PeriodMetrics, fleet_median, covered: set) -> list[Recommendation]:
    out = []
    rel = scores["reliability"]
    if rel.score is not None and rel.score < STRENGTH_AT and "success_rate" not in covered:
        sr = next((c for c in rel.components if c.name == "success_rate"), None)
        if sr is not None and sr.value < sr.target:
            out.append(Recommendation("success_rate", "medium",
                                      f"Success rate {fmt(sr.value, 'ratio')} is below its target "
                                      f"{fmt(sr.target, 'ratio')} — work down the most frequent failure clusters.",
                                      "work down the most frequent failure clusters"))
    eff = scores["efficiency"]
    p95 = next((c for c in eff.components if c.name == "latency_p95_ms" and c.source.startswith("sla")), None)
    if p95 is not None and p95.value > p95.target and "latency_p95_ms" not in covered:
        out.append(Recommendation("latency_p95_ms", "medium",
                                  f"p95 latency {fmt(p95.value, 'ms')} is above its SLA {fmt(p95.target, 'ms')} — "
                                  "profile the slowest executions.", "profile the slowest executions"))
    cost = scores["cost"]
    fleet = next((c for c in cost.components if c.source == "fleet median"), None)
    if fleet is not None and fleet.score < WEAKNESS_BELOW and not covered & {"cost_per_success_usd",
                                                                              "cost_per_execution_usd"}:
        out.append(Recommendation("cost_per_success_usd", "low",
                                  f"Cost per success {fmt(fleet.value, 'usd')} is {fleet.value / fleet.target:.1f}× "
                                  f"the fleet median {fmt(fleet.target, 'usd')} — review the model choice and "
                                  "prompt length.", "review the model choice and prompt length"))
    budget = next((c for c in cost.components if c.name == "daily_cost_usd"), None)
    if budget is not None and budget.value > budget.target and "cost_per_execution_usd" not in covered:
        out.append(Recommendation("daily_cost_usd", "medium",
                                  f"Mean daily cost {fmt(budget.value, 'usd')} is above the SLA's "
                                  f"{fmt(budget.target, 'usd')} — cap context length or route to a cheaper model.",
                                  "cap context length or route to a cheaper model"))
    q = scores["quality"]
    if q.unscored:
        out.append(Recommendation("mean_score", "low",
                                  "No execution scores this period: quality is judged from human interventions "
                                  "only — add an LLM judge or human review (execution_scores).",
                                  "add an LLM judge or human review"))
    elif q.score is not None and q.score < WEAKNESS_BELOW and "mean_score" not in covered:
        ms = next(c for c in q.components if c.name == "mean_score")
        out.append(Recommendation("mean_score", "medium",
                                  f"Mean quality score {fmt(ms.value, 'score')} is below its target "
                                  f"{fmt(ms.target, 'score')} — review the lowest-scored executions.",
                                  "review the lowest-scored executions"))
    return out


def risk_level(overall: float | None, scores: dict[str, Score], changes: Sequence[Change]) -> tuple[str, list[str]]:
    """critical: overall < 40, reliability < 40, or success rate down ≥ 10 points (significant);
    high: overall < 60, any dimension < 50, a significant success/timeout regression, or any
    significant regression of ≥ 50 %; medium: overall < 80 or any significant regression;
    low otherwise. The reasons say which rule fired."""
    regs = [c for c in changes if c.verdict == "regression"]
    rel = scores.get("reliability")
    crit, high, med = [], [], []
    if overall is not None and overall < 40:
        crit.append(f"overall {fmt_score(overall)}/100 < 40")
    if rel is not None and rel.score is not None and rel.score < 40:
        crit.append(f"reliability {fmt_score(rel.score)}/100 < 40")
    for c in regs:
        if c.metric == "success_rate" and c.delta <= -0.10:
            crit.append(f"success rate {fmt_pp(c.delta)}")
    if overall is not None and overall < 60:
        high.append(f"overall {fmt_score(overall)}/100 < 60")
    high += [f"{k} {fmt_score(s.score)}/100 < 50" for k, s in scores.items() if s.score is not None and s.score < 50]
    for c in regs:
        if c.metric in ("success_rate", "timeout_rate"):
            high.append(f"{METRICS[c.metric][0]} regressed ({change_size(c)})")
        elif c.relative is not None and abs(c.relative) >= 0.5:
            high.append(f"{METRICS[c.metric][0]} {fmt_rel(c.relative)}")
    if overall is not None and overall < 80:
        med.append(f"overall {fmt_score(overall)}/100 < 80")
    med += [f"{METRICS[c.metric][0]} regressed ({change_size(c)})" for c in regs]
    for level, reasons in (("critical", crit), ("high", high), ("medium", med)):
        if reasons:
            return level, list(dict.fromkeys(reasons))
    return "low", ["overall ≥ 80/100 and no significant regression"]


def _strengths_weaknesses(scores: dict[str, Score], changes: Sequence[Change]) -> tuple[list[str], list[str]]:
    strengths, weaknesses = [], []
    for k, s in scores.items():
        if s.score is None:
            continue
        lead = next(iter(s.components), None)
        detail = "" if lead is None else \
            f": {component_label(lead.name)} {fmt(lead.value, _unit(lead.unit))} (target {fmt(lead.target, _unit(lead.unit))})"
        if s.score >= STRENGTH_AT and not s.unscored:
            strengths.append(f"{k} {fmt_score(s.score)}/100{detail}")
        elif s.score < WEAKNESS_BELOW:
            weaknesses.append(f"{k} {fmt_score(s.score)}/100{detail}")
        if s.unscored:
            weaknesses.append(f"{k} is unscored: no execution scores, interventions only")
    for c in changes:
        label, unit, _ = METRICS[c.metric]
        if c.verdict == "improvement":
            strengths.append(f"{label} improved from {fmt(c.before, unit)} to {fmt(c.after, unit)} ({change_size(c)})")
        elif c.verdict == "regression":
            weaknesses.append(f"{label} regressed from {fmt(c.before, unit)} to {fmt(c.after, unit)} ({change_size(c)})")
    return strengths, weaknesses


def executive_summary(r: EvaluationReport) -> str:
    """Two to four sentences a manager reads: the score and risk, the main change (or that
    nothing changed), the strongest and weakest dimension, the first action."""
    out = [f"{r.agent_id} scored {fmt_score(r.overall)}/100 from {r.period_start.isoformat()} to "
           f"{r.period_end.isoformat()} ({units.count(r.current.executions)} executions); risk is {r.risk_level}."]
    top = next((x for x in r.recommendations if x.change is not None), None)
    if top is not None:
        lead = top.headline
        more = sum(1 for x in r.recommendations if x.change is not None) - 1
        out.append(lead + (f" ({more} more regression{'s' if more > 1 else ''} below)." if more > 0 else "."))
    else:
        tested = [METRICS[c.metric][0] for c in r.changes if c.verdict != "insufficient data"]
        out.append(f"No significant change from the previous period ({r.previous_start.isoformat()} to "
                   f"{r.previous_end.isoformat()}) in {', '.join(tested) if tested else 'any metric'}."
                   if tested else "There is not enough data in the previous period to compare.")
    scored = {k: s.score for k, s in r.scores.items() if s.score is not None and not s.unscored}
    if scored:
        best, worst = max(scored, key=scored.get), min(scored, key=scored.get)
        if fmt_score(scored[best]) == fmt_score(scored[worst]):
            out.append(f"Every scored dimension is at {fmt_score(scored[best])}/100"
                       + ("; quality is unscored." if r.scores["quality"].unscored else "."))
        else:
            out.append(f"Strongest: {best} {fmt_score(scored[best])}/100; weakest: {worst} {fmt_score(scored[worst])}/100"
                       + ("; quality is unscored." if r.scores["quality"].unscored else "."))
    if top is not None:
        out.append(f"First action: {top.action}.")
    return " ".join(out)
