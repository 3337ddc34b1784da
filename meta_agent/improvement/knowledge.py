"""The knowledge base of learnings: what a change did, where, how it was measured, how sure we are.

A **learning** is one change in one place: its key is the agent, the proposal kind and the
change's stable target (the proposal's ``dedup_key``, which already leaves out numbers that
move from day to day), so the same change measured again lands on the same row.

- ``measure_effect(executions, agent_id=, metric=, changed_at=)``: the metric on that agent in
  the ``window`` after the change against the ``window`` before it — rates (success, timeout,
  human intervention) with Newcombe's interval of the difference, latency quantiles with a
  percentile bootstrap, cost per execution with Welch's interval, cost per success with a
  bootstrap of the ratio (the functions of ``meta_agent.evaluation.stats``, as the evaluation
  report uses them). Fewer than ``stats.MIN_N`` executions on a side (or no variation) is
  *insufficient data*: ``effect`` None and ``method`` says why.
- ``record(conn, proposal=, measured=, source=)``: creates the learning, or adds the new
  measurement to it as a **confirmation** (its interval excludes 0 on the side of the
  learning's effect) or a **contradiction** (the opposite side, or an interval that includes 0:
  a null effect). Every call writes a ``learning_events`` row with the confidence before and
  after. A first measurement whose interval includes 0 creates the learning with one
  contradiction (the change was adopted for an effect the data do not show); the first
  measurement that excludes 0 then sets the effect the learning claims.
- ``decay(conn)``: recomputes every active learning's confidence with its age; one whose
  confidence is below ``deprecate_below``, or that has more contradictions than
  confirmations, is **deprecated** — kept, with its events, but left out of
  ``list_learnings``, ``search`` and ``suggest`` unless ``include_deprecated``. A person can
  ``deprecate`` or ``restore`` one by hand (with a reason, as an event); a restored learning is
  not deprecated again by ``decay`` until new contrary evidence arrives (its confidence still
  decays).
- ``search(conn, text)``: TF-IDF cosine (scikit-learn) over title, change, metric, agent,
  category and failure signature.
- ``suggest(conn, embed=)``: cross-agent applicability — for each active learning with a
  failure signature, the *other* agents whose current failure clusters (the latest
  ``failure_clusters`` day, resolved clusters left out) read like that signature: the cosine of
  the embeddings of the learning's signature and of the cluster's texts (its member
  signatures from ``failure_embeddings``, and its label with its top terms), the best text
  counting, at least ``threshold``. Offline ``embed`` is the gateway's feature hashing
  (``meta_agent.llm.embeddings.hashing_embed``); with a model, ``gateway.embed``. Both sides
  are embedded by the same function in the same call, so the stored vectors' model does not
  matter.

**The confidence model** (``confidence``): the posterior mean of a Beta(1, 1) prior updated
with the confirmations as successes and the contradictions as failures, times an age decay
that halves every ``half_life_days`` (default 90) since the learning was last *supported*
(created or confirmed — ``last_evidence_at``; a contradiction does not make it younger)::

    confidence = (1 + confirmations) / (2 + confirmations + contradictions)
                 × 0.5 ** (age_days / half_life_days)

So one confirmation is 2/3 on the day, 1/3 after 90 days; three confirmations and one
contradiction are 4/6; a confirmation always raises it (a higher mean, age back to 0), a
contradiction always lowers it. The stored ``confidence`` is as of ``updated_at``; ``decay``
keeps it current (a ``decayed`` event when it moved by ``min_change`` or more).

The learning keeps the effect and interval of its latest confirming measurement; every
measurement is in ``evidence["measurements"]`` and in the events. Functions that write take
a connection in the caller's transaction (``with engine.begin() as conn``); bad input raises
``InputError`` before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.evaluation import stats
from meta_agent.evaluation.report import FINDING_METRICS
from meta_agent.improvement.model import _plain
from meta_agent.llm.embeddings import hashing_embed
from meta_agent.store.schema_evaluation import (
    failure_cluster_members,
    failure_clusters,
    failure_embeddings,
)
from meta_agent.store.schema_improvement import learning_events, learnings

HALF_LIFE_DAYS = 90.0
DEPRECATE_BELOW = 0.2
MIN_CHANGE = 0.01  # decay writes an event when the confidence moved at least this much
DEFAULT_WINDOW = timedelta(days=7)
SUGGEST_THRESHOLD = 0.6
MAX_EXECUTION_IDS = 50  # evidence keeps a sample of execution ids
MAX_LIMIT = 10_000

# metric → (unit, how its effect is measured)
METRICS: dict[str, tuple[str, str]] = {
    "success_rate": ("ratio", "rate"),
    "timeout_rate": ("ratio", "rate"),
    "human_intervention_rate": ("ratio", "rate"),
    "latency_p50_ms": ("ms", "quantile"),
    "latency_p95_ms": ("ms", "quantile"),
    "cost_per_execution_usd": ("usd", "mean"),
    "cost_per_success_usd": ("usd", "ratio"),
}
_QUANTILE = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95}
_COLUMNS = {"rate": ("status", "human_intervention"), "quantile": ("status", "latency_ms"), "mean": ("cost_usd",),
            "ratio": ("status", "cost_usd")}
_TOKENS = r"(?u)[^\W_]+"  # letters and digits: "fetch_diff" is "fetch diff", "tool_call:x" is "tool call x"


# ------------------------------------------------------------------ the confidence model (pure)


def confidence(confirmations: int, contradictions: int, age_days: float, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """Beta(1, 1) posterior mean of the confirmations/contradictions × ``0.5 ** (age/half-life)``."""
    if confirmations < 0 or contradictions < 0:
        raise InputError(f"confirmations {confirmations} and contradictions {contradictions} must be ≥ 0.")
    _positive(half_life_days, "half_life_days")
    mean = (1 + confirmations) / (2 + confirmations + contradictions)
    return mean * 0.5 ** (max(0.0, float(age_days)) / half_life_days)


def outcome(claimed_effect: float | None, ci_low: float, ci_high: float) -> str:
    """``confirmed`` when the interval excludes 0 on the claimed effect's side (any side when
    nothing is claimed yet), ``contradicted`` otherwise (the other side, or a null effect)."""
    if ci_low <= 0 <= ci_high:
        return "contradicted"
    direction = 1 if ci_low > 0 else -1
    if claimed_effect is None or claimed_effect == 0:
        return "confirmed"
    return "confirmed" if direction == (1 if claimed_effect > 0 else -1) else "contradicted"


def deprecation_reason(conf: float, confirmations: int, contradictions: int,
                       deprecate_below: float = DEPRECATE_BELOW) -> str | None:
    """Why a learning should stop being surfaced, or None."""
    if contradictions > confirmations:
        return f"{contradictions} contradiction(s) against {confirmations} confirmation(s)"
    if conf < deprecate_below:
        return f"confidence {conf:.3f} is below {deprecate_below:g}"
    return None


def age_days(now: datetime, since: datetime) -> float:
    return max(0.0, (now - since).total_seconds() / 86400.0)


def learning_key(agent_id: str | None, kind: str, dedup_key: str) -> str:
    """``<kind>:<40 hex>`` of the agent and the change's stable target."""
    doc = json.dumps({"agent": agent_id, "kind": kind, "target": dedup_key}, sort_keys=True)
    return f"{kind}:{hashlib.sha256(doc.encode()).hexdigest()[:40]}"


def learning_id_of(key: str) -> str:
    return "learn-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def describe_change(kind: str, change: Mapping | None, applied: Mapping | None = None) -> str:
    """What changed, in words (from the proposal's ``change`` and what applying it did)."""
    c, a = dict(change or {}), dict(applied or {})

    def arrow(lo, hi) -> str:
        return f"{lo if lo is not None else '?'} → {hi if hi is not None else '?'}"

    if kind == "prompt_rollback":
        return (f"prompt {c.get('prompt', '?')} label {c.get('label', 'production')} rolled back "
                f"{arrow(c.get('from_version'), c.get('to_version'))}")
    if kind == "prompt_change":
        rules = [e.get("rule") for e in c.get("edits") or [] if isinstance(e, Mapping) and e.get("rule")]
        return (f"prompt {c.get('prompt', '?')} {arrow(c.get('base_version'), a.get('prompt_version') or 'new version')}"
                + (f" (edits: {', '.join(map(str, rules))})" if rules else ""))
    if kind == "tool_change":
        tool, action = c.get("tool", "?"), c.get("action", "?")
        if action == "pin":
            return f"tool {tool} pinned {arrow(c.get('from_version'), c.get('to_version'))}"
        if action == "add_retries":
            return f"tool {tool}: {c.get('retries', '?')} retries added"
        if action == "add_validation":
            return f"tool {tool}: validation of {', '.join(map(str, c.get('validate') or [])) or 'its output'} added"
        return f"tool {tool}: {action}"
    if kind == "config_change":
        model = f" for {c['model']}" if c.get("model") else ""
        return f"{c.get('setting', '?')}{model} {arrow(c.get('from'), c.get('to'))}"
    if kind == "sla_change":
        return f"SLA {c.get('metric', '?')} {arrow(c.get('from'), c.get('to'))}"
    return f"{kind}: {json.dumps(_plain(c), sort_keys=True)}"


# ------------------------------------------------------------------ measuring an adopted change


def canonical_metric(metric: str) -> str:
    name = FINDING_METRICS.get(str(metric).strip(), str(metric).strip())
    if name not in METRICS:
        raise InputError(f"metric '{metric}' cannot be measured from executions; use one of {', '.join(METRICS)}.")
    return name


def measure_effect(executions: pd.DataFrame, *, agent_id: str, metric: str, changed_at: datetime,
                   window: timedelta = DEFAULT_WINDOW, seed: int = 0) -> dict:
    """The metric of ``agent_id`` in ``[changed_at, changed_at + window)`` against
    ``[changed_at − window, changed_at)``: ``{metric, unit, before, after, effect (after −
    before), ci_low, ci_high (95 %), n_before, n_after, method, ...}``; ``effect`` None when the
    data are insufficient (``method`` says so)."""
    name = canonical_metric(metric)
    unit, family = METRICS[name]
    _aware(changed_at, "changed_at")
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise InputError(f"window {window!r} must be a positive timedelta (e.g. timedelta(days=7)).")
    needed = {"agent_id", "started_at", *_COLUMNS[family]}
    missing = sorted(needed - set(executions.columns))
    if missing:
        raise InputError(f"the executions frame has no column {', '.join(missing)}; load it with "
                         "meta_agent.evaluation.data.load_executions.")
    rows = executions[executions["agent_id"] == agent_id]
    t = pd.to_datetime(rows["started_at"], utc=True, format="ISO8601")
    before = rows[(t >= changed_at - window) & (t < changed_at)]
    after = rows[(t >= changed_at) & (t < changed_at + window)]
    change = _change(name, family, before, after, seed)
    enough = change.verdict != "insufficient data"
    method = f"{change.test}; interval: {change.interval}" if change.interval else change.test
    if not enough:
        method = (f"insufficient data: {change.n_before} executions before and {change.n_after} after the change "
                  f"(at least {stats.MIN_N} on each side, with some variation, are needed for {change.test})")
    return {
        "agent_id": agent_id, "metric": name, "unit": unit, "before": change.before, "after": change.after,
        "effect": change.delta if enough else None, "ci_low": change.ci_low if enough else None,
        "ci_high": change.ci_high if enough else None, "n_before": change.n_before, "n_after": change.n_after,
        "method": method, "p_value": change.p_value if enough else None, "significant": change.significant,
        "verdict": change.verdict, "confidence_level": 1 - stats.ALPHA, "changed_at": changed_at.isoformat(),
        "window_days": window.total_seconds() / 86400.0,
    }


def _change(name: str, family: str, a: pd.DataFrame, b: pd.DataFrame, seed: int) -> stats.Change:
    if family == "rate":
        if name == "human_intervention_rate":  # over every execution, as the report counts it
            xa, na = int(a["human_intervention"].fillna(False).astype(bool).sum()), len(a)
            xb, nb = int(b["human_intervention"].fillna(False).astype(bool).sum()), len(b)
        else:
            status = "success" if name == "success_rate" else "timeout"
            da, db = a[a["status"] != "cancelled"], b[b["status"] != "cancelled"]
            xa, na, xb, nb = int((da["status"] == status).sum()), len(da), int((db["status"] == status).sum()), len(db)
        return stats.two_proportion(xa, na, xb, nb, metric=name, higher_is_better=name == "success_rate")
    if family == "quantile":
        lat_a = a.loc[a["status"] != "cancelled", "latency_ms"].dropna().to_numpy(float)
        lat_b = b.loc[b["status"] != "cancelled", "latency_ms"].dropna().to_numpy(float)
        return stats.quantile_change(lat_a, lat_b, _QUANTILE[name], metric=name, seed=seed)
    cost_a, cost_b = a["cost_usd"].fillna(0.0).to_numpy(float), b["cost_usd"].fillna(0.0).to_numpy(float)
    if family == "mean":
        return stats.welch(cost_a, cost_b, metric=name, unit="usd", higher_is_better=False)
    ok_a, ok_b = (a["status"] == "success").to_numpy(float), (b["status"] == "success").to_numpy(float)
    return stats.ratio_change(cost_a, ok_a, cost_b, ok_b, metric=name, seed=seed)


# ------------------------------------------------------------------ recording evidence


def record(conn: sa.Connection, *, proposal: Mapping, measured: Mapping, source: str,
           execution_ids: Sequence[str] = (), failure_signature: str | None = None, now: datetime | None = None,
           half_life_days: float = HALF_LIFE_DAYS) -> dict:
    """Create the learning of an adopted proposal's measured effect, or confirm/contradict it.

    Returns ``{"action": "created" | "confirmed" | "contradicted", "outcome", "learning_id",
    "confidence_before", "confidence_after", "learning": the row}``.
    """
    now = _now(now)
    _positive(half_life_days, "half_life_days")
    for k in ("proposal_id", "dedup_key", "kind", "title"):
        if not proposal.get(k):
            raise InputError(f"proposal['{k}'] is missing; pass a row of improvement_proposals.")
    if not isinstance(source, str) or not source.strip():
        raise InputError("source is empty; name the evidence (the proposal id, the experiment, …).")
    m = _measurement(measured)
    agent = _agent_of(proposal, measured)
    key = learning_key(agent, proposal["kind"], proposal["dedup_key"])
    ids = [str(i) for i in execution_ids]
    signature = (failure_signature or "").strip() or None
    existing = _one(conn, learnings.c.learning_key == key)
    if existing is not None and existing["metric"] != m["metric"]:
        raise InputError(f"measured['metric'] '{m['metric']}' differs from the metric '{existing['metric']}' of "
                         f"learning {existing['learning_id']}; measure {existing['metric']} again.")
    claimed = existing["effect"] if existing is not None and existing["confirmations"] > 0 else None
    result = outcome(claimed, m["ci_low"], m["ci_high"])
    entry = {"at": now.isoformat(), "source": source, "proposal_id": proposal["proposal_id"], "outcome": result,
             **{k: measured.get(k) for k in ("metric", "unit", "before", "after", "effect", "ci_low", "ci_high",
                                              "n_before", "n_after", "method", "changed_at", "window_days")}}
    if existing is None:
        return _create(conn, key, agent, proposal, m, result, entry, source, ids, signature, now, half_life_days)
    conf_n = existing["confirmations"] + (result == "confirmed")
    contra_n = existing["contradictions"] + (result == "contradicted")
    before = confidence(existing["confirmations"], existing["contradictions"],
                        age_days(now, existing["last_evidence_at"]), half_life_days)
    last = now if result == "confirmed" else existing["last_evidence_at"]
    after = confidence(conf_n, contra_n, age_days(now, last), half_life_days)
    evidence = _merge_evidence(existing["evidence"], proposal, source, ids, entry)
    values: dict[str, Any] = {"confirmations": conf_n, "contradictions": contra_n, "confidence": after,
                              "evidence": evidence, "updated_at": now, "last_evidence_at": last}
    if result == "confirmed":
        values.update(effect=m["effect"], ci_low=m["ci_low"], ci_high=m["ci_high"], unit=m["unit"])
    if signature:
        values["failure_signature"] = signature
    conn.execute(learnings.update().where(learnings.c.learning_id == existing["learning_id"]).values(**values))
    _event(conn, existing["learning_id"], result, m, before, after, source,
           {"proposal_id": proposal["proposal_id"], "execution_ids": len(ids), "status": existing["status"]}, now)
    return {"action": result, "outcome": result, "learning_id": existing["learning_id"], "confidence_before": before,
            "confidence_after": after, "learning": _one(conn, learnings.c.learning_id == existing["learning_id"])}


def _create(conn, key, agent, proposal, m, result, entry, source, ids, signature, now, half_life_days) -> dict:
    confirmations, contradictions = (1, 0) if result == "confirmed" else (0, 1)
    conf = confidence(confirmations, contradictions, 0.0, half_life_days)
    learning_id = learning_id_of(key)
    category = proposal.get("category") or (proposal.get("evidence") or {}).get("category") or "unknown"
    row = {
        "learning_id": learning_id, "learning_key": key, "agent_id": agent, "category": str(category),
        "kind": proposal["kind"], "title": str(proposal["title"]),
        "change": describe_change(proposal["kind"], proposal.get("change"), proposal.get("applied")),
        "metric": m["metric"], "unit": m["unit"], "effect": m["effect"], "ci_low": m["ci_low"],
        "ci_high": m["ci_high"], "confidence": conf, "confirmations": confirmations,
        "contradictions": contradictions, "status": "active", "failure_signature": signature,
        "evidence": _merge_evidence(None, proposal, source, ids, entry), "created_at": now, "updated_at": now,
        "last_evidence_at": now,
    }
    conn.execute(learnings.insert().values(**row))
    _event(conn, learning_id, "created", m, None, conf, source,
           {"proposal_id": proposal["proposal_id"], "outcome": result, "execution_ids": len(ids)}, now)
    return {"action": "created", "outcome": result, "learning_id": learning_id, "confidence_before": None,
            "confidence_after": conf, "learning": _one(conn, learnings.c.learning_id == learning_id)}


def _measurement(measured: Mapping) -> dict:
    if not isinstance(measured, Mapping):
        raise InputError(f"measured must be the dict measure_effect returns, not {type(measured).__name__}.")
    metric = canonical_metric(measured.get("metric") or "")
    if measured.get("effect") is None:
        raise InputError(f"measured['effect'] is None ({measured.get('method') or 'no effect measured'}); nothing "
                         "to learn yet — measure over a longer window or once more executions ran.")
    out = {"metric": metric, "unit": measured.get("unit") or METRICS[metric][0]}
    for k in ("effect", "ci_low", "ci_high"):
        v = measured.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not math.isfinite(float(v)):
            raise InputError(f"measured['{k}'] is {v!r}; an effect needs a finite number and its interval "
                             "(ci_low, ci_high) — use measure_effect.")
        out[k] = float(v)
    if out["ci_low"] > out["ci_high"]:
        raise InputError(f"measured ci_low {out['ci_low']} is above ci_high {out['ci_high']}; give the interval "
                         "low first.")
    return out


def _agent_of(proposal: Mapping, measured: Mapping) -> str | None:
    agent = measured.get("agent_id") or proposal.get("agent_id")
    scope = [proposal["agent_id"]] if proposal.get("agent_id") else list(proposal.get("agents") or [])
    if agent and scope and agent not in scope:
        raise InputError(f"measured['agent_id'] '{agent}' is not an agent of proposal {proposal['proposal_id']} "
                         f"({', '.join(scope)}); measure the effect on an agent the change was made for.")
    return agent


def _merge_evidence(evidence: Mapping | None, proposal: Mapping, source: str, ids: list[str], entry: dict) -> dict:
    ev = dict(evidence or {})

    def add(key: str, values) -> None:
        ev[key] = list(dict.fromkeys([*(ev.get(key) or []), *values]))

    pev = proposal.get("evidence") or {}
    add("proposal_ids", [proposal["proposal_id"]])
    add("sources", [source])
    add("finding_ids", pev.get("finding_ids") or [])
    if pev.get("cluster_key"):
        add("cluster_keys", [pev["cluster_key"]])
    add("execution_ids", ids)
    ev["execution_ids"] = ev["execution_ids"][-MAX_EXECUTION_IDS:]
    ev["measurements"] = [*(ev.get("measurements") or []), entry]
    return _plain(ev)


def _event(conn, learning_id: str, kind: str, m: Mapping | None, before: float | None, after: float,
           source: str, details: dict | None, now: datetime) -> None:
    conn.execute(learning_events.insert().values(
        learning_id=learning_id, kind=kind, effect=m and m.get("effect"), ci_low=m and m.get("ci_low"),
        ci_high=m and m.get("ci_high"), confidence_before=before, confidence_after=after, source=source[:128],
        details=_plain(details) if details else None, at=now))


# ------------------------------------------------------------------ age, deprecation, restoration


def decay(conn: sa.Connection, *, now: datetime | None = None, half_life_days: float = HALF_LIFE_DAYS,
          deprecate_below: float = DEPRECATE_BELOW, min_change: float = MIN_CHANGE) -> list[dict]:
    """Recompute the active learnings' confidence as of ``now``; deprecate those that fall below
    ``deprecate_below`` or have more contradictions than confirmations. Returns one
    ``{learning_id, kind: decayed | deprecated, confidence_before, confidence_after, reason}``
    per learning that changed (an event each)."""
    now = _now(now)
    _positive(half_life_days, "half_life_days")
    if not 0 <= deprecate_below < 1:
        raise InputError(f"deprecate_below {deprecate_below} must be in [0, 1).")
    if min_change < 0:
        raise InputError(f"min_change {min_change} must be ≥ 0.")
    out = []
    rows = conn.execute(sa.select(learnings).where(learnings.c.status == "active")
                        .order_by(learnings.c.learning_id)).mappings().all()
    for r in rows:
        conf = confidence(r["confirmations"], r["contradictions"], age_days(now, r["last_evidence_at"]),
                          half_life_days)
        reason = deprecation_reason(conf, r["confirmations"], r["contradictions"], deprecate_below)
        restored = (r["evidence"] or {}).get("restored")
        if reason and restored and restored.get("contradictions") == r["contradictions"]:
            reason = None  # a person restored it and nothing contradicted it since
        if reason is None and abs(conf - r["confidence"]) < min_change:
            continue
        kind = "deprecated" if reason else "decayed"
        values: dict[str, Any] = {"confidence": conf, "updated_at": now}
        if reason:
            values["status"] = "deprecated"
        conn.execute(learnings.update().where(learnings.c.learning_id == r["learning_id"]).values(**values))
        details = {"age_days": round(age_days(now, r["last_evidence_at"]), 3), "half_life_days": half_life_days}
        if reason:
            details["reason"] = reason
        _event(conn, r["learning_id"], kind, None, r["confidence"], conf, "decay", details, now)
        out.append({"learning_id": r["learning_id"], "kind": kind, "confidence_before": r["confidence"],
                    "confidence_after": conf, "reason": reason})
    return out


def deprecate(conn: sa.Connection, learning_id: str, *, reason: str, actor: str, now: datetime | None = None) -> dict:
    """A person stops a learning from being surfaced (kept, with an event)."""
    return _set_status(conn, learning_id, "deprecated", reason, actor, _now(now))


def restore(conn: sa.Connection, learning_id: str, *, reason: str, actor: str, now: datetime | None = None) -> dict:
    """A person brings a deprecated learning back; ``decay`` leaves it active until new contrary evidence."""
    return _set_status(conn, learning_id, "active", reason, actor, _now(now))


def _set_status(conn, learning_id: str, status: str, reason: str, actor: str, now: datetime) -> dict:
    verb = "deprecate" if status == "deprecated" else "restore"
    if not isinstance(reason, str) or not reason.strip():
        raise InputError(f"--reason is empty; say why you {verb} {learning_id} (it is kept in its events).")
    if not isinstance(actor, str) or not actor.strip():
        raise InputError("the actor is empty; give a name (--by).")
    row = _one(conn, learnings.c.learning_id == learning_id)
    if row is None:
        raise InputError(f"no learning '{learning_id}'; `meta-agent learnings list --all` shows their ids.")
    if row["status"] == status:
        raise InputError(f"learning {learning_id} is already {status}; nothing to {verb}.")
    evidence = dict(row["evidence"] or {})
    if status == "active":
        evidence["restored"] = {"by": actor, "at": now.isoformat(), "reason": reason,
                                "contradictions": row["contradictions"]}
    else:
        evidence.pop("restored", None)
    conn.execute(learnings.update().where(learnings.c.learning_id == learning_id)
                 .values(status=status, evidence=_plain(evidence), updated_at=now))
    _event(conn, learning_id, "restored" if status == "active" else "deprecated", None, row["confidence"],
           row["confidence"], actor, {"actor": actor, "reason": reason}, now)
    return get(conn, learning_id)


# ------------------------------------------------------------------ reading


def list_learnings(conn: sa.Connection, *, agent: str | None = None, include_deprecated: bool = False,
                   limit: int = 100) -> list[dict]:
    """Learnings, most confident first (active ones only unless ``include_deprecated``)."""
    _limit(limit)
    q = sa.select(learnings)
    if not include_deprecated:
        q = q.where(learnings.c.status == "active")
    if agent is not None:
        q = q.where(learnings.c.agent_id == agent)
    q = q.order_by(learnings.c.confidence.desc(), learnings.c.updated_at.desc(), learnings.c.learning_id)
    return [dict(r) for r in conn.execute(q.limit(limit)).mappings()]


def get(conn: sa.Connection, learning_id: str) -> dict | None:
    """One learning with its events (oldest first), deprecated or not; None when unknown."""
    row = _one(conn, learnings.c.learning_id == learning_id)
    if row is None:
        return None
    events = conn.execute(sa.select(learning_events).where(learning_events.c.learning_id == learning_id)
                          .order_by(learning_events.c.at, learning_events.c.event_id)).mappings()
    return {**row, "events": [dict(e) for e in events]}


def search_text(row: Mapping) -> str:
    """What ``search`` matches a learning by."""
    return " ".join(str(row.get(k) or "") for k in ("title", "change", "metric", "agent_id", "category", "kind",
                                                     "failure_signature"))


def rank(documents: Sequence[str], query: str) -> list[tuple[int, float]]:
    """``(index, cosine)`` of the documents that share a term with the query, best first
    (TF-IDF of word uni- and bigrams fitted on the documents, sublinear tf)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # local: ~1.4 s to import

    vectorizer = TfidfVectorizer(token_pattern=_TOKENS, ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    if not query or not query.strip() or not vectorizer.build_analyzer()(query):
        raise InputError(f"the search text {query!r} has no words; give a few (e.g. 'timeout fetch_diff').")
    if not documents:
        return []
    matrix = vectorizer.fit_transform(list(documents))
    scores = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
    order = sorted((i for i in range(len(scores)) if scores[i] > 0), key=lambda i: (-scores[i], i))
    return [(i, float(scores[i])) for i in order]


def search(conn: sa.Connection, text: str, *, limit: int = 10, include_deprecated: bool = False) -> list[dict]:
    """Learnings ranked by TF-IDF cosine with ``text`` (ties: the more confident first); each row has ``score``."""
    _limit(limit)
    q = sa.select(learnings)
    if not include_deprecated:
        q = q.where(learnings.c.status == "active")
    rows = [dict(r) for r in conn.execute(q.order_by(learnings.c.confidence.desc(), learnings.c.learning_id))
            .mappings()]
    ranked = rank([search_text(r) for r in rows], text)
    return [{**rows[i], "score": s} for i, s in ranked[:limit]]


# ------------------------------------------------------------------ cross-agent applicability


def best_matches(learning_vectors: np.ndarray, text_vectors: np.ndarray, text_cluster: Sequence[int],
                 n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Per learning × cluster, the best cosine over the cluster's texts and which text gave it:
    ``(similarity (L, C) with -inf where a cluster has no text, text index (L, C) or -1)``."""
    lv, tv = _unit(learning_vectors), _unit(text_vectors)
    sims = lv @ tv.T if len(lv) and len(tv) else np.zeros((len(lv), len(tv)))
    best = np.full((len(lv), n_clusters), -np.inf)
    which = np.full((len(lv), n_clusters), -1, dtype=np.int64)
    for t, c in enumerate(text_cluster):
        better = sims[:, t] > best[:, c]
        best[better, c] = sims[better, t]
        which[better, c] = t
    return best, which


def suggest(conn: sa.Connection, *, embed: Callable[[list[str]], np.ndarray] = hashing_embed,
            threshold: float = SUGGEST_THRESHOLD, day: date | None = None,
            include_deprecated: bool = False) -> list[dict]:
    """Learnings worth trying on other agents: their failure signature reads like one of that
    agent's current failure clusters (cosine ≥ ``threshold``). One row per learning × agent (its
    best cluster), most similar first: ``learning_id, title, from_agent, to_agent, similarity,
    cluster_key, cluster_label, matched (the text that matched), failures (the agent's in that
    cluster), metric, effect, ci_low, ci_high, confidence, why``."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        raise InputError(f"threshold {threshold!r} must be a cosine in (0, 1] (default {SUGGEST_THRESHOLD}).")
    q = sa.select(learnings).where(learnings.c.failure_signature.is_not(None))
    if not include_deprecated:
        q = q.where(learnings.c.status == "active")
    found = [dict(r) for r in conn.execute(q.order_by(learnings.c.learning_id)).mappings()]
    day = day or conn.execute(sa.select(sa.func.max(failure_clusters.c.day))).scalar()
    if not found or day is None:
        return []
    clusters = [dict(r) for r in conn.execute(
        sa.select(failure_clusters).where(failure_clusters.c.day == day, failure_clusters.c.trend != "resolved")
        .order_by(failure_clusters.c.cluster_key)).mappings()]
    if not clusters:
        return []
    texts, text_cluster = _cluster_texts(conn, day, clusters)
    vectors = _embed(embed, [*[r["failure_signature"] for r in found], *texts])
    best, which = best_matches(vectors[:len(found)], vectors[len(found):], text_cluster, len(clusters))
    chosen: dict[tuple[str, str], dict] = {}
    for i, learning in enumerate(found):
        for j, cluster in enumerate(clusters):
            sim = float(best[i, j])
            if not sim >= threshold - 1e-9:
                continue
            for agent, n in sorted((cluster["agents"] or {}).items()):
                if agent == learning["agent_id"]:
                    continue
                key = (learning["learning_id"], agent)
                if key in chosen and chosen[key]["similarity"] >= sim:
                    continue
                chosen[key] = _suggestion(learning, cluster, agent, int(n), sim, texts[which[i, j]], day)
    return sorted(chosen.values(), key=lambda s: (-s["similarity"], -s["confidence"], s["learning_id"], s["to_agent"]))


def _cluster_texts(conn, day: date, clusters: list[dict]) -> tuple[list[str], list[int]]:
    """Each cluster's distinct texts: member signatures (members of the day, and the samples),
    and its label with its top terms."""
    index = {c["cluster_key"]: j for j, c in enumerate(clusters)}
    per: list[dict[str, None]] = [{} for _ in clusters]
    members = conn.execute(
        sa.select(failure_cluster_members.c.cluster_key, failure_embeddings.c.signature).distinct()
        .join(failure_embeddings, failure_embeddings.c.execution_id == failure_cluster_members.c.execution_id)
        .where(failure_cluster_members.c.day == day))
    for key, sig in members:
        if key in index:
            per[index[key]][sig] = None
    samples = {str(e): c["cluster_key"] for c in clusters for e in c["sample_execution_ids"] or []}
    ids = list(samples)
    for lo in range(0, len(ids), 500):
        for eid, sig in conn.execute(sa.select(failure_embeddings.c.execution_id, failure_embeddings.c.signature)
                                     .where(failure_embeddings.c.execution_id.in_(ids[lo:lo + 500]))):
            per[index[samples[eid]]][sig] = None
    for j, c in enumerate(clusters):
        per[j][" ".join([c["label"], *map(str, c["top_terms"] or [])])] = None
    texts = [t for group in per for t in group]
    return texts, [j for j, group in enumerate(per) for _ in group]


def _suggestion(learning: dict, cluster: dict, agent: str, n: int, sim: float, matched: str, day: date) -> dict:
    where = learning["agent_id"] or "the fleet"
    effect = _fmt_effect(learning)
    why = (f"{agent}'s failure cluster {cluster['cluster_key']} ('{cluster['label']}', {n} of its failures in the "
           f"window ending {day}) reads like the failure that '{learning['title']}' fixed on {where} "
           f"(cosine {sim:.2f}); measured there: {learning['metric']} {effect}, confidence "
           f"{learning['confidence']:.2f}.")
    return {"learning_id": learning["learning_id"], "title": learning["title"], "from_agent": learning["agent_id"],
            "to_agent": agent, "similarity": sim, "cluster_key": cluster["cluster_key"],
            "cluster_label": cluster["label"], "cluster_day": day, "matched": matched, "failures": n,
            "metric": learning["metric"], "effect": learning["effect"], "ci_low": learning["ci_low"],
            "ci_high": learning["ci_high"], "confidence": learning["confidence"], "why": why}


def _fmt_effect(learning: Mapping) -> str:
    e, lo, hi = learning["effect"], learning["ci_low"], learning["ci_high"]
    interval = f" [{lo:+.4g}, {hi:+.4g}]" if lo is not None and hi is not None else ""
    return f"{e:+.4g}{interval} {learning['unit']}"


def _embed(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    vectors = np.asarray(embed(list(texts)), dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise ValueError(f"embed returned {vectors.shape} vectors for {len(texts)} texts")
    return vectors


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2:
        m = m.reshape(len(m), -1)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


# ------------------------------------------------------------------ helpers


def _one(conn, where) -> dict | None:
    row = conn.execute(sa.select(learnings).where(where)).mappings().first()
    return None if row is None else dict(row)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return _aware(now, "now")


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InputError(f"{name} {value!r} must be a timezone-aware datetime (e.g. datetime(..., tzinfo=UTC)).")
    return value


def _positive(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        raise InputError(f"{name} {value!r} must be a positive number of days (default {HALF_LIFE_DAYS:g}).")


def _limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit {limit!r} must be a whole number from 1 to {MAX_LIMIT}.")
