"""Script factory: plan -> script (+ blocking validity check) -> sandboxed run, per request."""

import dagster as dg

from meta_agent_defs.script_factory.assets import ASSETS
from meta_agent_defs.script_factory.checks import CHECKS
from meta_agent_defs.script_factory.jobs import JOBS
from meta_agent_defs.script_factory.sensors import SENSORS

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, sensors=SENSORS)
