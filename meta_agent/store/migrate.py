"""Schema migrations (Alembic), run programmatically so no alembic.ini is needed.

Capabilities add migrations as branches off ``0001_foundation`` (each with its own
``branch_labels``), so ``upgrade`` targets ``heads``: every branch, in dependency order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from meta_agent.config import db_url as default_db_url
from meta_agent.config import redact_url
from meta_agent.errors import StoreUnavailable
from meta_agent.store.engine import engine_for

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class MigrationStatus:
    url: str
    current: tuple[str, ...]
    heads: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return set(self.current) == set(self.heads)


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, target: str = "heads") -> MigrationStatus:
    """Bring the database at ``url`` to ``target`` (default: every head)."""
    url = url or default_db_url()
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), target)
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(
            f"cannot reach the ops database at {redact_url(url)} ({exc.orig}); "
            "check META_AGENT_DB_URL and that the server is running."
        ) from None
    return status(url)


_current_urls: set[str] = set()
_current_lock = threading.Lock()


def ensure_current(url: str | None = None) -> None:
    """Upgrade ``url`` once per process: Dagster initialises resources on every run and
    sensor tick, and an Alembic round trip each time is wasted work once the schema is current."""
    url = url or default_db_url()
    if url in _current_urls:
        return
    with _current_lock:
        if url not in _current_urls:
            upgrade(url)
            _current_urls.add(url)


def require_current(url: str | None = None) -> None:
    """Refuse to work on a database that is missing migrations, saying how to fix it."""
    st = status(url)
    if not st.up_to_date:
        at = ", ".join(st.current) or "an empty schema"
        raise StoreUnavailable(
            f"the ops database at {st.url} is not migrated (at {at}; needs {', '.join(st.heads)}); "
            "run `meta-agent db upgrade` first."
        )


def status(url: str | None = None) -> MigrationStatus:
    url = url or default_db_url()
    heads = tuple(sorted(ScriptDirectory.from_config(_config()).get_heads()))
    try:
        with engine_for(url).connect() as conn:
            current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(
            f"cannot reach the ops database at {redact_url(url)} ({exc.orig}); "
            "check META_AGENT_DB_URL and that the server is running."
        ) from None
    return MigrationStatus(url=redact_url(url), current=current, heads=heads)
