"""Root-cause analysis: what changed in a day's rolling window, why, and how sure we are.

``find_root_causes`` takes the executions of the baseline and the window (all statuses, the
frames of ``data.py``), their actions and the window's failure clusters, and returns one
``Finding`` per event (docs/root-cause.md):

1. **Patterns.** The window is the ``window_days`` days ending on ``window_end``; the baseline
   the ``baseline_days`` days before it. Per agent and metric — failure rate, p95 latency of
   successful executions, cost per successful execution — each window day (and each 4-hour
   block) is tested one-sided against the agent's baseline (exact binomial tail of the
   "bad" count — failed, or above the baseline p95 — with a minimum effect size). Baseline
   days that are themselves outliers are left out of it. A run of significant days is one
   pattern; its change point and end come from the maximum-sum segment of ``bad − k`` over
   the agent's executions (CUSUM-like; ``k`` halfway between the baseline and incident
   rates), and for failures a second pass keeps the error types that carry the excess.
   Clusters (``clusters.cluster_failures``) that are new, growing or large and are not
   already explained by such a pattern are tested the same way against the baseline rate of
   their error types.
2. **Merging.** Failure patterns of several agents that start within 3 hours of each other
   with a shared error type are one event (a provider outage); a cluster attaches to the
   event whose failures it holds; a latency or cost pattern of the same agent that starts
   with a failure pattern joins it.
3. **Explaining.** Every dimension is contrasted before (baseline) and after (the segment):
   prompt version, model, tool version and tool of the tool calls, retrieval (empty or not),
   prompt size, metadata, hour. A value first seen at the change point (a new prompt or tool
   version) that covers the bad executions is the strongest explanation. These contrasts, the
   error vocabulary, the failing action, token growth, empty retrievals, duration and how many
   agents share the event are the features of a calibrated multinomial model
   (``calibration.py``) whose probabilities are the category and its confidence.
4. **Recurrence.** A finding whose signature (category, explaining value, cluster key or error
   type, agents) matches an earlier, separate finding in ``past_findings`` is ``recurring``;
   the same incident seen on consecutive days keeps its ``finding_id`` (a hash of the
   pattern's identity, never of the day) and its ``first_seen_day``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from meta_agent import units
from meta_agent.evaluation.calibration import MODEL_PATH, RootCauseModel, from_weights, match
from meta_agent.evaluation.data import FAILED_STATUSES, day_start
from meta_agent.evaluation.signature import signatures
from meta_agent.llm.embeddings import hashing_embed
from meta_agent.store.schema_evaluation import FINDING_CATEGORIES

WINDOW_DAYS = 7
DAY_NS = 86_400 * 10**9
BASELINE_DAYS = 14
MAX_SAMPLE = 20

BLOCK_HOURS = 4
EXCEED_RATIO, EXCEED_DIFF = 3.0, 0.10  # latency / cost: share above the baseline p95
LATENCY_RATIO = 1.3  # p95 after / before
COST_RATIO = 1.3  # mean cost per execution after / before
MIN_BASELINE = 100  # executions an agent needs in the baseline to be tested
START_GAP = timedelta(hours=3)  # patterns of several agents starting this close are one event
FLEET_GAP = timedelta(hours=1)  # two models' fleet patterns: one event only when starting this close
MIN_BASELINE_DAYS = 3  # a short history: the window starts this many days after the first execution


@dataclass(frozen=True)
class Thresholds:
    """Significance and minimum effect of a window day (4-hour block) against the baseline."""

    day_alpha: float = 1e-6
    block_alpha: float = 1e-8
    min_bad: int = 8
    fail_ratio: float = 2.0  # a day: at least ×2 and +3 points
    fail_diff: float = 0.03
    block_ratio: float = 3.0
    block_diff: float = 0.10


STRICT = Thresholds()
# training only: weak patterns of the background noise surface too, labelled ``unknown`` when no
# incident explains them, so the model learns what an unexplained pattern looks like
SENSITIVE = Thresholds(day_alpha=1e-3, block_alpha=1e-4, min_bad=4, fail_ratio=1.5, fail_diff=0.01,
                       block_ratio=2.0, block_diff=0.05)
CO_TIMED_BEFORE, CO_TIMED_AFTER = timedelta(hours=12), timedelta(hours=3)

METRICS = {"failure_rate": "failure rate", "latency_p95_ms": "p95 latency", "cost_per_execution_usd": "cost per execution"}
KIND_OF_METRIC = {"failure_rate": "failure_rate", "latency_p95_ms": "latency", "cost_per_execution_usd": "cost"}

_EXTERNAL = re.compile(r"ServiceUnavailable|RateLimit|APIConnection|InternalServer|Overloaded|Gateway|\b(429|503|504)\b|"
                       r"too many requests|rate limit|connection (reset|refused|error)|unavailable|overloaded", re.I)
_CONTEXT = re.compile(r"ContextWindow|context (length|window)|maximum context|too many tokens|token limit|truncat|"
                      r"no documents|0 documents|empty (retrieval|context|result)|retriev", re.I)
_TOOL = re.compile(r"Tool|Schema|returned field|response schema|upstream returned|argument", re.I)
_PROMPT = re.compile(r"OutputParser|could not parse|parse|JSON|format|missing (field|key)|expected .* field|"
                     r"validation error for|instruction", re.I)

FEATURES = (
    "kind_failure", "kind_latency", "kind_cost", "agents",
    "err_external", "err_context", "err_tool", "err_prompt", "err_new",
    "fail_llm", "fail_tool", "fail_retrieval",
    "chg_prompt", "chg_tool", "chg_model",
    "x_prompt", "x_tool_version", "x_tool", "x_model", "x_retrieval", "x_tokens", "x_meta", "x_hour",
    "token_growth", "empty_retrieval", "duration", "ratio", "model_share",
)

# The rules before calibration: used when no fitted model is shipped (and as a sanity floor).
RULE_WEIGHTS = {
    "prompt": {"chg_prompt": 4.0, "x_prompt": 2.0, "err_prompt": 2.5, "kind_latency": 1.0},
    "tool": {"chg_tool": 4.0, "x_tool_version": 2.0, "err_tool": 2.0, "fail_tool": 1.5, "x_tool": 1.0,
             "err_new": 0.5},
    "context": {"token_growth": 2.0, "empty_retrieval": 4.0, "err_context": 3.0, "x_retrieval": 2.0,
                "x_tokens": 2.0, "kind_cost": 1.5},
    "external": {"err_external": 3.5, "agents": 1.5, "x_model": 1.0, "x_hour": 1.0, "chg_prompt": -2.0,
                 "chg_tool": -2.0},
    "unknown": {},
}
RULE_BIAS = {"prompt": 0.0, "tool": 0.0, "context": 0.0, "external": 0.0, "unknown": 0.8}

DIMENSIONS = ("prompt_version", "tool_version", "retrieval", "tokens_in", "model", "tool", "metadata", "hour")
_X_FEATURE = {"prompt_version": "x_prompt", "tool_version": "x_tool_version", "tool": "x_tool", "model": "x_model",
              "retrieval": "x_retrieval", "tokens_in": "x_tokens", "metadata": "x_meta", "hour": "x_hour"}
_CHG_FEATURE = {"prompt_version": "chg_prompt", "tool_version": "chg_tool", "model": "chg_model"}
_DIM_PHRASE = {"prompt_version": "prompt version", "tool_version": "tool version", "retrieval": "retrieval",
               "tokens_in": "prompt size", "model": "model", "tool": "tool", "metadata": "metadata",
               "hour": "hour (UTC)"}
_CATEGORY_PHRASE = {"prompt": "a prompt change", "tool": "a tool change", "context": "the context (prompt size or "
                    "retrieval)", "external": "an external provider", "unknown": "an unclear cause"}


@dataclass
class Finding:
    """One explained event of the window — the columns of ``root_cause_findings`` (but ``day``)."""

    finding_id: str
    kind: str  # cluster | failure_rate | latency | cost
    agent_id: str | None  # None: several agents
    agents: list[str]
    category: str  # prompt | tool | context | external | unknown
    confidence: float
    title: str
    description: str
    metric: str | None
    before: float | None
    after: float | None
    started_at: datetime | None
    first_bad_execution_id: str | None
    cluster_key: str | None
    evidence: dict
    recurrence: str = "new"  # new | recurring
    first_seen_day: date | None = None

    def to_row(self, day: date, *, created_at: datetime | None = None) -> dict:
        """The ``root_cause_findings`` row of this finding on partition ``day``."""
        return {"day": day, "finding_id": self.finding_id, "kind": self.kind, "agent_id": self.agent_id,
                "agents": list(self.agents), "category": self.category, "confidence": float(self.confidence),
                "title": self.title, "description": self.description, "metric": self.metric,
                "before": self.before, "after": self.after,
                "started_at": self.started_at.to_pydatetime() if isinstance(self.started_at, pd.Timestamp)
                else self.started_at,
                "first_bad_execution_id": self.first_bad_execution_id, "cluster_key": self.cluster_key,
                "evidence": _jsonable(self.evidence), "recurrence": self.recurrence,
                "first_seen_day": self.first_seen_day or day, "created_at": created_at or datetime.now(UTC)}


# ------------------------------------------------------------------------------------ model

def rule_model() -> RootCauseModel:
    return from_weights(FEATURES, FINDING_CATEGORIES, RULE_WEIGHTS, RULE_BIAS)


@cache
def shipped_model() -> RootCauseModel:
    """The calibrated model shipped beside the code (``rootcause_model.json``); the rules without it."""
    if MODEL_PATH.exists():
        m = RootCauseModel.load(MODEL_PATH)
        if tuple(m.features) == FEATURES:
            return m
    return rule_model()


# ------------------------------------------------------------------------------- the frame

@dataclass
class _Frame:
    ex: pd.DataFrame  # non-cancelled executions, sorted by start, positional index
    t: np.ndarray  # start, int64 ns
    baseline: np.ndarray  # bool
    window_start: pd.Timestamp
    window_end: pd.Timestamp  # exclusive
    baseline_start: pd.Timestamp
    dims: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]  # dim -> (row, value code, values)
    acts: dict[str, dict[int, int]]  # which action shows it: "fail"/"slow"/"cost"/"retrieval" -> {row: seq}
    tool_seq: dict[tuple[int, str], int]  # (row, tool@version) -> seq
    th: Thresholds = STRICT


def _as_dict(m: Any) -> dict:
    if isinstance(m, dict):
        return m
    if isinstance(m, str) and m:
        try:
            v = json.loads(m)
            return v if isinstance(v, dict) else {}
        except ValueError:
            return {}
    return {}


def _prepare(executions: pd.DataFrame, actions: pd.DataFrame, window_end: date, window_days: int,
             baseline_days: int) -> _Frame | None:
    ws = pd.Timestamp(day_start(window_end - timedelta(days=window_days - 1)))
    we = pd.Timestamp(day_start(window_end + timedelta(days=1)))
    bs = ws - pd.Timedelta(days=baseline_days)
    if executions is None or executions.empty:
        return None
    ex = executions.copy()
    ex["started_at"] = pd.to_datetime(ex["started_at"], utc=True).dt.as_unit("ns")
    ex = ex[(ex["started_at"] >= bs) & (ex["started_at"] < we) & (ex["status"] != "cancelled")]
    if ex.empty:
        return None
    # a history shorter than baseline + window (a new deployment, a generated fleet): the first
    # MIN_BASELINE_DAYS days are the baseline and the window is what follows
    first_day = ex["started_at"].min().floor("D")
    if ws - first_day < pd.Timedelta(days=MIN_BASELINE_DAYS):
        ws = first_day + pd.Timedelta(days=MIN_BASELINE_DAYS)
    if ws >= we or not (ex["started_at"] >= ws).any():
        return None
    ex = ex.sort_values(["started_at", "execution_id"], ignore_index=True)
    ex["failed"] = ex["status"].isin(FAILED_STATUSES).to_numpy()
    ex["error_type"] = ex["error_type"].fillna("").astype(str)
    ex["error_message"] = ex["error_message"].fillna("").astype(str) if "error_message" in ex else ""
    for col in ("latency_ms", "cost_usd", "tokens_in"):
        ex[col] = pd.to_numeric(ex[col], errors="coerce").fillna(0.0).astype(float)
    for col in ("execution_id", "agent_id", "status", "model", "prompt_version"):
        ex[col] = ex[col].astype(object)
    t = ex["started_at"].astype("int64").to_numpy()
    ex["day"] = t // DAY_NS
    ex["hour"] = (t % DAY_NS) // (3600 * 10**9)
    baseline = (ex["started_at"] < ws).to_numpy()
    row_index = pd.Index(ex["execution_id"].to_numpy())

    dims: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}

    def single(name: str, values: pd.Series) -> None:
        codes, uniques = pd.factorize(values.fillna("(none)").astype(str), sort=True)
        dims[name] = (np.arange(len(ex)), codes.astype(np.int64), [str(u) for u in uniques])

    def multi(name: str, rows: np.ndarray, values: Sequence[str]) -> None:
        df = pd.DataFrame({"row": rows, "value": list(values)}).drop_duplicates()
        codes, uniques = pd.factorize(df["value"], sort=True)
        dims[name] = (df["row"].to_numpy(np.int64), codes.astype(np.int64), [str(u) for u in uniques])

    single("prompt_version", ex["prompt_version"])
    single("model", ex["model"])
    single("hour", ex["hour"].map(lambda h: f"{int(h):02d}"))
    meta_rows, meta_vals = [], []
    for i, m in enumerate(ex["metadata"] if "metadata" in ex else []):
        for k, v in _as_dict(m).items():
            if isinstance(v, str | int | bool) and len(str(v)) <= 64:
                meta_rows.append(i)
                meta_vals.append(f"{k}={v}")
    multi("metadata", np.asarray(meta_rows, dtype=np.int64), meta_vals)

    acts: dict[str, dict[int, int]] = {"fail": {}, "slow": {}, "cost": {}, "retrieval": {}}
    tool_seq: dict[tuple[int, str], int] = {}
    ex["fail_action"] = ""
    retrieval = np.full(len(ex), "none", dtype=object)
    tool_rows: list[int] = []
    tool_names: list[str] = []
    tv_rows: list[int] = []
    tv_vals: list[str] = []
    if actions is not None and not actions.empty:
        pos = row_index.get_indexer(actions["execution_id"].astype(object).to_numpy())
        a = actions[pos >= 0].assign(row=pos[pos >= 0])
        a = a.sort_values(["row", "seq"], ignore_index=True)
        rows = a["row"].to_numpy(np.int64)
        seqs = a["seq"].to_numpy(np.int64)
        atype = a["action_type"].astype(str).to_numpy()
        names = a["name"].fillna("").astype(str).to_numpy()
        meta = [_as_dict(m) for m in a["metadata"]] if "metadata" in a else [{}] * len(a)
        bad = (a["status"] != "success").to_numpy()
        first_bad = pd.DataFrame({"row": rows[bad], "seq": seqs[bad], "t": atype[bad]}).drop_duplicates("row")
        acts["fail"] = dict(zip(first_bad["row"].tolist(), first_bad["seq"].tolist(), strict=True))
        fa = np.full(len(ex), "", dtype=object)
        fa[first_bad["row"].to_numpy()] = first_bad["t"].to_numpy()
        ex["fail_action"] = fa
        lat = pd.to_numeric(a["latency_ms"], errors="coerce").fillna(0.0).to_numpy()
        tok = pd.to_numeric(a["tokens_in"], errors="coerce").fillna(0.0).to_numpy()
        order = pd.DataFrame({"row": rows, "seq": seqs, "lat": lat, "tok": tok})
        slow = order.sort_values(["row", "lat"], ascending=[True, False]).drop_duplicates("row")
        acts["slow"] = dict(zip(slow["row"].tolist(), slow["seq"].tolist(), strict=True))
        big = order.sort_values(["row", "tok"], ascending=[True, False]).drop_duplicates("row")
        acts["cost"] = dict(zip(big["row"].tolist(), big["seq"].tolist(), strict=True))
        for i in np.flatnonzero(atype == "tool_call"):
            r = int(rows[i])
            tool_rows.append(r)
            tool_names.append(names[i])
            ver = meta[i].get("tool_version")
            if ver is not None:
                tv = f"{names[i]}@{ver}"
                tv_rows.append(r)
                tv_vals.append(tv)
                tool_seq.setdefault((r, tv), int(seqs[i]))
        for i in np.flatnonzero(atype == "retrieval"):
            r = int(rows[i])
            docs = meta[i].get("documents")
            empty = docs is not None and float(docs) == 0
            if empty or retrieval[r] == "none":
                retrieval[r] = "empty" if empty else ("found" if retrieval[r] != "empty" else "empty")
                acts["retrieval"][r] = int(seqs[i])
    multi("tool", np.asarray(tool_rows, dtype=np.int64), tool_names)
    multi("tool_version", np.asarray(tv_rows, dtype=np.int64), tv_vals)
    single("retrieval", pd.Series(retrieval))
    # prompt size: above the agent's baseline p95 of prompt tokens (a context that grew)
    p95_tok = ex[baseline].groupby("agent_id")["tokens_in"].quantile(0.95)
    limit = ex["agent_id"].map(p95_tok).fillna(np.inf).to_numpy()
    single("tokens_in", pd.Series(np.where(ex["tokens_in"].to_numpy() > limit, "high", "normal")))
    return _Frame(ex, t, baseline, ws, we, max(bs, first_day), dims, acts, tool_seq)


# ---------------------------------------------------------------------------------- patterns

@dataclass
class _Pattern:
    metric: str
    agents: set[str]
    bad: np.ndarray  # bool over frame rows: the pattern's bad executions (its agents, baseline and window)
    scope: np.ndarray  # bool: executions the metric is measured on (its agents)
    after: np.ndarray  # bool: the segment(s) (executions of its agents between change point and end)
    start: int  # ns
    end: int  # ns
    p0: float
    p1: float
    pvalue: float
    error_types: dict[str, int] = field(default_factory=dict)
    cluster_key: str | None = None
    also: list[dict] = field(default_factory=list)
    from_cluster: bool = False
    fleet: bool = False  # found on a model's executions across agents
    models: set[str] = field(default_factory=set)  # the models of its bad executions (fleet: the one scanned)
    ongoing: bool = False


def _tail(x: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """P(X ≥ x) for X ~ Binomial(n, p), elementwise."""
    from scipy.special import bdtrc

    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    out = np.ones_like(x)
    m = (x >= 1) & (n >= x)
    out[m] = bdtrc((x[m] - 1).astype(np.int64), n[m].astype(np.int64), p)
    return out


def _robust_rate(day_codes: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """The pooled rate over baseline days that are not themselves outliers, and its count."""
    if not len(y):
        return 0.0, 0
    df = pd.DataFrame({"d": day_codes, "y": y}).groupby("d")["y"].agg(["sum", "count"])
    rates = df["sum"] / df["count"]
    med = float(rates.median())
    keep = rates <= max(2 * med, med + 3 * math.sqrt(max(med, 0.002) * (1 - med) / max(df["count"].median(), 1)))
    n = int(df["count"][keep].sum())
    rate = float(df["sum"][keep].sum()) / n if n else med
    return max(rate, 0.5 / max(n, 1), 1e-4), n


def _segment(y: np.ndarray, k: float) -> tuple[int, int]:
    """``[i, j)``: the maximum-sum run of ``y - k``."""
    c = np.concatenate([[0.0], np.cumsum(y.astype(float) - k)])
    run_min = np.minimum.accumulate(c)
    gain = c[1:] - run_min[:-1]
    j = int(np.argmax(gain)) + 1
    i = int(np.argmin(c[:j]))
    return i, j


def _detect(f: _Frame, rows: np.ndarray, y: np.ndarray, metric: str, agents: set[str],
            value_ok=None, ratio=None, diff=None) -> list[tuple[np.ndarray, float, float, float]]:
    """Significant runs in the window of ``y`` over ``rows`` (an agent's executions, by time).

    Returns ``(segment rows, p0, p1, p-value)`` per run of significant days."""
    th = f.th
    ratio = th.fail_ratio if ratio is None else ratio
    diff = th.fail_diff if diff is None else diff
    base = f.baseline[rows]
    if base.sum() < MIN_BASELINE or (~base).sum() == 0:
        return []
    days = f.ex["day"].to_numpy()[rows]
    p0, _ = _robust_rate(days[base], y[base])
    w = ~base
    wdays = days[w]
    wy = y[w]
    wrows = rows[w]
    uniq, inv = np.unique(wdays, return_inverse=True)
    n_d = np.bincount(inv, minlength=len(uniq))
    x_d = np.bincount(inv, weights=wy.astype(float), minlength=len(uniq))
    p_d = _tail(x_d, n_d, p0)
    rate_d = x_d / np.maximum(n_d, 1)
    sig = (p_d < th.day_alpha) & (x_d >= th.min_bad) & (rate_d >= ratio * p0) & (rate_d - p0 >= diff)
    blocks = inv * (24 // BLOCK_HOURS) + f.ex["hour"].to_numpy()[wrows] // BLOCK_HOURS
    ub, binv = np.unique(blocks, return_inverse=True)
    n_b = np.bincount(binv, minlength=len(ub))
    x_b = np.bincount(binv, weights=wy.astype(float), minlength=len(ub))
    p_b = _tail(x_b, n_b, p0)
    rate_b = x_b / np.maximum(n_b, 1)
    sig_b = ((p_b < th.block_alpha) & (x_b >= th.min_bad) & (rate_b >= th.block_ratio * p0)
             & (rate_b - p0 >= th.block_diff))
    if value_ok is not None:
        for i in np.flatnonzero(sig):
            sig[i] = value_ok(wrows[inv == i])
        for i in np.flatnonzero(sig_b):
            sig_b[i] = value_ok(wrows[binv == i])
    day_sig = sig.copy()
    for b in np.flatnonzero(sig_b):
        day_sig[ub[b] // (24 // BLOCK_HOURS)] = True
    if not day_sig.any():
        return []
    pmin = np.minimum(np.where(sig, p_d, 1.0), 1.0)
    out = []
    idx = np.flatnonzero(day_sig)
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 2) + 1)  # a quiet day between: still one run
    for run in runs:
        lo = int(uniq[run[0]] - 1) * DAY_NS
        hi = int(uniq[run[-1]] + 2) * DAY_NS
        in_run = (f.t[rows] >= lo) & (f.t[rows] < hi)
        r_rows, r_y = rows[in_run], y[in_run]
        sig_mask = np.isin(inv, run[sig[run]]) | np.isin(binv, np.flatnonzero(sig_b))
        sig_mask &= np.isin(inv, run)
        p1 = float(wy[sig_mask].mean()) if sig_mask.any() else float(rate_d[run].max())
        pv = float(min(pmin[run].min(), p_b[np.isin(ub // (24 // BLOCK_HOURS), run)].min(initial=1.0)))
        for i, j in _segments(r_y, (p0 + p1) / 2, p0, ratio, th):
            out.append((r_rows[i:j], p0, float(r_y[i:j].mean()), pv))
    return out


def _segments(y: np.ndarray, k: float, p0: float, ratio: float, th: Thresholds = STRICT,
              depth: int = 3) -> list[tuple[int, int]]:
    """The maximum-sum segment of ``y - k``, then the same on what is left either side (two
    incidents in one run of days), each kept when it is significant on its own."""
    if depth == 0 or len(y) < th.min_bad:
        return []
    i, j = _segment(y, k)
    x, n = float(y[i:j].sum()), j - i
    if j <= i or x < th.min_bad or x / n < ratio * p0 or _tail(np.array([x]), np.array([n]), p0)[0] >= th.block_alpha:
        return []
    left = _segments(y[:i], k, p0, ratio, th, depth - 1)
    right = [(a + j, b + j) for a, b in _segments(y[j:], k, p0, ratio, th, depth - 1)]
    return left + [(i, j)] + right


def _failure_runs(f: _Frame, rows: np.ndarray, min_bad: int | None = None) -> list[tuple]:
    """Failure runs over ``rows`` (by time), one error type at a time (a short storm of 429s
    stays visible beside a week of context overflows): ``(segment rows, bad mask, p0, p1,
    p-value)``; the bad mask marks that type's failures."""
    ex = f.ex
    failed = ex["failed"].to_numpy()[rows]
    err = ex["error_type"].to_numpy()[rows]
    window = ~f.baseline[rows]
    min_bad = f.th.min_bad if min_bad is None else min_bad
    out = []
    for t, c in pd.Series(err[window & failed]).value_counts().items():
        if c < min_bad:
            continue
        y = failed & (err == t)
        for seg, p0, p1, pv in _detect(f, rows, y, "failure_rate", set()):
            bad = np.zeros(len(ex), dtype=bool)
            bad[rows[y]] = True
            out.append((seg, bad, p0, p1, pv))
    return out


def _main_models(f: _Frame, rows: np.ndarray) -> set[str]:
    """The models that carry at least a quarter of ``rows``."""
    counts = pd.Series(f.ex["model"].to_numpy()[rows]).value_counts()
    return {str(m) for m, c in counts.items() if c >= 0.25 * len(rows)}


def _types(f: _Frame, rows: np.ndarray) -> dict[str, int]:
    return {str(k): int(v) for k, v in pd.Series(f.ex["error_type"].to_numpy()[rows]).value_counts().items()}


def _model_patterns(f: _Frame) -> list[_Pattern]:
    """A model failing for several agents at once (a provider outage, a rate-limit storm): the
    fleet's executions on each model, scanned like one agent's."""
    ex = f.ex
    model_col = ex["model"].to_numpy()
    agent_col = ex["agent_id"].to_numpy()
    out = []
    for model in sorted({m for m in model_col if isinstance(m, str)}):
        rows = np.flatnonzero(model_col == model)
        if len(set(agent_col[rows])) < 2:
            continue
        for seg, bad, p0, p1, pv in _failure_runs(f, rows):
            hit = bad & np.isin(np.arange(len(ex)), seg)
            t0, t1 = int(f.t[seg[0]]), int(f.t[seg[-1]])
            err = ex["error_type"].to_numpy()
            types = set(_types(f, np.flatnonzero(hit)))
            like = ex["failed"].to_numpy() & np.isin(err, list(types))
            agents = set()
            for a in sorted(set(agent_col[hit])):  # each agent shows the excess on its own
                mine = agent_col == a
                during = mine & (f.t >= t0) & (f.t <= t1)
                p0_a, _ = _robust_rate(ex["day"].to_numpy()[mine & f.baseline], like[mine & f.baseline])
                x_a, n_a = int((like & during).sum()), int(during.sum())
                if x_a >= 3 and x_a >= 2 * p0_a * n_a and _tail(np.array([x_a]), np.array([n_a]), p0_a)[0] < 1e-3:
                    agents.add(a)
            if len(agents) < 2:
                continue
            scope = np.isin(agent_col, list(agents))
            bad_all = scope & like
            after = scope & (f.t >= t0) & (f.t <= t1)
            out.append(_Pattern("failure_rate", agents, bad_all, scope, after, t0, t1, p0, p1, pv,
                                _types(f, np.flatnonzero(hit)), fleet=True, models={model}))
    return out


def _agent_patterns(f: _Frame, agent: str, rows: np.ndarray) -> list[_Pattern]:
    ex = f.ex
    out: list[_Pattern] = []
    scope = np.zeros(len(ex), dtype=bool)
    scope[rows] = True
    for seg, bad, p0, p1, pv in _failure_runs(f, rows):
        after = np.zeros(len(ex), dtype=bool)
        after[seg] = True
        out.append(_Pattern("failure_rate", {agent}, bad, scope, after, int(f.t[seg[0]]), int(f.t[seg[-1]]),
                            p0, p1, pv, _types(f, np.flatnonzero(bad & after)),
                            models=_main_models(f, np.flatnonzero(bad & after))))
    ok = rows[ex["status"].to_numpy()[rows] == "success"]
    base_ok = ok[f.baseline[ok]]
    if len(base_ok) >= MIN_BASELINE:
        sc = np.zeros(len(ex), dtype=bool)
        sc[ok] = True
        days_b = ex["day"].to_numpy()[base_ok]
        for metric, col, stat, min_ratio in (("latency_p95_ms", "latency_ms", "p95", LATENCY_RATIO),
                                             ("cost_per_execution_usd", "cost_usd", "mean", COST_RATIO)):
            v = ex[col].to_numpy()
            daily = pd.DataFrame({"d": days_b, "v": v[base_ok]}).groupby("d")["v"]
            ref = float(daily.quantile(0.95).median())
            ref_stat = float(daily.quantile(0.95).median()) if stat == "p95" else float(daily.mean().median())
            if ref <= 0 or ref_stat <= 0:
                continue
            yv = v[ok] > ref

            def value_ok(r, v=v, stat=stat, ref_stat=ref_stat, min_ratio=min_ratio):
                x = v[r]
                s = float(np.quantile(x, 0.95)) if stat == "p95" else float(x.mean())
                return len(x) >= f.th.min_bad and s >= min_ratio * ref_stat

            for seg, p0, p1, pv in _detect(f, ok, yv, metric, {agent}, value_ok, EXCEED_RATIO, EXCEED_DIFF):
                bad = np.zeros(len(ex), dtype=bool)
                bad[ok[yv]] = True
                after = np.zeros(len(ex), dtype=bool)
                after[seg] = True
                out.append(_Pattern(metric, {agent}, bad, sc, after, int(f.t[seg[0]]), int(f.t[seg[-1]]),
                                    p0, p1, pv, {"ref": ref_stat}))
    return out


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def _cluster_patterns(f: _Frame, clusters: Sequence, events: list[_Pattern]) -> list[_Pattern]:
    """Attach each cluster to the event holding its failures; test the rest on their own."""
    ex = f.ex
    ids = ex["execution_id"].to_numpy()
    row_of = pd.Series(np.arange(len(ex)), index=ids)
    window_failures = int((ex["failed"].to_numpy() & ~f.baseline).sum())
    out: list[_Pattern] = []
    attached: dict[int, int] = {}
    for c in clusters or ():
        members = [m for m in (_get(c, "member_ids") or _get(c, "sample_execution_ids") or []) if m in row_of.index]
        if not members:
            continue
        mrows = row_of.reindex(members).to_numpy()
        mmask = np.zeros(len(ex), dtype=bool)
        mmask[mrows] = True
        key = _get(c, "key") or _get(c, "cluster_key")
        best, best_overlap = None, 0
        for ev in events:
            if ev.metric != "failure_rate":
                continue
            overlap = int((mmask & ev.bad & ev.after).sum())
            if overlap > best_overlap and overlap >= 0.3 * min(len(mrows), int((ev.bad & ev.after).sum())):
                best, best_overlap = ev, overlap
        if best is not None:
            if best_overlap > attached.get(id(best), 0):
                best.cluster_key, attached[id(best)] = key, best_overlap
            continue
        trend = _get(c, "trend")
        size = int(_get(c, "size") or len(members))
        if trend not in ("new", "growing") and size < max(30, 0.25 * window_failures):
            continue
        types = {str(k) for k in (_get(c, "error_types") or {})} or set(ex["error_type"].to_numpy()[mrows])
        failed = ex["failed"].to_numpy()
        like = failed & np.isin(ex["error_type"].to_numpy(), list(types)) & f.baseline
        y_all = mmask | like
        agents_hit: set[str] = set()
        bad = np.zeros(len(ex), dtype=bool)
        after = np.zeros(len(ex), dtype=bool)
        scope = np.zeros(len(ex), dtype=bool)
        p0s, p1s, pvs = [], [], []
        for agent in sorted(set(ex["agent_id"].to_numpy()[mrows])):
            rows = np.flatnonzero(ex["agent_id"].to_numpy() == agent)
            for seg, p0, p1, pv in _detect(f, rows, y_all[rows], "failure_rate", {agent}):
                agents_hit.add(agent)
                scope[rows] = True
                bad[rows[y_all[rows]]] = True
                after[seg] = True
                p0s.append(p0)
                p1s.append(p1)
                pvs.append(pv)
        if not agents_hit:
            continue
        seg_rows = np.flatnonzero(after & bad)
        types_n = pd.Series(ex["error_type"].to_numpy()[seg_rows]).value_counts()
        out.append(_Pattern("failure_rate", agents_hit, bad, scope, after, int(f.t[seg_rows[0]]),
                            int(f.t[seg_rows[-1]]), float(np.mean(p0s)), float(np.mean(p1s)), float(min(pvs)),
                            {str(k): int(v) for k, v in types_n.items()}, key, from_cluster=True))
    return out


def _joins(p: _Pattern, m: _Pattern, gap: int, fleet_gap: int) -> bool:
    """Whether failure pattern ``p`` is part of event ``m``."""
    near = abs(p.start - m.start)
    if near > gap:
        return False
    if p.agents == m.agents:  # one incident, two error types
        return True
    if not set(p.error_types) & set(m.error_types):
        return False
    # a shared error type: the same model's failures (one provider outage), or two models
    # failing at the same moment (their provider) — not two outages that happen to overlap
    return near <= fleet_gap or not (p.models and m.models) or bool(p.models & m.models)


def _merge(patterns: list[_Pattern]) -> list[_Pattern]:
    """One event per incident: several agents' failures at once; latency/cost with failures."""
    fails = sorted([p for p in patterns if p.metric == "failure_rate"], key=lambda p: (not p.fleet, p.start))
    others = [p for p in patterns if p.metric != "failure_rate"]
    merged: list[_Pattern] = []
    gap, fleet_gap = pd.Timedelta(START_GAP).value, pd.Timedelta(FLEET_GAP).value
    for p in fails:
        candidates = [m for m in merged if _joins(p, m, gap, fleet_gap)]
        for m in sorted(candidates, key=lambda m: (not (m.agents & p.agents), abs(p.start - m.start)))[:1]:
                m.bad |= p.bad
                m.scope |= p.scope
                m.after |= p.after
                m.start, m.end = min(m.start, p.start), max(m.end, p.end)
                m.p1 = max(m.p1, p.p1)
                m.pvalue = min(m.pvalue, p.pvalue)
                overlap = bool(p.agents & m.agents)
                m.agents |= p.agents
                m.models |= p.models
                for k, v in p.error_types.items():
                    m.error_types[k] = max(m.error_types.get(k, 0), v) if overlap else m.error_types.get(k, 0) + v
                break
        else:
            merged.append(p)
    rest: list[_Pattern] = []
    for o in sorted(others, key=lambda p: (p.metric != "latency_p95_ms", p.start)):
        host = next((m for m in merged + rest if m.agents == o.agents and m.metric != o.metric
                     and abs(m.start - o.start) <= 2 * 3600 * 10**9), None)
        if host is not None:
            host.also.append({"metric": o.metric, "p0": o.p0, "p1": o.p1, "start": o.start, "end": o.end,
                              "ref": o.error_types.get("ref")})
        else:
            rest.append(o)
    return merged + rest


# ------------------------------------------------------------------------------- explaining

def _explain(f: _Frame, p: _Pattern) -> tuple[dict, dict, dict]:
    """(features, the explaining dimension with its contrast, every dimension's best value)."""
    ex = f.ex
    before = p.scope & f.baseline
    after = p.after & p.scope
    bad_after = p.bad & after
    n_bad = int(bad_after.sum())
    p0_all = float((p.bad & before).sum()) / max(int(before.sum()), 1)
    start = pd.Timestamp(p.start, tz="UTC")
    recent = p.scope & (f.t >= p.start - DAY_NS) & (f.t < p.start)  # the day before the change point
    best: dict[str, dict] = {}
    for dim in DIMENSIONS:
        rows, codes, values = f.dims[dim]
        if not len(rows):
            continue
        k = len(values)
        b, a, bad = before[rows], after[rows], p.bad[rows]
        b_n = np.bincount(codes[b], minlength=k)
        b_bad = np.bincount(codes[b & bad], minlength=k)
        a_n = np.bincount(codes[a], minlength=k)
        a_bad = np.bincount(codes[a & bad], minlength=k)
        if not a_bad.sum():
            continue
        a_total, bad_total = int(after.sum()), n_bad
        rate_with = a_bad / np.maximum(a_n, 1)
        without_n = a_total - a_n
        rate_without = (bad_total - a_bad) / np.maximum(without_n, 1)
        coverage = a_bad / max(bad_total, 1)
        lift = np.clip(1 - rate_without / np.maximum(rate_with, 1e-9), 0, 1)
        # a value (nearly) every execution after has: it explains only as far as it is a shift
        # in the mix — a value that was already the norm before explains nothing
        share_before = b_n / max(int(before.sum()), 1)
        r_n = np.bincount(codes[recent[rows]], minlength=k)
        share_recent = r_n / max(int(recent.sum()), 1)
        norm = np.maximum(share_before, share_recent)
        shift = np.clip(1 - p0_all / np.maximum(rate_with, 1e-9), 0, 1) * np.clip(1 - norm, 0, 1)
        explains = coverage * np.where(without_n >= max(10, 0.1 * a_total), lift, shift)
        # a value first seen at the change point (a new version) that carries the bad executions
        co = np.zeros(k, dtype=bool)
        if dim in _CHG_FEATURE:
            scope_rows = p.scope[rows]
            cand = np.flatnonzero((coverage >= 0.3) & (b_n == 0))
            for c in cand:
                sel = scope_rows & (codes == c)
                first = pd.Timestamp(int(f.t[rows[sel]].min()), tz="UTC")
                co[c] = start - CO_TIMED_BEFORE <= first <= start + CO_TIMED_AFTER
            explains = np.where(co, np.clip(coverage * (1 - p0_all / np.maximum(rate_with, 1e-9)), 0, 1), explains)
        v = int(np.argmax(explains + co))
        top = np.argsort(-(a_n + b_n))[:8] if dim != "hour" else np.flatnonzero(a_n)
        keep = sorted(set(top.tolist()) | {v}, key=lambda c: (-a_bad[c], -a_n[c]))
        contrast = [{"value": values[c], "before_n": int(b_n[c]), "before_bad": int(b_bad[c]),
                     "before_rate": round(float(b_bad[c] / b_n[c]), 4) if b_n[c] else None,
                     "after_n": int(a_n[c]), "after_bad": int(a_bad[c]),
                     "after_rate": round(float(a_bad[c] / a_n[c]), 4) if a_n[c] else None} for c in keep]
        best[dim] = {"value": values[v], "explains": float(explains[v]), "coverage": float(coverage[v]),
                     "co_timed": bool(co[v]), "new": bool(b_n[v] == 0), "contrast": contrast}

    err = ex["error_type"].to_numpy()[bad_after]
    msg = ex["error_message"].to_numpy()[bad_after]
    failed_bad = ex["failed"].to_numpy()[bad_after]
    text = [f"{e} {m}" for e, m in zip(err[failed_bad], msg[failed_bad], strict=True)]
    n_fail = max(len(text), 1)

    def share(rx: re.Pattern) -> float:
        return sum(1 for s in text if rx.search(s)) / n_fail if text else 0.0

    base_types = set(ex["error_type"].to_numpy()[before & ex["failed"].to_numpy()])
    fa = ex["fail_action"].to_numpy()[bad_after][failed_bad]
    tok_after = ex["tokens_in"].to_numpy()[bad_after]
    tok_before = ex["tokens_in"].to_numpy()[before]
    growth = (math.log(max(float(np.median(tok_after)), 1) / max(float(np.median(tok_before)), 1))
              if len(tok_after) and len(tok_before) else 0.0)
    retr = f.dims["retrieval"]
    r_vals = np.asarray(retr[2])[retr[1]]
    empty_after = float((r_vals[bad_after] == "empty").mean()) if n_bad else 0.0
    empty_before = float((r_vals[before] == "empty").mean()) if before.any() else 0.0
    models = pd.Series(ex["model"].to_numpy()[bad_after]).value_counts()
    feats = {name: 0.0 for name in FEATURES}
    feats.update({
        "kind_failure": float(p.metric == "failure_rate"), "kind_latency": float(p.metric == "latency_p95_ms"),
        "kind_cost": float(p.metric == "cost_per_execution_usd"), "agents": math.log2(max(len(p.agents), 1)),
        "err_external": share(_EXTERNAL), "err_context": share(_CONTEXT), "err_tool": share(_TOOL),
        "err_prompt": share(_PROMPT),
        "err_new": (sum(1 for e in err[failed_bad] if e not in base_types) / n_fail) if text else 0.0,
        "fail_llm": float((fa == "llm_inference").mean()) if len(fa) else 0.0,
        "fail_tool": float((fa == "tool_call").mean()) if len(fa) else 0.0,
        "fail_retrieval": float((fa == "retrieval").mean()) if len(fa) else 0.0,
        "token_growth": float(np.clip(growth, -2, 3)), "empty_retrieval": max(empty_after - empty_before, 0.0),
        "duration": math.log1p((p.end - p.start) / 3.6e12),
        "ratio": float(np.clip(math.log(max(p.p1, 1e-6) / max(p.p0, 1e-6)), 0, 8)),
        "model_share": float(models.iloc[0] / n_bad) if n_bad else 0.0,
    })
    for dim, b in best.items():
        feats[_X_FEATURE[dim]] = b["explains"]
        if dim in _CHG_FEATURE and b["co_timed"]:
            feats[_CHG_FEATURE[dim]] = b["coverage"]
    # the dimension shown: a change at the change point first, then the strongest contrast
    pref = {d: i for i, d in enumerate(DIMENSIONS)}

    def rank(d: str) -> tuple:
        b = best[d]
        bonus = 1.0 if b["co_timed"] else 0.0
        if d == "model" and len(p.agents) > 1 and b["coverage"] >= 0.9:
            bonus += 0.5
        if d == "hour":
            bonus -= 0.5
        return (b["explains"] + bonus, -pref[d])

    strong = [d for d in best if d != "hour" and (best[d]["explains"] >= 0.3 or best[d]["co_timed"])]
    chosen = max(strong, key=rank) if strong else ("hour" if "hour" in best else None)
    if chosen == "hour":  # a burst: the hours it covers, against the same hours before
        first_h, last_h = start.hour, pd.Timestamp(p.end, tz="UTC").hour
        span = p.end - p.start
        best["hour"]["value"] = (f"{first_h:02d}:00-{(last_h + 1) % 24:02d}:00" if span < DAY_NS
                                 else f"{start:%Y-%m-%d %H}:00 on")
        best["hour"]["coverage"] = 1.0
    return feats, ({"dimension": chosen, **best[chosen]} if chosen else {}), best


# ---------------------------------------------------------------------------------- findings

def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _signature(category: str, dimension: str | None, value: str | None, anchor: str | None,
               agents: Sequence[str]) -> str:
    return f"{category}|{dimension}={value}|{anchor}|{','.join(sorted(agents))}"


def _value(metric: str, rows_mask: np.ndarray, f: _Frame, p: _Pattern, ref: float | None = None) -> float:
    ex = f.ex
    if metric == "failure_rate":
        return float(ex["failed"].to_numpy()[rows_mask].mean()) if rows_mask.any() else 0.0
    ok = rows_mask & (ex["status"].to_numpy() == "success")
    col = "latency_ms" if metric == "latency_p95_ms" else "cost_usd"
    v = ex[col].to_numpy()[ok]
    if not len(v):
        return 0.0
    return float(np.quantile(v, 0.95)) if metric == "latency_p95_ms" else float(v.mean())


def _fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    if metric == "failure_rate":
        return units.pct(v)
    if metric == "latency_p95_ms":
        return units.duration_ms(v)
    return units.usd(v)


def _finding(f: _Frame, p: _Pattern, model: RootCauseModel) -> Finding:
    ex = f.ex
    feats, chosen, best = _explain(f, p)
    probs = model.predict_proba(feats)
    category = max(probs, key=probs.get)
    agents = sorted(p.agents)
    before_mask = p.scope & f.baseline
    whole_after = np.zeros(len(ex), dtype=bool)
    agent_col = ex["agent_id"].to_numpy()
    in_agents = np.isin(agent_col, agents)
    whole_after[in_agents & (f.t >= p.start) & (f.t <= p.end)] = True
    metric = p.metric
    before = _value(metric, in_agents & f.baseline, f, p)
    after = _value(metric, whole_after, f, p)
    bad_rows = np.flatnonzero(p.bad & p.after)
    first = int(bad_rows[0])
    ids = ex["execution_id"].to_numpy()
    sample = bad_rows[np.linspace(0, len(bad_rows) - 1, min(MAX_SAMPLE, len(bad_rows))).astype(int)]
    sample = np.unique(np.concatenate([[first], sample]))[:MAX_SAMPLE]
    dim, val = chosen.get("dimension"), chosen.get("value")
    which = {"failure_rate": "fail", "latency_p95_ms": "slow", "cost_per_execution_usd": "cost"}[metric]
    action_ids = []
    for r in sample:
        seq = None
        if dim == "tool_version":
            seq = f.tool_seq.get((int(r), str(val)))
        elif dim == "retrieval":
            seq = f.acts["retrieval"].get(int(r))
        if seq is None:
            seq = f.acts[which].get(int(r))
        if seq is not None:
            action_ids.append(f"{ids[r]}#{seq}")
    kind = "cluster" if p.cluster_key and p.from_cluster else KIND_OF_METRIC[metric]
    if p.cluster_key and metric == "failure_rate":
        kind = "cluster"
    top_types = sorted(p.error_types.items(), key=lambda kv: (-kv[1], kv[0])) if metric == "failure_rate" else []
    top_type = top_types[0][0] if top_types else None
    anchor_value = f"{dim}={val}" if chosen and (chosen.get("co_timed") or dim not in ("hour", "metadata")) else None
    finding_id = _digest(KIND_OF_METRIC[metric], agents,
                         sorted(t for t, _ in top_types[:2]) if top_types else metric,
                         anchor_value if chosen.get("co_timed") else None)
    started = pd.Timestamp(int(f.t[first]), tz="UTC").to_pydatetime()
    change_point = started
    end = pd.Timestamp(p.end, tz="UTC").to_pydatetime()
    who = agents[0] if len(agents) == 1 else f"{len(agents)} agents ({', '.join(agents)})"
    label = METRICS[metric]
    title = f"{who}: {label} {_fmt(metric, before)} → {_fmt(metric, after)}"
    if dim:
        title += f" ({_DIM_PHRASE[dim]} {val})"
    last_seen = int(f.t[in_agents].max())
    p.ongoing = last_seen - p.end < 6 * 3600 * 10**9
    description = _describe(metric, who, before, after, change_point, end, f.window_end, chosen, category,
                            probs[category], top_type, int(len(bad_rows)), p)
    evidence = {
        "dimension": dim, "value": val, "explains": round(float(chosen.get("explains", 0.0)), 4),
        "coverage": round(float(chosen.get("coverage", 0.0)), 4), "co_timed": bool(chosen.get("co_timed", False)),
        "contrast": chosen.get("contrast", []),
        "other_dimensions": {d: {"value": b["value"], "explains": round(b["explains"], 4),
                                 "co_timed": b["co_timed"]} for d, b in best.items() if d != dim},
        "execution_ids": [str(ids[r]) for r in sample], "action_ids": action_ids,
        "first_bad_execution_id": str(ids[first]), "change_point": change_point.isoformat(),
        "segment_end": end.isoformat(), "bad_executions": int(len(bad_rows)),
        "executions_after": int(whole_after.sum()), "executions_before": int((in_agents & f.baseline).sum()),
        "error_types": dict(top_types[:8]), "baseline_rate": round(p.p0, 6), "incident_rate": round(p.p1, 6),
        "p_value": float(p.pvalue), "also": [{"metric": a["metric"], "before": _value(a["metric"], in_agents
                                               & f.baseline, f, p), "after": _value(a["metric"], whole_after, f, p)}
                                              for a in p.also],
        "features": {k: round(float(v), 6) for k, v in feats.items()},
        "probabilities": {k: round(v, 6) for k, v in probs.items()}, "model": model.source,
        "window": {"start": f.window_start.date().isoformat(),
                   "end": (f.window_end - pd.Timedelta(days=1)).date().isoformat(),
                   "baseline_start": f.baseline_start.date().isoformat()},
    }
    evidence["signature"] = _signature(category, dim if anchor_value else None, val if anchor_value else None,
                                       p.cluster_key or top_type or metric, agents)
    del before_mask
    return Finding(finding_id=finding_id, kind=kind, agent_id=agents[0] if len(agents) == 1 else None,
                   agents=agents, category=category, confidence=round(float(probs[category]), 4), title=title,
                   description=description, metric=metric, before=round(before, 6), after=round(after, 6),
                   started_at=started, first_bad_execution_id=str(ids[first]), cluster_key=p.cluster_key,
                   evidence=evidence)


def _describe(metric, who, before, after, start, end, window_end, chosen, category, confidence, top_type,
              n_bad, p) -> str:
    label = METRICS[metric]
    ongoing = p.ongoing
    span = f"since {start:%Y-%m-%d %H:%M} UTC" if ongoing else f"from {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC"
    if end.date() != start.date() and not ongoing:
        span = f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    s = f"{who}: {label} went from {_fmt(metric, before)} to {_fmt(metric, after)} {span}"
    if top_type:
        s += f" ({units.count(n_bad)} {top_type} failures)"
    s += "."
    dim = chosen.get("dimension")
    if dim:
        val = chosen["value"]
        cov = units.pct(chosen.get("coverage", 0.0), 0)
        if chosen.get("co_timed"):
            s += f" {cov} of them ran {_DIM_PHRASE[dim]} {val}, first seen at that moment."
        elif dim == "hour":
            s += " It is confined to those hours: the same hours before were normal."
        else:
            row = next((r for r in chosen.get("contrast", []) if r["value"] == val), None)
            if row and row["after_rate"] is not None:
                was = f"{units.pct(row['before_rate'])} before" if row["before_rate"] is not None else "not seen before"
                s += (f" The change concentrates on {_DIM_PHRASE[dim]} {val} ({cov} of them; "
                      f"{units.pct(row['after_rate'])} bad against {was}).")
    s += f" Likely cause: {_CATEGORY_PHRASE[category]} ({units.pct(confidence, 0)} confidence)."
    return s


def _recurrence(findings: list[Finding], past: Sequence[Mapping], today: date) -> None:
    """``recurring`` when an earlier, separate finding had the same signature; the same incident
    on a later day keeps its id, first day and recurrence."""
    def day_of(v) -> date | None:
        if v is None:
            return None
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, date):
            return v
        return date.fromisoformat(str(v)[:10])

    def ts(v) -> pd.Timestamp | None:
        return None if v is None else pd.Timestamp(v).tz_convert("UTC") if pd.Timestamp(v).tzinfo else \
            pd.Timestamp(v).tz_localize("UTC")

    rows = [r for r in past or () if (day_of(r.get("day")) or date.min) < today]
    for fnd in findings:
        fnd.first_seen_day = today
        fnd.recurrence = "new"
        sig = fnd.evidence.get("signature")
        start = ts(fnd.started_at)
        same, earlier = [], []
        for r in rows:
            ev = r.get("evidence") or {}
            if isinstance(ev, str):
                ev = _as_dict(ev)
            r_start = ts(r.get("started_at"))
            close = start is not None and r_start is not None and abs(r_start - start) <= pd.Timedelta(hours=6)
            if r.get("finding_id") == fnd.finding_id and close:
                same.append(r)
            elif ev.get("signature") == sig or (r.get("finding_id") == fnd.finding_id and not close):
                earlier.append(r)
        if same:
            first = min(same, key=lambda r: day_of(r.get("first_seen_day")) or day_of(r.get("day")))
            fnd.first_seen_day = day_of(first.get("first_seen_day")) or day_of(first.get("day"))
            fnd.recurrence = first.get("recurrence") or "new"
        elif earlier:
            fnd.recurrence = "recurring"
            fnd.first_seen_day = today
            fnd.evidence["recurs"] = sorted({str(day_of(r.get("first_seen_day")) or day_of(r.get("day")))
                                             for r in earlier})
            fnd.evidence["first_occurrence_day"] = fnd.evidence["recurs"][0]


def find_root_causes(executions: pd.DataFrame, actions: pd.DataFrame, clusters: Sequence = (), *,
                     window_end: date, window_days: int = WINDOW_DAYS, baseline_days: int = BASELINE_DAYS,
                     past_findings: Sequence[Mapping] = (), model: RootCauseModel | None = None,
                     thresholds: Thresholds = STRICT) -> list[Finding]:
    """The findings of the window ending on ``window_end`` (see the module docstring).

    ``executions``: every execution of the baseline and the window (all statuses); ``actions``:
    theirs; ``clusters``: the window's failure clusters (objects or dicts with ``key``,
    ``member_ids``, ``trend``, ``size``, ``error_types``); ``past_findings``: earlier
    ``root_cause_findings`` rows (for recurrence and first-seen days)."""
    f = _prepare(executions, actions, window_end, window_days, baseline_days)
    if f is None:
        return []
    f.th = thresholds
    model = model or shipped_model()
    agent_col = f.ex["agent_id"].to_numpy()
    patterns: list[_Pattern] = _model_patterns(f)
    for agent in sorted(set(agent_col)):
        patterns += _agent_patterns(f, agent, np.flatnonzero(agent_col == agent))
    events = _merge(patterns)
    events += _cluster_patterns(f, clusters, events)
    findings = [_finding(f, p, model) for p in events]
    seen: dict[str, int] = {}
    for fnd in findings:  # two occurrences of one pattern in one window: distinct ids
        n = seen.get(fnd.finding_id, 0)
        seen[fnd.finding_id] = n + 1
        if n:
            fnd.finding_id = _digest(fnd.finding_id, fnd.started_at.isoformat())
    _recurrence(findings, past_findings, window_end)
    findings.sort(key=lambda x: (x.started_at, x.finding_id))
    return findings


def evaluate(executions: pd.DataFrame, actions: pd.DataFrame, incidents: Sequence, *,
             window_ends: Sequence[date], execution_labels: Mapping[str, str] | None = None,
             model: RootCauseModel | None = None, clusters_for=None, window_days: int = WINDOW_DAYS,
             baseline_days: int = BASELINE_DAYS, thresholds: Thresholds = STRICT) -> list[dict]:
    """Findings of each window against labelled incidents (objects with ``incident_id``,
    ``category``, ``agents``, ``start``, ``end``): per window its findings, their labels (the
    matched incident's category, ``unknown`` for a false alarm) and, per incident judged in that
    window (``incident_window_end``), the category found (``calibration.summarize`` turns these
    into figures).
    ``clusters_for(window_end)`` gives the window's clusters (none without it)."""
    last = max(window_ends)
    out = []
    for we in window_ends:
        clusters = clusters_for(we) if clusters_for else ()
        findings = find_root_causes(executions, actions, clusters, window_end=we, window_days=window_days,
                                    baseline_days=baseline_days, model=model, thresholds=thresholds)
        horizon = day_start(we + timedelta(days=1))
        per_finding, best = match(findings, incidents, horizon, execution_labels)
        rows = []
        for ii, inc in enumerate(incidents):
            if incident_window_end(inc, last, window_days) != we:
                continue
            fnd = findings[best[ii]] if ii in best else None
            rows.append({"incident": getattr(inc, "incident_id", ii), "kind": getattr(inc, "kind", None),
                         "category": inc.category, "agents": list(inc.agents),
                         "found": fnd.category if fnd else None, "confidence": fnd.confidence if fnd else None,
                         "finding_id": fnd.finding_id if fnd else None})
        out.append({"window_end": we, "findings": findings, "incidents": rows,
                    "labels": [incidents[i].category if i is not None else "unknown" for i in per_finding]})
    return out


def incident_window_end(incident, last_day: date, window_days: int = WINDOW_DAYS) -> date:
    """The daily partition an incident is judged in: its last day, at most a window after its
    start (the whole incident in the window, none of it in the baseline)."""
    start = pd.Timestamp(incident.start)
    end = pd.Timestamp(incident.end) - pd.Timedelta(microseconds=1) if incident.end is not None else None
    last = end.date() if end is not None else last_day
    return min(last, start.date() + timedelta(days=window_days - 1), last_day)


def window_ends(executions: pd.DataFrame, incidents: Sequence = (), window_days: int = WINDOW_DAYS) -> list[date]:
    """The partitions that judge a labelled history: each incident's (``incident_window_end``),
    and the last day's."""
    last = pd.Timestamp(executions["started_at"].max()).date()
    return sorted({last} | {incident_window_end(i, last, window_days) for i in incidents})


def window_clusters(executions: pd.DataFrame, actions: pd.DataFrame, cluster_failures,
                    window_days: int = WINDOW_DAYS, *, previous: bool = True):
    """``clusters_for(window_end)``: each window's failure clusters as the daily pipeline builds
    and stores them (signatures, offline hashing embeddings, ``cluster_failures`` — pass
    ``clusters.cluster_failures`` — with the day before's clusters as ``previous``, so trends
    are the pipeline's), as the dicts the Dagster asset passes (``key``, ``member_ids``,
    ``trend``, ``size``, ``error_types``, ``agents``) — for evaluating on generated data, where
    none are stored."""
    failed = executions[executions["status"].isin(FAILED_STATUSES)]
    failed_acts = actions[actions["execution_id"].isin(set(failed["execution_id"]))]
    sigs = signatures(failed, failed_acts)
    failed = failed.assign(failing_action=sigs["failing_action"].to_numpy(), signature=sigs["signature"].to_numpy())
    started = pd.to_datetime(failed["started_at"], utc=True)
    vectors = hashing_embed(failed["signature"].tolist()) if len(failed) else np.zeros((0, 1))
    made: dict[date, list] = {}

    def build(window_end: date) -> list:
        if window_end not in made:
            ws = day_start(window_end - timedelta(days=window_days - 1))
            we = day_start(window_end + timedelta(days=1))
            keep = ((started >= ws) & (started < we)).to_numpy()
            if not keep.any():
                made[window_end] = []
            else:
                prev = [c.to_dict() for c in build(window_end - timedelta(days=1))] if previous and (
                    started < ws).any() else []
                made[window_end] = cluster_failures(failed[keep], vectors[keep], window_end=window_end,
                                                    window_start=ws.date(), previous=prev)
        return made[window_end]

    def clusters_for(window_end: date) -> list[dict]:
        return [{"key": c.key, "cluster_key": c.key, "member_ids": list(c.member_ids), "trend": c.trend,
                 "size": c.size, "error_types": dict(c.error_types), "agents": dict(c.agents)}
                for c in build(window_end)]
    return clusters_for


def refine_description(finding: Finding, gateway) -> Finding:
    """The description reworded by the LLM gateway (offline, or any failure: unchanged).

    Only the sentence changes — never the numbers, the category or the evidence; a reply that
    drops one of the numbers of the original is refused."""
    if gateway is None or getattr(gateway, "offline", True):
        return finding
    numbers = set(re.findall(r"\d+(?:[.,]\d+)?", finding.description))
    try:
        reply = gateway.complete([
            {"role": "system", "content": "Reword this incident finding for an engineering manager in one or two "
             "sentences. Keep every number, name and time exactly as written. Reply with the sentence only."},
            {"role": "user", "content": finding.description}], purpose="root_cause_description")
    except Exception:  # noqa: BLE001 - any gateway failure keeps the rule-based sentence
        return finding
    text = (getattr(reply, "text", "") or "").strip()
    if not text or not numbers <= set(re.findall(r"\d+(?:[.,]\d+)?", text)):
        return finding
    finding.description = text
    return finding


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, datetime | date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.bool_):
        return bool(v)
    return v
