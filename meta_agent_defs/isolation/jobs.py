"""The isolation probe job: what scripts/docker-run-launcher-demo.sh launches into a run container."""

import dagster as dg

from meta_agent_defs.isolation.assets import sandbox_probe

isolation_probe_job = dg.define_asset_job(
    "isolation_probe_job", selection=[sandbox_probe],
    tags={"meta_agent/capability": "isolation", "meta_agent/kind": "isolation_probe"},
    description="Record where a run executes and which sandbox runner its scripts get.")

JOBS = [isolation_probe_job]
