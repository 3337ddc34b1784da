"""The SDK's circuit read: the state an agent sees, cached for a few seconds, never raising."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa

from meta_agent.ops import circuit
from meta_agent.sdk import AgentLogger
from meta_agent.sdk.circuit import CircuitReader
from meta_agent.store.engine import engine_for
from meta_agent.store.executions import register_agents
from meta_agent.store.schema_ops_alerts import circuit_breakers


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _agent(url: str, agent: str = "sql-analyst") -> None:
    with engine_for(url).begin() as conn:
        register_agents(conn, [{"agent_id": agent, "started_at": datetime(2026, 3, 1, tzinfo=UTC)}])


def test_state_follows_the_override_after_the_ttl(migrated_url):
    _agent(migrated_url)
    clock = Clock()
    reader = CircuitReader(migrated_url, ttl=5.0, clock=clock)
    assert reader.state("sql-analyst") == "closed" and reader.allow("sql-analyst")  # no circuit yet
    with engine_for(migrated_url).begin() as conn:
        circuit.set_mode(conn, "sql-analyst", "open", "test")
    assert reader.state("sql-analyst") == "closed"  # cached
    clock.t += 5.0
    assert reader.state("sql-analyst") == "open" and not reader.allow("sql-analyst")
    with engine_for(migrated_url).begin() as conn:
        conn.execute(circuit_breakers.update().values(override=None, state="half_open"))
    clock.t += 5.0
    assert reader.state("sql-analyst") == "half_open" and reader.allow("sql-analyst")  # trials go through


def test_unreadable_database_keeps_the_last_state_or_fails_open(migrated_url, tmp_path, caplog):
    _agent(migrated_url)
    with engine_for(migrated_url).begin() as conn:
        circuit.set_mode(conn, "sql-analyst", "open", "test")
    clock = Clock()
    reader = CircuitReader(migrated_url, ttl=1.0, clock=clock)
    assert reader.state("sql-analyst") == "open"
    reader.db_url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"  # the DB goes away
    (tmp_path / "no").write_text("a file where a folder should be")
    clock.t += 2
    with caplog.at_level(logging.WARNING, logger="meta_agent.sdk"):
        assert reader.state("sql-analyst") == "open"  # last known
        assert reader.state("other-agent") == "unknown" and reader.allow("other-agent")  # fail open
    assert "cannot read the circuit of sql-analyst" in caplog.text


def test_missing_table_is_unknown_not_an_exception(tmp_path):
    reader = CircuitReader(f"sqlite:///{tmp_path / 'empty.db'}")
    assert reader.state("a") == "unknown" and reader.allow("a")


def test_agent_context_exposes_the_circuit(migrated_url, tmp_path):
    _agent(migrated_url, "support-triage")
    with engine_for(migrated_url).begin() as conn:
        circuit.set_mode(conn, "support-triage", "open", "test")
    with AgentLogger(migrated_url, spill_dir=tmp_path / "spill", background=False) as logger:
        agent = logger.agent("support-triage")
        assert agent.circuit_state() == "open" and agent.allow_execution() is False
        other = logger.agent("email-drafter")
        assert other.circuit_state() == "closed" and other.allow_execution() is True
    with engine_for(migrated_url).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(circuit_breakers)).scalar() == 1  # read only
