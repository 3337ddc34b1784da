"""The ops database: schema, migrations and the repositories that read and write it.

Importing the package registers every capability's tables on the one shared ``metadata``
(schema.py holds the foundation's; each capability keeps its own ``schema_*.py``).
"""

from meta_agent.store import (  # noqa: F401 — registers every capability's tables
    schema_evaluation,
    schema_improvement,
    schema_llm,
    schema_ops_alerts,
    schema_ops_metrics,
    schema_sandbox,
    schema_scripts,
    schema_simulation,
)
from meta_agent.store.engine import engine_for
from meta_agent.store.migrate import status, upgrade
from meta_agent.store.schema import metadata

__all__ = ["engine_for", "metadata", "status", "upgrade"]
