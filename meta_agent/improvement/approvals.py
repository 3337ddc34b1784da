"""Auto-approval: the rules of ``config/approvals.yaml``, what they decide, and how often.

A proposal is auto-approved by the first rule it satisfies — every condition of that rule:
its risk and kind are listed, its confidence is at least ``min_confidence``, its blast radius
touches at most ``max_traffic_share`` of the fleet's executions and ``max_agents`` agents —
unless a ``never_auto`` guard stops it first. High risk is always such a guard (the file must
say so, and the code holds to it even if it did not): every high-risk proposal goes to a
person. Auto-approval is a ``workflow`` move like a person's, with actor ``auto:<rule>`` and the
rule's explanation as the reason, so the audit trail says which rule approved what and why.

Auto-approving a prompt change does not touch production: applying an approved proposal makes
a ``candidate`` version (see ``workflow.apply``).

``rates`` measures the roadmap's target — 85-95 % of low-risk proposals auto-approved, every
high-risk one routed to a person — over any set of proposal rows.

Every problem in the file is one ``InputError`` naming the file, the line, the field and the
fix: ``config/approvals.yaml:12: rules[0].min_confidence: must be a number from 0 to 1 (got
1.5); …``.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from meta_agent import config
from meta_agent.errors import InputError
from meta_agent.improvement import workflow
from meta_agent.store.schema_improvement import PROPOSAL_KINDS, RISK_LEVELS
from meta_agent.yaml_nodes import compose, fail, is_null, mapping, read

APPROVALS_FILE = "approvals.yaml"
ALWAYS_TO_A_PERSON = ("high",)  # risks no file can let a rule approve
TARGET_LOW_RISK_AUTO = (0.85, 0.95)
TARGET_HIGH_RISK_TO_PERSON = 1.0
TOP_KEYS = ("version", "expire_after_days", "never_auto", "rules")
NEVER_KEYS = ("risk", "kinds")
RULE_KEYS = ("name", "description", "risk", "kinds", "min_confidence", "max_traffic_share", "max_agents")
RULE_REQUIRED = ("name", "risk", "kinds", "min_confidence")
DEFAULT_EXPIRE_DAYS = 14
MAX_EXPIRE_DAYS = 365


@dataclass(frozen=True)
class Rule:
    name: str
    risks: tuple[str, ...]
    kinds: tuple[str, ...]
    min_confidence: float
    max_traffic_share: float | None = None  # None: no limit
    max_agents: int | None = None  # None: no limit
    description: str = ""
    line: int | None = None  # where it is defined in the file

    def checks(self, row: Mapping) -> list[tuple[str, bool, str]]:
        """Each condition as (name, met, readable text)."""
        risk, kind, conf = row.get("risk"), row.get("kind"), _float(row.get("confidence"))
        conf_ok = conf is not None and conf >= self.min_confidence
        out = [("risk", risk in self.risks,
                f"risk {risk} {'in' if risk in self.risks else 'not in'} [{', '.join(self.risks)}]"),
               ("kind", kind in self.kinds,
                f"kind {kind} {'in' if kind in self.kinds else 'not in'} [{', '.join(self.kinds)}]"),
               ("confidence", conf_ok,
                f"confidence {_num(conf)} {'≥' if conf_ok else '<'} {_num(self.min_confidence)}")]
        if self.max_traffic_share is not None:
            share = _float((row.get("blast_radius") or {}).get("traffic_share"))
            if share is None:
                out.append(("traffic_share", False, "traffic share unknown (blast_radius.traffic_share is missing)"))
            else:
                ok = share <= self.max_traffic_share
                out.append(("traffic_share", ok,
                            f"traffic share {_num(share)} {'≤' if ok else '>'} {_num(self.max_traffic_share)}"))
        if self.max_agents is not None:
            n = len(_agents(row))
            ok = n <= self.max_agents
            out.append(("agents", ok, f"{n} agent{'s' if n != 1 else ''} {'≤' if ok else '>'} {self.max_agents}"))
        return out


@dataclass(frozen=True)
class ApprovalRules:
    rules: tuple[Rule, ...] = ()
    never_risks: tuple[str, ...] = ALWAYS_TO_A_PERSON
    never_kinds: tuple[str, ...] = ("sla_change",)
    expire_after_days: int = DEFAULT_EXPIRE_DAYS
    path: str | None = None

    @property
    def expiry(self) -> timedelta:
        return timedelta(days=self.expire_after_days)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]


@dataclass(frozen=True)
class RuleVerdict:
    rule: str | None  # the rule that approves it, or None: a person decides
    reasons: list[str] = field(default_factory=list)  # why it matched, or why each rule did not

    @property
    def approved(self) -> bool:
        return self.rule is not None


def _float(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _num(v: float | None) -> str:
    return "unknown" if v is None else f"{v:.3g}"


def _agents(row: Mapping) -> set[str]:
    agents = set(row.get("agents") or [])
    agents |= set((row.get("blast_radius") or {}).get("agents") or [])
    if row.get("agent_id"):
        agents.add(row["agent_id"])
    return agents


# ------------------------------------------------------------------------------ the file


def rules_path() -> Path:
    return config.config_dir() / APPROVALS_FILE


def load_rules(path: str | Path | None = None) -> ApprovalRules:
    """Parse and validate the rules file (default ``config/approvals.yaml``)."""
    path = Path(path or rules_path())
    text = read(path)
    if text is None:
        raise InputError(f"{path}: no such file; auto-approval needs its rules — copy config/approvals.yaml "
                         "(or write `rules: []` to send every proposal to a person).")
    root = compose(path, text)
    if root is None:
        raise InputError(f"{path}: is empty; it needs 'rules:' (a list of named rules, or [] for none) — "
                         "see config/approvals.yaml.")
    top = mapping(path, root, "the file", "a mapping with 'version', 'expire_after_days', 'never_auto' and 'rules'")
    for key, (knode, _) in top.items():
        if key not in TOP_KEYS:
            fail(path, knode, key, _unknown(key, TOP_KEYS, "top-level key"))
    if "version" in top:
        vnode = top["version"][1]
        if not isinstance(vnode, yaml.ScalarNode) or vnode.value != "1":
            shown = vnode.value if isinstance(vnode, yaml.ScalarNode) else "a list or mapping"
            fail(path, vnode, "version", f"unsupported version {shown!r}; this release reads version 1")
    expire = DEFAULT_EXPIRE_DAYS
    if "expire_after_days" in top:
        vnode = top["expire_after_days"][1]
        value = _scalar(vnode)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXPIRE_DAYS:
            fail(path, vnode, "expire_after_days", f"must be a whole number of days from 1 to {MAX_EXPIRE_DAYS} "
                 f"(got {_shown(vnode)}); set how long a proposal waits for a decision, e.g. 14")
        expire = value
    never_risks, never_kinds = ("high",), ("sla_change",)
    if "never_auto" in top:
        never_risks, never_kinds = _never(path, top["never_auto"][1])
    if "rules" not in top:
        fail(path, root, "rules", "missing; list the auto-approval rules (name, risk, kinds, min_confidence, …), "
             "or write `rules: []` to send every proposal to a person")
    rules = _rules(path, top["rules"][1], never_risks, never_kinds)
    return ApprovalRules(tuple(rules), never_risks, never_kinds, expire, str(path))


def _unknown(key: str, allowed: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown {what}; {hint}use {', '.join(allowed)}"


def _scalar(node) -> Any:
    return yaml.SafeLoader("").construct_object(node) if isinstance(node, yaml.ScalarNode) else node


def _shown(node) -> str:
    return repr(node.value) if isinstance(node, yaml.ScalarNode) else "a list or mapping"


def _names(path: Path, node, fld: str, allowed: tuple[str, ...], what: str, *, empty_ok: bool = False) -> tuple:
    """A list of names from ``allowed`` (a single name is a list of one)."""
    if isinstance(node, yaml.ScalarNode) and not is_null(node):
        items = [node]
    elif isinstance(node, yaml.SequenceNode):
        items = node.value
    elif is_null(node) and empty_ok:
        return ()
    else:
        fail(path, node, fld, f"expected a list of {what}s (from {', '.join(allowed)})")
    if not items and not empty_ok:
        fail(path, node, fld, f"is empty, so the rule could never match; list at least one of {', '.join(allowed)}")
    out: list[str] = []
    for i, item in enumerate(items):
        where = f"{fld}[{i}]" if isinstance(node, yaml.SequenceNode) else fld
        if not isinstance(item, yaml.ScalarNode) or item.value not in allowed:
            shown = _shown(item)
            close = difflib.get_close_matches(str(getattr(item, "value", "")), allowed, n=1)
            fail(path, item, where, f"{shown} is not a {what}; "
                 + (f"did you mean '{close[0]}'? " if close else "") + f"use one of {', '.join(allowed)}")
        if item.value not in out:
            out.append(item.value)
    return tuple(out)


def _ratio(path: Path, node, fld: str, fix: str) -> float:
    value = _scalar(node)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        fail(path, node, fld, f"must be a number from 0 to 1 (got {_shown(node)}); {fix}")
    return float(value)


def _never(path: Path, node) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = mapping(path, node, "never_auto", "a mapping with 'risk' and 'kinds'")
    for key, (knode, _) in fields.items():
        if key not in NEVER_KEYS:
            fail(path, knode, f"never_auto.{key}", _unknown(key, NEVER_KEYS, "field"))
    risks = _names(path, fields["risk"][1], "never_auto.risk", RISK_LEVELS, "risk level", empty_ok=True) \
        if "risk" in fields else ()
    kinds = _names(path, fields["kinds"][1], "never_auto.kinds", PROPOSAL_KINDS, "proposal kind", empty_ok=True) \
        if "kinds" in fields else ()
    missing = [r for r in ALWAYS_TO_A_PERSON if r not in risks]
    if missing:
        at = fields["risk"][1] if "risk" in fields else node
        fail(path, at, "never_auto.risk", f"must include {', '.join(missing)}: every high-risk proposal goes to a "
             f"person; add {', '.join(missing)}")
    return risks, kinds


def _rules(path: Path, node, never_risks: tuple[str, ...], never_kinds: tuple[str, ...]) -> list[Rule]:
    if is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        fail(path, node, "rules", "expected a list of rules (name, risk, kinds, min_confidence, …), or [] for none")
    out: list[Rule] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value):
        where = f"rules[{i}]"
        fields = mapping(path, item, where, "a mapping with name, risk, kinds, min_confidence, …")
        for key, (knode, _) in fields.items():
            if key not in RULE_KEYS:
                fail(path, knode, f"{where}.{key}", _unknown(key, RULE_KEYS, "field"))
        for required in RULE_REQUIRED:
            if required not in fields:
                fail(path, item, f"{where}.{required}", "required field is missing; every rule needs "
                     + ", ".join(RULE_REQUIRED))
        nnode = fields["name"][1]
        name = nnode.value.strip() if isinstance(nnode, yaml.ScalarNode) and not is_null(nnode) else ""
        if not name or len(name) > 100 or any(c.isspace() for c in name):
            fail(path, nnode, f"{where}.name", f"must be 1-100 characters without spaces (got {_shown(nnode)}); it "
                 "becomes the actor 'auto:<name>' in the audit trail")
        if name in seen:
            fail(path, nnode, f"{where}.name", f"'{name}' is already rules[{seen[name]}]; names must be unique")
        seen[name] = i
        risks = _names(path, fields["risk"][1], f"{where}.risk", RISK_LEVELS, "risk level")
        kinds = _names(path, fields["kinds"][1], f"{where}.kinds", PROPOSAL_KINDS, "proposal kind")
        blocked = [r for r in risks if r in never_risks]
        if blocked:
            fail(path, fields["risk"][1], f"{where}.risk", f"{', '.join(blocked)} is never auto-approved "
                 "(never_auto.risk), so this rule could not approve it; remove it")
        blocked = [k for k in kinds if k in never_kinds]
        if blocked:
            fail(path, fields["kinds"][1], f"{where}.kinds", f"{', '.join(blocked)} is never auto-approved "
                 "(never_auto.kinds), so this rule could not approve it; remove it")
        conf = _ratio(path, fields["min_confidence"][1], f"{where}.min_confidence",
                      "set the least confidence a proposal needs, e.g. 0.6")
        share = None
        if "max_traffic_share" in fields and not is_null(fields["max_traffic_share"][1]):
            share = _ratio(path, fields["max_traffic_share"][1], f"{where}.max_traffic_share",
                           "set the largest share of the fleet's executions the change may touch, e.g. 0.25 "
                           "(or null for no limit)")
        agents = None
        if "max_agents" in fields and not is_null(fields["max_agents"][1]):
            anode = fields["max_agents"][1]
            value = _scalar(anode)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(path, anode, f"{where}.max_agents", f"must be a whole number ≥ 1 (got {_shown(anode)}); set how "
                     "many agents the change may touch, e.g. 1 (or null for no limit)")
            agents = value
        description = ""
        if "description" in fields:
            dnode = fields["description"][1]
            if not isinstance(dnode, yaml.ScalarNode):
                fail(path, dnode, f"{where}.description", "expected text (got a list or mapping)")
            description = "" if is_null(dnode) else dnode.value.strip()
        out.append(Rule(name, risks, kinds, conf, share, agents, description, item.start_mark.line + 1))
    return out


# ------------------------------------------------------------------------------ deciding


def match(rules: ApprovalRules, row: Mapping) -> RuleVerdict:
    """The first rule that approves ``row`` (a proposal row or dict), with why; or None with
    why each rule did not (a guard that stops it first says so alone). Pure."""
    risk, kind = row.get("risk"), row.get("kind")
    if risk in ALWAYS_TO_A_PERSON or risk in rules.never_risks:
        return RuleVerdict(None, [f"risk {risk}: never auto-approved (never_auto.risk); a person decides"])
    if kind in rules.never_kinds:
        return RuleVerdict(None, [f"kind {kind}: never auto-approved (never_auto.kinds); a person decides"])
    if not rules.rules:
        return RuleVerdict(None, [f"no auto-approval rules ({rules.path or 'rules: []'}); a person decides"])
    reasons = []
    for rule in rules.rules:
        checks = rule.checks(row)
        missed = [text for _, ok, text in checks if not ok]
        if not missed:
            return RuleVerdict(rule.name, [f"rule {rule.name}: " + ", ".join(text for _, _, text in checks)])
        reasons.append(f"{rule.name}: " + "; ".join(missed))
    return RuleVerdict(None, reasons)


def auto_approve(conn: sa.Connection, rules: ApprovalRules, *, now: datetime | None = None) -> list[workflow.Decision]:
    """Approve every proposed row a rule allows (actor ``auto:<rule>``, the rule's
    explanation as the reason), highest priority first. A row past its ``expires_at``, or one
    a person decided meanwhile, is left alone; high risk never."""
    now = now or datetime.now(UTC)
    out = []
    for row in workflow.list_proposals(conn, state="proposed", limit=None):
        if row["expires_at"] is not None and row["expires_at"] <= now:
            continue
        verdict = match(rules, row)
        if verdict.rule is None or row["risk"] in ALWAYS_TO_A_PERSON:
            continue
        done = workflow.try_transition(conn, row["proposal_id"], "proposed", "approved",
                                       actor=f"auto:{verdict.rule}", reason=verdict.reasons[0],
                                       details={"rule": verdict.rule, "rules_file": rules.path}, now=now)
        if done is not None:
            out.append(done)
    return out


# ------------------------------------------------------------------------------ measuring


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _stopped_by(rules: ApprovalRules, row: Mapping) -> list[str]:
    """The conditions that kept ``row`` from the rules meant for its risk and kind
    ('low-risk-reverts: confidence'), or why no rule was meant for it."""
    if row.get("kind") in rules.never_kinds or row.get("risk") in rules.never_risks:
        return ["never_auto"]
    out = []
    for rule in rules.rules:
        checks = rule.checks(row)
        if checks[0][1] and checks[1][1]:
            out += [f"{rule.name}: {name}" for name, ok, _ in checks[2:] if not ok]
    return out or [f"no rule for {row.get('risk')}-risk {row.get('kind')}"]


def rates(rows: Iterable[Mapping], rules: ApprovalRules) -> dict:
    """How the rules route ``rows`` (proposal rows or dicts, whatever their state): the share
    of low-risk proposals they auto-approve, the share of high-risk ones that go to a person
    (must be 1), by risk and by rule, and — among low-risk proposals left to a person — which
    rule condition stopped them most often (what to tune). Where rows carry their ``events``,
    ``observed_*`` counts what the audit trail shows was actually approved by a rule. Pure."""
    by_risk = {r: {"proposals": 0, "auto_approved": 0, "to_a_person": 0} for r in RISK_LEVELS}
    by_rule: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    observed = {r: 0 for r in RISK_LEVELS}
    with_events = 0
    for row in rows:
        risk = row.get("risk")
        if risk not in by_risk:
            continue
        verdict = match(rules, row)
        b = by_risk[risk]
        b["proposals"] += 1
        if verdict.rule is not None:
            b["auto_approved"] += 1
            by_rule[verdict.rule] += 1
        else:
            b["to_a_person"] += 1
            if risk == "low":
                stopped.update(_stopped_by(rules, row))
        if "events" in row:
            with_events += 1
            if any(e.get("to_state") == "approved" and str(e.get("actor", "")).startswith("auto:")
                   for e in row["events"] or []):
                observed[risk] += 1
    low, high = by_risk["low"], by_risk["high"]
    low_rate = _share(low["auto_approved"], low["proposals"])
    high_share = _share(high["to_a_person"], high["proposals"])
    out: dict[str, Any] = {
        "proposals": sum(b["proposals"] for b in by_risk.values()),
        "low_risk_proposals": low["proposals"], "low_risk_auto_approved": low["auto_approved"],
        "high_risk_proposals": high["proposals"], "high_risk_to_a_person": high["to_a_person"],
        "low_risk_auto_rate": low_rate, "high_risk_to_a_person_share": high_share,
        "by_risk": by_risk, "by_rule": dict(by_rule), "low_risk_stopped_by": dict(stopped.most_common()),
        "target": {"low_risk_auto_rate": list(TARGET_LOW_RISK_AUTO),
                   "high_risk_to_a_person_share": TARGET_HIGH_RISK_TO_PERSON},
        "on_target": {
            "low_risk": None if low_rate is None else TARGET_LOW_RISK_AUTO[0] <= low_rate <= TARGET_LOW_RISK_AUTO[1],
            "high_risk": None if high_share is None else high_share >= TARGET_HIGH_RISK_TO_PERSON},
    }
    if with_events:
        out["observed_auto_approved"] = dict(observed)
        out["observed_low_risk_auto_rate"] = _share(observed["low"], low["proposals"])
        out["observed_high_risk_auto_approved"] = observed["high"]
    return out

