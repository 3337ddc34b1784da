"""SLA definitions (YAML + DB, precedence), error-budget math, evaluation and attribution."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from opsdata import execution, insert

from meta_agent.errors import InputError
from meta_agent.ops import metrics, quality, sla
from meta_agent.store.schema import executions

DAY = date(2026, 3, 14)
NOON = datetime(2026, 3, 14, 12, tzinfo=UTC)
REPO_FILE = Path(__file__).resolve().parents[2] / "config" / "slas.yaml"


# ---------------------------------------------------------------- budget math

@pytest.mark.parametrize(("kind", "actual", "limit", "consumed", "status"), [
    ("ceiling", 500.0, 1000.0, 0.5, "ok"),
    ("ceiling", 799.0, 1000.0, 0.799, "ok"),
    ("ceiling", 800.0, 1000.0, 0.8, "warn"),  # WARN at >= 80 %
    ("ceiling", 1000.0, 1000.0, 1.0, "warn"),  # exactly the budget is not yet a breach
    ("ceiling", 1000.001, 1000.0, 1.000001, "breach"),  # above 100 %
    ("ceiling", 0.0, 5.0, 0.0, "ok"),
    ("floor", 0.99, 0.95, 0.2, "ok"),  # (1 - 0.99) / (1 - 0.95)
    ("floor", 0.96, 0.95, 0.8, "warn"),  # 0.04 / 0.05 is 0.7999999... in binary: still 80 %
    ("floor", 0.95, 0.95, 1.0, "warn"),
    ("floor", 0.94, 0.95, 1.2, "breach"),
    ("floor", 1.0, 0.95, 0.0, "ok"),
    ("floor", 0.0, 0.0, 1.0, "warn"),  # a 0 target allows every failure, exactly
])
def test_budget_consumed_and_status(kind, actual, limit, consumed, status):
    c = sla.budget_consumed(kind, actual, limit)
    assert c == pytest.approx(consumed, abs=1e-12)
    assert sla.status_for(c) == status


def test_limits_are_checked_per_metric():
    assert sla.BY_KEY["min_success_rate"].check(0.95) == 0.95
    assert sla.BY_KEY["max_daily_cost_usd"].check(3) == 3.0
    for key, bad in [("min_success_rate", 1.0), ("min_success_rate", -0.1), ("max_human_intervention_rate", 0),
                     ("max_human_intervention_rate", 1.5), ("max_latency_p95_ms", 0), ("max_daily_cost_usd", -1),
                     ("max_latency_p99_ms", float("inf")), ("max_latency_p99_ms", "fast"), ("max_daily_cost_usd", True)]:
        with pytest.raises(ValueError, match="must be"):
            sla.BY_KEY[key].check(bad)


# ---------------------------------------------------------------- the YAML file

def test_the_repo_file_is_valid_and_covers_the_demo_fleet():
    from meta_agent.fleet import CATALOG

    f = sla.load_sla_file(REPO_FILE)
    assert set(f.default) == set(sla.BY_KEY)  # every metric has a default
    assert {p.agent_id for p in CATALOG} <= set(f.agents)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "slas.yaml"
    p.write_text(text)
    return p


def test_parses_defaults_overrides_and_null_switches_off(tmp_path):
    p = write(tmp_path, "version: 1\ndefault:\n  min_success_rate: 0.9\n  max_daily_cost_usd: 5\n"
                        "agents:\n  a:\n    max_daily_cost_usd: 7.5\n    min_success_rate: null\n  b:\n")
    f = sla.load_sla_file(p)
    assert f.default == {"min_success_rate": 0.9, "max_daily_cost_usd": 5.0}
    assert f.agents == {"a": {"max_daily_cost_usd": 7.5, "min_success_rate": None}, "b": {}}
    defs = sla.SlaDefinitions(f)
    assert defs.limit("a", "min_success_rate") == sla.Limit(None, "yaml:agent")
    assert defs.limit("b", "min_success_rate") == sla.Limit(0.9, "yaml:default")
    assert defs.limit("a", "max_latency_p95_ms") is None


def test_missing_or_empty_file_defines_nothing(tmp_path):
    assert not sla.load_sla_file(tmp_path / "nope.yaml").exists
    assert sla.load_sla_file(write(tmp_path, "# nothing yet\n")).default == {}


@pytest.mark.parametrize(("text", "line", "words"), [
    ("default:\n  min_success_rate: 0.9\n  max_latency_p95: 100\n", 3,
     ["default.max_latency_p95", "unknown SLA metric", "max_latency_p95_ms"]),
    ("default:\n  min_success_rate: high\n", 2, ["default.min_success_rate", "ratio", "'high'", "null"]),
    ("agents:\n  a:\n    min_success_rate: 1.0\n", 3, ["agents.a.min_success_rate", "no error budget"]),
    ("agents:\n  a:\n    max_daily_cost_usd: -3\n", 3, ["agents.a.max_daily_cost_usd", "> 0"]),
    ("agents:\n  a:\n    max_latency_p95_ms: [1, 2]\n", 3, ["agents.a.max_latency_p95_ms", "a list or mapping"]),
    ("default:\n  min_success_rate: 0.9\n  min_success_rate: 0.8\n", 3, ["defined twice"]),
    ("defaults:\n  min_success_rate: 0.9\n", 1, ["defaults", "unknown top-level key", "'default'"]),
    ("agents:\n  - a\n  - b\n", 2, ["agents", "mapping of agent id"]),
    ("default:\n  min_success_rate: 0.9\n    max_daily_cost_usd: 3\n", 3, ["not valid YAML"]),
    ("version: 2\n", 1, ["version", "version 1"]),
    ("- just\n- a list\n", 1, ["the file", "mapping"]),
])
def test_bad_files_name_file_line_field_and_fix(tmp_path, text, line, words):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        sla.load_sla_file(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}:{line}:"), msg
    for w in words:
        assert w in msg, (w, msg)


def test_an_unreadable_file_is_one_clear_error(tmp_path):
    p = tmp_path / "slas.yaml"
    p.write_bytes(b"default:\n  min_success_rate: \xff\xfe\n")
    with pytest.raises(InputError, match="UTF-8"):
        sla.load_sla_file(p)


# ---------------------------------------------------------------- DB overrides and precedence

def test_precedence_db_agent_then_yaml_agent_then_db_default_then_yaml_default(engine, tmp_path):
    p = write(tmp_path, "default:\n  max_daily_cost_usd: 1\n  min_success_rate: 0.9\n"
                        "agents:\n  a:\n    max_daily_cost_usd: 2\n")
    key = "max_daily_cost_usd"
    with engine.begin() as conn:
        assert sla.load_definitions(conn, p).limit("a", key) == sla.Limit(2.0, "yaml:agent")
        assert sla.load_definitions(conn, p).limit("b", key) == sla.Limit(1.0, "yaml:default")
        sla.set_definition(conn, "*", key, 3.0)
        d = sla.load_definitions(conn, p)
        assert d.limit("a", key) == sla.Limit(2.0, "yaml:agent")  # the agent's own entry is more specific
        assert d.limit("b", key) == sla.Limit(3.0, "db:default")
        assert d.limit("*", key) == sla.Limit(3.0, "db:default")
        sla.set_definition(conn, "a", key, 4.0, note="holiday peak", updated_by="test")
        sla.set_definition(conn, "b", "min_success_rate", None)  # off for b only
        d = sla.load_definitions(conn, p)
        assert d.limit("a", key) == sla.Limit(4.0, "db:agent")
        assert d.limit("b", "min_success_rate") == sla.Limit(None, "db:agent")
        assert d.limit("c", "min_success_rate") == sla.Limit(0.9, "yaml:default")
        sla.set_definition(conn, "a", key, 5.0)  # change, not duplicate
        rows = sla.db_definitions(conn)
        assert [(r["scope"], r["metric"], r["limit_value"]) for r in rows] == [
            ("*", key, 3.0), ("a", key, 5.0), ("b", "min_success_rate", None)]
        assert sla.unset_definition(conn, "a", key) and not sla.unset_definition(conn, "a", key)
        assert sla.load_definitions(conn, p).limit("a", key) == sla.Limit(2.0, "yaml:agent")


def test_db_definitions_refuse_bad_values(engine):
    with engine.begin() as conn:
        with pytest.raises(InputError, match="unknown SLA metric 'p95'"):
            sla.set_definition(conn, "a", "p95", 1.0)
        with pytest.raises(InputError, match="min_success_rate: must be a ratio"):
            sla.set_definition(conn, "a", "min_success_rate", 95)
        assert sla.db_definitions(conn) == []


# ---------------------------------------------------------------- evaluation and attribution

def _prepare(engine, tmp_path) -> sla.SlaDefinitions:
    rows = []
    for i in range(40):  # "slow": 40 successes, latencies 100..4000 ms, two expensive ones
        rows.append(execution("slow", NOON + timedelta(minutes=i), latency_ms=100.0 * (i + 1),
                              cost_usd=1.0 if i in (3, 7) else 0.01, prompt_version="v4" if i >= 30 else "v3"))
    for i in range(20):  # "flaky": 15 ok, 4 failures, 1 timeout, 1 cancelled (not counted)
        st = "success" if i < 15 else ("timeout" if i == 19 else "failure")
        rows.append(execution("flaky", NOON + timedelta(minutes=i), status=st, latency_ms=50.0,
                              error_type="Boom" if st == "failure" else ("TimeoutError" if st == "timeout" else None),
                              human=i in (16, 17)))
    rows.append(execution("flaky", NOON, status="cancelled", error_type="CancelledError"))
    insert(engine, rows)
    quality.validate_day(engine, DAY)
    metrics.aggregate_day(engine, DAY)
    p = write(tmp_path, "default:\n  min_success_rate: 0.9\n  max_latency_p95_ms: 5000\n"
                        "  max_latency_p99_ms: 100000\n  max_daily_cost_usd: 10\n  max_human_intervention_rate: 0.5\n"
                        "agents:\n  slow:\n    max_latency_p95_ms: 3500\n    max_daily_cost_usd: 2.5\n")
    with engine.connect() as conn:
        return sla.load_definitions(conn, p)


def test_evaluations_statuses_and_attribution_against_sql(engine, tmp_path):
    defs = _prepare(engine, tmp_path)
    rows = sla.evaluate_day(engine, DAY, defs)
    by = {(r["agent_id"], r["metric"]): r for r in rows}
    assert len(rows) == 10  # 2 agents x 5 metrics
    p95 = by[("slow", "max_latency_p95_ms")]  # p95 of 100..4000 = 3805 ms vs 3500: breach
    assert p95["actual"] == pytest.approx(3805.0) and p95["status"] == "breach" and p95["limit_source"] == "yaml:agent"
    cost = by[("slow", "max_daily_cost_usd")]  # 2.38 / 2.5 = 95 %: warn
    assert cost["actual"] == pytest.approx(2.38) and cost["status"] == "warn"
    rate = by[("flaky", "min_success_rate")]  # 15/20 = 0.75 vs 0.9: (0.25 / 0.1) = 250 %
    assert rate["consumed"] == pytest.approx(2.5) and rate["status"] == "breach"
    assert by[("flaky", "max_human_intervention_rate")]["actual"] == pytest.approx(2 / 21)

    start, end = NOON.replace(hour=0), NOON.replace(hour=0) + timedelta(days=1)
    with engine.connect() as conn:
        slowest = conn.execute(sa.select(executions.c.execution_id).where(
            executions.c.agent_id == "slow", executions.c.started_at >= start, executions.c.started_at < end)
            .order_by(executions.c.latency_ms.desc()).limit(10)).scalars().all()
        dearest = conn.execute(sa.select(executions.c.execution_id).where(executions.c.agent_id == "slow")
                               .order_by(executions.c.cost_usd.desc()).limit(2)).scalars().all()
        failing = set(conn.execute(sa.select(executions.c.execution_id).where(
            executions.c.agent_id == "flaky", executions.c.status.in_(["failure", "timeout"]))).scalars())
        stored = {(r["agent_id"], r["metric"]): r for r in sla.evaluations_for_day(conn, DAY)}
    assert [i["execution_id"] for i in p95["attribution"]["slowest_ids"]] == slowest
    assert p95["attribution"]["p95_by_prompt_version"]["v4"] > p95["attribution"]["p95_by_prompt_version"]["v3"]
    assert [i["execution_id"] for i in cost["attribution"]["most_expensive_ids"][:2]] == dearest
    assert {i["execution_id"] for i in rate["attribution"]["failing_ids"]} == failing
    assert rate["attribution"]["by_error_type"] == {"Boom": 4, "TimeoutError": 1}
    assert by[("flaky", "max_latency_p95_ms")]["attribution"] == {}  # ok rows carry none

    assert set(stored) == set(by)  # what the alerts sensor reads
    s = stored[("flaky", "min_success_rate")]
    for col in ("day", "agent_id", "metric", "actual", "limit_value", "consumed", "status", "attribution", "evaluated_at"):
        assert col in s
    assert s["day"] == DAY and s["status"] == "breach" and s["attribution"]["by_error_type"]["Boom"] == 4


def test_re_evaluation_replaces_the_day_and_follows_a_changed_limit(engine, tmp_path):
    defs = _prepare(engine, tmp_path)
    sla.evaluate_day(engine, DAY, defs)
    with engine.begin() as conn:
        sla.set_definition(conn, "slow", "max_latency_p95_ms", 10000)
    sla.evaluate_day(engine, DAY, sla.SlaDefinitions(defs.file, {("slow", "max_latency_p95_ms"): 10000.0}))
    with engine.connect() as conn:
        rows = sla.evaluations_for_day(conn, DAY)
    assert len(rows) == 10
    p95 = next(r for r in rows if r["agent_id"] == "slow" and r["metric"] == "max_latency_p95_ms")
    assert (p95["status"], p95["limit_source"], p95["limit_value"]) == ("ok", "db:agent", 10000.0)


def test_a_metric_without_data_is_not_evaluated():
    defs = sla.SlaDefinitions(sla.SlaFile(Path("x"), default={"min_success_rate": 0.9, "max_latency_p95_ms": 10.0,
                                                               "max_daily_cost_usd": 1.0}))
    row = {"day": DAY, "agent_id": "a", "success_rate": None, "latency_p95_ms": None, "cost_usd": 0.5}
    out = sla.evaluate([row], defs)
    assert [(r["metric"], r["status"]) for r in out] == [("max_daily_cost_usd", "ok")]


def test_status_grid_puts_the_worst_agents_first():
    rows = [{"agent_id": "a", "metric": "min_success_rate", "status": "ok", "consumed": 0.1},
            {"agent_id": "b", "metric": "max_daily_cost_usd", "status": "breach", "consumed": 1.5},
            {"agent_id": "c", "metric": "max_latency_p95_ms", "status": "warn", "consumed": 0.85}]
    grid = sla.status_grid(rows)
    assert [g["agent"] for g in grid] == ["b", "c", "a"]
    assert grid[0]["cost"] == "BREACH 150%" and grid[1]["p95"] == "WARN 85%" and grid[2]["p99"] == "-"
