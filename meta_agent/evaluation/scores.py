"""Execution scores: writing them (checks, the judge) and one day's summary for reports.

Scores are 0-1 (1 best) by name and source (``human``, ``llm_judge``, ``check``); the rules
are the record contract's (``meta_agent.records.contract``), the idempotent upsert is
``meta_agent.store.scores``. A day is the UTC day an execution *started* (the executions'
daily partition): a score given on Tuesday to Monday's execution counts for Monday.

    with engine_for(url).begin() as conn:
        write_scores(conn, [{"execution_id": eid, "name": "format_ok", "value": 1.0, "source": "check"}])
    summary = daily_summary(url, date(2026, 11, 1))
    summary.as_rows()            # agent × name × source: scores, mean, p10/p50/p90, below_half
    summary.coverage_rows()      # agent: executions, scored, unscored, scored_share
    summary.unscored_executions  # executions of the day without any score — "quality is unscored"
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from meta_agent.records.contract import RecordError, normalize_score
from meta_agent.store.engine import engine_for
from meta_agent.store.schema import executions
from meta_agent.store.schema_evaluation import execution_scores
from meta_agent.store.scores import (
    ScoreWriteReport,
    dangling_reason,
    execution_agents,
    upsert_scores,
)

BELOW_PAR = 0.5  # a score under this is "below par" in summaries and reports
PERCENTILES = (10, 50, 90)


def write_scores(conn: sa.Connection, rows: Iterable[dict]) -> ScoreWriteReport:
    """Validate and upsert scores inside the caller's transaction.

    Each row: ``execution_id``, ``name``, ``value``, ``source``; optional ``comment`` and
    ``scored_at`` (default now). Idempotent by (execution_id, name, source): the same score
    again is a duplicate, a changed value or comment replaces the stored one (unless older by
    ``scored_at``). Raises ``RecordError`` (a ``ValueError``) naming the row and field when a
    row breaks the contract or names an execution that is not stored — nothing is written then.
    """
    now = datetime.now(UTC)
    out = []
    for i, r in enumerate(rows):
        try:
            out.append(normalize_score({**r, "record": "score"}, ingested_at=now))
        except RecordError as err:
            raise RecordError(f"scores[{i}]: {err.reason}") from None
    agents = execution_agents(conn, {r["execution_id"] for r in out})
    for i, r in enumerate(out):
        agent = agents.get(r["execution_id"])
        if agent is None:
            raise RecordError(f"scores[{i}]: {dangling_reason(r['execution_id'])}")
        r["agent_id"] = agent
    return upsert_scores(conn, out)


@dataclass(frozen=True)
class ScoreStat:
    """One agent × score name × source over a day."""

    agent_id: str
    name: str
    source: str
    count: int
    mean: float
    p10: float
    p50: float
    p90: float
    below_par: float  # share of scores < 0.5

    def as_row(self) -> dict:
        """The table row: ``agent, name, source, scores, mean, p10, p50, p90, below_half``."""
        return {"agent": self.agent_id, "name": self.name, "source": self.source, "scores": self.count,
                "mean": self.mean, "p10": self.p10, "p50": self.p50, "p90": self.p90, "below_half": self.below_par}


@dataclass(frozen=True)
class Coverage:
    """How many of an agent's executions that day have any score at all."""

    agent_id: str
    executions: int
    scored: int

    @property
    def unscored(self) -> int:
        return self.executions - self.scored

    @property
    def scored_share(self) -> float | None:
        return self.scored / self.executions if self.executions else None

    def as_row(self) -> dict:
        return {"agent": self.agent_id, "executions": self.executions, "scored": self.scored,
                "unscored": self.unscored, "scored_share": self.scored_share}


@dataclass
class ScoreSummary:
    day: date
    stats: list[ScoreStat] = field(default_factory=list)  # by agent, name, source
    coverage: list[Coverage] = field(default_factory=list)  # by agent (agents with executions that day)

    @property
    def executions(self) -> int:
        return sum(c.executions for c in self.coverage)

    @property
    def scored_executions(self) -> int:
        """Executions of the day with at least one score (any name, any source)."""
        return sum(c.scored for c in self.coverage)

    @property
    def unscored_executions(self) -> int:
        return self.executions - self.scored_executions

    @property
    def scores(self) -> int:
        """Score rows over the day's executions."""
        return sum(s.count for s in self.stats)

    @property
    def is_unscored(self) -> bool:
        """True when the day has executions but none of them carries a score."""
        return self.executions > 0 and self.scored_executions == 0

    def as_rows(self) -> list[dict]:
        """One row per agent × name × source (for a table)."""
        return [s.as_row() for s in self.stats]

    def coverage_rows(self) -> list[dict]:
        return [c.as_row() for c in self.coverage]

    def for_agent(self, agent_id: str) -> list[ScoreStat]:
        return [s for s in self.stats if s.agent_id == agent_id]

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "executions": self.executions,
                "scored_executions": self.scored_executions, "unscored_executions": self.unscored_executions,
                "scores": self.scores, "stats": self.as_rows(), "coverage": self.coverage_rows()}


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def daily_summary(url: str, day: date) -> ScoreSummary:
    """The scores of the executions that started on ``day`` (UTC), per agent × name × source,
    and how many of the day's executions are scored at all."""
    start, end = day_bounds(day)
    e, s = executions.c, execution_scores.c
    in_day = sa.and_(e.started_at >= start, e.started_at < end)
    has_score = sa.exists().where(s.execution_id == e.execution_id)  # the key's prefix: an index probe
    coverage_q = (
        sa.select(e.agent_id, sa.func.count().label("n"),
                  sa.func.sum(sa.case((has_score, 1), else_=0)).label("scored"))
        .where(in_day).group_by(e.agent_id).order_by(e.agent_id)
    )
    values_q = (
        sa.select(e.agent_id, s.name, s.source, s.value)
        .select_from(execution_scores.join(executions, executions.c.execution_id == s.execution_id))
        .where(in_day).order_by(e.agent_id, s.name, s.source)
    )
    with engine_for(url).connect() as conn:
        coverage = [Coverage(a, int(n), int(k)) for a, n, k in conn.execute(coverage_q)]
        groups: dict[tuple[str, str, str], list[float]] = {}
        for agent, name, source, value in conn.execute(values_q):
            groups.setdefault((agent, name, source), []).append(value)
    stats = []
    for (agent, name, source), values in groups.items():
        v = np.asarray(values, dtype=float)
        p10, p50, p90 = (float(x) for x in np.percentile(v, PERCENTILES))
        stats.append(ScoreStat(agent, name, source, len(v), float(v.mean()), p10, p50, p90,
                               float((v < BELOW_PAR).mean())))
    return ScoreSummary(day, stats, coverage)
