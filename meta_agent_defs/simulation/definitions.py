"""Scenario simulation: request × scenario runs (+ expected-outcome check), the per-request comparison."""

import dagster as dg

from meta_agent_defs.simulation.assets import ASSETS
from meta_agent_defs.simulation.checks import CHECKS
from meta_agent_defs.simulation.jobs import JOBS
from meta_agent_defs.simulation.sensors import SENSORS

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, sensors=SENSORS)
