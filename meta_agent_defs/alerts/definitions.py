"""Alerts: the digest and fleet-health assets, the delivery job, and the sensors."""

import dagster as dg

from meta_agent_defs.alerts.assets import ASSETS
from meta_agent_defs.alerts.jobs import JOBS
from meta_agent_defs.alerts.sensors import SENSORS

defs = dg.Definitions(assets=ASSETS, jobs=JOBS, sensors=SENSORS)
