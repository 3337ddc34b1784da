"""A circuit breaker per agent, driven by its execution log and persisted in the ops DB.

States (the classic pattern, with resilience4j's count-based window):

- **closed** — executions flow. The window holds the agent's last ``window_size``
  executions that started within ``window_seconds`` and after the circuit last closed
  (cancelled ones left out). When it holds at least ``min_volume`` executions and the share
  of failures/timeouts reaches ``failure_rate_threshold`` → **open**.
- **open** — an agent that asks ``allow_execution()`` is told no. After
  ``cooldown_seconds`` → **half_open** (a time-driven transition: it happens even when
  there is no traffic).
- **half_open** — trial executions: ``half_open_successes`` successes in a row → **closed**
  (with an empty window); any failure → **open** again (the cooldown starts over).

Executions are taken in ``started_at`` order, so the result of evaluating up to T does not
depend on how often it was evaluated before T (one step or many give the same states and
the same transition times; a test checks this). ``advance`` is pure; ``evaluate`` reads
the stored state and the new executions, advances and writes back with optimistic locking.

A manual override (``meta-agent circuit open|close AGENT``) pins the effective state until
``meta-agent circuit auto AGENT``, which hands control back with a fresh closed window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects import postgresql, sqlite

from meta_agent.errors import InputError
from meta_agent.store.schema import agents, executions
from meta_agent.store.schema_ops_alerts import circuit_breakers, circuit_transitions

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
AUTO = "auto"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CircuitConfig(BaseModel):
    """Circuit-breaker settings (config/monitoring.yaml, ``circuit``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_rate_threshold: float = Field(0.5, gt=0, le=1)
    min_volume: int = Field(20, ge=1)
    window_size: int = Field(50, ge=1)
    window_seconds: int = Field(3 * 3600, gt=0)
    cooldown_seconds: int = Field(300, ge=0)
    half_open_successes: int = Field(3, ge=1)


@dataclass(frozen=True)
class CircuitState:
    agent_id: str
    state: str = CLOSED  # the automatic state
    since: datetime = EPOCH  # when the automatic state was entered
    evaluated_through: datetime = EPOCH
    half_open_successes: int = 0
    override: str | None = None  # 'open' | 'closed' set by hand
    failure_rate: float | None = None
    volume: int | None = None
    reason: str = "no evaluation yet"
    version: int = -1  # -1: not stored yet

    @property
    def effective(self) -> str:
        return self.override or self.state


@dataclass(frozen=True)
class CircuitTransition:
    agent_id: str
    at: datetime
    from_state: str | None
    to_state: str
    reason: str
    actor: str = AUTO
    failure_rate: float | None = None
    volume: int | None = None


Event = tuple[datetime, bool]  # (started_at, failed)


# ---- the pure part --------------------------------------------------------------------
def advance(state: CircuitState, history: Sequence[Event], events: Sequence[Event], as_of: datetime,
            cfg: CircuitConfig) -> tuple[CircuitState, list[CircuitTransition]]:
    """The state after the executions ``events`` (started in ``(evaluated_through, as_of]``,
    in order) and the passage of time up to ``as_of``; ``history`` is the closed window's
    content before them (executions after ``since`` and within ``window_seconds``)."""
    if state.override:  # pinned by hand: the automatic machine waits, without a backlog
        return replace(state, evaluated_through=max(as_of, state.evaluated_through)), []
    s = state
    out: list[CircuitTransition] = []
    window: deque[Event] = deque(e for e in history if e[0] > s.since)
    while len(window) > cfg.window_size:
        window.popleft()
    fails = sum(1 for _, f in window if f)
    cooldown = timedelta(seconds=cfg.cooldown_seconds)
    span = timedelta(seconds=cfg.window_seconds)

    def move(to: str, at: datetime, reason: str, rate=None, volume=None) -> None:
        nonlocal s
        out.append(CircuitTransition(s.agent_id, at, s.state, to, reason, AUTO, rate, volume))
        s = replace(s, state=to, since=at, half_open_successes=0, reason=reason,
                    failure_rate=rate if rate is not None else s.failure_rate,
                    volume=volume if volume is not None else s.volume)

    for t, failed in events:
        if t <= s.evaluated_through:
            continue
        if s.state == OPEN and t >= s.since + cooldown:
            move(HALF_OPEN, s.since + cooldown, f"cooldown of {cfg.cooldown_seconds}s elapsed; trial executions allowed")
        if s.state == CLOSED:
            window.append((t, failed))
            fails += failed
            while window and (window[0][0] <= t - span or len(window) > cfg.window_size):
                fails -= window.popleft()[1]
            n = len(window)
            if n >= cfg.min_volume and fails / n >= cfg.failure_rate_threshold:
                move(OPEN, t, f"{fails} of the last {n} executions failed ({fails / n:.0%} ≥ "
                              f"{cfg.failure_rate_threshold:.0%} with at least {cfg.min_volume})", fails / n, n)
                window.clear()
                fails = 0
        elif s.state == HALF_OPEN:
            if failed:
                move(OPEN, t, "a trial execution failed while half-open", 1.0, s.half_open_successes + 1)
            else:
                s = replace(s, half_open_successes=s.half_open_successes + 1)
                if s.half_open_successes >= cfg.half_open_successes:
                    move(CLOSED, t, f"{cfg.half_open_successes} trial executions succeeded", 0.0,
                         cfg.half_open_successes)
        # OPEN before the cooldown: the execution would have been refused; it does not count
    if s.state == OPEN and as_of >= s.since + cooldown:
        move(HALF_OPEN, s.since + cooldown, f"cooldown of {cfg.cooldown_seconds}s elapsed; trial executions allowed")
    return replace(s, evaluated_through=max(as_of, s.evaluated_through)), out


def history_floor(state: CircuitState, cfg: CircuitConfig) -> datetime:
    """Executions after this (and up to ``evaluated_through``) can still be in the window."""
    return max(state.since, state.evaluated_through - timedelta(seconds=cfg.window_seconds))


# ---- reading and writing --------------------------------------------------------------
def _from_row(r) -> CircuitState:
    return CircuitState(agent_id=r.agent_id, state=r.state, since=r.since, evaluated_through=r.evaluated_through,
                        half_open_successes=r.half_open_successes, override=r.override,
                        failure_rate=r.failure_rate, volume=r.volume, reason=r.reason, version=r.version)


def load_states(conn: sa.Connection, agent_ids: Sequence[str] | None = None) -> dict[str, CircuitState]:
    q = sa.select(circuit_breakers)
    if agent_ids is not None:
        q = q.where(circuit_breakers.c.agent_id.in_(list(agent_ids)))
    return {r.agent_id: _from_row(r) for r in conn.execute(q)}


def _events(conn: sa.Connection, agent_ids: Sequence[str], after: datetime, through: datetime) -> dict[str, list[Event]]:
    e = executions.c
    out: dict[str, list[Event]] = {a: [] for a in agent_ids}
    q = (sa.select(e.agent_id, e.started_at, e.status)
         .where(e.started_at > after, e.started_at <= through, e.status != "cancelled",
                e.agent_id.in_(list(agent_ids)))
         .order_by(e.agent_id, e.started_at, e.execution_id))
    for agent, t, status in conn.execute(q):
        out[agent].append((t, status != "success"))
    return out


def _history(conn: sa.Connection, s: CircuitState, cfg: CircuitConfig) -> list[Event]:
    if s.state != CLOSED or s.override:
        return []
    e = executions.c
    rows = conn.execute(
        sa.select(e.started_at, e.status)
        .where(e.agent_id == s.agent_id, e.started_at > history_floor(s, cfg), e.started_at <= s.evaluated_through,
               e.status != "cancelled")
        .order_by(e.started_at.desc(), e.execution_id.desc()).limit(cfg.window_size)).all()
    return [(t, st != "success") for t, st in reversed(rows)]


def evaluate(conn: sa.Connection, as_of: datetime, config_for, agent_ids: Sequence[str],
             now: datetime | None = None) -> tuple[list[CircuitState], list[CircuitTransition]]:
    """Advance every agent's circuit to ``as_of`` and store it; returns the states and the
    transitions this evaluation recorded (a racing evaluator that lost records none).

    A circuit seen for the first time starts closed and looks back one window; after a long
    gap (the sensor was off), catching up is limited to one window as well.
    """
    now = now or datetime.now(UTC)
    stored = load_states(conn, agent_ids)
    starts: dict[str, CircuitState] = {}
    for a in agent_ids:
        cfg = config_for(a)
        floor = as_of - timedelta(seconds=cfg.window_seconds)
        s = stored.get(a) or CircuitState(a, evaluated_through=floor, reason="new circuit")
        if s.evaluated_through < floor:
            s = replace(s, evaluated_through=floor)
        starts[a] = s
    pending = [a for a, s in starts.items() if s.evaluated_through < as_of]
    if not pending:
        return [starts[a] for a in agent_ids], []
    events = _events(conn, pending, min(starts[a].evaluated_through for a in pending), as_of)
    states: list[CircuitState] = []
    recorded: list[CircuitTransition] = []
    for a in agent_ids:
        s = starts[a]
        if a not in pending:
            states.append(s)
            continue
        cfg = config_for(a)
        if not events[a] and s.version >= 0:  # nothing new: only the clock can move it
            new, trans = advance(s, [], [], as_of, cfg)
            if not trans:  # leave evaluated_through behind; the gap holds no executions anyway
                states.append(s)
                continue
        else:
            new, trans = advance(s, _history(conn, s, cfg), events[a], as_of, cfg)
        if _store(conn, s, new, now):
            states.append(new)
            recorded.extend(trans)
        else:
            states.append(load_states(conn, [a]).get(a, new))
    _log(conn, recorded, now)
    return states, recorded


def _store(conn: sa.Connection, old: CircuitState, new: CircuitState, now: datetime) -> bool:
    """Write ``new`` if nobody else moved the circuit since ``old`` was read."""
    values = {"state": new.state, "override": new.override, "since": new.since,
              "evaluated_through": new.evaluated_through, "half_open_successes": new.half_open_successes,
              "failure_rate": new.failure_rate, "volume": new.volume, "reason": new.reason, "updated_at": now}
    if old.version < 0:
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        res = conn.execute(dialect.insert(circuit_breakers)
                           .values(agent_id=new.agent_id, version=0, **values).on_conflict_do_nothing()
                           .returning(circuit_breakers.c.agent_id))
        return res.scalar() is not None  # RETURNING: rowcount is not reliable for ON CONFLICT
    res = conn.execute(circuit_breakers.update()
                       .where(circuit_breakers.c.agent_id == new.agent_id,
                              circuit_breakers.c.version == old.version)
                       .values(version=old.version + 1, **values))
    return res.rowcount == 1


def _log(conn: sa.Connection, transitions: Sequence[CircuitTransition], now: datetime) -> None:
    if transitions:
        conn.execute(circuit_transitions.insert(), [
            {"agent_id": t.agent_id, "at": t.at, "from_state": t.from_state, "to_state": t.to_state,
             "reason": t.reason, "actor": t.actor, "failure_rate": t.failure_rate, "volume": t.volume,
             "recorded_at": now} for t in transitions])


def set_mode(conn: sa.Connection, agent_id: str, mode: str, actor: str, reason: str | None = None,
             now: datetime | None = None) -> tuple[CircuitState, CircuitTransition | None]:
    """Manual control: ``open`` or ``closed`` pins the effective state; ``auto`` hands it back
    to the automatic machine, starting closed with an empty window."""
    if mode not in (OPEN, CLOSED, AUTO):
        raise InputError(f"circuit mode '{mode}' is not one of open, closed, auto.")
    known = conn.execute(sa.select(agents.c.agent_id).where(agents.c.agent_id == agent_id)).first()
    if known is None:
        names = conn.execute(sa.select(agents.c.agent_id).order_by(agents.c.agent_id)).scalars().all()
        hint = f"known agents: {', '.join(names)}" if names else "no agent has logged yet"
        raise InputError(f"no agent '{agent_id}' in the registry ({hint}).")
    now = now or datetime.now(UTC)
    for _ in range(5):  # optimistic locking: retry if an evaluator moved the circuit meanwhile
        old = load_states(conn, [agent_id]).get(agent_id) or CircuitState(agent_id, evaluated_through=now,
                                                                           since=now, reason="new circuit")
        if mode == AUTO:
            new = replace(old, override=None, state=CLOSED, since=now, half_open_successes=0,
                          evaluated_through=max(now, old.evaluated_through),
                          reason=reason or f"returned to automatic control by {actor}")
        else:
            new = replace(old, override=mode, reason=reason or f"forced {mode} by {actor}")
        if _store(conn, old, new, now):
            break
    else:
        raise InputError(f"the circuit of '{agent_id}' kept changing under us; try again.")
    if old.effective == new.effective and old.override == new.override:
        return new, None
    t = CircuitTransition(agent_id, now, old.effective if old.version >= 0 else None, new.effective,
                          new.reason, f"manual:{actor}")
    _log(conn, [t], now)
    return new, t


def status(conn: sa.Connection, agent_id: str | None = None) -> list[dict]:
    """Every stored circuit (or one) with its effective state."""
    rows = []
    for s in load_states(conn, [agent_id] if agent_id else None).values():
        rows.append({"agent_id": s.agent_id, "state": s.effective, "automatic_state": s.state,
                     "override": s.override, "since": s.since, "evaluated_through": s.evaluated_through,
                     "half_open_successes": s.half_open_successes, "failure_rate": s.failure_rate,
                     "volume": s.volume, "reason": s.reason})
    return sorted(rows, key=lambda r: ({OPEN: 0, HALF_OPEN: 1}.get(r["state"], 2), r["agent_id"]))


def transitions(conn: sa.Connection, agent_id: str | None = None, since: datetime | None = None,
                limit: int = 100) -> list[dict]:
    t = circuit_transitions.c
    q = (sa.select(t.agent_id, t.at, t.from_state, t.to_state, t.reason, t.actor, t.failure_rate, t.volume)
         .order_by(t.at.desc(), t.transition_id.desc()))
    if agent_id:
        q = q.where(t.agent_id == agent_id)
    if since:
        q = q.where(t.at >= since)
    return [dict(r._mapping) for r in conn.execute(q.limit(limit))]
