"""AgentLogger against real databases: what it stores, how it fails, and that it loses nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from meta_agent.llm.pricing import token_prices
from meta_agent.sdk import AgentLogger
from meta_agent.store import migrate
from meta_agent.store.engine import dispose_all, engine_for
from meta_agent.store.ingest import ingest_file
from meta_agent.store.schema import actions, agents, executions, quarantine


def rows(url, table, *where):
    with engine_for(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where))]


def test_executions_and_actions_are_stored_with_totals(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with lg.agent("support-triage", model="gpt-4o-mini", prompt_version="v3") as agent:
        with agent.execution(metadata={"ticket": 42}, variant="treatment") as ex:
            ex.tool_call("search_kb", latency_ms=41.0)
            ex.llm_inference("gpt-4o-mini", tokens_in=1200, tokens_out=300, latency_ms=850.0)
            ex.llm_inference("local/llama", tokens_in=100, tokens_out=10, latency_ms=20.0)
            with ex.action("retrieval", "vector_search"):
                time.sleep(0.01)
            ex.human_intervention("approved refund")
    [row] = rows(migrated_url, executions)
    p_in, p_out = token_prices("gpt-4o-mini")
    assert row["agent_id"] == "support-triage" and row["status"] == "success"
    assert (row["model"], row["prompt_version"], row["variant"]) == ("gpt-4o-mini", "v3", "treatment")
    assert row["tokens_in"] == 1300 and row["tokens_out"] == 310
    assert row["cost_usd"] == pytest.approx(1200 * p_in + 300 * p_out)  # local model costs 0
    assert row["human_intervention"] is True and row["metadata"] == {"ticket": 42}
    assert row["latency_ms"] >= 10
    acts = sorted(rows(migrated_url, actions), key=lambda a: a["seq"])
    assert [a["action_type"] for a in acts] == ["tool_call", "llm_inference", "llm_inference", "retrieval",
                                                 "human_intervention"]
    assert acts[3]["latency_ms"] >= 10 and acts[0]["latency_ms"] == 41.0
    assert rows(migrated_url, agents)[0]["agent_id"] == "support-triage"


@pytest.mark.parametrize(
    ("exc", "status"),
    [(ValueError("bad tool output"), "failure"), (TimeoutError("deadline"), "timeout"),
     (asyncio.CancelledError(), "cancelled")],
)
def test_exceptions_are_recorded_and_reraised(migrated_url, tmp_path, exc, status):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with pytest.raises(type(exc)):
        with lg.execution("agent-x") as ex:
            with ex.action("tool_call", "fetch"):
                raise exc
    lg.flush()
    [row] = rows(migrated_url, executions)
    assert row["status"] == status and row["error_type"] == type(exc).__qualname__
    [act] = rows(migrated_url, actions)
    assert act["status"] in ("failure", "timeout") and act["error_type"] == type(exc).__qualname__


def test_async_api(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)

    async def agent_run(i):
        async with lg.execution("async-agent", metadata={"i": i}) as ex:
            async with ex.action("llm_inference", "gpt-4o-mini", model="gpt-4o-mini", tokens_in=10):
                await asyncio.sleep(0.001)

    async def main():
        await asyncio.gather(*(agent_run(i) for i in range(20)))
        await lg.aflush()

    asyncio.run(main())
    assert len(rows(migrated_url, executions)) == 20 and len(rows(migrated_url, actions)) == 20


def test_secrets_are_scrubbed_before_storage(migrated_url, tmp_path):
    key = "sk-proj-" + "Z" * 30
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False, secrets=["tenant-pass-991"])
    with pytest.raises(RuntimeError):
        with lg.execution("a", metadata={"api_key": "abc", "url": "https://u:pw123@h/x"}) as ex:
            ex.tool_call("call with tenant-pass-991", metadata={"auth": f"Bearer {key}"})
            raise RuntimeError(f"401 from provider using {key}")
    lg.flush()
    with engine_for(migrated_url).connect() as conn:
        dump = json.dumps([dict(r._mapping) for t in (executions, actions) for r in conn.execute(sa.select(t))],
                          default=str)
    for secret in (key, "tenant-pass-991", "pw123", '"abc"'):
        assert secret not in dump
    assert "[REDACTED]" in dump


def test_contract_breaking_values_are_quarantined_not_dropped(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, background=False)
    with lg.execution("a") as ex:
        ex.set_status("done")  # not a status
    with lg.execution("a") as ex:
        ex.tool_call("t", latency_ms=-4.0)
    with lg.execution("a"):
        pass
    stats = lg.flush()
    assert stats.quarantined == 2 and stats.executions_written == 1
    reasons = sorted(r["reason"] for r in rows(migrated_url, quarantine))
    assert "actions.0.latency_ms" in reasons[0] and "status" in reasons[1]
    assert all(r["source"] == "sdk:a" for r in rows(migrated_url, quarantine))


def test_many_threads_log_concurrently_with_background_flush(migrated_url, tmp_path):
    lg = AgentLogger(migrated_url, spill_dir=tmp_path, flush_interval=0.05, batch_size=500)

    def work(t):
        for _ in range(200):
            with lg.execution(f"agent-{t}") as ex:
                ex.tool_call("x", latency_ms=1.0)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    deadline = time.time() + 20  # the background thread writes without any explicit flush
    while time.time() < deadline and len(rows(migrated_url, executions)) < 800:
        time.sleep(0.1)
    assert len(rows(migrated_url, executions)) == 800
    lg.close()
    assert len(rows(migrated_url, actions)) == 800


def test_flush_on_interpreter_exit(migrated_url, tmp_path):
    code = ("from meta_agent.sdk import AgentLogger\n"
            f"lg = AgentLogger({migrated_url!r}, spill_dir={str(tmp_path)!r}, flush_interval=3600)\n"
            "for i in range(50):\n"
            "    with lg.execution('exit-agent') as ex:\n"
            "        ex.tool_call('t', latency_ms=1.0)\n")  # no flush, no close
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert len(rows(migrated_url, executions)) == 50


# ---- the database goes away mid-run ------------------------------------------------------


class Outage:
    """Makes the database unreachable, then brings it back, for either engine."""

    def __init__(self, url: str, tmp_path: Path):
        self.url = make_url(url)
        self.tmp = tmp_path

    def __enter__(self):
        dispose_all()
        if self.url.get_backend_name() == "sqlite":
            self.path = Path(self.url.database)
            self.moved = self.tmp / "away.db"
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    p.rename(str(self.moved) + suffix)
            self.path.parent.chmod(0o500)  # nothing can be created there either
        else:
            self._admin(f'ALTER DATABASE "{self.url.database}" RENAME TO "{self.url.database}_away"')
        return self

    def __exit__(self, *exc):
        dispose_all()
        if self.url.get_backend_name() == "sqlite":
            self.path.parent.chmod(0o700)
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.moved) + suffix)
                if p.exists():
                    p.rename(str(self.path) + suffix)
        else:
            self._admin(f'ALTER DATABASE "{self.url.database}_away" RENAME TO "{self.url.database}"')

    def _admin(self, sql):
        admin = sa.create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            # Our own client sessions only: an autovacuum worker on the database is a superuser
            # process we may not terminate, and the server stops it itself for the rename.
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname LIKE '{self.url.database}%%' AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'")
            conn.exec_driver_sql(sql)
        admin.dispose()


def test_database_outage_mid_run_loses_nothing(db_url, tmp_path):
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{dbdir / 'ops.db'}"
    migrate.upgrade(db_url)
    spill = tmp_path / "spill"
    lg = AgentLogger(db_url, spill_dir=spill, background=False)
    ids = []

    def run_batch(n):
        for _ in range(n):
            with lg.execution("resilient-agent") as ex:
                ex.tool_call("t", latency_ms=2.0)
                ids.append(ex.execution_id)
        lg.flush()  # must not raise, whatever the database does

    run_batch(30)
    with Outage(db_url, tmp_path):
        run_batch(40)
        run_batch(25)
    run_batch(5)
    lg.close()

    assert lg.stats.spilled_executions >= 65 and lg.stats.spill_files
    for f in lg.stats.spill_files:
        ingest_file(f, url=db_url)
    for f in lg.stats.spill_files:  # loading twice changes nothing
        assert ingest_file(f, url=db_url).accepted == 0
    stored = [r["execution_id"] for r in rows(db_url, executions)]
    assert sorted(stored) == sorted(ids) and len(set(stored)) == len(ids) == 100
    assert len(rows(db_url, actions)) == 100


def test_unwritable_spill_dir_keeps_records_in_memory_until_the_db_returns(sqlite_url, tmp_path):
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    url = f"sqlite:///{dbdir / 'ops.db'}"
    migrate.upgrade(url)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the spill directory should be")
    lg = AgentLogger(url, spill_dir=blocked, background=False)
    with Outage(url, tmp_path):
        with lg.execution("a"):
            pass
        lg.flush()  # no DB, no spill dir: held, not raised, not lost
    lg.flush()
    assert len(rows(url, executions)) == 1
