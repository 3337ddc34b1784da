"""The ops database: meta-agent's system of record."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from meta_agent import config
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for


class OpsDatabase(dg.ConfigurableResource):
    """The ops database (SQLAlchemy URL: ``sqlite:///…`` or ``postgresql+psycopg://…``),
    bound to ``META_AGENT_DB_URL`` (default: SQLite under ``DAGSTER_HOME``). The schema is
    migrated on first use in a process."""

    url: str

    @property
    def engine(self) -> sa.Engine:
        return engine_for(self.url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        migrate.ensure_current(self.url)

    def describe(self) -> str:
        return config.redact_url(self.url)
