"""What demo steps share: options, progress, the summary and the sections printed at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
        "make ui  (dagster dev on the same DAGSTER_HOME: every run, asset and check above is there)",
    ])

    def progress(self):
        return progress(not self.as_json)

    def note(self, text: str) -> None:
        if not self.as_json:
            stderr.print(text)

    def record_run(self, label: str, job: str, run_id: str, success: bool) -> None:
        self.summary.setdefault("dagster_runs", []).append(
            {"label": label, "job": job, "run_id": run_id, "success": success})
        if not success:
            self.note(f"[bold red]run {run_id} of {job} failed[/]: its events are on the Runs page (make ui)")

    @staticmethod
    def db_label() -> str:
        return config.redact_url(config.db_url())
