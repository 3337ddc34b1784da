"""config/monitoring.yaml: defaults, per-agent overrides, and errors that name file and field."""

from __future__ import annotations

import pytest

from meta_agent.errors import ConfigError
from meta_agent.ops import monitoring_config


def test_the_repo_file_loads_with_the_defaults():
    cfg = monitoring_config.load()
    assert cfg.source.endswith("config/monitoring.yaml")
    assert cfg.health_rules("anyone").significance == 1e-4 and cfg.circuit_config("anyone").min_volume == 20


def test_missing_file_means_defaults(tmp_path):
    assert monitoring_config.load(tmp_path / "nope.yaml").source == "built-in defaults"


def test_agent_overrides_inherit_the_default_section(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("health:\n  default: {min_volume_long: 8}\n  agents:\n    slow-bot: {latency_degraded_slow_share: 0.5}\n"
                 "circuit:\n  agents:\n    sql-analyst: {min_volume: 40}\n")
    cfg = monitoring_config.load(p)
    assert cfg.health_rules("slow-bot").min_volume_long == 8
    assert cfg.health_rules("slow-bot").latency_degraded_slow_share == 0.5
    assert cfg.health_rules("other").latency_degraded_slow_share == 0.25
    assert cfg.circuit_config("sql-analyst").min_volume == 40 and cfg.circuit_config("x").min_volume == 20


@pytest.mark.parametrize(("text", "message"), [
    ("health: [1, 2", "line 1: not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("healt: {}\n", "healt: Extra inputs are not permitted; remove it"),
    ("health:\n  default: {degraded_failure_rate: 1.5}\n", "health.default.degraded_failure_rate: Input should be less"),
    ("health:\n  default: {signficance: 0.01}\n", "health.default.signficance: Extra inputs.*allowed: short_window"),
    ("health:\n  agents:\n    a: {min_volume_long: zero}\n", "health.agents.a.min_volume_long"),
    ("circuit:\n  default: 3\n", "circuit.default"),
    ("circuit:\n  default: {cooldown_seconds: -1}\n", "circuit.default.cooldown_seconds"),
    ("health:\n  default: {degraded_failure_rate: 0.6, critical_failure_rate: 0.5}\n",
     "critical_failure_rate .0.5. is below degraded_failure_rate"),
])
def test_malformed_files_name_the_file_and_field(tmp_path, text, message):
    p = tmp_path / "monitoring.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        monitoring_config.load(p)
    assert str(p) in str(err.value)


def test_env_var_points_at_another_file(tmp_path, monkeypatch):
    p = tmp_path / "other.yaml"
    p.write_text("circuit:\n  default: {cooldown_seconds: 30}\n")
    monkeypatch.setenv("META_AGENT_MONITORING_FILE", str(p))
    assert monitoring_config.load().circuit_config("a").cooldown_seconds == 30
