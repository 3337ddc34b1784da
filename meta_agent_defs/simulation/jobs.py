"""The simulation job: a scenario run (one request × scenario partition) and its checks.

A batch simulation is a backfill of ``scenario_run`` over the grid plus ``scenario_comparison``
(``meta_agent_launch.backfill``): one run per partition, tagged ``meta_agent/kind=script_run``
like the script factory's, the scripts bounded by the ``sandbox`` pool.
"""

import dagster as dg

from meta_agent_defs.simulation.assets import scenario_comparison, scenario_run
from meta_agent_defs.simulation.checks import CHECKS

RUN_TAGS = {"meta_agent/capability": "simulation", "meta_agent/kind": "script_run"}

scenario_run_job = dg.define_asset_job(
    "scenario_run_job", selection=dg.AssetSelection.assets(scenario_run) | dg.AssetSelection.checks(*CHECKS),
    tags=RUN_TAGS, description="Re-run a request's script under one scenario (a request × scenario partition).")

scenario_comparison_job = dg.define_asset_job(
    "scenario_comparison_job", selection=dg.AssetSelection.assets(scenario_comparison),
    tags={"meta_agent/capability": "simulation"},
    description="Compare every scenario of one request (a script_requests partition).")

JOBS = [scenario_run_job, scenario_comparison_job]
