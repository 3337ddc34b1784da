"""Root-cause findings (and evaluation reports) become specific, quantified proposals.

``propose(findings, executions, actions, day=…)`` returns ``model.Proposal``s, one per
distinct change (``dedup_key``; duplicates within the call are merged, their evidence
joined), highest priority first. Only what the agent can change is proposed:

| category | evidence | proposals |
|---|---|---|
| prompt | a new prompt version (``prompt_version`` explains the finding, or is new in the window) | ``prompt_rollback`` new → previous; with parse / missing-field errors and the text registered, ``prompt_change`` (a fixed version on top of the new one) |
| tool | a new tool version (``tool_version``) | ``tool_change`` pin back to the previous version |
| tool | a failing tool, no version change | ``tool_change`` add_validation (schema / field errors) or add_retries (transient errors) |
| context | overflows (context-window errors, prompts grown) | ``config_change`` context_truncation on the model; ``config_change`` model when the agent already runs a model whose window holds those prompts |
| context | cost grown with prompt size | ``config_change`` context_truncation at the reference prompt size |
| context | empty retrievals | ``prompt_change`` grounding rule (text registered); ``tool_change`` add_validation on the retrieval |
| external | a provider's errors across agents | ``config_change`` fallback_model (and retry_budget for rate limits) — never a prompt edit |
| unknown, or confidence < ``MIN_CONFIDENCE`` | — | nothing |
| reports | an SLA missed on most days of the newest report (its period and the one before) while the metric is stable | ``sla_change`` to the worse period's level (at most ``SLA_MAX_GAP`` away) |

**Quantified** (``quantify``): the expected effect is moving from the *current* population
to the *reference* one, on the finding's metric (failure rate → success rate; latency → p95
of successful executions; cost → cost per successful execution, both as the finding measures
them):

- prompt rollback: current = the agent's executions on the new version; reference = its
  executions on the previous version, in the baseline and the window (the rest of its traffic);
- tool pin: current = the agent's executions while the new tool version was deployed (from its
  first call to its last, calls of the previous version aside) — all of them, not only those
  that reached the tool: a failing call ends a run, so "the runs that called it" is no fixed
  population; reference = the rest of its traffic in the baseline and the window;
- the other fixes: current = the agent's executions (the model's, for external findings)
  between the change point and the end of the finding's segment; reference = the same before
  the change point, from the baseline start. A fix's effect is "up to the reference level"
  and ``method`` says so.

A reference never includes another finding's span for that agent, nor a day that is itself
an outlier (``quantify.typical_days``). ``populations``, when given, is filled with each
proposal's execution ids (``{proposal_id: {"current": […], "reference": […]}}``) — how
``measure`` compares the expected effect with the truth.

**Risk**: ``low`` — a rollback or pin to a version that ran well on this agent recently (the
effect was computed on it), one agent, under ``HIGH_TRAFFIC`` of the fleet's executions;
``medium`` — new text or new configuration on one agent (or a rollback that is not low);
``high`` — several agents or at least ``HIGH_TRAFFIC`` of the traffic, a model switch
(``model``, ``fallback_model``), any SLA change.

**Confidence** = the finding's confidence × ``quantify.strength`` of the effect (1 when its
interval excludes 0 on the side of an improvement, 0.5 when it includes 0, 0.25 when not
computed, 0 when it would make things worse). SLA changes: the share of the report's days
that missed the limit.

**Priority** = 100 × ``quantify.benefit`` (success-rate points, or the relative reduction of
latency or cost) × the blast radius's traffic share × confidence — for a success rate, the
points of the *fleet's* success rate the change is expected to win, discounted by how sure
we are (for an external cause the traffic is the share the outage hit over those days: a
fallback acts only while the provider fails). SLA changes win nothing: priority 0. Equal priorities: the lower risk first.

**Blast radius**: the executions the change touches over the last ``SHARE_DAYS`` days up to
``day`` — the agent's (a prompt, a tool, context; the effect is measured on all of them), the
agent's on the model (truncation or a switch for one model), every agent's on the model (a
fallback or a retry budget) — as a share of the fleet's, the agents, per day.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from meta_agent import units
from meta_agent.evaluation.data import FAILED_STATUSES, day_start
from meta_agent.improvement import prompt_edits, quantify
from meta_agent.improvement.model import DEFAULT_PROMPT, Proposal
from meta_agent.llm.pricing import price_map
from meta_agent.store.schema_improvement import RISK_LEVELS

MIN_CONFIDENCE = 0.5  # a finding less sure of its category than this proposes nothing
HIGH_TRAFFIC = 0.25  # a change touching this share of the fleet's executions is high risk
SHARE_DAYS = 7
MAX_SAMPLE = 20
SLA_MIN_DAYS = 7  # an SLA change needs at least this many days in the report's daily series
SLA_DAYS_SHARE = 0.8  # ... and this share of them missing the limit (persistently, not a bad day)
SLA_MAX_GAP = {"ratio": 0.05, "ms": 0.5, "usd": 0.5, "score": 0.1}  # ratio: absolute; ms/usd: relative
DEFAULT_WINDOW = 128_000
PROMPT_FIX_KINDS = ("parse", "missing_field")
CO_TIMED_BEFORE = pd.Timedelta(hours=12)  # a version first seen this long before the window still counts as new
PREVIOUS_RUNS = 50  # the version before a change: the most common over this many runs before it
ALLOWED = {  # what each category may propose: never a prompt edit for what the agent cannot change
    "prompt": {"prompt_rollback", "prompt_change"},
    "tool": {"tool_change"},
    "context": {"config_change", "prompt_change", "tool_change"},
    "external": {"config_change"},
    "unknown": {"sla_change"},
}
_RATE_LIMIT = re.compile(r"RateLimit|\b429\b|rate.?limit|too many requests", re.I)
_VALIDATION = re.compile(r"Schema|Validation|returned field|expected (?:number|string|int|a )|rejected argument|"
                         r"KeyError|unexpected keyword", re.I)
_QUOTED = re.compile(r"(?:field|argument|KeyError:) '([A-Za-z_]\w*)'")
_METRIC = {"failure_rate": "success_rate", "latency_p95_ms": "latency_p95_ms",
           "cost_per_execution_usd": "cost_per_execution_usd"}
_SLA_METRICS = {  # SLA key -> (component, report change metric, floor?, unit, rounding step)
    "min_success_rate": ("success_rate", "success_rate", True, "ratio", 0.005),
    "max_timeout_rate": ("timeout_rate", "timeout_rate", False, "ratio", 0.005),
    "max_latency_p95_ms": ("latency_p95_ms", "latency_p95_ms", False, "ms", 100.0),
    "max_latency_p50_ms": ("latency_p50_ms", "latency_p50_ms", False, "ms", 100.0),
    "max_human_intervention_rate": ("human_intervention_rate", "human_intervention_rate", False, "ratio", 0.005),
    "min_quality_score": ("mean_score", "mean_score", True, "score", 0.01),
}


# ------------------------------------------------------------------------------ inputs

@dataclass(frozen=True)
class _Finding:
    finding_id: str
    kind: str
    category: str
    confidence: float
    agents: tuple[str, ...]
    metric: str
    start: pd.Timestamp
    end: pd.Timestamp
    baseline_start: pd.Timestamp
    window_start: pd.Timestamp
    cluster_key: str | None
    evidence: dict
    title: str


def _ts(v) -> pd.Timestamp | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    t = pd.Timestamp(v)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _doc(v) -> dict:
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, str) and v:
        try:
            d = json.loads(v)
            return d if isinstance(d, dict) else {}
        except ValueError:
            return {}
    return {}


def _finding(f: Mapping) -> _Finding | None:
    ev = _doc(f.get("evidence"))
    start = _ts(f.get("started_at")) or _ts(ev.get("change_point"))
    if start is None:
        return None
    end = _ts(ev.get("segment_end")) or start
    window = ev.get("window") or {}
    base = _ts(window.get("baseline_start")) or start - pd.Timedelta(days=21)
    wstart = _ts(window.get("start")) or base
    agents = tuple(f.get("agents") or ([f["agent_id"]] if f.get("agent_id") else []))
    return _Finding(str(f.get("finding_id")), str(f.get("kind") or ""), str(f.get("category") or "unknown"),
                    float(f.get("confidence") or 0.0), agents, str(f.get("metric") or "failure_rate"), start,
                    max(end, start), base, wstart, f.get("cluster_key"), ev, str(f.get("title") or ""))


@dataclass
class _Data:
    """The executions up to the end of ``day`` as arrays, and their tool calls."""

    ex: pd.DataFrame
    t: np.ndarray  # started_at, ns
    agent: np.ndarray
    version: np.ndarray
    model: np.ndarray
    finished: np.ndarray
    ok: np.ndarray
    failed: np.ndarray
    day: np.ndarray  # day number
    ids: np.ndarray
    end: pd.Timestamp
    actions: pd.DataFrame
    _calls: pd.DataFrame | None = None
    _retrievals: pd.DataFrame | None = None

    def calls(self) -> pd.DataFrame:
        """Tool calls: ``row`` (of ``ex``), ``tool``, ``version``, ``status``, ``error_message``."""
        if self._calls is None:
            self._calls = self._of_type("tool_call")
        return self._calls

    def retrievals(self) -> pd.DataFrame:
        if self._retrievals is None:
            self._retrievals = self._of_type("retrieval")
        return self._retrievals

    def _of_type(self, action_type: str) -> pd.DataFrame:
        cols = ["row", "tool", "version", "status", "error_message", "documents"]
        a = self.actions
        if a is None or not len(a):
            return pd.DataFrame(columns=cols)
        a = a[a["action_type"].astype(str) == action_type]
        pos = pd.Index(self.ids).get_indexer(a["execution_id"].astype(object).to_numpy())
        a = a[pos >= 0]
        meta = [_doc(m) for m in a["metadata"]] if "metadata" in a else [{}] * len(a)
        return pd.DataFrame({
            "row": pos[pos >= 0], "tool": a["name"].fillna("").astype(str).to_numpy(),
            "version": [None if m.get("tool_version") is None else str(m["tool_version"]) for m in meta],
            "status": a["status"].astype(str).to_numpy(),
            "error_message": a["error_message"].fillna("").astype(str).to_numpy() if "error_message" in a else "",
            "documents": [m.get("documents") for m in meta]}, columns=cols)

    def rows_calling(self, tool: str, version: str | None = None) -> np.ndarray:
        c = self.calls()
        sel = c["tool"].to_numpy() == tool
        if version is not None:
            sel &= c["version"].to_numpy() == version
        mask = np.zeros(len(self.ex), dtype=bool)
        mask[c["row"].to_numpy()[sel].astype(np.int64)] = True
        return mask

    def between(self, lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
        """Started in ``[lo, hi]``."""
        return (self.t >= lo.value) & (self.t <= hi.value)

    def before(self, lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
        """Started in ``[lo, hi)``."""
        return (self.t >= lo.value) & (self.t < hi.value)


def _data(executions: pd.DataFrame, actions: pd.DataFrame, day: date) -> _Data:
    end = pd.Timestamp(day_start(day + timedelta(days=1)))
    ex = executions.copy()
    ex["started_at"] = pd.to_datetime(ex["started_at"], utc=True).dt.as_unit("ns")
    ex = ex[ex["started_at"] < end].sort_values(["started_at", "execution_id"], ignore_index=True)
    for col in ("latency_ms", "cost_usd", "tokens_in", "tokens_out"):
        ex[col] = pd.to_numeric(ex[col], errors="coerce").fillna(0.0).astype(float) if col in ex else 0.0
    for col in ("error_type", "error_message"):
        ex[col] = ex[col].fillna("").astype(str) if col in ex else ""
    status = ex["status"].astype(str).to_numpy()
    t = ex["started_at"].astype("int64").to_numpy()
    return _Data(ex, t, ex["agent_id"].astype(str).to_numpy(), ex["prompt_version"].fillna("").astype(str).to_numpy(),
                 ex["model"].fillna("").astype(str).to_numpy(), status != "cancelled", status == "success",
                 np.isin(status, FAILED_STATUSES), t // (86_400 * 10**9), ex["execution_id"].astype(str).to_numpy(),
                 end, actions)


# ------------------------------------------------------------------------------ quantifying

@dataclass
class _Populations:
    current: np.ndarray  # bool over rows
    reference: np.ndarray
    what: str  # the populations in words, for ``method``


def _quantify(d: _Data, metric: str, pop: _Populations, seed: int = 0) -> tuple[dict, list[str], list[str]]:
    """The expected effect on ``metric`` of moving from ``pop.current`` to ``pop.reference``,
    and the execution ids of each side (the reference's atypical days left out)."""
    metric = _METRIC.get(metric, metric)
    if metric == "success_rate":
        cur = pop.current & d.finished
        ref = pop.reference & d.finished
        ref_rows = np.flatnonzero(ref)
        ref_rows = ref_rows[quantify.typical_days(d.day[ref_rows], ~d.ok[ref_rows])]
        cur_rows = np.flatnonzero(cur)
        exp = quantify.success_rate_effect(int(d.ok[cur_rows].sum()), len(cur_rows), int(d.ok[ref_rows].sum()),
                                           len(ref_rows), populations=pop.what)
    else:
        col = "latency_ms" if metric.startswith("latency") else "cost_usd"
        v = d.ex[col].to_numpy(float)
        cur_rows = np.flatnonzero(pop.current & d.ok)
        ref_rows = np.flatnonzero(pop.reference & d.ok)
        q = 0.5 if metric == "latency_p50_ms" else 0.95
        ref_rows = ref_rows[quantify.typical_level_days(d.day[ref_rows], v[ref_rows],
                                                        q=q if col == "latency_ms" else None)]
        what = f"{pop.what}; successful executions, as the finding measures them"
        if col == "latency_ms":
            exp = quantify.quantile_effect(v[cur_rows], v[ref_rows], q, populations=what, seed=seed)
        else:
            exp = quantify.mean_effect(v[cur_rows], v[ref_rows], metric=metric, populations=what)
    return exp, d.ids[cur_rows].tolist(), d.ids[ref_rows].tolist()


def _excluded(d: _Data, agents: Sequence[str], others: Sequence[_Finding]) -> np.ndarray:
    """Rows of ``agents`` inside another finding's span (no reference for anything)."""
    out = np.zeros(len(d.ex), dtype=bool)
    mine = np.isin(d.agent, list(agents))
    for g in others:
        hit = np.isin(d.agent, [a for a in g.agents if a in agents])
        if hit.any():
            out |= mine & hit & d.between(g.start, g.end)
    return out


def _upto(expected: dict, note: str) -> dict:
    return {**expected, "method": f"{note}: {expected['method']}"}


# ------------------------------------------------------------------------------ reading the data

def _most_common(values) -> str | None:
    c = Counter(v for v in values if v not in (None, "", "(none)"))
    return min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] if c else None


def _first_seen(d: _Data, mask: np.ndarray) -> pd.Timestamp | None:
    rows = np.flatnonzero(mask)
    return pd.Timestamp(int(d.t[rows[0]]), tz="UTC") if len(rows) else None


def _previous(values: np.ndarray, t: np.ndarray, before: int, exclude: str, last: int = PREVIOUS_RUNS) -> str | None:
    """The value most common among the last ``last`` rows before ``before`` (ns), ``exclude`` aside."""
    sel = np.flatnonzero((t < before) & (values != exclude))
    sel = sel[np.argsort(t[sel], kind="stable")]  # actions come by execution, not by time
    return _most_common(values[sel][-last:])


def _prompt_version(d: _Data, f: _Finding, agent: str) -> str | None:
    """The new prompt version behind a prompt finding for ``agent``: the explaining
    dimension's value when it is prompt_version, else the best prompt_version value — when
    the agent first ran it in the finding's window (a version it ran all along is no change)."""
    ev = f.evidence
    if ev.get("dimension") == "prompt_version":
        v = ev.get("value")
    else:
        v = ((ev.get("other_dimensions") or {}).get("prompt_version") or {}).get("value")
    if not v:
        return None
    first = _first_seen(d, (d.agent == agent) & (d.version == str(v)))
    return str(v) if first is not None and first >= f.window_start - CO_TIMED_BEFORE else None


def _tool_version(f: _Finding) -> tuple[str, str] | None:
    ev = f.evidence
    val = ev.get("value") if ev.get("dimension") == "tool_version" else None
    if val is None:
        other = (ev.get("other_dimensions") or {}).get("tool_version") or {}
        val = other.get("value") if other.get("co_timed") else None
    if not val or "@" not in str(val):
        return None
    tool, ver = str(val).rsplit("@", 1)
    return tool, ver


def _failures(d: _Data, mask: np.ndarray) -> tuple[list[str], list[str]]:
    rows = np.flatnonzero(mask & d.failed)
    return d.ex["error_type"].to_numpy()[rows].tolist(), d.ex["error_message"].to_numpy()[rows].tolist()


def _sample(d: _Data, f: _Finding, mask: np.ndarray) -> list[str]:
    ids = [str(x) for x in f.evidence.get("execution_ids") or []]
    rows = np.flatnonzero(mask & d.failed)
    if len(rows):
        pick = rows[np.linspace(0, len(rows) - 1, min(MAX_SAMPLE, len(rows))).astype(int)]
        ids += d.ids[pick].tolist()
    return list(dict.fromkeys(ids))[:MAX_SAMPLE]


def context_window(model: str) -> int:
    """The model's input window in tokens (litellm's price map; 128k when it does not say)."""
    pm = price_map()
    entry = pm.get(model) or pm.get(model.split("/", 1)[-1]) or {}
    return int(entry.get("max_input_tokens") or DEFAULT_WINDOW)


def provider(model: str) -> str:
    """The provider a model name points to (a fallback should not share the failing one's)."""
    m = model.lower()
    if "/" in m:
        return m.split("/", 1)[0]
    for key, name in (("claude", "anthropic"), ("gemini", "gemini"), ("gpt", "openai"), ("o1", "openai"),
                      ("o3", "openai"), ("mistral", "mistral"), ("llama", "meta")):
        if m.startswith(key):
            return name
    return m


# ------------------------------------------------------------------------------ the proposals

@dataclass
class _Ctx:
    d: _Data
    findings: list[_Finding]
    prompt_text: Callable[[str, str, str], str | None] | None
    gateway: object
    recent: np.ndarray  # rows of the last SHARE_DAYS days, finished
    trace: dict  # proposal object id -> (current ids, reference ids)

    def others(self, f: _Finding) -> list[_Finding]:
        return [g for g in self.findings if g.finding_id != f.finding_id]

    def blast(self, touched: np.ndarray) -> dict:
        rec = self.recent
        n_all = int(rec.sum())
        hit = touched & rec
        days = max(len(np.unique(self.d.day[rec])), 1)
        return {"traffic_share": round(int(hit.sum()) / n_all, 6) if n_all else 0.0,
                "agents": sorted(set(self.d.agent[hit].tolist())),
                "executions_per_day": round(int(hit.sum()) / days, 1)}


def _make(ctx: _Ctx, f: _Finding, *, kind: str, agents: Sequence[str], title: str, summary: str, change: dict,
          expected: dict, ids: tuple[list[str], list[str]], touched: np.ndarray, rollback_plan: str,
          reverting: bool = False, model_switch: bool = False, diff: str | None = None, source: str = "rules",
          sample: list[str] | None = None, extra_evidence: dict | None = None,
          exposure: float | None = None) -> Proposal:
    """A proposal with its risk, confidence, priority and blast radius (the module docstring's
    rules); ``exposure``: the traffic share the benefit applies to, when not the blast radius's."""
    blast = ctx.blast(touched)
    agents = sorted(set(agents))
    blast["agents"] = sorted(set(blast["agents"]) | set(agents))
    if len(agents) > 1 or blast["traffic_share"] >= HIGH_TRAFFIC or model_switch:
        risk = "high"
    elif reverting and expected.get("effect") is not None and quantify.strength(expected) >= 0.5:
        risk = "low"
    else:
        risk = "medium"
    confidence = round(f.confidence * quantify.strength(expected), 4)
    share = blast["traffic_share"] if exposure is None else exposure
    priority = round(100 * quantify.benefit(expected) * share * confidence, 6)
    evidence = {"finding_ids": [f.finding_id], "report": None, "cluster_key": f.cluster_key,
                "execution_ids": sample if sample is not None else [], "category": f.category,
                "findings": [{"finding_id": f.finding_id, "title": f.title, "metric": f.metric,
                              "confidence": f.confidence}]}
    evidence.update(extra_evidence or {})
    p = Proposal(kind=kind, agent_id=agents[0] if len(agents) == 1 else None, agents=agents, category=f.category,
                 title=title, summary=summary, change=change, expected=expected, risk=risk, confidence=confidence,
                 blast_radius=blast, rollback_plan=rollback_plan, priority=priority, evidence=evidence, diff=diff,
                 source=source)
    ctx.trace[id(p)] = ids
    return p


def effect_text(e: Mapping) -> str:
    """``success rate 72.1 % → 97.0 % (+24.9 pp, 95 % CI +22.1 to +27.6 pp)``."""
    label = {"success_rate": "success rate", "latency_p95_ms": "p95 latency", "latency_p50_ms": "p50 latency",
             "cost_per_execution_usd": "cost per execution"}.get(e.get("metric"), str(e.get("metric")))
    unit = e.get("unit")

    def lvl(v):
        return units.pct(v) if unit == "ratio" else units.duration_ms(v) if unit == "ms" else units.usd(v)

    def diff(v):
        if v is None:
            return ""
        if unit == "ratio":
            return f"{v * 100:+.1f} pp"
        return ("+" if v >= 0 else "−") + (units.duration_ms(abs(v)) if unit == "ms" else units.usd(abs(v)))

    text = f"{label} {lvl(e.get('current'))} → {lvl(e.get('expected'))}"
    if e.get("effect") is None:
        return text + " (effect not computed: too few executions)"
    level = f"{(e.get('confidence_level') or 0.95) * 100:.0f} %"
    return f"{text} ({diff(e['effect'])}, {level} CI {diff(e['ci_low'])} to {diff(e['ci_high'])})"


def _prompt(ctx: _Ctx, f: _Finding) -> list[Proposal]:
    """Per agent of the finding (a cluster may span two agents; each has its own prompt)."""
    return [p for agent in f.agents for p in _prompt_of(ctx, f, agent)]


def _prompt_of(ctx: _Ctx, f: _Finding, agent: str) -> list[Proposal]:
    d = ctx.d
    mine = d.agent == agent
    window = d.t >= f.baseline_start.value
    excl = _excluded(d, [agent], ctx.others(f))
    new = _prompt_version(d, f, agent)
    if not new and len(f.agents) > 1:  # a cluster reaching this agent without a prompt change of its own
        return []
    out: list[Proposal] = []
    expected = ids = None
    prev = None
    if new:
        first = _first_seen(d, mine & (d.version == new))
        prev = _previous(d.version[mine], d.t[mine], first.value, new) if first is not None else None
    if new and prev:
        pop = _Populations(mine & (d.version == new) & window, mine & (d.version == prev) & window & ~excl,
                           f"current: {agent} on prompt {new}; reference: {agent} on {prev}, same window")
        expected, cur_ids, ref_ids = _quantify(d, f.metric, pop)
        ids = (cur_ids, ref_ids)
        cur_mask = pop.current
        out.append(_make(
            ctx, f, kind="prompt_rollback", agents=[agent],
            title=f"{agent}: roll prompt {DEFAULT_PROMPT} back from {new} to {prev}",
            summary=f"Since {f.start:%Y-%m-%d %H:%M} UTC {agent} runs prompt {new}; moving production back to "
                    f"{prev} is expected to restore the {prev} level: {effect_text(expected)}.",
            change={"prompt": DEFAULT_PROMPT, "label": "production", "from_version": new, "to_version": prev},
            expected=expected, ids=ids, touched=mine, reverting=True, sample=_sample(d, f, cur_mask),
            rollback_plan=f"Move production back to {new} with `meta-agent prompts label {agent} {DEFAULT_PROMPT} "
                          f"production {new} --reason \"rollback to {prev} did not help\"`."))
    else:
        cur_mask = mine & d.between(f.start, f.end)
        pop = _Populations(cur_mask, mine & d.before(f.baseline_start, f.start) & ~excl,
                           f"current: {agent} from the change point to the end of the finding; reference: "
                           f"{agent} before it")
        expected, cur_ids, ref_ids = _quantify(d, f.metric, pop)
        ids = (cur_ids, ref_ids)
    failure = prompt_edits.read_failures(*_failures(d, cur_mask))
    if not set(PROMPT_FIX_KINDS) & set(failure.kinds):
        return out
    base = new or _most_common(d.version[cur_mask])
    change = _prompt_fix(ctx, f, agent, base, failure, expected, ids, mine, _sample(d, f, cur_mask),
                         "up to the reference level (the fixed version removes these failures at best)")
    return out + ([change] if change else [])


def _prompt_fix(ctx: _Ctx, f: _Finding, agent: str, base: str | None, failure, expected: dict, ids, touched,
                sample: list[str], note: str) -> Proposal | None:
    if not base or ctx.prompt_text is None:
        return None
    text = ctx.prompt_text(agent, DEFAULT_PROMPT, base)
    if not text:
        return None
    edit = prompt_edits.write_edit(text, failure, ctx.gateway)
    if edit is None:
        return None
    rules = ", ".join(e["rule"] for e in edit.edits)
    exp = _upto(expected, note)
    return _make(
        ctx, f, kind="prompt_change", agents=[agent],
        title=f"{agent}: a fixed version of prompt {DEFAULT_PROMPT} {base} ({rules})",
        summary=f"A new version on top of {base} ({'; '.join(e['why'] for e in edit.edits)}); expected "
                f"{effect_text(exp)} at best.",
        change={"prompt": DEFAULT_PROMPT, "base_version": base, "text": edit.text, "edits": edit.edits},
        expected=exp, ids=ids, touched=touched, diff=prompt_edits.unified_diff(text, edit.text, base, f"{base}+fix"),
        source=edit.source if edit.source.startswith("llm:") else "rules", sample=sample,
        extra_evidence={"writer": edit.source, "failure": {"kinds": list(failure.kinds), "fields": list(failure.fields),
                                                           "examples": list(failure.examples)}},
        rollback_plan=f"Keep production on {base}: the fixed version is registered as a candidate; if it was "
                      f"promoted, move production back with `meta-agent prompts label {agent} {DEFAULT_PROMPT} "
                      f"production {base} --reason \"fixed version did not help\"`.")


def _tool(ctx: _Ctx, f: _Finding) -> list[Proposal]:
    d = ctx.d
    agents = list(f.agents)
    mine = np.isin(d.agent, agents)
    window = d.t >= f.baseline_start.value
    excl = _excluded(d, agents, ctx.others(f))
    who = agents[0] if len(agents) == 1 else f"{len(agents)} agents"
    tv = _tool_version(f)
    if tv:
        tool, ver = tv
        bad = mine & d.rows_calling(tool, ver)
        first = _first_seen(d, bad)
        calls = d.calls()
        own = calls[np.isin(d.agent[calls["row"].to_numpy().astype(np.int64)], agents) & (calls["tool"] == tool)]
        prev = _previous(own["version"].fillna("").to_numpy(), d.t[own["row"].to_numpy().astype(np.int64)],
                         first.value, ver) if first is not None and len(own) else None
        if prev:
            # the agent's executions while ver was deployed, not only those calling it: a failing
            # call ends the run, so "the runs that reached the tool" is no fixed population
            last = int(d.t[np.flatnonzero(bad)[-1]])
            deployed = mine & (d.t >= first.value) & (d.t <= last) & ~d.rows_calling(tool, prev)
            pop = _Populations(deployed, mine & window & ~deployed & ~bad & ~excl,
                               f"current: {who}'s executions while {tool} {ver} was deployed "
                               f"({first:%Y-%m-%d %H:%M} to {pd.Timestamp(last, tz='UTC'):%Y-%m-%d %H:%M} UTC, "
                               f"calls of {prev} aside); reference: the rest of its traffic in the window, on {prev}")
            expected, cur_ids, ref_ids = _quantify(d, f.metric, pop)
            return [_make(
                ctx, f, kind="tool_change", agents=agents, title=f"{who}: pin {tool} to {prev} (from {ver})",
                summary=f"{tool} {ver} arrived at {first:%Y-%m-%d %H:%M} UTC; pinning {prev} is expected to "
                        f"restore the {prev} level: {effect_text(expected)}.",
                change={"tool": tool, "action": "pin", "from_version": ver, "to_version": prev},
                expected=expected, ids=(cur_ids, ref_ids), touched=mine, reverting=True,
                sample=_sample(d, f, pop.current),
                rollback_plan=f"Unpin {tool} on {who} (back to {ver}) in its tool configuration.")]
    tool = (f.evidence.get("value") if f.evidence.get("dimension") == "tool" else None) or _failing_tool(ctx, f)
    if not tool:
        return []
    cur = mine & d.between(f.start, f.end)
    failing = d.calls()
    failing = failing[(failing["tool"] == tool) & (failing["status"] != "success")
                      & np.isin(failing["row"].to_numpy().astype(np.int64), np.flatnonzero(cur))]
    msgs = failing["error_message"].tolist() or _failures(d, cur)[1]
    validation = sum(bool(_VALIDATION.search(m)) for m in msgs) >= 0.5 * max(len(msgs), 1)
    pop = _Populations(cur, mine & d.before(f.baseline_start, f.start) & ~excl,
                       f"current: {who}'s executions from the change point to the end of the finding; reference: "
                       "those before it")
    expected, cur_ids, ref_ids = _quantify(d, f.metric, pop)
    exp = _upto(expected, "up to the reference level (the failing calls are caught, not avoided)")
    if validation:
        fields = _most_common_all(_QUOTED.findall(m) for m in msgs)
        change = {"tool": str(tool), "action": "add_validation", "validate": fields or ["response schema"],
                  "retries": 1}
        title = f"{who}: validate {tool}'s responses ({', '.join(fields) or 'schema'})"
        what = "checked against the schema, retried once, and reported as a tool error instead of failing the run"
    else:
        change = {"tool": str(tool), "action": "add_retries", "retries": 2}
        title = f"{who}: retry {tool} up to 2 times"
        what = "retried up to 2 times with backoff"
    return [_make(ctx, f, kind="tool_change", agents=agents, title=title,
                  summary=f"{tool} fails without a version change; its calls {what}: {effect_text(exp)} at best.",
                  change=change, expected=exp, ids=(cur_ids, ref_ids), touched=mine,
                  sample=_sample(d, f, cur),
                  rollback_plan=f"Remove the {change['action'].replace('add_', '')} around {tool} on {who}.")]


def _most_common_all(groups) -> list[str]:
    c = Counter(x for g in groups for x in dict.fromkeys(g))
    return [k for k, _ in c.most_common(3)]


def _failing_tool(ctx: _Ctx, f: _Finding) -> str | None:
    calls = ctx.d.calls()
    ids = set(f.evidence.get("execution_ids") or [])
    if not ids or not len(calls):
        return None
    rows = np.flatnonzero(np.isin(ctx.d.ids, list(ids)))
    bad = calls[np.isin(calls["row"].to_numpy().astype(np.int64), rows) & (calls["status"] != "success")]
    return _most_common(bad["tool"].tolist())


def _context(ctx: _Ctx, f: _Finding) -> list[Proposal]:
    if len(f.agents) != 1:
        return []
    d, agent = ctx.d, f.agents[0]
    mine = d.agent == agent
    excl = _excluded(d, [agent], ctx.others(f))
    cur = mine & d.between(f.start, f.end)
    ref = mine & d.before(f.baseline_start, f.start) & ~excl
    pop = _Populations(cur, ref, f"current: {agent} from the change point to the end of the finding; reference: "
                                 f"{agent} before it")
    expected, cur_ids, ref_ids = _quantify(d, f.metric, pop)
    failure = prompt_edits.read_failures(*_failures(d, cur))
    ev = f.evidence
    sample = _sample(d, f, cur)
    out: list[Proposal] = []
    tokens = d.ex["tokens_in"].to_numpy(float)
    if "overflow" in failure.kinds:
        over = np.zeros(len(d.ex), dtype=bool)
        rows = np.flatnonzero(cur & d.failed)
        texts = d.ex["error_type"].to_numpy()[rows] + " " + d.ex["error_message"].to_numpy()[rows]
        over[rows[[bool(prompt_edits.OVERFLOW.search(t)) for t in texts]]] = True
        model = _most_common(d.model[over]) or _most_common(d.model[cur])
        window = context_window(model)
        cap = int(window * 0.9 // 1000 * 1000)
        on_model = d.model == model  # truncation is per model: its traffic is the population
        exp, c1, r1 = _quantify(d, f.metric, _Populations(
            cur & on_model, ref & on_model, f"current: {agent} on {model} from the change point to the end of the "
                                            f"finding; reference: {agent} on {model} before it"))
        exp = _upto(exp, "up to the reference level (truncating to the window removes the overflows)")
        out.append(_make(
            ctx, f, kind="config_change", agents=[agent],
            title=f"{agent}: truncate prompts to {units.count(cap)} tokens on {model}",
            summary=f"{int(over.sum())} executions overflowed {model}'s {units.count(window)}-token window since "
                    f"{f.start:%Y-%m-%d %H:%M} UTC; truncating the history and retrieved documents to "
                    f"{units.count(cap)} tokens: {effect_text(exp)} at best.",
            change={"setting": "context_truncation", "from": None, "to": {"max_input_tokens": cap,
                                                                        "keep": "system prompt, latest turns"},
                    "model": model},
            expected=exp, ids=(c1, r1), touched=mine & on_model, sample=sample,
            rollback_plan=f"Set context_truncation for {agent} on {model} back to none."))
        p99 = float(np.quantile(tokens[cur], 0.99)) if cur.any() else 0.0
        larger = [m for m in sorted(set(d.model[mine & d.between(f.start, f.end)]))
                  if m != model and context_window(m) >= p99]
        if larger:
            other = max(larger, key=lambda m: (context_window(m), m))
            alt = _Populations(cur & on_model, cur & (d.model == other),
                               f"current: {agent} on {model} since the change point; reference: {agent} on "
                               f"{other}, same hours")
            exp2, c2, r2 = _quantify(d, "failure_rate", alt)
            out.append(_make(
                ctx, f, kind="config_change", agents=[agent],
                title=f"{agent}: run on {other} ({units.count(context_window(other))}-token window) instead of {model}",
                summary=f"{agent} already runs {other}, whose window holds its largest prompts (p99 "
                        f"{units.count(p99)} tokens); moving {model}'s traffic there: {effect_text(exp2)}.",
                change={"setting": "model", "from": model, "to": other, "model": model},
                expected=exp2, ids=(c2, r2), touched=mine & on_model, model_switch=True, sample=sample,
                rollback_plan=f"Route {agent} back to {model}."))
    elif f.metric == "cost_per_execution_usd" and ev.get("dimension") == "tokens_in":
        ref_tok = tokens[ref & d.ok]
        cap = int(math.ceil(float(np.quantile(ref_tok, 0.99)) / 100) * 100) if len(ref_tok) else None
        if cap:
            exp = _upto(expected, "up to the reference level (prompts capped at the reference p99 size)")
            out.append(_make(
                ctx, f, kind="config_change", agents=[agent],
                title=f"{agent}: cap prompts at {units.count(cap)} tokens",
                summary=f"{agent}'s prompts grew since {f.start:%Y-%m-%d %H:%M} UTC and its cost with them; capping "
                        f"them at the reference p99 ({units.count(cap)} tokens): {effect_text(exp)} at best.",
                change={"setting": "context_truncation", "from": None, "to": {"max_input_tokens": cap}, "model": None},
                expected=exp, ids=(cur_ids, ref_ids), touched=mine, sample=sample,
                rollback_plan=f"Set context_truncation for {agent} back to none."))
    empty = "empty_retrieval" in failure.kinds or (ev.get("dimension") == "retrieval" and ev.get("value") == "empty")
    if empty:
        r = d.retrievals()
        r_rows = r["row"].to_numpy().astype(np.int64)
        tool = _most_common(r["tool"].to_numpy()[np.isin(r_rows, np.flatnonzero(cur))]) or "retrieval"
        exp = _upto(expected, "up to the reference level (an empty retrieval is retried, then answered as such)")
        out.append(_make(
            ctx, f, kind="tool_change", agents=[agent], title=f"{agent}: check that {tool} returns documents",
            summary=f"{agent}'s answers fail when {tool} returns no documents; retry an empty retrieval once and, "
                    f"still empty, answer that nothing was found: {effect_text(exp)} at best.",
            change={"tool": tool, "action": "add_validation", "validate": ["documents"], "retries": 1},
            expected=exp, ids=(cur_ids, ref_ids), touched=mine, sample=sample,
            rollback_plan=f"Remove the document check around {tool} on {agent}."))
        base = _most_common(d.version[cur])
        fix = _prompt_fix(ctx, f, agent, base, replace(failure, kinds=("empty_retrieval",)), expected,
                          (cur_ids, ref_ids), mine, sample,
                          "up to the reference level (a grounded refusal instead of a failed answer)")
        if fix:
            out.append(fix)
    return out


def _fallback_model(d: _Data, model: str, lo: pd.Timestamp, hi: pd.Timestamp) -> str | None:
    """A model that was healthy while ``model`` failed: another provider's first, then the best
    success rate over the same hours (at least ``MIN_N`` executions)."""
    span = d.between(lo, hi) & d.finished
    best = None
    for m in sorted(set(d.model[span]) - {model, ""}):
        sel = span & (d.model == m)
        n = int(sel.sum())
        if n < quantify.MIN_N:
            continue
        key = (provider(m) != provider(model), float(d.ok[sel].mean()), n)
        if best is None or key > best[0]:
            best = (key, m)
    return best[1] if best else None


def _external(ctx: _Ctx, f: _Finding) -> list[Proposal]:
    d = ctx.d
    agents = list(f.agents)
    mine = np.isin(d.agent, agents)
    span = mine & d.between(f.start, f.end)
    ev = f.evidence
    model = ev.get("value") if ev.get("dimension") == "model" else None
    model = str(model) if model else _most_common(d.model[span & d.failed])
    if not model:
        return []
    on_model = d.model == model
    excl = _excluded(d, agents, ctx.others(f))
    pop = _Populations(span & on_model, mine & on_model & d.before(f.baseline_start, f.start) & ~excl,
                       f"current: {model} calls of {', '.join(agents)} during the finding; reference: the same "
                       "before it")
    expected, cur_ids, ref_ids = _quantify(d, f.metric, pop)
    types, msgs = _failures(d, span & on_model)
    limited = sum(bool(_RATE_LIMIT.search(f"{t} {m}")) for t, m in zip(types, msgs, strict=True)) >= \
        0.5 * max(len(msgs), 1)
    sample = _sample(d, f, span & on_model)
    touched = on_model
    # a fallback or a retry acts only while the provider fails: what it wins is the outage's share
    exposure = len(cur_ids) / max(int(ctx.recent.sum()), 1)
    out = []
    every = sorted(set(d.agent[on_model & ctx.recent]))
    fallback = _fallback_model(d, model, f.start, f.end)
    if fallback:
        exp = _upto(expected, f"up to {model}'s normal level (the fallback's own failures aside)")
        out.append(_make(
            ctx, f, kind="config_change", agents=every or agents,
            title=f"{model}: fall back to {fallback} for " + (
                (every or agents)[0] if len(every or agents) == 1 else f"{len(every or agents)} agents"),
            summary=f"{model} failed for {', '.join(agents)} from {f.start:%Y-%m-%d %H:%M} to {f.end:%H:%M} UTC "
                    f"({'rate limits' if limited else 'provider errors'}); with {fallback} as its fallback those calls "
                    f"are served elsewhere: {effect_text(exp)} at best.",
            change={"setting": "fallback_model", "from": None, "to": fallback, "model": model},
            expected=exp, ids=(cur_ids, ref_ids), touched=touched, model_switch=True, sample=sample,
            exposure=exposure, rollback_plan=f"Remove {fallback} as the fallback of {model} (back to no fallback)."))
    if limited or not fallback:
        exp = _upto(expected, f"up to {model}'s normal level (retries absorb rate limits, not outages)")
        out.append(_make(
            ctx, f, kind="config_change", agents=every or agents,
            title=f"{model}: a retry budget of 3 with exponential backoff",
            summary=f"{model} {'rate-limited' if limited else 'failed for'} {', '.join(agents)} from "
                    f"{f.start:%Y-%m-%d %H:%M} to {f.end:%H:%M} UTC; retrying up to 3 times with backoff (at most "
                    f"30 s in all): {effect_text(exp)} at best.",
            change={"setting": "retry_budget", "from": None, "to": {"retries": 3, "backoff": "exponential",
                                                                    "max_wait_s": 30}, "model": model},
            expected=exp, ids=(cur_ids, ref_ids), touched=touched, sample=sample, exposure=exposure,
            rollback_plan=f"Set the retry budget of {model} back to the gateway default."))
    return out


# ------------------------------------------------------------------------------ SLA changes

def _report(r: Mapping) -> dict | None:
    doc = r.get("report") if isinstance(r.get("report"), Mapping) else r
    agent = r.get("agent_id") or doc.get("agent_id")
    if not agent:
        return None
    ref = {"agent": agent, "period_start": str(r.get("period_start") or doc.get("period_start")),
           "period_end": str(r.get("period_end") or doc.get("period_end")), "version": r.get("version")}
    return {"agent": agent, "period_end": ref["period_end"], "version": r.get("version"), "doc": doc, "ref": ref}


def sla_proposals(reports: Sequence[Mapping], findings: Sequence[Mapping] = (), *,
                  recent: dict[str, dict] | None = None) -> list[Proposal]:
    """An SLA change per agent and SLA key its newest report shows missed persistently while
    its own metric is stable: the period's level misses the limit, so do at least
    ``SLA_DAYS_SHARE`` of the report's days (it covers the period and the one before; at
    least ``SLA_MIN_DAYS`` with data), and the metric did not regress; no finding of a known
    cause concerns the agent (an explained miss is fixed, not redefined). The new limit is
    the worse of the two periods' levels, rounded outwards, when it is at most
    ``SLA_MAX_GAP`` from the current one (further off, the agent has a problem, not its SLA).
    ``recent``: per agent its blast radius (for executions per day)."""
    newest: dict[str, dict] = {}
    for r in reports or ():
        rep = _report(r)
        if rep and (rep["agent"] not in newest or (rep["period_end"], rep["version"] or 0) >= (
                newest[rep["agent"]]["period_end"], newest[rep["agent"]]["version"] or 0)):
            newest[rep["agent"]] = rep
    explained = {a for f in findings or () if f.get("category") not in (None, "unknown")
                 for a in (f.get("agents") or [f.get("agent_id")])}
    out = []
    for agent, rep in sorted(newest.items()):
        if agent in explained:
            continue
        for key, (comp, change_metric, floor, unit, step) in _SLA_METRICS.items():
            miss = _sla_miss(rep["doc"], key, comp, change_metric, floor)
            if miss is None:
                continue
            target, levels, missed, days = miss
            worst = min(levels) if floor else max(levels)
            new = math.floor(worst / step + 1e-9) * step if floor else math.ceil(worst / step - 1e-9) * step
            gap = abs(target - new) if unit in ("ratio", "score") else abs(new - target) / target
            if gap > SLA_MAX_GAP[unit] or round(new, 6) == round(target, 6):
                continue
            out.append(_sla_proposal(agent, key, comp, unit, target, round(new, 6), levels, missed, days, rep,
                                     recent or {}))
    return out


def _sla_miss(doc: Mapping, key: str, comp: str, change_metric: str,
              floor: bool) -> tuple[float, list[float], int, int] | None:
    """(limit, the periods' levels, days missed, days with data) when the report shows the
    SLA ``key`` missed persistently with a stable metric; else None."""
    hit = None
    for s in (doc.get("scores") or {}).values():
        for c in s.get("components") or ():
            if c.get("name") == comp and c.get("source") == f"sla:{key}":
                hit = c
    if hit is None or hit.get("value") is None or hit.get("target") is None:
        return None
    value, target = float(hit["value"]), float(hit["target"])

    def misses(v: float) -> bool:
        return v < target if floor else v > target

    change = next((c for c in doc.get("changes") or () if c.get("metric") == change_metric), None)
    if not misses(value) or (change is not None and change.get("verdict") == "regression"):
        return None
    daily = [float(r[comp]) for r in doc.get("daily") or () if r.get(comp) is not None]
    missed = sum(misses(v) for v in daily)
    if len(daily) < SLA_MIN_DAYS or missed < SLA_DAYS_SHARE * len(daily):
        return None
    levels = [float(change["before"])] if change is not None and change.get("before") is not None else []
    return target, levels + [value], missed, len(daily)


def _sla_proposal(agent, key, comp, unit, target, new, levels, missed, days, rep, recent) -> Proposal:
    shown = {"ratio": units.pct, "ms": units.duration_ms, "usd": units.usd, "score": lambda v: f"{v:.2f}"}[unit]
    doc = rep["doc"]
    executions = int(((doc.get("metrics") or {}).get("current") or {}).get("executions") or 0)
    seen = " then ".join(shown(v) for v in levels)
    expected = {"metric": comp, "unit": unit, "current": levels[-1], "expected": levels[-1], "effect": None,
                "ci_low": None, "ci_high": None, "confidence_level": 0.95,
                "method": f"not computed: an SLA change moves the limit, not the agent. {comp} missed {shown(target)} "
                          f"on {missed} of {days} days ({seen} over the last two periods) with no regression of its "
                          f"own; the new limit is the worse level, rounded",
                "n_current": executions, "n_reference": 0}
    blast = {"traffic_share": 0.0, "agents": [agent],
             "executions_per_day": (recent.get(agent) or {}).get("executions_per_day", 0.0)}
    evidence = {"finding_ids": [], "report": rep["ref"], "cluster_key": None, "execution_ids": [],
                "category": "unknown"}
    return Proposal(kind="sla_change", agent_id=agent, agents=[agent], category="unknown",
                    title=f"{agent}: SLA {key} {shown(target)} → {shown(new)}",
                    summary=f"{agent} missed its {key} of {shown(target)} on {missed} of {days} days while its {comp} "
                            f"held steady ({seen}): the limit, not the agent, is off. Set it to {shown(new)}, the "
                            "level it keeps.",
                    change={"metric": key, "from": target, "to": new}, expected=expected, risk="high",
                    confidence=round(missed / days, 4), blast_radius=blast,
                    rollback_plan=f"Set {key} of {agent} back to {target:g} in config/slas.yaml.", priority=0.0,
                    evidence=evidence)


# ------------------------------------------------------------------------------ the entry point

GENERATORS = {"prompt": _prompt, "tool": _tool, "context": _context, "external": _external}


def propose(findings: Sequence[Mapping], executions: pd.DataFrame, actions: pd.DataFrame, *, day: date,
            reports: Sequence[Mapping] = (), prompt_text: Callable[[str, str, str], str | None] | None = None,
            gateway=None, populations: dict | None = None) -> list[Proposal]:
    """The proposals for ``findings`` (rows of ``root_cause_findings``: the keys of
    ``Finding.to_row``) over ``executions`` / ``actions`` (the frames of
    ``evaluation.data``: the findings' baseline and window; anything after ``day`` is
    ignored) and ``reports`` (evaluation report documents or stored rows), highest priority
    first (see the module docstring). ``prompt_text(agent_id, prompt_name, version)`` is the
    registered text (None: not registered — no prompt_change, a rollback still);
    ``gateway``: an ``LLMGateway`` to write prompt changes with (offline or None: the rules);
    ``populations``: filled with each proposal's execution ids."""
    parsed = [p for p in (_finding(f) for f in findings or ()) if p is not None]
    d = _data(executions, actions, day)
    recent = d.finished & (d.t >= (d.end - pd.Timedelta(days=SHARE_DAYS)).value)
    ctx = _Ctx(d, parsed, prompt_text, gateway, recent, {})
    made: list[Proposal] = []
    for f in sorted(parsed, key=lambda f: (f.start, f.finding_id)):
        gen = GENERATORS.get(f.category)
        if gen is None or f.confidence < MIN_CONFIDENCE or not len(d.ex):
            continue
        made += [p for p in gen(ctx, f) if p.kind in ALLOWED[f.category]]
    per_agent = {}
    for a in sorted(set(d.agent[recent])):
        per_agent[a] = ctx.blast(d.agent == a)
    made += sla_proposals(reports, findings, recent=per_agent)
    merged = merge(made, ctx.trace)
    if populations is not None:
        for p in merged:
            cur, ref = ctx.trace.get(id(p), ([], []))
            populations[p.proposal_id] = {"current": list(cur), "reference": list(ref)}
    return merged


def merge(proposals: Sequence[Proposal], trace: dict | None = None) -> list[Proposal]:
    """One proposal per ``dedup_key``: the one with a computed success-rate effect (else the
    highest-priority one) leads, with the group's highest priority, the others' findings,
    samples and reports joined into its evidence and their effects on other metrics in
    ``expected["also"]`` (a rollback that fixes failures and latency: both); highest priority
    first, the lower risk first among equals (a rollback before a new version)."""
    groups: dict[str, list[Proposal]] = {}
    for p in proposals:
        groups.setdefault(p.dedup_key, []).append(p)
    out = []
    for group in groups.values():
        group = sorted(group, key=lambda p: (p.expected.get("metric") != "success_rate" or
                                             p.expected.get("effect") is None, -p.priority, -p.confidence))
        head = group[0]
        if len(group) > 1:
            ev = dict(head.evidence)
            ev["finding_ids"] = list(dict.fromkeys(i for p in group for i in p.evidence.get("finding_ids") or []))
            ev["execution_ids"] = list(dict.fromkeys(i for p in group for i in p.evidence.get("execution_ids") or
                                                     []))[:MAX_SAMPLE]
            ev["findings"] = list({x["finding_id"]: x for p in group for x in p.evidence.get("findings") or []}.values())
            ev["cluster_key"] = next((p.evidence.get("cluster_key") for p in group if p.evidence.get("cluster_key")),
                                     None)
            ev["report"] = next((p.evidence.get("report") for p in group if p.evidence.get("report")), None)
            expected = dict(head.expected)
            also = [p.expected for p in group[1:] if p.expected.get("metric") != head.expected.get("metric")]
            if also:
                expected["also"] = list({e["metric"]: e for e in also}.values())
            merged = replace(head, evidence=ev, expected=expected, priority=max(p.priority for p in group))
            if trace is not None:
                trace[id(merged)] = trace.get(id(head), ([], []))
            head = merged
        out.append(head)
    return sorted(out, key=lambda p: (-p.priority, RISK_LEVELS.index(p.risk), p.dedup_key))

