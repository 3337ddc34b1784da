"""The code location: every capability's Definitions, merged, with shared resources."""

import dagster as dg

from meta_agent_defs.assets import agent_ops, alerts, foundation, isolation, script_factory
from meta_agent_defs.resources import OpsDatabase
from meta_agent_defs.resources.llm import LLMGatewayResource

defs = dg.Definitions.merge(
    foundation.defs,
    agent_ops.defs,
    alerts.defs,
    script_factory.defs,
    isolation.defs,
    dg.Definitions(resources={"ops_db": OpsDatabase(), "llm": LLMGatewayResource()}),
)
