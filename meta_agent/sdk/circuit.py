"""Should this agent take work now? A cached, never-raising read of its circuit breaker.

    with logger.agent("sql-analyst") as agent:
        if not agent.allow_execution():        # the circuit is open: refuse, retry later
            raise ServiceUnavailable("sql-analyst is paused by its circuit breaker")
        with agent.execution() as ex:
            ...

The agent_health_sensor moves the circuit (``meta_agent.ops.circuit``); people override it
with ``meta-agent circuit open|close|auto``. This module only reads ``circuit_breakers``:
one indexed lookup per agent at most every ``ttl`` seconds (default 5), so asking before
every execution is cheap. It never raises into the agent: when the database cannot be read
the last known state is used, and with none the answer is ``unknown`` — which allows work
(fail open: monitoring trouble must not stop a healthy fleet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import circuit_breakers as cb

log = logging.getLogger("meta_agent.sdk")

CLOSED, OPEN, HALF_OPEN, UNKNOWN = "closed", "open", "half_open", "unknown"
DEFAULT_TTL = 5.0


class CircuitReader:
    """Per-agent circuit states of one ops database, cached for ``ttl`` seconds."""

    def __init__(self, db_url: str, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic):
        self.db_url = db_url
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}  # agent → (read at, state)
        self._lock = threading.Lock()
        self._warned_at = float("-inf")

    def state(self, agent_id: str) -> str:
        """``closed``, ``open``, ``half_open`` — or ``unknown`` if it was never readable."""
        now = self._clock()
        hit = self._cache.get(agent_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        with self._lock:
            hit = self._cache.get(agent_id)
            if hit is not None and self._clock() - hit[0] < self.ttl:
                return hit[1]
            try:
                value = self._read(agent_id)
            except Exception as exc:  # never raise into the agent
                value = hit[1] if hit is not None else UNKNOWN
                if now - self._warned_at >= 60:
                    self._warned_at = now
                    log.warning("meta-agent: cannot read the circuit of %s (%s: %s); using '%s'",
                                agent_id, type(exc).__name__, str(exc)[:200], value)
            self._cache[agent_id] = (self._clock(), value)
            return value

    def allow(self, agent_id: str) -> bool:
        """False only while the circuit is open (half-open lets trial executions through)."""
        return self.state(agent_id) != OPEN

    def _read(self, agent_id: str) -> str:
        with engine_for(self.db_url).connect() as conn:
            row = conn.execute(sa.select(cb.c.state, cb.c.override).where(cb.c.agent_id == agent_id)).first()
        if row is None:
            return CLOSED  # no circuit yet: nothing has tripped
        return row.override or row.state


_readers: dict[tuple[str, float], CircuitReader] = {}
_readers_lock = threading.Lock()


def reader_for(db_url: str, ttl: float = DEFAULT_TTL) -> CircuitReader:
    """One shared reader per (database, ttl) in the process."""
    key = (db_url, ttl)
    reader = _readers.get(key)
    if reader is None:
        with _readers_lock:
            reader = _readers.setdefault(key, CircuitReader(db_url, ttl))
    return reader
