"""Isolation: the sandbox probe, its job, and run-container cleanup."""

import dagster as dg

from meta_agent_defs.isolation.assets import ASSETS
from meta_agent_defs.isolation.jobs import JOBS
from meta_agent_defs.isolation.sensors import SENSORS

defs = dg.Definitions(assets=ASSETS, jobs=JOBS, sensors=SENSORS)
