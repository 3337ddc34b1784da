"""The repository's configuration files: agents, SLAs, monitoring thresholds."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from meta_agent import config
from meta_agent.ops import monitoring_config
from meta_agent.ops.monitoring_config import MonitoringConfig


class RepoConfig(dg.ConfigurableResource):
    """The folder with ``agents.yaml``, ``slas.yaml`` and ``monitoring.yaml``, bound to
    ``META_AGENT_CONFIG_DIR`` (default: the repo's ``config/``); ``monitoring_file`` (bound to
    ``META_AGENT_MONITORING_FILE``) replaces the monitoring thresholds file; ``scenarios_dir``
    (bound to ``META_AGENT_SCENARIOS_DIR``) holds the scenario files."""

    config_dir: str
    monitoring_file: str | None = None
    scenarios_dir: str | None = None

    def scenarios_path(self) -> Path:
        """The scenario files' folder (``META_AGENT_SCENARIOS_DIR``; default the repo's ``scenarios/``)."""
        return Path(self.scenarios_dir) if self.scenarios_dir else config.scenarios_dir()

    def file(self, name: str) -> Path:
        return Path(self.config_dir) / name

    def monitoring(self) -> MonitoringConfig:
        return monitoring_config.load(Path(self.monitoring_file) if self.monitoring_file
                                      else self.file("monitoring.yaml"))
