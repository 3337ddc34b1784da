"""The scenarios the platform knows: files in the scenarios folder and ones added by the CLI,
both kept in the ops database (``scenarios``) under their partition key.

``sync_directory`` is what the scenario sensor calls each tick: it validates every file and
stores the good ones — a bad file is reported with its sentence and never stops the others,
and never replaces the last good version of its scenario. ``add`` stores one scenario from a
file given on the command line; nothing is stored when it does not validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from meta_agent.errors import InputError, MetaAgentError
from meta_agent.simulation import repository as srepo
from meta_agent.simulation.scenario import (
    Scenario,
    ScenarioFileError,
    load_scenario_dir,
    load_scenario_file,
)


@dataclass
class SyncReport:
    directory: str
    scenarios: list[str] = field(default_factory=list)  # every good file's key
    changed: list[str] = field(default_factory=list)  # stored or updated this time
    errors: list[str] = field(default_factory=list)  # one sentence per bad file

    def sentence(self) -> str:
        return (f"{len(self.scenarios)} scenario files in {self.directory} ({len(self.changed)} new or changed), "
                f"{len(self.errors)} rejected")


def sync_directory(engine: sa.Engine, directory: Path) -> SyncReport:
    """Validate ``directory/*.yaml`` and store every good scenario (source ``file``)."""
    report = SyncReport(directory=str(directory))
    if not Path(directory).is_dir():
        report.errors.append(f"{directory}: no such scenarios folder; create it or set META_AGENT_SCENARIOS_DIR")
        return report
    good, bad = load_scenario_dir(directory)
    report.errors = [str(e) for e in bad]
    with engine.begin() as conn:
        added_here = {r["scenario_key"] for r in srepo.scenario_rows(conn) if r["source"] == "cli"}
        for scenario in good:
            if scenario.key in added_here:  # a scenario someone added by hand is never replaced by a file
                report.errors.append(f"{scenario.source}: the key {scenario.key!r} belongs to a scenario added with "
                                     "the CLI, which stays; rename the file to sync it")
                continue
            report.scenarios.append(scenario.key)
            if srepo.upsert_scenario(conn, scenario, source="file", source_ref=scenario.source):
                report.changed.append(scenario.key)
    return report


def add(engine: sa.Engine, path: Path) -> Scenario:
    """Validate the scenario file at ``path`` and store it (source ``cli``); a
    ``ScenarioFileError`` (nothing stored) when it does not validate."""
    scenario = load_scenario_file(path)
    with engine.begin() as conn:
        srepo.upsert_scenario(conn, scenario, source="cli", source_ref=str(Path(path).resolve()))
    return scenario


def known(engine: sa.Engine) -> list[Scenario]:
    """Every stored scenario that still validates, by key (a stored document the current rules
    reject is left out here and named by ``get``, so one stale row never hides the others)."""
    out = []
    with engine.connect() as conn:
        for r in srepo.scenario_rows(conn):
            try:
                out.append(srepo.get_scenario(conn, r["scenario_key"]))
            except ScenarioFileError:
                continue
    return [s for s in out if s is not None]


def get(engine: sa.Engine, key: str) -> Scenario:
    with engine.connect() as conn:
        scenario = srepo.get_scenario(conn, key)
    if scenario is None:
        raise InputError(f"scenario {key!r} is not known; add it with `meta-agent simulate scenarios add FILE` "
                                "or put it in the scenarios folder")
    return scenario


def stated_ranges(engine: sa.Engine, key: str) -> int:
    """How many expected ranges the scenario states (0 when it is not known)."""
    try:
        return len(get(engine, key).expected_outcome)
    except MetaAgentError:
        return 0
