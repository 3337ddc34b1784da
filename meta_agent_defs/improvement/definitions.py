"""Improvement: proposals from findings, decisions (rules and people), the knowledge base."""

import dagster as dg

from meta_agent_defs.improvement.assets import ASSETS
from meta_agent_defs.improvement.checks import CHECKS
from meta_agent_defs.improvement.jobs import JOBS, SCHEDULES
from meta_agent_defs.improvement.sensors import SENSORS

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, schedules=SCHEDULES, sensors=SENSORS)
