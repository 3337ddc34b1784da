"""Where the data starts (the daily partitions start there) and what the log holds lately."""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from meta_agent.store.calendar import first_day_on_record, recent_intake
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_metrics import daily_agent_metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from opsdata import execution, insert  # noqa: E402


def test_a_missing_database_is_no_data_and_is_not_created(tmp_path):
    path = tmp_path / "nothing.db"
    assert first_day_on_record(f"sqlite:///{path}") is None
    assert not path.exists()
    assert first_day_on_record("not a url") is None
    (tmp_path / "empty.db").touch()  # a file without our tables: unmigrated
    assert first_day_on_record(f"sqlite:///{tmp_path / 'empty.db'}") is None


def test_unreachable_postgresql_is_no_data_within_seconds():
    t0 = time.perf_counter()
    assert first_day_on_record("postgresql+psycopg://u:p@127.0.0.1:9/none") is None
    assert time.perf_counter() - t0 < 10


def test_the_first_day_is_the_earliest_execution_or_metric(migrated_url):
    engine = engine_for(migrated_url)
    assert first_day_on_record(migrated_url) is None  # migrated, empty
    insert(engine, [execution("a", datetime(2026, 3, 5, 23, 59, tzinfo=UTC)),
                    execution("a", datetime(2026, 3, 7, 1, 0, tzinfo=UTC))])
    assert first_day_on_record(migrated_url) == date(2026, 3, 5)
    with engine.begin() as conn:  # metrics outlive pruned raw executions
        conn.execute(daily_agent_metrics.insert().values(
            day=date(2026, 2, 1), agent_id="a", executions=1, successes=1, failures=0, timeouts=0, cancelled=0,
            tokens_in=0, tokens_out=0, cost_usd=0.0, human_interventions=0, human_intervention_rate=0.0, error_types={},
            computed_at=datetime.now(UTC)))
    assert first_day_on_record(migrated_url) == date(2026, 2, 1)


def test_recent_intake_counts_each_day_and_its_version_moves_with_late_arrivals(migrated_url):
    engine = engine_for(migrated_url)
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    insert(engine, [execution("a", yesterday), execution("b", yesterday), execution("a", now - timedelta(days=40))])
    with engine.connect() as conn:
        first = recent_intake(conn, 30, now)
    assert first["executions"] == 2 and first["days_with_data"] == 1  # the 40-day-old one is outside
    assert str(first["last_day"]) == yesterday.date().isoformat()
    insert(engine, [execution("c", yesterday - timedelta(days=3))])  # a late arrival for an older day
    with engine.connect() as conn:
        second = recent_intake(conn, 30, now)
    assert second["executions"] == 3 and second["version"] != first["version"]
    with engine.connect() as conn:
        assert recent_intake(conn, 30, now)["version"] == second["version"]  # stable when nothing changed
