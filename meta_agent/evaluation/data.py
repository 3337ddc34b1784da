"""The frames evaluation reads: executions, their actions and their scores, as pandas.

A period is ``[start, end)`` in UTC on ``started_at`` (a day, an ISO week, any range).
Columns are the contract's (``meta_agent.records.contract``); ``metadata`` stays a dict per
row. ``frames_from_records`` builds the same frames from contract dicts, so every piece of
logic can be tested on generated records without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa

from meta_agent.store.engine import engine_for
from meta_agent.store.schema import actions, executions
from meta_agent.store.schema_evaluation import execution_scores

EXECUTION_FIELDS = ("execution_id", "agent_id", "started_at", "ended_at", "status", "latency_ms", "model",
                    "prompt_version", "variant", "tokens_in", "tokens_out", "cost_usd", "error_type",
                    "error_message", "human_intervention", "metadata")
ACTION_FIELDS = ("execution_id", "seq", "action_type", "name", "started_at", "latency_ms", "status", "model",
                 "tokens_in", "tokens_out", "cost_usd", "error_type", "error_message", "metadata")
SCORE_FIELDS = ("execution_id", "name", "source", "agent_id", "value", "comment", "scored_at")
FAILED_STATUSES = ("failure", "timeout")


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, last+1 00:00)`` UTC: the days ``first..last`` inclusive."""
    return day_start(first), day_start(last + timedelta(days=1))


def _frame(rows: Iterable, columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
    for col in ("started_at", "ended_at", "scored_at"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df


def load_executions(url: str, start: datetime, end: datetime, *, agents: Sequence[str] | None = None,
                    statuses: Sequence[str] | None = None, with_messages: bool = True) -> pd.DataFrame:
    """Executions that started in ``[start, end)``, ordered by ``started_at``."""
    cols = [executions.c[f] for f in EXECUTION_FIELDS if with_messages or f not in ("error_message", "metadata")]
    q = sa.select(*cols).where(executions.c.started_at >= start, executions.c.started_at < end)
    if agents:
        q = q.where(executions.c.agent_id.in_(list(agents)))
    if statuses:
        q = q.where(executions.c.status.in_(list(statuses)))
    with engine_for(url).connect() as conn:
        rows = conn.execute(q.order_by(executions.c.started_at, executions.c.execution_id)).all()
    return _frame(rows, [c.name for c in cols])


def load_actions(url: str, execution_ids: Sequence[str], *, chunk: int = 5000) -> pd.DataFrame:
    """The actions of these executions, ordered by execution and ``seq``."""
    out = []
    ids = list(execution_ids)
    with engine_for(url).connect() as conn:
        for i in range(0, len(ids), chunk):
            q = sa.select(*[actions.c[f] for f in ACTION_FIELDS]).where(
                actions.c.execution_id.in_(ids[i:i + chunk]))
            out.extend(conn.execute(q).all())
    df = _frame(out, ACTION_FIELDS)
    return df.sort_values(["execution_id", "seq"], ignore_index=True) if len(df) else df


def load_scores(url: str, start: datetime, end: datetime, *, agents: Sequence[str] | None = None) -> pd.DataFrame:
    """Scores of the executions that started in ``[start, end)`` (joined for the agent)."""
    q = (sa.select(execution_scores.c.execution_id, execution_scores.c.name, execution_scores.c.source,
                   executions.c.agent_id, execution_scores.c.value, execution_scores.c.comment,
                   execution_scores.c.scored_at)
         .join(executions, executions.c.execution_id == execution_scores.c.execution_id)
         .where(executions.c.started_at >= start, executions.c.started_at < end))
    if agents:
        q = q.where(executions.c.agent_id.in_(list(agents)))
    with engine_for(url).connect() as conn:
        rows = conn.execute(q).all()
    return _frame(rows, SCORE_FIELDS)


def known_agents(url: str) -> list[str]:
    """Every agent id that has executions (the registry may lag a fresh ingest)."""
    with engine_for(url).connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.select(executions.c.agent_id).distinct()))


def frames_from_records(records: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(executions, actions) frames from contract dicts — what the loaders return, without a DB."""
    ex_rows, act_rows = [], []
    for r in records:
        ex_rows.append(tuple(r.get(f, _DEFAULTS.get(f)) for f in EXECUTION_FIELDS))
        for seq, a in enumerate(r.get("actions") or []):
            a = {"seq": seq, **a, "execution_id": r["execution_id"]}
            act_rows.append(tuple(a.get(f, _DEFAULTS.get(f)) for f in ACTION_FIELDS))
    ex = _frame(ex_rows, EXECUTION_FIELDS).sort_values(["started_at", "execution_id"], ignore_index=True)
    return ex, _frame(act_rows, ACTION_FIELDS)


_DEFAULTS = {"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "human_intervention": False, "status": "success"}


def data_span(url: str) -> tuple[date, date] | None:
    """The first and last UTC day with executions, or None when there are none."""
    with engine_for(url).connect() as conn:
        lo, hi = conn.execute(sa.select(sa.func.min(executions.c.started_at), sa.func.max(executions.c.started_at))).one()
    if lo is None:
        return None
    lo, hi = (v if isinstance(v, datetime) else datetime.fromisoformat(str(v)) for v in (lo, hi))
    return lo.date(), hi.date()
