"""Alerts: exactly one per (agent, type, hour) under racing threads and processes on SQLite
and PostgreSQL; folding and auto-resolution; acknowledge/resolve; delivery with retries that
never lose an alert and never send twice; the daily digest."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from monitordata import T0, race_raise

from meta_agent.errors import InputError
from meta_agent.ops import alerts
from meta_agent.ops.alerts import AlertSpec
from meta_agent.ops.notifiers import Notifier, NotifierError
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_ops_alerts import alert_deliveries, alert_digests
from meta_agent.store.schema_ops_alerts import alerts as alerts_table


def spec(agent="a", kind="sla_breach", at=T0 + timedelta(minutes=7), severity="critical", **kw) -> AlertSpec:
    return AlertSpec(agent, kind, severity, kw.pop("title", f"{agent} {kind}"), kw.pop("message", "m"), at,
                     kw.pop("source", "test"), kw.pop("details", {"x": 1}))


def _count(engine, table=alerts_table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


# ---- dedup in the database, under concurrency ---------------------------------------------
@pytest.mark.parametrize("kind", ["sla_breach", "health_critical"])
def test_racing_threads_create_exactly_one_alert(migrated_url, kind):
    engine = engine_for(migrated_url)
    n = 8
    barrier, out = threading.Barrier(n), queue.Queue()
    s = spec(kind=kind)
    threads = [threading.Thread(target=race_raise, args=(migrated_url, s, barrier, out)) for _ in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    results = [out.get_nowait() for _ in range(n)]
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[2] for r in results) == 1 and len({r[1] for r in results}) == 1
    assert _count(engine) == 1 and _count(engine, alert_deliveries) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(alerts_table.c.occurrences)).scalar() == n


def test_racing_processes_create_exactly_one_alert(migrated_url):
    engine = engine_for(migrated_url)
    n = 6
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    s = spec(kind="circuit_open")
    procs = [ctx.Process(target=race_raise, args=(migrated_url, s, barrier, out, True)) for _ in range(n)]
    [p.start() for p in procs]
    results = [out.get(timeout=120) for _ in range(n)]
    [p.join(timeout=60) for p in procs]
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[2] for r in results) == 1
    assert _count(engine) == 1 and _count(engine, alert_deliveries) == 1


def test_one_alert_per_agent_type_and_hour(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        a = alerts.raise_alert(conn, spec(at=T0 + timedelta(minutes=1)))
        b = alerts.raise_alert(conn, spec(at=T0 + timedelta(minutes=59, seconds=59)))
        c = alerts.raise_alert(conn, spec(at=T0 + timedelta(hours=1)))  # next window
        d = alerts.raise_alert(conn, spec(kind="sla_warning", severity="warning"))  # other type
        e = alerts.raise_alert(conn, spec(agent="b"))  # other agent
        f = alerts.raise_alert(conn, spec(at=T0 + timedelta(minutes=2)), count_repeat=False)
    assert a.created and not b.created and b.alert_id == a.alert_id
    assert c.created and d.created and e.created and not f.created and f.alert_id == a.alert_id
    with engine.connect() as conn:
        first = alerts.get_alert(conn, a.alert_id)
    assert first["occurrences"] == 2 and first["window_start"] == T0
    assert first["last_seen_at"] == T0 + timedelta(minutes=59, seconds=59)


def test_state_alerts_fold_into_the_open_one_and_resolve(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        first = alerts.raise_alert(conn, spec(kind="health_degraded", severity="warning"), ["log"])
        later = alerts.raise_alert(conn, spec(kind="health_degraded", severity="warning",
                                              at=T0 + timedelta(hours=5)), ["log"])
    assert first.created and not later.created and later.alert_id == first.alert_id
    with engine.begin() as conn:
        resolved = alerts.auto_resolve(conn, "a", ["health_degraded", "health_critical"], T0 + timedelta(hours=6),
                                       "healthy again")
        again = alerts.raise_alert(conn, spec(kind="health_degraded", severity="warning",
                                              at=T0 + timedelta(hours=8)), ["log"])
    assert resolved == [first.alert_id] and again.created and again.alert_id != first.alert_id
    with engine.connect() as conn:
        old = alerts.get_alert(conn, first.alert_id)
    assert old["status"] == "resolved" and old["resolved_by"] == "auto" and old["note"] == "healthy again"
    assert old["occurrences"] == 2 and _count(engine, alert_deliveries) == 2


def test_spec_validation():
    with pytest.raises(ValueError, match="unknown alert type"):
        spec(kind="bogus")
    with pytest.raises(ValueError, match="unknown severity"):
        spec(severity="fatal")


# ---- people ------------------------------------------------------------------------------
def test_acknowledge_and_resolve(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        aid = alerts.raise_alert(conn, spec()).alert_id
    with engine.begin() as conn:
        acked = alerts.acknowledge(conn, aid, "maria", "looking", now=T0 + timedelta(hours=1))
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "maria" and acked["note"] == "looking"
    with engine.begin() as conn, pytest.raises(InputError, match=f"alert {aid} is already acknowledged \\(by maria"):
        alerts.acknowledge(conn, aid, "dev")
    with engine.begin() as conn:
        done = alerts.resolve(conn, aid, "maria", now=T0 + timedelta(hours=2))
    assert done["status"] == "resolved" and done["note"] == "looking"
    with engine.begin() as conn, pytest.raises(InputError, match="already resolved .by maria"):
        alerts.resolve(conn, aid, "dev")
    with engine.begin() as conn, pytest.raises(InputError, match="there is no alert 999"):
        alerts.acknowledge(conn, 999, "dev")


def test_list_filters_and_bad_values(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        alerts.raise_alert(conn, spec(agent="a", kind="sla_warning", severity="warning"))
        b = alerts.raise_alert(conn, spec(agent="b", kind="health_critical", severity="emergency")).alert_id
        alerts.resolve(conn, b, "me")
    with engine.connect() as conn:
        assert [r["agent_id"] for r in alerts.list_alerts(conn)] == ["a"]
        assert [r["agent_id"] for r in alerts.list_alerts(conn, status="all", min_severity="critical")] == ["b"]
        assert alerts.list_alerts(conn, status="resolved", alert_type="health_critical")[0]["alert_id"] == b
        for kw, msg in (({"status": "closed"}, "--status 'closed'"), ({"alert_type": "x"}, "--type 'x'"),
                        ({"min_severity": "fatal"}, "--severity 'fatal'")):
            with pytest.raises(InputError, match=msg):
                alerts.list_alerts(conn, **kw)


# ---- delivery ----------------------------------------------------------------------------
class Flaky:
    """A channel that fails ``fail`` times, then accepts (unit test of the retry logic; the
    real channels are tested against loopback servers in test_notifiers.py)."""

    min_severity = "info"

    def __init__(self, name="log", fail=0, retry_after=None):
        self.name, self.fail, self.retry_after, self.sent = name, fail, retry_after, []
        self._lock = threading.Lock()

    def send(self, n):
        with self._lock:
            if self.fail:
                self.fail -= 1
                raise NotifierError("503 from the test", self.retry_after)
            self.sent.append(n)


def test_failed_delivery_is_recorded_and_retried_with_backoff(migrated_url):
    engine = engine_for(migrated_url)
    ch = Flaky(fail=2)
    notifier = Notifier([ch])
    with engine.begin() as conn:
        aid = alerts.raise_alert(conn, spec(), ["log"], now=T0).alert_id
    r1 = alerts.deliver_due(engine, notifier, T0)
    assert (r1.sent, r1.failed) == (0, 1) and "503 from the test" in r1.errors[0]
    with engine.connect() as conn:
        d = alerts.get_alert(conn, aid)["deliveries"][0]
    assert d["status"] == "pending" and d["attempts"] == 1 and d["next_attempt_at"] == T0 + timedelta(seconds=30)
    assert "503 from the test" in d["last_error"]
    assert alerts.deliver_due(engine, notifier, T0 + timedelta(seconds=29)).failed == 0  # not due yet
    r2 = alerts.deliver_due(engine, notifier, T0 + timedelta(seconds=30))
    with engine.connect() as conn:
        d = alerts.get_alert(conn, aid)["deliveries"][0]
    assert r2.failed == 1 and d["attempts"] == 2 and d["next_attempt_at"] == T0 + timedelta(seconds=90)
    r3 = alerts.deliver_due(engine, notifier, T0 + timedelta(seconds=90))
    with engine.connect() as conn:
        d = alerts.get_alert(conn, aid)["deliveries"][0]
        pending = alerts.pending_deliveries(conn)
    assert r3.sent == 1 and d["status"] == "sent" and d["last_error"] is None and pending == 0
    assert ch.sent[0].alert["alert_id"] == aid and ch.sent[0].subject == "a sla_breach"
    assert alerts.deliver_due(engine, notifier, T0 + timedelta(hours=1)).sent == 0  # never twice


def test_retry_after_from_the_server_is_respected(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        alerts.raise_alert(conn, spec(), ["log"], now=T0)
    alerts.deliver_due(engine, Notifier([Flaky(fail=1, retry_after=600)]), T0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(alert_deliveries.c.next_attempt_at)).scalar() == T0 + timedelta(seconds=600)


def test_backoff_is_capped_at_an_hour():
    assert [alerts.backoff(a).total_seconds() for a in (1, 2, 3, 4, 8, 30)] == [30, 60, 120, 240, 3600, 3600]


def test_deliveries_wait_for_their_channel(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        alerts.raise_alert(conn, spec(), ["slack"], now=T0)
    assert alerts.deliver_due(engine, Notifier([Flaky("log")]), T0).sent == 0  # slack not configured now
    with engine.connect() as conn:
        assert alerts.pending_deliveries(conn) == 1  # kept, not lost


def test_concurrent_senders_send_each_alert_once(migrated_url):
    engine = engine_for(migrated_url)
    with engine.begin() as conn:
        for i in range(20):
            alerts.raise_alert(conn, spec(agent=f"agent-{i}"), ["log"], now=T0)
    ch = Flaky()
    notifier = Notifier([ch])
    barrier = threading.Barrier(4)

    def sender():
        barrier.wait()
        alerts.deliver_due(engine, notifier, T0)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(n.alert["agent_id"] for n in ch.sent) == sorted(f"agent-{i}" for i in range(20))


# ---- digest -----------------------------------------------------------------------------
def test_daily_digest(migrated_url):
    engine = engine_for(migrated_url)
    day = T0.date()
    with engine.begin() as conn:
        a = alerts.raise_alert(conn, spec(agent="a", at=T0)).alert_id
        alerts.raise_alert(conn, spec(agent="b", kind="health_critical", at=T0 + timedelta(hours=2)))
        alerts.raise_alert(conn, spec(agent="c", at=T0 + timedelta(days=1)))  # the next day
        alerts.acknowledge(conn, a, "maria", now=T0 + timedelta(minutes=12))
    with engine.connect() as conn:
        d = alerts.build_digest(conn, day)
        empty = alerts.build_digest(conn, date(2020, 1, 1))
    assert len(d.alerts) == 2 and d.open_alerts == 2 and d.by_severity == {"critical": 2}
    assert "**2 alerts** (2 critical); **2 still open**" in d.markdown
    assert "| a | sla_breach | 1 |" in d.markdown and "acknowledged: 1, median 12 min" in d.markdown
    assert "No alerts were raised" in empty.markdown
    for _ in range(2):  # idempotent
        with engine.begin() as conn:
            alerts.write_digest(conn, d, "/x.md", ["log"], [])
    assert _count(engine, alert_digests) == 1


def test_send_digest_reports_each_channel():
    d = alerts.Digest(date(2026, 3, 10), [], 0, "# nothing")
    ok, errors = alerts.send_digest(Notifier([Flaky("log"), Flaky("webhook", fail=1)]), d)
    assert ok == ["log"] and errors == ["webhook: 503 from the test"]


def test_window_start_is_the_hour_in_utc():
    from zoneinfo import ZoneInfo

    t = datetime(2026, 3, 10, 14, 59, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    assert alerts.window_start(t) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
