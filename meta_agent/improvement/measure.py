"""Proposals on labelled fleets: the proposal made for each planted incident, and its expected
effect against the true effect of the incident.

``measure_fleet(fleet, profiles)`` takes a labelled fleet (``meta_agent.fleet.labelled``:
records, incidents, ``execution_labels``; built by the caller — the fleet package imports
this one, so this module never imports it back) and judges each incident in its daily
partition (``rootcause.incident_window_end``) the way the daily pipeline judges it: the
window's failure clusters (``rootcause.window_clusters``), ``rootcause.find_root_causes``,
then ``proposals.propose`` on that day's findings with only the executions up to that day
(and ``prompt_text``, the registered texts, so prompt changes are written too). An
incident's findings are those ``calibration.match`` assigns to it; its proposals, those
citing one of them. ``scripts/measure_proposals.py`` runs it over seeds (held-out 201-203 by
default, as ``scripts/train_rootcause.py`` keeps them) and prints the table.

**The true effect** (ground truth, independent of the proposal's statistics): the simulator
labels every failure an incident caused (``LabelledFleet.execution_labels``). Taking the
incident away turns exactly those executions back into what they would have been without
it — for a prompt or tool incident, successes (the simulator only fails executions that
would have succeeded) — so the true effect of undoing it on the success rate of the
proposal's *current* population (the executions the expected effect was computed on,
``propose(populations=…)``) is

    true effect = Σ P(would have succeeded) over the executions of that population the
                  incident made fail  /  (executions in it).

``P(would have succeeded)`` is 1 for ``prompt_regression``, ``tool_failure`` and
``empty_retrieval`` (the simulator fails only executions that would have succeeded: the
true effect is exactly the incident's failures over the population). Outages and rate-limit
storms hit any execution, overflows successes and ordinary failures alike, so for those it
is the agent's planted background probability (its profile: ``1 − failure_rate −
timeout_rate − CANCELLED``; overflows: given success or failure) — the share of those
executions the incident actually cost.

A proposal is **inside** when ``ci_low ≤ true effect ≤ ci_high`` of its ``expected``. Each
incident is scored on its *main* proposal: of those on the success rate with a computed
effect, the first by kind (``MAIN_FIRST``: rollback, tool change, config change, prompt
change), then by priority; the coverage also counts every one of them. The goal: every prompt and tool incident inside.
Context and external incidents are shown the same way (their fixes restore "at most" the
reference level, and ``method`` says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import pandas as pd

from meta_agent.evaluation import calibration, clusters, rootcause
from meta_agent.evaluation.data import day_start, frames_from_records
from meta_agent.improvement.proposals import propose

SEEDS = (201, 202, 203)
CANCELLED = 0.003  # the share of executions the simulator cancels (simulate._agent_day)
ANY_STATUS = ("provider_outage", "rate_limit_storm")  # kinds that fail an execution whatever it would have been
SUCCESS_OR_FAILURE = ("context_overflow",)  # kinds that fail successes and ordinary failures
MAIN_FIRST = ("prompt_rollback", "tool_change", "config_change", "prompt_change", "sla_change")


def would_succeed(kind: str, profile) -> float:
    """P(an execution the incident made fail would have succeeded without it), from the
    agent's planted background rates (``profile.failure_rate``, ``profile.timeout_rate``;
    see the module docstring)."""
    success = 1.0 - profile.failure_rate - profile.timeout_rate - CANCELLED
    if kind in ANY_STATUS:
        return success
    if kind in SUCCESS_OR_FAILURE:
        return success / (success + profile.failure_rate)
    return 1.0


def true_effect(current_ids: Sequence[str], labels: Mapping[str, str], incident_id: str,
                success: Mapping[str, float] | None = None) -> float | None:
    """The true effect of undoing the incident on the success rate of ``current_ids``:
    its failures among them, each weighted by ``success[execution_id]`` (P(would have
    succeeded); 1 when not given), over their number (see the module docstring)."""
    if not current_ids:
        return None
    hits = [i for i in current_ids if labels.get(i) == incident_id]
    return sum(1.0 if success is None else success.get(i, 1.0) for i in hits) / len(current_ids)


@dataclass
class IncidentResult:
    seed: int
    incident_id: str
    kind: str
    category: str
    agents: list[str]
    window_end: str
    finding_ids: list[str] = field(default_factory=list)
    found: str | None = None  # the category found
    kinds: list[str] = field(default_factory=list)  # the kinds of its proposals
    main: dict | None = None  # {kind, title, expected, risk, priority}
    true_effect: float | None = None
    inside: bool | None = None  # None: nothing to compare (no finding, no quantified proposal)
    others: list[dict] = field(default_factory=list)  # every other success-rate proposal: kind, ci, true, inside
    violations: list[str] = field(default_factory=list)  # a prompt edit proposed for an external incident


def _main(props: list) -> object | None:
    quantified = [p for p in props if p.expected.get("metric") == "success_rate" and p.expected.get("effect") is
                  not None]
    if not quantified:
        return None
    return min(quantified, key=lambda p: (MAIN_FIRST.index(p.kind), -p.priority))


def _inside(expected: Mapping, truth: float | None) -> bool | None:
    if truth is None or expected.get("ci_low") is None:
        return None
    return bool(expected["ci_low"] - 1e-12 <= truth <= expected["ci_high"] + 1e-12)


def measure_fleet(lf, profiles: Mapping[str, object], *, categories: Sequence[str] | None = None,
                  prompt_text: Callable[[str, str, str], str | None] | None = None,
                  gateway=None, made: list | None = None) -> list[IncidentResult]:
    """Every incident of the labelled fleet ``lf`` (of ``categories``, default all) with its
    proposals, their expected effects and the true ones. ``profiles``: ``{agent_id: its
    AgentProfile}`` (the planted background rates). ``made``, when given, receives every
    proposal of every judged day (the batch the approval rules are measured on)."""
    seed = lf.seed
    ex, act = frames_from_records(lf.records)
    agent_of = dict(zip(ex["execution_id"], ex["agent_id"], strict=True))
    incidents = list(lf.incidents)
    last = pd.Timestamp(ex["started_at"].max()).date()
    judged = [i for i in incidents if categories is None or i.category in categories]
    ends: dict[date, list] = {}
    for inc in judged:
        ends.setdefault(rootcause.incident_window_end(inc, last), []).append(inc)
    clusters_for = rootcause.window_clusters(ex, act, clusters.cluster_failures)
    index = {inc.incident_id: i for i, inc in enumerate(incidents)}
    out = []
    for we in sorted(ends):
        found = rootcause.find_root_causes(ex, act, clusters_for(we), window_end=we)
        per_finding, best = calibration.match(found, incidents, day_start(we + timedelta(days=1)), lf.execution_labels)
        pops: dict = {}
        props = propose([f.to_row(we) for f in found], ex, act, day=we, prompt_text=prompt_text,
                        gateway=gateway, populations=pops)
        if made is not None:
            made.extend(props)
        for inc in ends[we]:
            ii = index[inc.incident_id]
            p_ok = {e: would_succeed(inc.kind, profiles[agent_of[e]]) for e, i in lf.execution_labels.items()
                    if i == inc.incident_id}
            ids = {found[k].finding_id for k, m in enumerate(per_finding) if m == ii}
            r = IncidentResult(seed, inc.incident_id, inc.kind, inc.category, list(inc.agents), we.isoformat(),
                               sorted(ids), found[best[ii]].category if ii in best else None)
            mine = [p for p in props if ids & set(p.evidence.get("finding_ids") or [])]
            r.kinds = sorted({p.kind for p in mine})
            if inc.category == "external":
                r.violations = [p.title for p in mine if p.kind.startswith("prompt")]
            for p in sorted(mine, key=lambda p: -p.priority):
                if p.expected.get("metric") != "success_rate":
                    continue
                truth = true_effect(pops[p.proposal_id]["current"], lf.execution_labels, inc.incident_id, p_ok)
                r.others.append({"kind": p.kind, "title": p.title, "effect": p.expected.get("effect"),
                                 "ci_low": p.expected.get("ci_low"), "ci_high": p.expected.get("ci_high"),
                                 "true_effect": truth, "inside": _inside(p.expected, truth)})
            main = _main(mine)
            if main is not None:
                r.main = {"kind": main.kind, "title": main.title, "expected": main.expected, "risk": main.risk,
                          "priority": main.priority, "confidence": main.confidence,
                          "blast_radius": main.blast_radius}
                r.true_effect = true_effect(pops[main.proposal_id]["current"], lf.execution_labels, inc.incident_id,
                                            p_ok)
                r.inside = _inside(main.expected, r.true_effect)
            out.append(r)
    return out


def coverage(results: Sequence[IncidentResult]) -> dict[str, dict]:
    """Per category: incidents, with a finding, with a proposal, with a quantified main
    proposal, inside its interval, and the share inside (of the quantified); the same over
    every success-rate proposal of the incidents (``proposals_*``)."""
    out: dict[str, dict] = {}
    for r in results:
        c = out.setdefault(r.category, {"incidents": 0, "found": 0, "proposed": 0, "quantified": 0, "inside": 0,
                                        "violations": 0, "proposals_quantified": 0, "proposals_inside": 0})
        c["incidents"] += 1
        c["found"] += bool(r.finding_ids)
        c["proposed"] += bool(r.kinds)
        c["quantified"] += r.inside is not None
        c["inside"] += bool(r.inside)
        c["violations"] += len(r.violations)
        c["proposals_quantified"] += sum(o["inside"] is not None for o in r.others)
        c["proposals_inside"] += sum(bool(o["inside"]) for o in r.others)
    for c in out.values():
        c["coverage"] = c["inside"] / c["quantified"] if c["quantified"] else None
    return dict(sorted(out.items()))


def _pp(v: float | None) -> str:
    return "   n/a" if v is None else f"{v * 100:+.1f}"


def table(results: Sequence[IncidentResult]) -> str:
    """The figures as text: one line per incident, then the coverage per category."""
    head = f"{'seed':>4}  {'incident':<26} {'category (found)':<20} {'proposals':<44} " \
           f"{'expected [95 % CI] pp':<26} {'true pp':>7}  inside"
    lines = [head, "-" * len(head)]
    for r in results:
        if r.main:
            e = r.main["expected"]
            exp = f"{_pp(e['effect'])} [{_pp(e['ci_low'])}, {_pp(e['ci_high'])}]"
        else:
            exp = "no finding" if not r.finding_ids else "no proposal" if not r.kinds else "not quantified"
        inside = "-" if r.inside is None else ("yes" if r.inside else "NO")
        kinds = ",".join(r.kinds) or "none"
        cat = f"{r.category} ({r.found or 'missed'})"
        lines.append(f"{r.seed:>4}  {r.incident_id:<26} {cat:<20} {kinds:<44} {exp:<26} "
                     f"{_pp(r.true_effect):>7}  {inside}" + (f"  VIOLATION: {r.violations}" if r.violations else ""))
    lines.append("")
    lines.append("coverage per category (true effect inside the main proposal's interval):")
    for cat, c in coverage(results).items():
        share = "n/a" if c["coverage"] is None else f"{c['coverage'] * 100:.0f} %"
        lines.append(f"  {cat:<9} {c['inside']}/{c['quantified']} inside ({share}); {c['incidents']} incidents, "
                     f"{c['found']} found, {c['proposed']} with a proposal; every success-rate proposal: "
                     f"{c['proposals_inside']}/{c['proposals_quantified']} inside; {c['violations']} prompt edits "
                     "for external causes")
    return "\n".join(lines)


def to_json(results: Sequence[IncidentResult]) -> dict:
    return {"incidents": [asdict(r) for r in results], "coverage": coverage(results)}
