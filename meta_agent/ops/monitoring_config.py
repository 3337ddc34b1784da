"""Health rules and circuit-breaker settings: defaults, overridden per agent in
``config/monitoring.yaml`` (or the file ``META_AGENT_MONITORING_FILE`` names).

    health:
      default: {degraded_failure_rate: 0.10, critical_failure_rate: 0.5}
      agents:
        lease-abstractor: {latency_degraded_slow_share: 0.4}
    circuit:
      default: {failure_rate_threshold: 0.5, min_volume: 10, cooldown_seconds: 300}
      agents:
        sql-analyst: {min_volume: 20}

Unknown keys and out-of-range values are errors that name the file and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from meta_agent import config
from meta_agent.errors import ConfigError
from meta_agent.ops.circuit import CircuitConfig
from meta_agent.ops.health import HealthRules


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: dict = {}
    agents: dict[str, dict] = {}


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    health: _Section = _Section()
    circuit: _Section = _Section()


@dataclass
class MonitoringConfig:
    health_default: HealthRules = field(default_factory=HealthRules)
    circuit_default: CircuitConfig = field(default_factory=CircuitConfig)
    health_agents: dict[str, HealthRules] = field(default_factory=dict)
    circuit_agents: dict[str, CircuitConfig] = field(default_factory=dict)
    source: str = "built-in defaults"

    def health_rules(self, agent_id: str | None) -> HealthRules:
        return self.health_agents.get(agent_id, self.health_default) if agent_id else self.health_default

    def circuit_config(self, agent_id: str) -> CircuitConfig:
        return self.circuit_agents.get(agent_id, self.circuit_default)


def default_path() -> Path:
    env = os.environ.get("META_AGENT_MONITORING_FILE")
    return Path(env) if env else config.config_dir() / "monitoring.yaml"


def load(path: Path | None = None) -> MonitoringConfig:
    """Read the monitoring file; a missing file means the defaults."""
    path = path or default_path()
    if not path.exists():
        return MonitoringConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'health' and/or 'circuit' at the top.")
    doc = _validate(_File, raw, path, "")
    h_default = _validate(HealthRules, doc.health.default, path, "health.default")
    c_default = _validate(CircuitConfig, doc.circuit.default, path, "circuit.default")
    h_agents = {a: _validate(HealthRules, {**doc.health.default, **v}, path, f"health.agents.{a}")
                for a, v in doc.health.agents.items()}
    c_agents = {a: _validate(CircuitConfig, {**doc.circuit.default, **v}, path, f"circuit.agents.{a}")
                for a, v in doc.circuit.agents.items()}
    for where, rules in (("health.default", h_default), *((f"health.agents.{a}", r) for a, r in h_agents.items())):
        if rules.critical_failure_rate < rules.degraded_failure_rate:
            raise ConfigError(f"{path}: {where}: critical_failure_rate ({rules.critical_failure_rate}) is below "
                              f"degraded_failure_rate ({rules.degraded_failure_rate}); raise it.")
    return MonitoringConfig(h_default, c_default, h_agents, c_agents, str(path))


def _validate(model, data, path: Path, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {where or 'top level'} must be a mapping, not {type(data).__name__}.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in (where, *err["loc"]) if p != "")
        fix = ("remove it (allowed: " + ", ".join(model.model_fields) + ")"
               if err["type"] == "extra_forbidden" else "fix the value")
        raise ConfigError(f"{path}: {loc}: {err['msg']}; {fix}.") from None
