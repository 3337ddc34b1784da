"""Evaluation: scores, failure embeddings, clusters, root-cause findings, weekly agent reports."""

import dagster as dg

from meta_agent_defs.evaluation.assets import ASSETS
from meta_agent_defs.evaluation.checks import CHECKS
from meta_agent_defs.evaluation.jobs import JOBS, SCHEDULES

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, schedules=SCHEDULES)
