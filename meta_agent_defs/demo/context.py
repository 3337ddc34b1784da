"""What demo steps share: options, the Dagster instance, progress and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from meta_agent import config
from meta_agent.cli.output import progress, stderr


@dataclass
class DemoOptions:
    agents: int = 8
    days: int = 30
    per_day: int = 300
    seed: int = 7
    end: date = field(default_factory=lambda: datetime.now(UTC).date() - timedelta(days=1))

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass
class DemoContext:
    options: DemoOptions
    as_json: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    sections: list[Any] = field(default_factory=list)  # rich renderables, printed at the end
    next_steps: list[str] = field(default_factory=lambda: [
        "make ui  (dagster dev on the same DAGSTER_HOME: every run and asset above is there)",
    ])
    _instance: dg.DagsterInstance | None = None

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.get()
        return self._instance

    def progress(self):
        return progress(not self.as_json)

    def note(self, text: str) -> None:
        if not self.as_json:
            stderr.print(text)

    def materialize(self, assets: list, label: str, *, partition_range: tuple[str, str] | None = None,
                    partition_key: str | None = None, selection=None) -> dg.ExecuteInProcessResult:
        """Materialize through Dagster on the demo's instance, so runs show up in the UI."""
        from meta_agent_defs.definitions import defs

        tags = {"meta_agent/source": "demo"}
        if partition_range:
            tags["dagster/asset_partition_range_start"] = partition_range[0]
            tags["dagster/asset_partition_range_end"] = partition_range[1]
        resources = defs.resources
        with self.progress() as bar:
            task = bar.add_task(label, total=1)
            result = dg.materialize(
                assets, instance=self.instance, resources=resources, tags=tags,
                partition_key=partition_key, selection=selection,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            bar.update(task, completed=1)
        self.summary.setdefault("dagster_runs", []).append(
            {"label": label, "run_id": result.run_id, "success": result.success})
        return result

    @staticmethod
    def db_label() -> str:
        return config.redact_url(config.db_url())
