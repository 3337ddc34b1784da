"""`meta-agent metrics` and `meta-agent sla`: one JSON document with --json, precise errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from meta_agent.cli import main
from meta_agent.ops import metrics, quality, sla
from meta_agent.store.engine import engine_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from opsdata import execution, insert  # noqa: E402

BIN = Path(sys.executable).parent / "meta-agent"
DAY = date(2026, 3, 14)
NOON = datetime(2026, 3, 14, 12, tzinfo=UTC)
SLAS = "default:\n  min_success_rate: 0.9\n  max_daily_cost_usd: 1.0\nagents:\n  b:\n    max_daily_cost_usd: 5\n"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def day_done(ops_env, tmp_path, monkeypatch) -> str:
    """Two agents' executions on DAY, validated, aggregated and evaluated."""
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "slas.yaml").write_text(SLAS)
    monkeypatch.setenv("META_AGENT_CONFIG_DIR", str(cfg))
    eng = engine_for(ops_env)
    insert(eng, [execution("a", NOON + timedelta(minutes=i), status="failure" if i < 3 else "success",
                           error_type="Boom" if i < 3 else None, cost_usd=0.1) for i in range(20)]
           + [execution("b", NOON, cost_usd=2.0)])
    quality.validate_day(eng, DAY)
    metrics.aggregate_day(eng, DAY)
    sla.evaluate_day(eng, DAY)
    return ops_env


def test_metrics_show_json_is_one_document(day_done, capsys):
    code, out, err = run(capsys, "metrics", "show", "--date", DAY.isoformat(), "--json")
    doc = json.loads(out)
    assert code == 0 and err == ""
    assert doc["day"] == "2026-03-14" and [a["agent_id"] for a in doc["agents"]] == ["a", "b"]
    a = doc["agents"][0]
    assert (a["executions"], a["failures"], a["success_rate"], a["error_types"]) == (20, 3, 0.85, {"Boom": 3})

    code, out, _ = run(capsys, "metrics", "show", "--date", DAY.isoformat(), "--agent", "b", "--json")
    assert code == 0 and [x["agent_id"] for x in json.loads(out)["agents"]] == ["b"]


def test_metrics_show_human_and_an_empty_day(day_done, capsys):
    code, out, _ = run(capsys, "metrics", "show", "--date", DAY.isoformat())
    assert code == 0 and "85.0%" in out and "Boom (3)" in out
    code, out, err = run(capsys, "metrics", "show", "--date", "2026-03-01")
    assert code == 0 and out == "" and "no metrics for 2026-03-01" in err
    code, out, _ = run(capsys, "metrics", "show", "--date", "2026-03-01", "--json")
    assert code == 0 and json.loads(out)["agents"] == []


@pytest.mark.parametrize(("args", "words"), [
    (["metrics", "show", "--date", "2026-02-30"], ["--date '2026-02-30'", "YYYY-MM-DD", "yesterday"]),
    (["metrics", "show", "--date", "last week"], ["--date 'last week'"]),
    (["metrics", "show", "--date", "2026-03-14", "--agent", "zzz"], ["--agent 'zzz'", "a, b"]),
    (["sla", "status", "--date", "2026-03-14", "--agent", "zzz"], ["--agent 'zzz'", "sla list"]),
    (["sla", "set", "p95", "100"], ["unknown SLA metric 'p95'", "max_latency_p95_ms"]),
    (["sla", "set", "min_success_rate", "ninety"], ["VALUE 'ninety'", "'off'"]),
    (["sla", "set", "min_success_rate", "1.5"], ["min_success_rate", "ratio"]),
    (["sla", "unset", "max_daily_cost_usd", "--agent", "a"], ["no DB override", "sla list"]),
])
def test_bad_input_is_one_sentence_and_exit_2(day_done, capsys, args, words):
    code, out, err = run(capsys, *args, "--json")
    assert code == 2 and out == ""
    for w in words:
        assert w in err, (w, err)


def test_relative_dates(day_done, capsys):
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    for arg in ("yesterday", "-1"):
        code, out, _ = run(capsys, "sla", "status", "--date", arg, "--json")
        assert code == 0 and json.loads(out)["day"] == yesterday
    code, out, _ = run(capsys, "metrics", "show", "--json")  # default: yesterday
    assert json.loads(out)["day"] == yesterday


def test_sla_status_json_and_human(day_done, capsys):
    code, out, err = run(capsys, "sla", "status", "--date", DAY.isoformat(), "--json")
    doc = json.loads(out)
    assert code == 0 and err == ""
    by = {(e["agent_id"], e["metric"]): e for e in doc["evaluations"]}
    rate = by[("a", "min_success_rate")]  # 0.85 vs 0.9: (0.15 / 0.1) = 150 %
    assert rate["status"] == "breach" and rate["consumed"] == pytest.approx(1.5)
    assert rate["attribution"]["by_error_type"] == {"Boom": 3}
    assert by[("a", "max_daily_cost_usd")]["consumed"] == pytest.approx(2.0)  # 20 x $0.10 of $1
    assert by[("b", "max_daily_cost_usd")]["status"] == "ok"  # $2 of its own $5
    code, out, _ = run(capsys, "sla", "status", "--date", DAY.isoformat())
    assert code == 0 and "BREACH 150%" in out and "Boom 3" in out


def test_sla_set_list_unset_round_trip(day_done, capsys):
    code, out, _ = run(capsys, "sla", "list", "--json")
    doc = json.loads(out)
    eff = {(e["agent_id"], e["metric"]): e for e in doc["effective"]}
    assert eff[("b", "max_daily_cost_usd")]["limit"] == 5.0 and eff[("b", "max_daily_cost_usd")]["source"] == "yaml:agent"
    assert eff[("a", "max_daily_cost_usd")]["source"] == "yaml:default"
    assert eff[("a", "max_latency_p95_ms")]["limit"] is None and not eff[("a", "max_latency_p95_ms")]["enabled"]

    code, out, _ = run(capsys, "sla", "set", "max_daily_cost_usd", "3", "--agent", "a", "--note", "peak", "--json")
    assert code == 0 and json.loads(out)["previous"] == {"limit": 1.0, "source": "yaml:default"}
    code, out, _ = run(capsys, "sla", "set", "min_success_rate", "off", "--agent", "b", "--json")
    assert code == 0 and json.loads(out)["limit"] is None
    code, out, _ = run(capsys, "sla", "set", "max_daily_cost_usd", "9", "--json")  # the DB default
    assert json.loads(out)["scope"] == "*"

    code, out, _ = run(capsys, "sla", "list", "--json")
    eff = {(e["agent_id"], e["metric"]): e for e in json.loads(out)["effective"]}
    assert (eff[("a", "max_daily_cost_usd")]["limit"], eff[("a", "max_daily_cost_usd")]["source"]) == (3.0, "db:agent")
    assert (eff[("b", "max_daily_cost_usd")]["limit"], eff[("b", "max_daily_cost_usd")]["source"]) == (5.0, "yaml:agent")
    assert eff[("b", "min_success_rate")]["enabled"] is False
    code, out, _ = run(capsys, "sla", "list")
    assert code == 0 and "3 D" in out and "(default)" in out and "9 d" in out

    code, out, _ = run(capsys, "sla", "unset", "max_daily_cost_usd", "--agent", "a", "--json")
    assert code == 0 and json.loads(out)["now"] == {"limit": 9.0, "source": "db:default"}


def test_a_broken_sla_file_is_named_with_its_line(day_done, tmp_path, capsys):
    (tmp_path / "config" / "slas.yaml").write_text("default:\n  min_success_rate: 0.9\n  max_cost: 3\n")
    code, out, err = run(capsys, "sla", "list", "--json")
    assert code == 2 and out == ""
    assert "slas.yaml:3: default.max_cost: unknown SLA metric" in err


def test_subprocess_json_is_exactly_one_document(day_done, tmp_path):
    import os

    env = {**os.environ, "META_AGENT_DB_URL": day_done}
    p = subprocess.run([str(BIN), "sla", "status", "--date", DAY.isoformat(), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["counts"]["breach"] >= 1
