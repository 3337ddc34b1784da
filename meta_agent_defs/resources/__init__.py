"""Resources: ConfigurableResources wrapping meta_agent objects."""

from meta_agent_defs.resources.ops_db import OpsDatabase

__all__ = ["OpsDatabase"]
