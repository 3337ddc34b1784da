"""The code location loads and validates; the library stays free of Dagster."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_dagster_definitions_validate_passes():
    p = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Validation successful for code location meta_agent_defs" in p.stdout + p.stderr


def test_defs_load_and_resolve_every_job():
    from meta_agent_defs.definitions import defs

    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"agent_registry", "execution_log"} <= keys
    for job in repo.get_all_jobs():
        assert job.name


def test_library_never_imports_dagster():
    offenders = []
    for path in (ROOT / "meta_agent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top.startswith("dagster") or top in ("meta_agent_defs", "meta_agent_demo"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert offenders == [], "meta_agent/ must stay Dagster-free:\n" + "\n".join(offenders)


def test_embedded_instance_config_is_what_the_design_says():
    import yaml

    cfg = yaml.safe_load((ROOT / "dagster_home" / "dagster.yaml").read_text())
    assert "sqlite" in cfg["storage"]
    assert cfg["run_monitoring"]["enabled"] is True
    assert cfg["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = cfg["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "meta_agent/kind", "value": "script_run", "limit": 5} in limits
    assert cfg["concurrency"]["pools"]["default_limit"] == 5  # the sandbox pool, however a run is launched


def test_every_definition_says_what_it_is_and_who_owns_it():
    from meta_agent_defs.definitions import defs

    repo = defs.get_repository_def()
    for node in repo.asset_graph.asset_nodes:
        key = node.key.to_user_string()
        assert node.description, key
        assert node.kinds, key
        if node.is_materializable:
            assert node.owners == ["team:platform"], key
    for sensor in repo.sensor_defs:
        assert sensor.description, sensor.name
    for schedule in repo.schedule_defs:
        assert schedule.description, schedule.name
    for job in repo.get_all_jobs():
        assert job.name.startswith("__") or job.description, job.name
