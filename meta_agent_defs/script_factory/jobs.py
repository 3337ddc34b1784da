"""The script factory job: plan, generate (or reuse), validate and run one request.

Its runs carry ``meta_agent/kind=script_run`` (the run queue admits 5 at once); the ``sandbox``
pool bounds the scripts running at once however runs are launched. With the
DockerRunLauncher (deploy/docker) each run gets its own container.
"""

import dagster as dg

from meta_agent_defs.script_factory.assets import ASSETS
from meta_agent_defs.script_factory.checks import CHECKS

RUN_TAGS = {"meta_agent/capability": "script_factory", "meta_agent/kind": "script_run"}

script_factory_job = dg.define_asset_job(
    "script_factory_job", selection=dg.AssetSelection.assets(*ASSETS) | dg.AssetSelection.checks(*CHECKS),
    tags=RUN_TAGS, description="Plan, generate (or reuse), validate and run the script for one request.",
)

JOBS = [script_factory_job]
