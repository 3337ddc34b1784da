"""Agent operations: the log, the registry, daily quality/metrics/SLA with their checks, reports."""

import dagster as dg

from meta_agent_defs.agent_ops.assets import ASSETS
from meta_agent_defs.agent_ops.checks import CHECKS
from meta_agent_defs.agent_ops.jobs import JOBS, SCHEDULES

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, schedules=SCHEDULES)
