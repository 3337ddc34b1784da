"""Retention: prune raw executions (and their actions) older than a configured age.

Metrics, quality results and SLA evaluations are kept. The cutoff is a UTC midnight, so a
day is either wholly kept or wholly pruned, and ``raw_retention`` records how far pruning
went: aggregation then leaves the metrics of pruned days alone instead of rewriting them
from an empty slice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from meta_agent.errors import InputError
from meta_agent.store.schema import actions, executions
from meta_agent.store.schema_ops_metrics import raw_retention

DEFAULT_MAX_AGE_DAYS = 90
DATASET = "executions"


@dataclass
class PruneReport:
    cutoff: datetime
    executions: int
    actions: int
    dry_run: bool = False

    def as_dict(self) -> dict:
        d = asdict(self)
        d["cutoff"] = self.cutoff.isoformat()
        return d


def cutoff_for(max_age_days: int, today: date | None = None) -> datetime:
    """Midnight UTC ``max_age_days`` days before ``today``: executions started before it go."""
    if max_age_days < 1:
        raise InputError(f"max_age_days must be at least 1 (got {max_age_days}); "
                         "retention keeps today and at least one full day before it.")
    today = today or datetime.now(UTC).date()
    return datetime.combine(today - timedelta(days=max_age_days), time(), UTC)


def prune_executions(engine: sa.Engine, max_age_days: int = DEFAULT_MAX_AGE_DAYS, *,
                     today: date | None = None, batch_size: int = 5000, dry_run: bool = False) -> PruneReport:
    """Delete executions started before the cutoff, and their actions, in batches (one
    transaction each, so a large prune never holds the database for long)."""
    cutoff = cutoff_for(max_age_days, today)
    old = executions.c.started_at < cutoff
    if dry_run:
        with engine.connect() as conn:
            n_exec = conn.execute(sa.select(sa.func.count()).where(old)).scalar_one()
            n_act = conn.execute(
                sa.select(sa.func.count()).select_from(actions)
                .where(actions.c.execution_id.in_(sa.select(executions.c.execution_id).where(old)))
            ).scalar_one()
        return PruneReport(cutoff, n_exec, n_act, dry_run=True)
    with engine.begin() as conn:  # first, so a prune cut short still protects the metrics
        _advance_watermark(conn, cutoff, 0, 0)
    n_exec = n_act = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(sa.select(executions.c.execution_id).where(old).limit(batch_size)).scalars())
            if not ids:
                break
            n_act += conn.execute(actions.delete().where(actions.c.execution_id.in_(ids))).rowcount
            n_exec += conn.execute(executions.delete().where(executions.c.execution_id.in_(ids))).rowcount
    with engine.begin() as conn:
        _advance_watermark(conn, cutoff, n_exec, n_act)
    return PruneReport(cutoff, n_exec, n_act)


def _advance_watermark(conn: sa.Connection, cutoff: datetime, n_exec: int, n_act: int) -> None:
    now = datetime.now(UTC)
    prev = conn.execute(sa.select(raw_retention).where(raw_retention.c.dataset == DATASET)).first()
    if prev is None:
        conn.execute(raw_retention.insert().values(dataset=DATASET, pruned_before=cutoff,
                                                   executions_deleted=n_exec, actions_deleted=n_act,
                                                   pruned_at=now))
        return
    conn.execute(raw_retention.update().where(raw_retention.c.dataset == DATASET).values(
        pruned_before=max(prev.pruned_before, cutoff),
        executions_deleted=prev.executions_deleted + n_exec,
        actions_deleted=prev.actions_deleted + n_act,
        pruned_at=now,
    ))


def pruned_before(conn: sa.Connection) -> datetime | None:
    """Raw executions before this instant have been pruned (None: never pruned)."""
    return conn.execute(
        sa.select(raw_retention.c.pruned_before).where(raw_retention.c.dataset == DATASET)
    ).scalar()
