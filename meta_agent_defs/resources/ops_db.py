"""The ops database as a Dagster resource."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from meta_agent import config
from meta_agent.store import migrate
from meta_agent.store.engine import engine_for


class OpsDatabase(dg.ConfigurableResource):
    """meta-agent's system of record. ``url`` defaults to ``META_AGENT_DB_URL`` (or SQLite
    under ``DAGSTER_HOME``); the schema is migrated on first use in a process."""

    url: str | None = None

    @property
    def resolved_url(self) -> str:
        return self.url or config.db_url()

    @property
    def engine(self) -> sa.Engine:
        return engine_for(self.resolved_url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        migrate.ensure_current(self.resolved_url)

    def describe(self) -> str:
        return config.redact_url(self.resolved_url)
