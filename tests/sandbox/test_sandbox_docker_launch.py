"""Whole-run isolation: Dagster runs launched through DockerRunLauncher onto the engine, with
PostgreSQL storage, and the evidence that their steps executed inside the run container."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meta_agent.sandbox.container import container_exists

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "docker_run_launcher_demo.py"

pytestmark = [pytest.mark.container, pytest.mark.postgres, pytest.mark.slow]


def test_script_factory_job_runs_in_its_own_container_via_docker_run_launcher(container_engine, pg_url):
    """Outcome: isolation_probe_job and script_factory_job both SUCCEED through
    DockerRunLauncher; each run's worker is pid 1 of the container the launcher recorded;
    the probe step sees that same container id in its /proc/self/cgroup; the container's
    log holds the steps' events; the script factory's own script ran in a nested sandbox
    container; and the cleanup removes the finished run containers."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--pg-url", pg_url], capture_output=True, text=True,
                          timeout=1200, env={**os.environ}, cwd=SCRIPT.parents[1])
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # any database on the server: it creates its own two
    report = json.loads(proc.stdout)
    probe = report["runs"]["isolation_probe_job"]
    factory = report["runs"]["script_factory_job"]
    client = container_engine.client
    try:
        for run in (probe, factory):
            assert run["status"] == "SUCCESS", run
            assert run["container_id"] and run["launcher_event"]
            assert run["run_worker_pid_1"] is True
            assert run["container"]["label_run_id"] == run["run_id"]
            assert run["container"]["exit_code"] == 0
            assert run["container"]["log_mentions_steps"] == run["steps"]
            assert {u["Name"] for u in run["container"]["ulimits"]} >= {"RLIMIT_NPROC", "RLIMIT_NOFILE"}
        seen = probe["materializations"]["sandbox_probe"]
        assert seen["in_container"] is True and seen["container_id"] == probe["container_id"]
        assert seen["runner"].startswith("container:")
        assert factory["step_success"] == ["generated_script", "generated_script_script_is_valid", "script_plan",
                                           "script_run"]
        run_md = factory["materializations"]["script_run"]
        assert run_md["status"] == "succeeded" and run_md["isolation"] == "container", run_md
        ours = {probe["run_id"], factory["run_id"]}  # the demo's cleanup, the sensor's function
        assert ours <= set(report["run_containers_removed"])
        for run in (probe, factory):
            assert not container_exists(client, run["container_id"])
    finally:
        for run in (probe, factory):
            try:
                client.containers.get(run["container_id"]).remove(force=True)
            except Exception:
                pass
