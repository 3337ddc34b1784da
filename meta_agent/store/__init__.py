"""The ops database: schema, migrations and the repositories that read and write it."""

from meta_agent.store.engine import engine_for
from meta_agent.store.migrate import status, upgrade
from meta_agent.store.schema import metadata

__all__ = ["engine_for", "metadata", "status", "upgrade"]
