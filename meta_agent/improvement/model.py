"""The proposal: what a generator returns, what ``improvement_proposals`` keeps.

``change`` is the exact change, one shape per kind (every key required unless marked):

- ``prompt_rollback``: ``{"prompt": name, "label": "production", "from_version": "v4",
  "to_version": "v3"}`` — move the label back;
- ``prompt_change``: ``{"prompt": name, "base_version": "v4", "text": the new text,
  "edits": [{"rule": id, "why": …}]}`` — a new version (``diff`` holds the unified diff);
- ``tool_change``: ``{"tool": name, "action": "pin" | "add_retries" | "add_validation",
  "from_version"?: "2.0.0", "to_version"?: "1.4.2", "retries"?: 2, "validate"?: [fields]}``;
- ``config_change``: ``{"setting": "fallback_model" | "retry_budget" | "timeout_s" |
  "context_truncation" | "model", "from": …, "to": …, "model"?: the model it concerns}``;
- ``sla_change``: ``{"metric": …, "from": …, "to": …}``.

``expected`` is the effect the data supports, never a guess: ``{"metric": "success_rate",
"unit": "ratio" | "ms" | "usd", "current": level now, "expected": level after the change,
"effect": expected − current, "ci_low", "ci_high": the interval of ``effect``,
"confidence_level": 0.95, "method": how it was computed (test, populations),
"n_current", "n_reference": the executions behind each side}``. A change whose effect
cannot be computed (no reference population) says so: ``effect`` None and ``method`` why.
A proposal merged from several findings may add ``"also": [expected, …]`` — the same change's
effect on its other metrics (a rollback that fixes failures and latency).

``blast_radius`` is ``{"traffic_share": share of the fleet's executions the change touches,
"agents": [ids], "executions_per_day": n}``; ``evidence`` is ``{"finding_ids": […],
"report": {agent, period_start, period_end, version} | None, "cluster_key": … | None,
"execution_ids": [a sample], "category": …}`` (generators may add more: ``findings`` — id,
title, metric, confidence of each; ``writer`` — how a prompt change's text was written,
``rules (model reply rejected: …)`` included; ``failure``; ``reports``).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from meta_agent.store.schema_improvement import PROPOSAL_KINDS, RISK_LEVELS

DEFAULT_PROMPT = "system"  # the prompt name when executions carry only a version
DEFAULT_EXPIRY = timedelta(days=14)


@dataclass
class Proposal:
    kind: str  # PROPOSAL_KINDS
    agent_id: str | None  # None: several agents
    agents: list[str]
    category: str  # the finding's category: prompt | tool | context | external | unknown
    title: str
    summary: str
    change: dict
    expected: dict
    risk: str  # RISK_LEVELS
    confidence: float  # 0..1: that the change fixes what the evidence shows
    blast_radius: dict
    rollback_plan: str
    priority: float  # higher first
    evidence: dict
    diff: str | None = None
    source: str = "rules"  # rules | llm:<model>
    target: dict = field(default_factory=dict)  # what the dedup key is made of (see dedup_key)

    def __post_init__(self) -> None:
        if self.kind not in PROPOSAL_KINDS:
            raise ValueError(f"proposal kind {self.kind!r} is not one of {', '.join(PROPOSAL_KINDS)}")
        if self.risk not in RISK_LEVELS:
            raise ValueError(f"proposal risk {self.risk!r} is not one of {', '.join(RISK_LEVELS)}")

    @property
    def dedup_key(self) -> str:
        """Same kind, same agents, same target of the change → the same key: a duplicate of an
        open proposal is merged into it. The target is the stable part of the change (the
        prompt and versions, the tool and action, the setting and model) — not numbers that
        move from day to day."""
        target = self.target or {k: v for k, v in self.change.items() if k not in ("text", "edits", "from", "to",
                                                                                    "retries", "validate")}
        doc = json.dumps({"kind": self.kind, "agents": sorted(self.agents), "target": target}, sort_keys=True,
                         default=str)
        return f"{self.kind}:{hashlib.sha256(doc.encode()).hexdigest()[:40]}"

    @property
    def proposal_id(self) -> str:
        return "prop-" + hashlib.sha256(self.dedup_key.encode()).hexdigest()[:12]

    def to_row(self, day: date, *, now: datetime | None = None, expiry: timedelta = DEFAULT_EXPIRY) -> dict:
        """The ``improvement_proposals`` row of a new proposal first generated on ``day``."""
        now = now or datetime.now(UTC)
        return {"proposal_id": self.proposal_id, "dedup_key": self.dedup_key, "kind": self.kind,
                "agent_id": self.agent_id, "agents": list(self.agents), "category": self.category,
                "title": self.title, "summary": self.summary, "change": _plain(self.change), "diff": self.diff,
                "expected": _plain(self.expected), "risk": self.risk, "confidence": float(self.confidence),
                "blast_radius": _plain(self.blast_radius), "rollback_plan": self.rollback_plan,
                "priority": float(self.priority), "evidence": _plain(self.evidence), "source": self.source,
                "state": "proposed", "occurrences": 1, "first_seen_day": day, "last_seen_day": day,
                "expires_at": now + expiry, "applied": None, "created_at": now, "updated_at": now}

    def to_dict(self) -> dict[str, Any]:
        return {**_plain(asdict(self)), "proposal_id": self.proposal_id, "dedup_key": self.dedup_key}


def _plain(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, dates to ISO text, NaN to None."""
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, str | int | bool):
        return v
    return _plain(_default(v))


def _default(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return str(v)
