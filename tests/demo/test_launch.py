"""``python -m meta_agent_launch``: a named job on the instance, and clear errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meta_agent.errors import ConfigError
from meta_agent.store import migrate
from meta_agent_defs.partitions import DAILY_START_ENV, daily_start

ROOT = Path(__file__).resolve().parents[2]


def launch(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home), "META_AGENT_DB_URL": f"sqlite:///{home / 'ops.db'}",
           "META_AGENT_ARTIFACTS": str(home / "artifacts")}
    return subprocess.run([sys.executable, "-m", "meta_agent_launch", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    (h / "dagster.yaml").write_text((ROOT / "dagster_home" / "dagster.yaml").read_text())
    migrate.upgrade(f"sqlite:///{h / 'ops.db'}")
    return h


@pytest.mark.slow
def test_a_named_job_runs_on_the_instance_and_prints_one_json_line(home):
    p = launch(home, "fleet_health_refresh", "--tag", "meta_agent/source=test")
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    assert doc["job"] == "fleet_health_refresh" and doc["success"] is True and len(doc["run_id"]) == 36


@pytest.mark.parametrize("args, message", [
    (["no_such_job"], "no job 'no_such_job' in the code location; use one of"),
    (["fleet_health_refresh", "--tag", "oops"], "--tag 'oops': write KEY=VALUE"),
    (["fleet_health_refresh", "--partition", "2026-01-01"], "job 'fleet_health_refresh' is not partitioned"),
    (["agent_ops_daily", "--partition", "yesterday"], "'yesterday' is not a partition of 'agent_ops_daily'"),
    (["script_factory_job", "--dynamic", "script_requests"], "give the key too"),
    (["agent_ops_daily", "--from", "2026-03-01"], "a range is --from KEY --to KEY (both)"),
    (["agent_ops_daily", "--from", "2026-03-01", "--to", "March 9"], "'March 9' is not a partition of"),
])
def test_bad_input_is_one_clear_sentence_and_exit_2(home, args, message):
    p = launch(home, *args)
    assert p.returncode == 2 and message in p.stderr, p.stderr[-2000:]
    assert "Traceback" not in p.stderr


def test_a_malformed_daily_start_names_the_variable_and_the_fix(monkeypatch):
    monkeypatch.setenv(DAILY_START_ENV, "first of May")
    with pytest.raises(ConfigError, match="META_AGENT_DAILY_START='first of May' is not a date; use YYYY-MM-DD"):
        daily_start()
    monkeypatch.setenv(DAILY_START_ENV, "2026-05-01")
    assert daily_start().isoformat() == "2026-05-01"
