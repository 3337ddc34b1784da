"""One day of improvement, end to end: what each Dagster asset, the sensor's job and the CLI
call. Each function reads, calls the capability's one piece of logic, writes, and returns what
happened — so asset bodies stay a few lines and the CLI gives the same answers.

- ``propose_day``: the day's root-cause findings (and the latest evaluation reports) become
  proposals; duplicates of an open proposal are merged into it (``workflow.upsert``);
- ``decide_day``: stale proposals expire, the rules of ``config/approvals.yaml`` auto-approve
  what they allow; everything else waits for a person;
- ``apply_approved``: approved proposals not yet applied get their safe application — a
  prompt change becomes the ``candidate`` version, nothing moves ``production`` (the
  experiments issue, or a person's ``--apply``, takes it from there);
- ``knowledge_day``: adopted proposals whose effect can now be measured become (or confirm)
  learnings; confidences decay; learnings are suggested to agents with similar failures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.evaluation import data, embeddings
from meta_agent.evaluation import repository as eval_repo
from meta_agent.evaluation.pipeline import BASELINE_DAYS, WINDOW_DAYS
from meta_agent.improvement import approvals, knowledge, prompts, proposals, workflow
from meta_agent.improvement.model import DEFAULT_EXPIRY, Proposal
from meta_agent.llm.gateway import LLMGateway
from meta_agent.ops.verdicts import Verdict
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_evaluation import evaluation_reports
from meta_agent.store.schema_improvement import (
    improvement_proposals,
    learning_events,
    proposal_events,
)

APPROVALS_FILE = "approvals.yaml"
MEASURE_AFTER = timedelta(days=3)  # an adopted change is measured once it has run this long


@dataclass
class ProposalsDay:
    day: date
    proposals: list[Proposal]
    findings: int
    upsert: Any  # workflow.UpsertReport

    def scalars(self) -> dict:
        kinds = Counter(p.kind for p in self.proposals)
        risks = Counter(p.risk for p in self.proposals)
        return {"proposals": len(self.proposals), "findings_read": self.findings,
                "created": len(self.upsert.created), "merged": len(self.upsert.merged),
                "reopened": len(self.upsert.reopened),
                **{f"kind_{k}": kinds.get(k, 0) for k in sorted(kinds)},
                **{f"risk_{r}": risks.get(r, 0) for r in ("low", "medium", "high")}}


def _prompt_text(conn: sa.Connection):
    def text(agent_id: str, name: str, version: str) -> str | None:
        v = prompts.get_version(conn, agent_id, name, version)
        return v.text if v is not None else None
    return text


def latest_reports(conn: sa.Connection, day: date) -> list[dict]:
    """Each agent's newest report whose period ended on or before ``day`` (the newest version)."""
    q = (sa.select(evaluation_reports).where(evaluation_reports.c.period_end <= day)
         .order_by(evaluation_reports.c.period_end, evaluation_reports.c.version))
    latest: dict[str, dict] = {}
    for r in conn.execute(q):
        latest[r.agent_id] = dict(r._mapping)
    return list(latest.values())


def propose_day(url: str, day: date, *, gateway: LLMGateway | None = None, now: datetime | None = None,
                expiry: timedelta = DEFAULT_EXPIRY) -> ProposalsDay:
    """The proposals the day's findings support, stored (merged into open duplicates)."""
    engine = engine_for(url)
    with engine.connect() as conn:
        found = eval_repo.findings_between(conn, day, day)
        reports = latest_reports(conn, day)
    if not found and not reports:  # nothing to propose from: no executions read, nothing written
        return ProposalsDay(day, [], 0, workflow.UpsertReport())
    first = day - timedelta(days=WINDOW_DAYS + BASELINE_DAYS - 1)
    ex = data.load_executions(url, *data.period_bounds(first, day))
    acts = data.load_actions(url, ex["execution_id"].tolist() if len(ex) else [])
    with engine.connect() as conn:
        made = proposals.propose(found, ex, acts, day=day, reports=reports, prompt_text=_prompt_text(conn),
                                 gateway=gateway)
    with engine.begin() as conn:
        report = workflow.upsert(conn, made, day=day, now=now, expiry=expiry)
    return ProposalsDay(day, made, len(found), report)


@dataclass
class DecisionsDay:
    day: date
    expired: list[str]
    auto_approved: list  # workflow.Decision
    waiting: list[dict]  # proposed rows the rules left for a person, with why
    rates: dict

    def scalars(self) -> dict:
        rates = {k: v for k, v in self.rates.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        return {"expired_today": len(self.expired), "auto_approved_today": len(self.auto_approved),
                "waiting_count": len(self.waiting), **{f"all_{k}": v for k, v in rates.items()}}


def load_rules(path: Path) -> approvals.ApprovalRules:
    """The auto-approval rules (``config/approvals.yaml``), validated."""
    return approvals.load_rules(Path(path))


def decide_day(url: str, day: date, rules: approvals.ApprovalRules, *, now: datetime | None = None) -> DecisionsDay:
    """Expire stale proposals, auto-approve what the rules allow; report what waits for people."""
    now = now or datetime.now(UTC)
    engine = engine_for(url)
    with engine.begin() as conn:
        expired = workflow.expire(conn, now)
        decided = approvals.auto_approve(conn, rules, now=now)
    with engine.connect() as conn:
        rows = workflow.list_proposals(conn, limit=None)
    waiting = []
    for r in rows:
        if r["state"] == "proposed":
            verdict = approvals.match(rules, r)
            waiting.append({**r, "why_waiting": "; ".join(verdict.reasons)})
    return DecisionsDay(day, expired, decided, waiting, approvals.rates(rows, rules))


@dataclass
class Applied:
    applied: list  # workflow.Applied
    skipped: list[str] = field(default_factory=list)  # no longer approved-and-unapplied
    refused: dict[str, str] = field(default_factory=dict)  # id → why it cannot be applied (stale, …)


def pending_application(url: str) -> list[dict]:
    """Approved proposals nothing has applied yet (what the sensor hands to the apply job)."""
    q = (sa.select(improvement_proposals.c.proposal_id, improvement_proposals.c.updated_at)
         .where(improvement_proposals.c.state == "approved", improvement_proposals.c.applied.is_(None))
         .order_by(improvement_proposals.c.priority.desc()))
    with engine_for(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def apply_approved(url: str, proposal_ids: Sequence[str], *, actor: str, now: datetime | None = None) -> Applied:
    """The safe application of each approved proposal (a candidate, never production), each in
    its own transaction so one bad proposal does not hold back the others."""
    out = Applied([])
    for pid in proposal_ids:
        try:
            with engine_for(url).begin() as conn:
                row = workflow.get(conn, pid)
                if row is None or row["state"] != "approved" or row["applied"] is not None:
                    out.skipped.append(pid)
                    continue
                out.applied.append(workflow.apply(conn, pid, actor=actor, reason="approved: applied as a candidate",
                                                  promote=False, now=now))
        except InputError as exc:  # stale, or its base version unknown: the others still go
            out.refused[pid] = str(exc)
    return out


@dataclass
class KnowledgeDay:
    day: date
    recorded: list[dict]
    decayed: list
    suggestions: list[dict]
    active: int

    def scalars(self) -> dict:
        return {"learnings_recorded": len(self.recorded), "deprecated_today": len(self.decayed),
                "suggestions": len(self.suggestions), "active_learnings": self.active}


def knowledge_day(url: str, day: date, *, gateway: LLMGateway | None = None, now: datetime | None = None) -> KnowledgeDay:
    """Measure adopted proposals that have run long enough, record what they taught, decay old
    learnings, and suggest learnings to agents whose failures look alike."""
    now = now or datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    engine = engine_for(url)
    with engine.connect() as conn:
        ripe = [(r, at) for r in workflow.list_proposals(conn, state="adopted", limit=None)
                if (at := _adopted_at(r)) is not None and at + MEASURE_AFTER <= now]
        # each adoption teaches once; confirmations come from new evidence
        learned = set(conn.execute(sa.select(learning_events.c.source).where(
            learning_events.c.source.in_([r["proposal_id"] for r, _ in ripe]))).scalars()) if ripe else set()
    recorded = []
    for row, at in ripe:
        if row["proposal_id"] in learned:
            continue
        metric = (row["expected"] or {}).get("metric") or "success_rate"
        window = min(now - at, timedelta(days=7))
        ex = data.load_executions(url, at - window, at + window, agents=[row["agent_id"]] if row["agent_id"] else None)
        measured = knowledge.measure_effect(ex, agent_id=row["agent_id"], metric=metric, changed_at=at, window=window)
        if measured.get("effect") is None:
            continue
        with engine.begin() as conn:
            recorded.append(knowledge.record(conn, proposal=row, measured=measured, source=row["proposal_id"],
                                             failure_signature=(row["evidence"] or {}).get("signature"), now=now))
    with engine.begin() as conn:
        decayed = knowledge.decay(conn, now=now)
    # the gateway's embeddings when given (offline: the same hashing embedder suggest defaults to)
    embed = {} if gateway is None else {"embed": lambda texts: gateway.embed(list(texts),
                                                                             purpose=embeddings.EMBED_PURPOSE)}
    with engine.connect() as conn:
        suggestions = knowledge.suggest(conn, **embed)
        active = len(knowledge.list_learnings(conn, limit=knowledge.MAX_LIMIT))
    return KnowledgeDay(day, recorded, decayed, suggestions, active)


def _adopted_at(row: dict) -> datetime | None:
    applied = row.get("applied") or {}
    at = applied.get("promoted_at") or applied.get("at")
    if not at:
        return None
    t = datetime.fromisoformat(at) if isinstance(at, str) else at
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------ checks


def quantified_verdict(url: str, day_key: str) -> Verdict:
    """WARN: a proposal generated on the day whose expected effect has no interval."""
    day = date.fromisoformat(day_key)
    q = sa.select(improvement_proposals).where(improvement_proposals.c.last_seen_day == day)
    with engine_for(url).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    bare = [r for r in rows if (r["expected"] or {}).get("effect") is None
            or (r["expected"] or {}).get("ci_low") is None or (r["expected"] or {}).get("ci_high") is None]
    text = (f"all {len(rows)} proposals of the day carry an expected effect with an interval" if not bare else
            f"{len(bare)} of {len(rows)} proposals have no expected effect with an interval: "
            + "; ".join(r["title"] for r in bare[:3]))
    return Verdict(not bare, "warn", text, {"proposals": len(rows), "unquantified": len(bare)},
                   [{"agent": r["agent_id"] or ", ".join(r["agents"]), "what": r["title"],
                     "why": (r["expected"] or {}).get("method") or "no reference population"} for r in bare])


def high_risk_verdict(url: str, day_key: str) -> Verdict:
    """ERROR: a high-risk proposal approved by a rule, not a person (ever, as of the day)."""
    day = date.fromisoformat(day_key)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    q = (sa.select(improvement_proposals.c.proposal_id, improvement_proposals.c.title,
                   improvement_proposals.c.agent_id, proposal_events.c.actor, proposal_events.c.at)
         .join(proposal_events, proposal_events.c.proposal_id == improvement_proposals.c.proposal_id)
         .where(improvement_proposals.c.risk == "high", proposal_events.c.to_state == "approved",
                proposal_events.c.actor.like("auto:%"), proposal_events.c.at < end))
    with engine_for(url).connect() as conn:
        bad = [dict(r._mapping) for r in conn.execute(q)]
    text = ("every high-risk proposal went to a person" if not bad else
            f"{len(bad)} high-risk proposals were approved by a rule: " + ", ".join(r["proposal_id"] for r in bad[:5]))
    return Verdict(not bad, "error", text, {"auto_approved_high_risk": len(bad)},
                   [{"agent": r["agent_id"] or "fleet", "what": r["title"], "why": f"approved by {r['actor']}"}
                    for r in bad])
