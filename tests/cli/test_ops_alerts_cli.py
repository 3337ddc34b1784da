"""`meta-agent health|circuit|alerts`: one JSON document with --json, one-sentence errors with
non-zero exit codes for bad input, and the state they change."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from meta_agent.cli import main
from meta_agent.ops import alerts
from meta_agent.ops.alerts import AlertSpec
from meta_agent.store.engine import engine_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from monitordata import T0, insert, steady  # noqa: E402

BIN = Path(sys.executable).parent / "meta-agent"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_json(out: str):
    return json.loads(out)


@pytest.fixture
def fleet(ops_env, tmp_path, monkeypatch):
    """Two agents; 'api' fails everything from T0 on."""
    monkeypatch.setenv("META_AGENT_ALERT_LOG", str(tmp_path / "notifications.jsonl"))
    monkeypatch.setenv("META_AGENT_USER", "maria")
    engine = engine_for(ops_env)
    insert(engine, steady("api", T0 - timedelta(days=2), T0, timedelta(minutes=5))
           + steady("api", T0, T0 + timedelta(hours=1), timedelta(seconds=30), status="failure")
           + steady("batch", T0 - timedelta(days=2), T0 + timedelta(hours=1), timedelta(minutes=5)))
    return engine


@pytest.fixture
def quiet(ops_env, monkeypatch):
    """A migrated, empty ops DB (for input errors that need no data)."""
    monkeypatch.setenv("META_AGENT_USER", "maria")
    return engine_for(ops_env)


def test_health_evaluates_without_recording(fleet, capsys):
    code, out, err = run(capsys, "health", "--as-of", (T0 + timedelta(minutes=20)).isoformat(), "--json")
    doc = one_json(out)
    assert code == 0 and err == ""
    status = {a["agent_id"]: a["status"] for a in doc["agents"]}
    assert status == {"api": "critical", "batch": "healthy"} and "tick" not in doc
    code, out, _ = run(capsys, "alerts", "list", "--json")
    assert one_json(out)["count"] == 0  # nothing recorded


def test_health_record_is_one_sensor_tick(fleet, capsys, tmp_path):
    at = (T0 + timedelta(minutes=20)).isoformat()
    code, out, _ = run(capsys, "health", "--as-of", at, "--record", "--agent", "api", "--json")
    doc = one_json(out)
    assert code == 0 and [a["agent_id"] for a in doc["agents"]] == ["api"]
    assert doc["tick"]["alerts_created"] == 2 and doc["tick"]["delivery"]["sent"] == 2
    assert len((tmp_path / "notifications.jsonl").read_text().splitlines()) == 2
    code, out, _ = run(capsys, "health", "history", "--agent", "api", "--json")
    assert [t["to_status"] for t in one_json(out)["transitions"]] == ["critical"]
    code, out, _ = run(capsys, "health", "--as-of", at)  # human output
    assert code == 0 and "critical" in out and "api" in out


def test_health_bad_input(fleet, capsys):
    code, out, err = run(capsys, "health", "--as-of", "yesterday-ish")
    assert code == 2 and out == "" and "--as-of 'yesterday-ish': not a time" in err
    code, _, err = run(capsys, "health", "--as-of", T0.isoformat(), "--agent", "nobody")
    assert code == 2 and "--agent 'nobody': unknown at that time (agents active at" in err and "api" in err


def test_circuit_override_cycle(fleet, capsys):
    code, out, _ = run(capsys, "circuit", "open", "api", "--reason", "vendor outage", "--json")
    doc = one_json(out)
    assert code == 0 and doc["state"] == "open" and doc["override"] == "open" and doc["changed"]
    assert doc["delivery"]["sent"] == 1  # the info alert "forced open by maria"
    code, out, _ = run(capsys, "alerts", "list", "--type", "circuit_open", "--json")
    (alert,) = one_json(out)["alerts"]
    assert alert["severity"] == "info" and "forced open by maria" in alert["title"]
    code, out, _ = run(capsys, "circuit", "status", "api", "--json")
    doc = one_json(out)
    assert doc["circuits"][0]["state"] == "open" and doc["transitions"][0]["actor"] == "manual:maria"
    code, out, _ = run(capsys, "circuit", "close", "api", "--json")
    assert one_json(out)["state"] == "closed"
    code, out, _ = run(capsys, "circuit", "auto", "api", "--json")
    doc = one_json(out)
    assert doc["override"] is None and doc["state"] == "closed"
    code, out, _ = run(capsys, "alerts", "list", "--json")
    assert one_json(out)["count"] == 0  # closing resolved the circuit alert
    code, out, _ = run(capsys, "circuit", "status")
    assert code == 0 and "api" in out


def test_circuit_bad_input(fleet, capsys):
    code, out, err = run(capsys, "circuit", "open", "nobody")
    assert code == 2 and out == "" and "no agent 'nobody' in the registry (known agents: api, batch)" in err
    code, _, err = run(capsys, "circuit", "status", "batch")
    assert code == 2 and "no circuit for 'batch' yet" in err
    code, _, err = run(capsys, "circuit", "open")
    assert code == 2 and "Missing argument" in err


def _raise(engine, **kw) -> int:
    spec = AlertSpec(kw.get("agent", "api"), kw.get("kind", "sla_breach"), kw.get("severity", "critical"),
                     "api breached its SLA", "min_success_rate 0.7 vs 0.9", T0, "test")
    with engine.begin() as conn:
        return alerts.raise_alert(conn, spec, ["log"]).alert_id


def test_alerts_list_show_ack_resolve(fleet, capsys):
    aid = _raise(fleet)
    code, out, _ = run(capsys, "alerts", "list", "--json")
    doc = one_json(out)
    assert code == 0 and doc["count"] == 1 and doc["alerts"][0]["deliveries"][0]["status"] == "pending"
    code, out, _ = run(capsys, "alerts", "deliver", "--json")
    assert one_json(out) == {"sent": 1, "failed": 0, "deferred": 0, "errors": [], "channels_down": [],
                             "still_pending": 0}
    code, out, _ = run(capsys, "alerts", "ack", str(aid), "--note", "on it", "--json")
    doc = one_json(out)
    assert doc["status"] == "acknowledged" and doc["acknowledged_by"] == "maria" and doc["note"] == "on it"
    code, out, _ = run(capsys, "alerts", "resolve", str(aid), "--by", "dev", "--json")
    assert one_json(out)["resolved_by"] == "dev"
    code, out, _ = run(capsys, "alerts", "list", "--status", "resolved", "--since", "2026-03-10", "--json")
    assert [a["alert_id"] for a in one_json(out)["alerts"]] == [aid]
    code, out, _ = run(capsys, "alerts", "show", str(aid))
    assert code == 0 and "resolved by dev" in out and "min_success_rate 0.7 vs 0.9" in out
    code, out, _ = run(capsys, "alerts", "digest", "--date", "2026-03-10", "--json")
    assert one_json(out)["alerts"] == 1 and "api breached its SLA" in one_json(out)["markdown"]


@pytest.mark.parametrize(("args", "message"), [
    (["alerts", "ack", "999"], "there is no alert 999"),
    (["alerts", "show", "999"], "there is no alert 999"),
    (["alerts", "list", "--status", "closed"], "--status 'closed': use one of open, acknowledged, resolved, all"),
    (["alerts", "list", "--type", "fire"], "--type 'fire': use one of sla_warning"),
    (["alerts", "list", "--severity", "loud"], "--severity 'loud'"),
    (["alerts", "list", "--since", "last week"], "--since 'last week': not a time"),
    (["alerts", "digest", "--date", "03/10/2026"], "--date '03/10/2026': not a day"),
    (["alerts", "ack", "abc"], "Invalid value for 'alert_id'"),
    (["alerts", "ack", "1", "--by", "  "], "--by is empty"),
])
def test_alerts_bad_input(quiet, capsys, args, message):
    if args[:2] == ["alerts", "ack"] and args[2] == "1":
        _raise(quiet)
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and message in err


def test_double_resolve_is_refused(quiet, capsys):
    aid = _raise(quiet)
    assert run(capsys, "alerts", "resolve", str(aid))[0] == 0
    code, _, err = run(capsys, "alerts", "resolve", str(aid))
    assert code == 2 and f"alert {aid} is already resolved (by maria" in err


def test_unmigrated_database_says_how_to_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("META_AGENT_DB_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, _, err = run(capsys, "alerts", "list")
    assert code == 3 and "meta-agent db upgrade" in err


def test_bad_notifier_configuration_is_a_config_error(quiet, capsys, monkeypatch):
    monkeypatch.setenv("META_AGENT_NOTIFIERS", "log,pager")
    code, _, err = run(capsys, "alerts", "deliver")
    assert code == 2 and "unknown channel 'pager'" in err


def test_json_through_the_console_script(quiet, tmp_path):
    import os

    env = {**os.environ}
    p = subprocess.run([str(BIN), "alerts", "list", "--status", "all", "--json"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"status": "all", "count": 0, "alerts": []}
