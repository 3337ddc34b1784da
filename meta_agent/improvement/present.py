"""Proposals, decisions and learnings as rows and markdown a person reads — in the Dagster UI
(asset metadata), the CLI's tables and the demo. One wording everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meta_agent import units
from meta_agent.improvement.model import Proposal

METRIC_NAMES = {"success_rate": "success rate", "latency_p95_ms": "p95 latency", "latency_p50_ms": "p50 latency",
                "cost_per_execution_usd": "cost per execution", "cost_per_success_usd": "cost per success",
                "timeout_rate": "timeout rate", "human_intervention_rate": "human-intervention rate"}


def metric_name(metric: str | None) -> str:
    return METRIC_NAMES.get(str(metric), str(metric or "effect").replace("_", " "))


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def level(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return units.pct(value)
    if unit == "ms":
        return units.duration_ms(value)
    if unit == "usd":
        return units.usd(value)
    return units.number(value)


def delta(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    sign = "+" if value >= 0 else "−"
    if unit == "ratio":
        return f"{sign}{abs(value) * 100:.1f} pp"
    return sign + level(abs(value), unit)


def expected_text(expected: Mapping | None) -> str:
    """``success rate 70.1 % → 93.0 % (+22.9 pp, 95 % CI +19.8 pp to +25.6 pp)``."""
    e = expected or {}
    if e.get("effect") is None:
        return f"not quantified: {e.get('method') or 'no reference population'}"
    unit = e.get("unit", "")
    metric = metric_name(e.get("metric"))
    ci = ", no interval"
    if e.get("ci_low") is not None and e.get("ci_high") is not None:
        ci = f", {round(100 * e.get('confidence_level', 0.95))} % CI {delta(e['ci_low'], unit)} to {delta(e['ci_high'], unit)}"
    return f"{metric} {level(e.get('current'), unit)} → {level(e.get('expected'), unit)} ({delta(e['effect'], unit)}{ci})"


def blast_text(blast: Mapping | None, *, names: bool = False) -> str:
    """``12.0 % of traffic, 1 agent(s)``; with ``names`` the agents and executions per day too."""
    b = blast or {}
    agents = b.get("agents") or []
    share, per_day = b.get("traffic_share"), b.get("executions_per_day")
    text = f"{units.pct(share) if share is not None else 'unknown share'} of traffic, {len(agents)} agent(s)"
    if names:
        text += (f" ({', '.join(agents)})" if agents else "") + (
            f", {units.count(per_day)} executions/day" if isinstance(per_day, int | float) else "")
    return text


def proposal_rows(items: Iterable[Any]) -> list[dict]:
    """Proposals (``Proposal`` objects or stored rows) as table rows, highest priority first."""
    rows = []
    for p in items:
        pid = p.proposal_id if isinstance(p, Proposal) else p["proposal_id"]
        agents = _get(p, "agents") or []
        rows.append({"proposal": pid, "state": _get(p, "state", "proposed"), "kind": _get(p, "kind"),
                     "agent": _get(p, "agent_id") or ", ".join(agents), "title": _get(p, "title"),
                     "expected": expected_text(_get(p, "expected")), "risk": _get(p, "risk"),
                     "confidence": round(float(_get(p, "confidence", 0.0)), 3),
                     "blast_radius": blast_text(_get(p, "blast_radius")),
                     "priority": round(float(_get(p, "priority", 0.0)), 4),
                     "occurrences": int(_get(p, "occurrences", 1) or 1)})
    return sorted(rows, key=lambda r: -r["priority"])


def proposal_markdown(p: Any, *, with_diff: bool = True) -> str:
    """One proposal: the change, its expected effect, risk, blast radius, rollback, evidence."""
    pid = p.proposal_id if isinstance(p, Proposal) else p["proposal_id"]
    ev = _get(p, "evidence") or {}
    lines = [f"### {pid} · {_get(p, 'kind')} · {_get(p, 'agent_id') or ', '.join(_get(p, 'agents') or [])}",
             f"**{_get(p, 'title')}**", "", str(_get(p, "summary") or ""), "",
             f"- expected: {expected_text(_get(p, 'expected'))}",
             f"- method: {(_get(p, 'expected') or {}).get('method', '-')}",
             f"- risk: {_get(p, 'risk')} · confidence {float(_get(p, 'confidence', 0)):.0%} · "
             f"blast radius {blast_text(_get(p, 'blast_radius'))}",
             f"- rollback: {_get(p, 'rollback_plan')}",
             f"- evidence: findings {', '.join(ev.get('finding_ids') or []) or '-'}"
             + (f"; cluster {ev['cluster_key']}" if ev.get("cluster_key") else "")
             + (f"; executions {', '.join((ev.get('execution_ids') or [])[:3])}" if ev.get("execution_ids") else "")]
    diff = _get(p, "diff")
    if with_diff and diff:
        lines += ["", "```diff", diff.rstrip()[:4000], "```"]
    return "\n".join(lines)


def proposals_markdown(items: Iterable[Any], limit: int = 5) -> str:
    items = sorted(items, key=lambda p: -float(_get(p, "priority", 0.0)))
    if not items:
        return "_no proposals: the day's findings call for no change_"
    return "\n\n".join(proposal_markdown(p) for p in items[:limit])


def decision_rows(decisions: Iterable[Any]) -> list[dict]:
    return [{"proposal": _get(d, "proposal_id"), "from": _get(d, "from_state"), "to": _get(d, "to_state"),
             "by": _get(d, "reviewer") or _get(d, "actor"), "reason": _get(d, "reason")} for d in decisions]


def waiting_rows(rows: Iterable[Mapping]) -> list[dict]:
    return [{"proposal": r["proposal_id"], "kind": r["kind"], "agent": r["agent_id"] or ", ".join(r["agents"]),
             "risk": r["risk"], "title": r["title"], "why_waiting": r.get("why_waiting", "")} for r in rows]


def learning_rows(rows: Iterable[Mapping]) -> list[dict]:
    out = []
    for r in rows:
        unit = r.get("unit", "")
        ci = (f"{delta(r['ci_low'], unit)} to {delta(r['ci_high'], unit)}"
              if r.get("ci_low") is not None and r.get("ci_high") is not None else "-")
        out.append({"learning": r["learning_id"], "agent": r.get("agent_id") or "fleet", "title": r["title"],
                    "effect": f"{metric_name(r.get('metric'))} {delta(r.get('effect'), unit)}",
                    "interval": ci, "confidence": round(float(r.get("confidence", 0.0)), 3),
                    "confirmations": int(r.get("confirmations", 0)), "status": r.get("status")})
    return out


def applied_text(doc: Mapping | None) -> str:
    """What applying a proposal did, in a line (``workflow.apply``'s ``applied`` document)."""
    d = doc or {}
    if not d:
        return "not applied"
    if d.get("action") == "change_request":
        return f"change request for {d.get('owner')}: {d.get('handoff', '')}".strip()
    text = f"{d.get('agent_id')}/{d.get('prompt')} {d.get('prompt_version')} is the {d.get('label')}"
    if d.get("production"):
        text += f"; production {d['production'].get('from')} → {d['production'].get('to')}"
    return text
